// dockline.v1 from Node: the contract loaded at run time with @grpc/proto-loader's DEFAULT
// options (no keepCase, longs, enums, defaults or oneofs settings), and a few helpers that turn
// the server streams into plain values. example.mjs prints what they return; test.mjs checks it.
//
// What the default options mean for this contract:
// - Field names are camelCase: exit_code -> exitCode, auto_remove -> autoRemove.
// - int32 fields (every exit code) are plain JS numbers. int64/uint64 fields (ContainerState.pid,
//   ContainerInfo.restartCount, Timestamp.seconds, PullProgress.current, space_reclaimed...)
//   are Long objects: call .toNumber() or .toString().
// - A field holding its zero value is not on the wire (proto3), and `defaults: false` leaves it
//   out of the object: exit code 0 arrives as `exitCode: undefined`. Read it as `?? 0`.
// - Enums arrive as numbers (OutputChunk.stream is 1 or 2); requests take names or numbers.
// - bytes arrive as Buffers.
// - A oneof shows as whichever member field is set ({ started }, { output } or { exited }); there
//   is no field naming the case.
import { fileURLToPath } from 'node:url';

import grpc from '@grpc/grpc-js';
import protoLoader from '@grpc/proto-loader';

export { grpc };

export const PROTO_PATH = fileURLToPath(
  new URL('../../proto/dockline/v1/dockline.proto', import.meta.url));

// The C++ CLI's rule: --addr, else $DOCKLINE_ADDR, else 127.0.0.1:50051.
export const DEFAULT_ADDR = '127.0.0.1:50051';
export function resolveAddr(arg) {
  return arg || process.env.DOCKLINE_ADDR || DEFAULT_ADDR;
}

export const packageDefinition = protoLoader.loadSync(PROTO_PATH); // default options, on purpose
const v1 = grpc.loadPackageDefinition(packageDefinition).dockline.v1;

// Enum values by name, from the loaded contract rather than copied numbers.
function enumValues(fullName) {
  return Object.fromEntries(
    packageDefinition[fullName].type.value.map((v) => [v.name, v.number]));
}
export const Stream = enumValues('dockline.v1.Stream');
export const PullPolicy = enumValues('dockline.v1.PullPolicy');

// An exit code from any reply: a number, with proto3's absent zero read back as 0.
export function exitCodeOf(message) {
  return message?.exitCode ?? 0;
}

// unix:///path and host:port are both grpc-js targets, as they are for the C++ client.
export function connect(addr) {
  // Insecure: docklined serves plain gRPC on loopback and unix sockets (see the README for TLS).
  return new v1.Dockline(addr, grpc.credentials.createInsecure());
}

export function deadline(seconds) {
  return new Date(Date.now() + seconds * 1000);
}

export function waitForReady(client, seconds = 10) {
  return new Promise((resolve, reject) => {
    client.waitForReady(deadline(seconds), (err) => (err ? reject(err) : resolve()));
  });
}

// A unary call as a promise.
export function unary(client, method, request, seconds = 30) {
  return new Promise((resolve, reject) => {
    client[method](request, { deadline: deadline(seconds) }, (err, reply) =>
      err ? reject(err) : resolve(reply));
  });
}

// Collects output chunks per stream, and splits them into lines as they complete (a chunk may
// hold several lines or part of one).
class Output {
  constructor(onLine) {
    this.stdout = [];
    this.stderr = [];
    this.partial = { [Stream.STREAM_STDOUT]: '', [Stream.STREAM_STDERR]: '' };
    this.onLine = onLine;
  }

  add(chunk) {
    // STREAM_UNSPECIFIED never comes from docklined; an absent enum would be its zero.
    const stream = chunk.stream ?? Stream.STREAM_UNSPECIFIED;
    const data = chunk.data ?? Buffer.alloc(0);
    (stream === Stream.STREAM_STDERR ? this.stderr : this.stdout).push(data);
    if (!this.onLine) return;
    const name = stream === Stream.STREAM_STDERR ? 'stderr' : 'stdout';
    const lines = (this.partial[stream] + data.toString('utf8')).split('\n');
    this.partial[stream] = lines.pop();
    for (const line of lines) this.onLine(name, line);
  }

  text() {
    return {
      stdout: Buffer.concat(this.stdout).toString('utf8'),
      stderr: Buffer.concat(this.stderr).toString('utf8'),
    };
  }
}

