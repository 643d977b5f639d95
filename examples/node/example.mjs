// Runs a container, follows a second one's logs, and execs in it, printing what dockline says.
//
//   node example.mjs [ADDR]
//
// ADDR: host:port or unix:///path; default $DOCKLINE_ADDR, else 127.0.0.1:50051 (as the CLI).
// The image is $DOCKLINE_TEST_IMAGE (default dockline-test/busybox:latest); it is never pulled.
// Containers carry the label $DOCKLINE_LABEL (default dockline-example=node) and are removed.
import {
  connect, exec, followLogs, removeLabelled, resolveAddr, runContainer, startDetached,
  streamExec, unary, waitForReady,
} from './dockline.mjs';

const addr = resolveAddr(process.argv[2]);
const image = process.env.DOCKLINE_TEST_IMAGE || 'dockline-test/busybox:latest';
const label = process.env.DOCKLINE_LABEL || 'dockline-example=node';
const [labelKey, labelValue = ''] = label.split(/=(.*)/s);

const client = connect(addr);
const spec = (command, extra = {}) => ({
  image, command, network: 'none', labels: { [labelKey]: labelValue }, ...extra,
});
const show = (prefix) => (stream, line) => console.log(`${prefix} ${stream}: ${line}`);

try {
  await waitForReady(client);
  const info = await unary(client, 'GetEngineInfo', {});
  console.log(`dockline ${info.docklineVersion} at ${addr}, Docker ${info.engineVersion}` +
    ` (API ${info.apiVersion})`);

  // 1. RunContainer: started, the output as it comes, exited.
  console.log(`\n== RunContainer ${image} sh -c 'echo hi; echo err >&2; exit 3'`);
  const run = await runContainer(client,
    spec(['sh', '-c', 'echo hi; echo err >&2; exit 3'], { autoRemove: true }),
    { onLine: show('  run') });
  console.log(`  events: ${run.events.join(' ')}`);
  // int32 in the contract, so a plain number with proto-loader's defaults (an int64 would be a
  // Long object here).
  console.log(`  exited: exit code ${run.exitCode} (${typeof run.rawExitCode}), removed ${run.removed}`);

  // 2. A container that keeps writing, started detached, then StreamLogs follow=true.
  console.log('\n== RunContainer detach=true (a ticker), then StreamLogs follow=true');
  const id = await startDetached(client, spec(
    ['sh', '-c', 'i=0; while true; do i=$((i+1)); echo tick $i; sleep 0.2; done'],
    { autoRemove: true }));
  console.log(`  started ${id.slice(0, 12)}`);
  const logs = await followLogs(client, id, { maxLines: 3 });
  for (const { stream, text } of logs.lines) console.log(`  logs ${stream}: ${text}`);
  console.log(`  stopped following after ${logs.lines.length} lines (${logs.ended})`);

  const { container } = await unary(client, 'InspectContainer', { container: id });
  // ContainerState.pid is int64: a Long, unlike the exit codes.
  console.log(`  inspect: pid ${container.state.pid.toNumber()} (a ${container.state.pid.constructor.name})`);

  // 3. ExecContainer: captured, stdout and stderr apart.
  console.log(`\n== ExecContainer sh -c 'echo out; echo oops >&2; exit 5'`);
  const captured = await exec(client, id, ['sh', '-c', 'echo out; echo oops >&2; exit 5']);
  console.log(`  stdout: ${JSON.stringify(captured.stdout)}  stderr: ${JSON.stringify(captured.stderr)}`);
  console.log(`  exit code ${captured.exitCode} (${typeof captured.rawExitCode})`);
  const ok = await exec(client, id, ['true']);
  console.log(`  exec true: exit code ${ok.exitCode} (on the wire: absent, so ${ok.rawExitCode})`);

  // 4. StreamExec: the output as the process writes it, the exit code last.
  console.log(`\n== StreamExec sh -c 'for i in 1 2 3; do echo s$i; sleep 0.1; done; echo done >&2; exit 4'`);
  const streamed = await streamExec(client, id,
    ['sh', '-c', 'for i in 1 2 3; do echo s$i; sleep 0.1; done; echo done >&2; exit 4'],
    { onLine: show('  exec') });
  console.log(`  exec id ${streamed.execId.slice(0, 12)}, exit code ${streamed.exitCode}` +
    ` (${typeof streamed.rawExitCode})`);

  await unary(client, 'RemoveContainer', { container: id, force: true });
  console.log(`\nremoved ${id.slice(0, 12)}`);
} catch (err) {
  console.error(`example: ${err.details ?? err.message} (${err.code ?? ''})`);
  process.exitCode = 1;
} finally {
  try {
    await removeLabelled(client, label);
  } catch {
    // best effort: the server may be gone
  }
  client.close();
}
