// The Node example against a running docklined (run-test.sh starts one and stops it):
//
//   node test.mjs ADDR        (or DOCKLINE_ADDR=ADDR node test.mjs)
//
// Every container carries dockline-test=node-<run>, and only those are removed at the end.
// The image ($DOCKLINE_TEST_IMAGE, default dockline-test/busybox:latest) is never pulled.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';

import {
  connect, exec, followLogs, grpc, removeLabelled, runContainer, startDetached, streamExec,
  unary, waitForReady,
} from './dockline.mjs';

const addr = process.argv[2] || process.env.DOCKLINE_ADDR;
if (!addr) {
  console.error('usage: node test.mjs ADDR (or set DOCKLINE_ADDR): the docklined to test against');
  process.exit(2);
}
const image = process.env.DOCKLINE_TEST_IMAGE || 'dockline-test/busybox:latest';
const labelKey = 'dockline-test';
const labelValue = `node-${process.pid}-${randomBytes(3).toString('hex')}`;
const label = `${labelKey}=${labelValue}`;

let client;
const spec = (command, extra = {}) => ({
  image, command, network: 'none', labels: { [labelKey]: labelValue }, ...extra,
});

// A running container to follow and exec in; auto_remove, and force-removed at the end.
let ticker;

before(async () => {
  client = connect(addr);
  await waitForReady(client, 20);
  ticker = await startDetached(client, spec(
    ['sh', '-c', 'i=0; while true; do i=$((i+1)); echo tick $i; sleep 0.1; done'],
    { autoRemove: true }));
  assert.match(ticker, /^[0-9a-f]{64}$/);
});

after(async () => {
  if (!client) return;
  try {
    await removeLabelled(client, label);
    const { containers = [] } = await unary(client, 'ListContainers',
      { all: true, filters: [{ key: 'label', value: label }] });
    assert.deepEqual(containers.map((c) => c.id), [], 'containers of this run are left');
  } finally {
    client.close();
  }
});

test('RunContainer: exit code 3 is a plain number; stdout and stderr demultiplexed', async () => {
  const run = await runContainer(client,
    spec(['sh', '-c', 'echo hi; echo err >&2; exit 3'], { autoRemove: true }));
  assert.match(run.id, /^[0-9a-f]{64}$/);
  assert.equal(run.events[0], 'started');
  assert.equal(run.events.at(-1), 'exited');
  assert.equal(run.events.filter((e) => e === 'exited').length, 1);
  // int32 in the contract: a number with proto-loader's default options, not a Long.
  assert.equal(typeof run.rawExitCode, 'number');
  assert.equal(run.exitCode, 3);
  assert.equal(run.stdout, 'hi\n');
  assert.equal(run.stderr, 'err\n');
  assert.equal(run.error, '');
});

test('RunContainer: exit code 0 is absent on the wire and reads back as 0', async () => {
  const run = await runContainer(client, spec(['true']));
  assert.equal(run.events.at(-1), 'exited');
  assert.ok(run.rawExitCode === undefined || run.rawExitCode === 0);
  assert.equal(run.exitCode, 0);
  assert.equal(run.removed, false);
  await unary(client, 'RemoveContainer', { container: run.id });
});

test('StreamLogs follow=true: yields the lines and ends when the container exits', async () => {
  const id = await startDetached(client,
    spec(['sh', '-c', 'sleep 0.3; echo one; sleep 0.2; echo two >&2; sleep 0.2; echo three']));
  const logs = await followLogs(client, id);
  assert.equal(logs.ended, 'exited');
  assert.deepEqual(logs.lines, [
    { stream: 'stdout', text: 'one' },
    { stream: 'stderr', text: 'two' },
    { stream: 'stdout', text: 'three' },
  ]);
  const waited = await unary(client, 'WaitContainer', { container: id });
  assert.equal(waited.exitCode ?? 0, 0);
  await unary(client, 'RemoveContainer', { container: id });
});

test('StreamLogs follow=true: stopping after three lines of a running container', async () => {
  const logs = await followLogs(client, ticker, { maxLines: 3 });
  assert.equal(logs.ended, 'limit');
  assert.deepEqual(logs.lines.map((l) => l.text), ['tick 1', 'tick 2', 'tick 3']);
  assert.ok(logs.lines.every((l) => l.stream === 'stdout'));
  // The cancelled follow left the container alone.
  const { container } = await unary(client, 'InspectContainer', { container: ticker });
  assert.equal(container.state.running, true);
  // ContainerState.pid is int64: a Long object with the default options.
  assert.equal(typeof container.state.pid, 'object');
  assert.ok(container.state.pid.toNumber() > 0);
});

test('ExecContainer: exit code a number, stdout and stderr apart', async () => {
  const r = await exec(client, ticker, ['sh', '-c', 'echo out; echo oops >&2; exit 5']);
  assert.equal(typeof r.rawExitCode, 'number');
  assert.equal(r.exitCode, 5);
  assert.equal(r.stdout, 'out\n');
  assert.equal(r.stderr, 'oops\n');
  assert.match(r.execId, /^[0-9a-f]{64}$/);

  const ok = await exec(client, ticker, ['true']);
  assert.ok(ok.rawExitCode === undefined || ok.rawExitCode === 0);
  assert.equal(ok.exitCode, 0);
});

test('StreamExec: exec id first, output chunks, exit code last as a number', async () => {
  const lines = [];
  const r = await streamExec(client, ticker,
    ['sh', '-c', 'for i in 1 2 3; do echo s$i; sleep 0.1; done; echo done >&2; exit 4'],
    { onLine: (stream, text) => lines.push(`${stream}:${text}`) });
  assert.equal(r.events[0], 'execId');
  assert.equal(r.events.at(-1), 'exited');
  assert.match(r.execId, /^[0-9a-f]{64}$/);
  assert.equal(typeof r.rawExitCode, 'number');
  assert.equal(r.exitCode, 4);
  assert.equal(r.stdout, 's1\ns2\ns3\n');
  assert.equal(r.stderr, 'done\n');
  assert.deepEqual(lines, ['stdout:s1', 'stdout:s2', 'stdout:s3', 'stderr:done']);
});

test('errors: a missing container is NOT_FOUND', async () => {
  await assert.rejects(
    exec(client, `dockline-node-no-such-${labelValue}`, ['true']),
    (err) => err.code === grpc.status.NOT_FOUND);
});

test('example.mjs runs end to end', async () => {
  const script = fileURLToPath(new URL('./example.mjs', import.meta.url));
  const child = spawn(process.execPath, [script, addr], {
    env: { ...process.env, DOCKLINE_LABEL: label, DOCKLINE_TEST_IMAGE: image },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => { err += d; });
  const code = await new Promise((resolve) => child.on('close', resolve));
  assert.equal(code, 0, `example.mjs failed:\n${out}\n${err}`);
  for (const expected of [
    '  run stdout: hi', '  run stderr: err', 'exit code 3 (number)',
    '  logs stdout: tick 3', 'stopped following after 3 lines (limit)',
    'stdout: "out\\n"  stderr: "oops\\n"', 'exit code 5 (number)',
    'exec true: exit code 0', '  exec stderr: done', 'exit code 4 (number)',
  ]) {
    assert.ok(out.includes(expected), `example output lacks ${JSON.stringify(expected)}:\n${out}`);
  }
});