// RunContainer: `started`, then output chunks, then `exited` (the oneof member that is set tells
// which). Returns { id, exitCode, rawExitCode, removed, stdout, stderr, events }.
export async function runContainer(client, spec, { onLine, seconds = 60 } = {}) {
  const request = { spec, pull: PullPolicy.PULL_POLICY_NEVER };
  const call = client.RunContainer(request, { deadline: deadline(seconds) });
  const output = new Output(onLine);
  const result = { events: [] };
  for await (const event of call) {
    if (event.started) {
      result.events.push('started');
      result.id = event.started.id;
    } else if (event.output) {
      result.events.push('output');
      output.add(event.output);
    } else if (event.exited) {
      result.events.push('exited');
      result.rawExitCode = event.exited.exitCode; // a number, or undefined for 0
      result.exitCode = exitCodeOf(event.exited);
      result.error = event.exited.error ?? '';
      result.removed = event.exited.removed ?? false;
    }
  }
  return { ...result, ...output.text() };
}

// RunContainer with detach=true: returns the id as soon as the container started.
export async function startDetached(client, spec, seconds = 30) {
  const request = { spec, detach: true, pull: PullPolicy.PULL_POLICY_NEVER };
  const call = client.RunContainer(request, { deadline: deadline(seconds) });
  let id;
  for await (const event of call) {
    if (event.started) id = event.started.id;
  }
  return id;
}

// StreamLogs with follow=true: the lines as they come, until `maxLines` lines (then the call is
// cancelled) or until the stream ends, which it does when the container exits.
// Returns { lines: [{ stream, text }], ended: 'limit' | 'exited' }.
export async function followLogs(client, container, { maxLines = Infinity, seconds = 60 } = {}) {
  const lines = [];
  let ended = 'exited';
  const call = client.StreamLogs({ container, follow: true }, { deadline: deadline(seconds) });
  const output = new Output((stream, text) => lines.push({ stream, text }));
  try {
    for await (const reply of call) {
      output.add(reply.output ?? {});
      if (lines.length >= maxLines) {
        ended = 'limit';
        call.cancel();
        break;
      }
    }
  } catch (err) {
    if (!(ended === 'limit' && err.code === grpc.status.CANCELLED)) throw err;
  }
  return { lines: lines.slice(0, maxLines), ended };
}

// ExecContainer (captured, demultiplexed): { execId, exitCode, rawExitCode, stdout, stderr }.
export async function exec(client, container, cmd, seconds = 30) {
  const reply = await unary(client, 'ExecContainer', { config: { container, cmd }, demux: true },
    seconds);
  return {
    execId: reply.execId,
    rawExitCode: reply.exitCode,
    exitCode: exitCodeOf(reply),
    stdout: (reply.stdout ?? Buffer.alloc(0)).toString('utf8'),
    stderr: (reply.stderr ?? Buffer.alloc(0)).toString('utf8'),
    truncated: reply.truncated ?? false,
  };
}

// StreamExec: exec_id first, output chunks as the process writes them, `exited` last.
export async function streamExec(client, container, cmd, { onLine, seconds = 60 } = {}) {
  const call = client.StreamExec({ config: { container, cmd } }, { deadline: deadline(seconds) });
  const output = new Output(onLine);
  const result = { events: [] };
  for await (const event of call) {
    if (event.execId !== undefined) {
      result.events.push('execId');
      result.execId = event.execId;
    } else if (event.output) {
      result.events.push('output');
      output.add(event.output);
    } else if (event.exited) {
      result.events.push('exited');
      result.rawExitCode = event.exited.exitCode;
      result.exitCode = exitCodeOf(event.exited);
    }
  }
  return { ...result, ...output.text() };
}

// Removes every container carrying the label "key=value", running or not: ListContainers and
// RemoveContainer(force) for the running ones, then PruneContainers on the same label.
export async function removeLabelled(client, label) {
  const { containers = [] } = await unary(client, 'ListContainers',
    { all: true, filters: [{ key: 'label', value: label }] });
  for (const c of containers) {
    try {
      await unary(client, 'RemoveContainer', { container: c.id, force: true });
    } catch (err) {
      // Gone already (auto_remove), or being removed by the daemon.
      if (err.code !== grpc.status.NOT_FOUND && err.code !== grpc.status.FAILED_PRECONDITION) {
        throw err;
      }
    }
  }
  await unary(client, 'PruneContainers', { filters: { labels: [label] } });
  return containers.map((c) => c.id);
}
