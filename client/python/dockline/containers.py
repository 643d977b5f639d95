"""client.containers and Container, shaped like docker-py's models."""

import json
import queue
import time
import warnings
from collections import namedtuple

import grpc

from dockline import _convert, prune
from dockline._proto import pb
from dockline._spec import build_spec
from dockline._stream import CancellableStream
from dockline.errors import (ContainerError, DocklineException, InvalidArgument, NotFound,
                             from_rpc_error)

ExecResult = namedtuple("ExecResult", "exit_code,output")
# One relayed chunk of a log; `cursor` resumes just after it (Container.log_chunks).
LogChunk = namedtuple("LogChunk", "stream,data,cursor,timestamp")

_WAIT_CONDITIONS = {
    None: pb.WAIT_CONDITION_UNSPECIFIED,
    "not-running": pb.WAIT_CONDITION_NOT_RUNNING,
    "next-exit": pb.WAIT_CONDITION_NEXT_EXIT,
    "removed": pb.WAIT_CONDITION_REMOVED,
}
_PULL_POLICIES = {
    None: pb.PULL_POLICY_UNSPECIFIED,
    "missing": pb.PULL_POLICY_MISSING,
    "always": pb.PULL_POLICY_ALWAYS,
    "never": pb.PULL_POLICY_NEVER,
}
_HEALTH = {
    pb.HEALTH_STATUS_UNSPECIFIED: "none",
    pb.HEALTH_STATUS_NONE: "none",
    pb.HEALTH_STATUS_STARTING: "starting",
    pb.HEALTH_STATUS_HEALTHY: "healthy",
    pb.HEALTH_STATUS_UNHEALTHY: "unhealthy",
}
_STDOUT, _STDERR = pb.STREAM_STDOUT, pb.STREAM_STDERR
# Room past a server-side timeout, so that the server's DEADLINE_EXCEEDED (with its message)
# arrives before the client's own deadline does.
_DEADLINE_SLACK = 5
# put_archive's message size: well under the server's request limit, large enough to be cheap.
_ARCHIVE_PIECE = 256 << 10


class Model:
    def __init__(self, attrs=None, client=None, collection=None):
        self.client = client
        self.collection = collection
        self.attrs = attrs if attrs is not None else {}

    def __repr__(self):
        return f"<{self.__class__.__name__}: {self.short_id}>"

    def __eq__(self, other):
        return isinstance(other, self.__class__) and self.id == other.id

    def __hash__(self):
        return hash(f"{self.__class__.__name__}:{self.id}")

    @property
    def id(self):
        return self.attrs.get("Id")

    @property
    def short_id(self):
        return (self.id or "")[:12]

    def reload(self):
        """Refresh attrs from the server (an inspect)."""
        self.attrs = self.collection.get(self.id).attrs


def registry_auth(auth_config):
    """docker-py's auth_config dict -> RegistryAuth (None when there is none)."""
    if not auth_config:
        return None
    normal = {str(k).replace("_", "").lower(): v for k, v in auth_config.items()}
    auth = pb.RegistryAuth(username=normal.get("username") or "",
                           password=normal.get("password") or "",
                           server_address=normal.get("serveraddress") or "",
                           identity_token=normal.get("identitytoken") or "")
    if normal.get("auth") and not auth.username:
        # docker's config.json form: base64 of "user:password".
        import base64
        user, _, password = base64.b64decode(normal["auth"]).decode().partition(":")
        auth.username, auth.password = user, password
    return auth


def _health_dict(health):
    return {
        "Status": _HEALTH.get(health.status, "none"),
        "FailingStreak": health.failing_streak,
        "Log": [{
            "Start": _convert.timestamp_to_datetime(p.start).isoformat(),
            "End": _convert.timestamp_to_datetime(p.end).isoformat(),
            "ExitCode": p.exit_code,
            "Output": p.output,
        } for p in health.log],
    }


def _stream_or_join(call, pieces, stream):
    """docker-py's two shapes of streamed output: the generator (stream=True), or its bytes
    joined once the call ends, with the call's failure as a typed error."""
    if stream:
        return CancellableStream(call, pieces)
    try:
        return b"".join(pieces)
    except grpc.RpcError as err:
        raise from_rpc_error(err) from err


def _exec_config(container_id, cmd, stdout, stderr, stdin, tty, privileged, user,
                 environment, workdir):
    config = pb.ExecConfig(container=container_id, stdout=bool(stdout), stderr=bool(stderr),
                           stdin=bool(stdin), tty=bool(tty), privileged=bool(privileged),
                           user=str(user or ""), workdir=str(workdir or ""))
    config.cmd.extend(_convert.split_command(cmd, "cmd"))
    if isinstance(environment, dict):
        config.env.extend(k if v is None else f"{k}={v}" for k, v in environment.items())
    elif environment:
        config.env.extend(str(e) for e in environment)
    return config


def _chunks(events, demux, stdout=True, stderr=True):
    """OutputChunk messages -> bytes (or (stdout, stderr) tuples with demux)."""
    for chunk in events:
        if not chunk.data:
            continue
        if chunk.stream == _STDERR:
            if stderr:
                yield (None, chunk.data) if demux else chunk.data
        elif stdout:
            yield (chunk.data, None) if demux else chunk.data


class ExecOutput(CancellableStream):
    """exec_run(stream=True)'s output: bytes, or (stdout, stderr) tuples with demux=True.

    Beyond docker-py: `exit_code` and `exec_id` are set once the stream has told them. For an
    exec whose output the server retains (retain_output=True, client.exec_resume), `offset`
    counts the output bytes received (where to resume from), `lost_bytes` what the server no
    longer had, and a dropped connection (UNAVAILABLE) is reattached from `offset` for up to
    `reattach_within` seconds.
    """

    def __init__(self, call, demux, client=None, offset=0, reattach_within=30.0):
        self.exit_code = None
        self.exec_id = None
        self.offset = offset
        self.lost_bytes = 0
        self._client = client
        self._reattach_within = reattach_within
        super().__init__(call, _chunks(self._events(call), demux))

    def _events(self, call):
        give_up = None
        backoff = 0.05
        while True:
            try:
                for msg in call:
                    give_up, backoff = None, 0.05
                    kind = msg.WhichOneof("event")
                    if kind == "exec_id":
                        self.exec_id = msg.exec_id
                    elif kind == "resumed":
                        self.exec_id = msg.resumed.exec_id
                        self.offset = msg.resumed.offset
                        self.lost_bytes += msg.resumed.lost_bytes
                    elif kind == "output":
                        self.offset += len(msg.output.data)
                        yield msg.output
                    elif kind == "exited":
                        self.exit_code = msg.exited.exit_code
                return
            except grpc.RpcError as err:
                if (self._client is None or self._closed or self.exit_code is not None
                        or not self.exec_id or err.code() != grpc.StatusCode.UNAVAILABLE):
                    raise
                now = time.monotonic()
                give_up = give_up or now + self._reattach_within
                if now + backoff > give_up:
                    raise
                time.sleep(backoff)
                backoff = min(backoff * 2, 2.0)
                call = self._call = self._client._open(
                    "StreamExec", pb.StreamExecRequest(exec_id=self.exec_id, offset=self.offset))


class _InteractiveSocket:
    """The interactive bidi streams (AttachExec, AttachContainer): config first, then stdin,
    close_stdin and resizes; output back, then the exit code.

    send()/sendall() write stdin, close_stdin() gives the process EOF, resize() sets the
    terminal size; iterating yields output (bytes, or tuples with demux), read() returns the
    rest of it, and `exit_code` is set at the end. close() cancels; the process keeps running.
    """

    _RPC = None
    _REQUEST = None

    def __init__(self, client, config, demux=False):
        self._requests = queue.Queue()
        self._requests.put(self._REQUEST(config=config))
        self._client = client
        self._demux = demux
        self.exit_code = None
        self._call = client._open(self._RPC, self._request_iterator())
        self._output = CancellableStream(self._call, _chunks(self._events(), demux))

    def _request_iterator(self):
        while True:
            request = self._requests.get()
            if request is None:
                return  # a half-close: the server closes the process's stdin
            yield request

    def _event(self, msg, kind):
        """A message other than output or exited."""

    def _events(self):
        try:
            for msg in self._call:
                kind = msg.WhichOneof("event")
                if kind == "output":
                    yield msg.output
                elif kind == "exited":
                    self.exit_code = msg.exited.exit_code
                else:
                    self._event(msg, kind)
        finally:
            # gRPC's thread that sends the requests would otherwise wait on the queue forever.
            self._requests.put(None)

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self._requests.put(self._REQUEST(stdin=bytes(data)))
        return len(data)

    sendall = send

    def close_stdin(self):
        self._requests.put(self._REQUEST(close_stdin=True))

    def resize(self, rows, columns):
        self._requests.put(self._REQUEST(resize=pb.TerminalSize(rows=rows, columns=columns)))

    def __iter__(self):
        return self._output

    def read(self):
        """Everything until the process exits (bytes, or a tuple with demux)."""
        if self._demux:
            out, err = [], []
            for o, e in self._output:
                (out if o is not None else err).append(o if o is not None else e)
            return (b"".join(out) or None, b"".join(err) or None)
        return b"".join(self._output)

    def close(self):
        self._requests.put(None)
        self._output.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class ExecSocket(_InteractiveSocket):
    """exec_run(socket=True): an interactive exec over AttachExec (see _InteractiveSocket;
    Docker cannot kill an exec, so close() leaves the process running)."""

    _RPC = "AttachExec"
    _REQUEST = pb.AttachExecRequest

    def __init__(self, client, config, demux=False):
        self.exec_id = None
        super().__init__(client, config, demux)

    def _event(self, msg, kind):
        if kind == "exec_id":
            self.exec_id = msg.exec_id


class AttachSocket(_InteractiveSocket):
    """container.attach_socket(): the container's main process over AttachContainer (see
    _InteractiveSocket). `id` and `tty` are set once attached; the stream ends with
    `exit_code`, or with `detached` True when the daemon read the detach keys (the container
    keeps running). close() leaves the container running."""

    _RPC = "AttachContainer"
    _REQUEST = pb.AttachContainerRequest

    def __init__(self, client, config, demux=False):
        self.id = None
        self.tty = None
        self.detached = False
        super().__init__(client, config, demux)

    def _event(self, msg, kind):
        if kind == "attached":
            self.id, self.tty = msg.attached.id, msg.attached.tty
        elif kind == "detached":
            self.detached = True


class Container(Model):
    """One container; attrs is the daemon's inspect document, as in docker-py."""

    @property
    def name(self):
        name = self.attrs.get("Name")
        if name is None:
            names = self.attrs.get("Names") or []
            name = names[0] if names else None
        return name.lstrip("/") if name else None

    @property
    def image(self):
        image_id = self.attrs.get("ImageID", self.attrs.get("Image"))
        return self.client.images.get(image_id) if image_id else None

    @property
    def labels(self):
        return (self.attrs.get("Config") or {}).get("Labels") or {}

    @property
    def status(self):
        state = self.attrs.get("State")
        if isinstance(state, dict):
            return state.get("Status")
        return state

    @property
    def health(self):
        """The healthcheck status from attrs ("healthy", ...), "unknown" without one; reload()
        first for a fresh value, as in docker-py."""
        state = self.attrs.get("State")
        if isinstance(state, dict) and state.get("Health"):
            return state["Health"].get("Status", "unknown")
        return "unknown"

    @property
    def ports(self):
        return (self.attrs.get("NetworkSettings") or {}).get("Ports") or {}

    def start(self):
        self.client._call("StartContainer", pb.StartContainerRequest(container=self.id))

    def stop(self, timeout=None):
        request = pb.StopContainerRequest(container=self.id)
        if timeout is not None:
            request.timeout.CopyFrom(_convert.duration_from_seconds(timeout))
        self.client._call("StopContainer", request, timeout=self._slack(timeout))

    def restart(self, timeout=None):
        request = pb.RestartContainerRequest(container=self.id)
        if timeout is not None:
            request.timeout.CopyFrom(_convert.duration_from_seconds(timeout))
        self.client._call("RestartContainer", request, timeout=self._slack(timeout))

    def kill(self, signal=None):
        self.client._call("KillContainer", pb.KillContainerRequest(
            container=self.id, signal="" if signal is None else str(signal)))

    def remove(self, v=False, link=False, force=False):
        if link:
            raise InvalidArgument("remove(link=True): legacy links are not supported")
        self.client._call("RemoveContainer", pb.RemoveContainerRequest(
            container=self.id, force=force, remove_volumes=v))

    def _slack(self, timeout):
        # A stop waits up to its grace period before the kill: the call's deadline leaves room.
        base = self.client.timeout
        if base is None:
            return None
        return base + (timeout or 10)

    def wait(self, timeout=None, condition=None):
        """{"StatusCode": n, "Error": None or {"Message": ...}}; a timeout raises
        dockline.errors.Timeout (also requests' ReadTimeout, as docker-py raises)."""
        if condition not in _WAIT_CONDITIONS:
            raise InvalidArgument(f"wait: unknown condition {condition!r} (not-running, "
                                  "next-exit, removed)")
        request = pb.WaitContainerRequest(container=self.id,
                                          condition=_WAIT_CONDITIONS[condition])
        deadline = None
        if timeout is not None:
            request.timeout.CopyFrom(_convert.duration_from_seconds(timeout))
            deadline = timeout + _DEADLINE_SLACK
        reply = self.client._call("WaitContainer", request, timeout=deadline)
        return {"StatusCode": reply.exit_code,
                "Error": {"Message": reply.error} if reply.error else None}

    def logs(self, stdout=True, stderr=True, stream=False, timestamps=False, tail="all",
             since=None, follow=None, until=None, resume_from=None):
        """bytes, or with stream=True a generator of lines (follow defaults to stream, as in
        docker-py). timestamps=True prefixes each line with the daemon's time. resume_from: a
        LogChunk's cursor (see log_chunks) to go on just after."""
        if follow is None:
            follow = stream
        call = self.client._open("StreamLogs", self._logs_request(
            stdout, stderr, follow, timestamps, tail, since, until, resume_from))
        return _stream_or_join(call, self._log_lines(call, timestamps), stream)

    def log_chunks(self, stdout=True, stderr=True, follow=False, timestamps=False, tail="all",
                   since=None, until=None, resume_from=None):
        """The log as the server relays it: a generator of LogChunk(stream, data, cursor,
        timestamp), stream "stdout" or "stderr". Keep the last cursor; a later
        log_chunks(resume_from=cursor), on any connection, goes on exactly after that chunk."""
        call = self.client._open("StreamLogs", self._logs_request(
            stdout, stderr, follow, timestamps, tail, since, until, resume_from))
        names = {pb.STREAM_STDERR: "stderr"}
        return CancellableStream(call, (
            LogChunk(names.get(m.output.stream, "stdout"), m.output.data, m.output.cursor,
                     _convert.timestamp_text(m.output.timestamp)
                     if m.output.HasField("timestamp") else None)
            for m in call))

    def _logs_request(self, stdout, stderr, follow, timestamps, tail, since, until, resume_from):
        request = pb.StreamLogsRequest(container=self.id, stdout=bool(stdout),
                                       stderr=bool(stderr), follow=bool(follow),
                                       timestamps=bool(timestamps),
                                       resume_from=resume_from or "")
        if tail not in (None, "all"):
            try:
                request.tail = int(tail)
            except (TypeError, ValueError):
                raise InvalidArgument(f"logs: tail must be 'all' or a number, not {tail!r}") \
                    from None
        if since is not None:
            request.since.CopyFrom(_convert.timestamp_from(since, "since"))
        if until is not None:
            request.until.CopyFrom(_convert.timestamp_from(until, "until"))
        return request

    @staticmethod
    def _log_lines(call, timestamps):
        """Chunks -> lines. Chunks coalesce frames and may end inside a line; docker-py
        yields about a line at a time, and the spec's tailing loop prints one per item. A
        line's start waits for its end (per stream); what is left at the end comes last."""
        pending = {}  # stream -> (the start of a line, its timestamp prefix)
        for msg in call:
            chunk = msg.output
            if not chunk.data:
                continue
            prefix = b""
            if timestamps and chunk.HasField("timestamp"):
                # With timestamps the server sends one entry per chunk.
                prefix = _convert.timestamp_text(chunk.timestamp).encode() + b" "
            head, head_prefix = pending.pop(chunk.stream, (b"", prefix))
            lines = chunk.data.split(b"\n")
            for i, line in enumerate(lines[:-1]):
                if i == 0:
                    yield head_prefix + head + line + b"\n"
                else:
                    yield prefix + line + b"\n"
            rest = lines[-1]
            if len(lines) == 1:
                pending[chunk.stream] = (head + rest, head_prefix)
            elif rest:
                pending[chunk.stream] = (rest, prefix)
        for head, head_prefix in pending.values():
            yield head_prefix + head

    def exec_run(self, cmd, stdout=True, stderr=True, stdin=False, tty=False, privileged=False,
                 user="", detach=False, stream=False, socket=False, environment=None,
                 workdir=None, demux=False, retain_output=False):
        """ExecResult(exit_code, output), as docker-py:

        - default: output is bytes (a (stdout, stderr) tuple with demux, None for a stream
          with nothing), exit_code the command's;
        - stream=True: output is a generator (of tuples with demux), exit_code None (the
          generator's own exit_code is set at its end);
        - detach=True: ExecResult(None, None), the command runs on;
        - socket=True: output is an ExecSocket (AttachExec) for stdin, resize and output.

        Beyond docker-py, retain_output=True (with stream or detach) has the server keep the
        output: the stream reattaches by itself when the connection drops, and with detach
        the output is the exec id, for client.exec_resume(exec_id) later.
        """
        if retain_output and (socket or not (stream or detach)):
            raise InvalidArgument("retain_output goes with stream=True or detach=True")
        config = _exec_config(self.id, cmd, stdout, stderr, stdin and socket, tty, privileged,
                              user, environment, workdir)
        if socket:
            return ExecResult(None, ExecSocket(self.client, config, demux))
        if detach:
            reply = self.client._call("StartExec", pb.StartExecRequest(
                config=config, retain_output=retain_output))
            return ExecResult(None, reply.exec_id if retain_output else None)
        if stream:
            call = self.client._open("StreamExec", pb.StreamExecRequest(
                config=config, retain_output=retain_output))
            return ExecResult(None, ExecOutput(call, demux, self.client if retain_output else None))
        reply = self.client._call("ExecContainer",
                                  pb.ExecContainerRequest(config=config, demux=demux),
                                  timeout=None)
        if reply.truncated:
            warnings.warn("exec output passed the server's cap and was cut "
                          "(docklined --exec-output-cap); use stream=True for all of it",
                          RuntimeWarning, stacklevel=2)
        if demux:
            return ExecResult(reply.exit_code, (reply.stdout or None, reply.stderr or None))
        return ExecResult(reply.exit_code, reply.output)

    def attach(self, stdout=True, stderr=True, stream=False, logs=False, demux=False):
        """docker-py's attach(): the output from now on (after the log so far with logs=True)
        until the container exits; bytes, or a generator with stream=True (of (stdout,
        stderr) tuples with demux). The container must be running."""
        sock = self.attach_socket(stdin=False, stdout=stdout, stderr=stderr, logs=logs,
                                  demux=demux)
        if stream:
            return sock._output
        try:
            return b"".join(piece for pair in sock._output
                            for piece in (pair if demux else (pair,)) if piece)
        except grpc.RpcError as err:
            raise from_rpc_error(err) from err

    def attach_socket(self, stdin=True, stdout=True, stderr=True, logs=False, start=False,
                      detach_keys=None, demux=False):
        """An AttachSocket on the main process (docker attach, docker run -i): stdin needs
        a container created with stdin_open (with stdin_once, close_stdin() gives the process
        EOF); start=True starts a created container once attached, so none of its output is
        missed."""
        config = pb.AttachConfig(container=self.id, stdin=bool(stdin), stdout=bool(stdout),
                                 stderr=bool(stderr), logs=bool(logs), start=bool(start),
                                 detach_keys=str(detach_keys or ""))
        return AttachSocket(self.client, config, demux)

    # Health, beyond docker-py: the server's typed health and its event-driven waits.

    def get_health(self):
        """attrs["State"]["Health"] without a whole inspect: Status, FailingStreak, Log."""
        reply = self.client._call("GetHealth", pb.GetHealthRequest(container=self.id))
        return _health_dict(reply.health)

    def wait_healthy(self, timeout=None):
        """Block until healthy (no polling: the server follows the daemon's events). Raises
        Conflict when it turns unhealthy, has no healthcheck or stops; Timeout at timeout."""
        request = pb.WaitHealthyRequest(container=self.id)
        deadline = None
        if timeout is not None:
            request.timeout.CopyFrom(_convert.duration_from_seconds(timeout))
            deadline = timeout + _DEADLINE_SLACK
        return _health_dict(self.client._call("WaitHealthy", request, timeout=deadline).health)

    def watch_health(self):
        """A generator of health dicts: the current one, then each transition."""
        call = self.client._open("WatchHealth", pb.WatchHealthRequest(container=self.id))
        return CancellableStream(call, (_health_dict(m.health) for m in call))

    def stats(self, decode=None, stream=True):
        """docker-py's stats(): with stream=False the daemon's sample as a dict (it takes about
        a second); otherwise a stream of samples, each the daemon's JSON bytes, or a dict with
        decode=True. Beyond docker-py, each sample's typed figures as docker stats computes
        them are in stats_typed()."""
        if not stream:
            reply = self.client._call("GetStats", pb.GetStatsRequest(container=self.id))
            return json.loads(reply.stats.raw_json)
        call = self.client._open("StreamStats", pb.StreamStatsRequest(container=self.id))
        if decode:
            return CancellableStream(call, (json.loads(m.stats.raw_json) for m in call))
        return CancellableStream(call, (m.stats.raw_json.encode() for m in call))

    def stats_typed(self):
        """One sample as docker stats shows it: {"CPUPercent", "MemoryUsage", "MemoryLimit",
        "MemoryPercent", "NetworkRx", "NetworkTx", "BlockRead", "BlockWrite", "Pids"}."""
        s = self.client._call("GetStats", pb.GetStatsRequest(container=self.id)).stats
        return {"CPUPercent": s.cpu_percent, "MemoryUsage": s.memory_usage,
                "MemoryLimit": s.memory_limit, "MemoryPercent": s.memory_percent,
                "NetworkRx": s.network_rx_bytes, "NetworkTx": s.network_tx_bytes,
                "BlockRead": s.block_read_bytes, "BlockWrite": s.block_write_bytes,
                "Pids": s.pids}


    def get_archive(self, path, chunk_size=None, encode_stream=False):
        """docker-py's get_archive(): (a generator of the tar archive's bytes, the path's stat
        dict {"name", "size", "mode", "mtime", "linkTarget"}). The stat arrives first, so a
        missing container or path raises NotFound here, before any byte is read. chunk_size and
        encode_stream are accepted for docker-py's signature: pieces come as the server sends
        them."""
        del chunk_size, encode_stream
        call = self.client._open("CopyFromContainer",
                                 pb.CopyFromContainerRequest(container=self.id, path=path))
        stream = CancellableStream(call, iter(call))
        first = next(stream, None)
        if first is None or first.WhichOneof("event") != "stat":
            stream.close()
            raise DocklineException(f"the server sent no stat for {path}")
        s = first.stat
        stat = {"name": s.name, "size": s.size, "mode": s.mode,
                "mtime": s.mtime.ToJsonString() if s.HasField("mtime") else "",
                "linkTarget": s.link_target}
        return (m.data for m in stream), stat

    def put_archive(self, path, data, no_overwrite_dir_non_dir=False, copy_uid_gid=False):
        """docker-py's put_archive(): extracts the tar `data` (bytes, a file object or an
        iterable of bytes) into the existing directory `path`; True, or raises (NotFound for a
        missing container or path). Sent a piece at a time, so a file object of any size is
        never read whole."""
        target = pb.CopyTarget(container=self.id, path=path,
                               no_overwrite_dir_non_dir=no_overwrite_dir_non_dir,
                               copy_uid_gid=copy_uid_gid)

        def pieces():
            yield pb.CopyToContainerRequest(target=target)
            if isinstance(data, (bytes, bytearray, memoryview)):
                view = memoryview(data)
                for start in range(0, len(view), _ARCHIVE_PIECE):
                    yield pb.CopyToContainerRequest(data=bytes(view[start:start + _ARCHIVE_PIECE]))
            elif hasattr(data, "read"):
                while piece := data.read(_ARCHIVE_PIECE):
                    yield pb.CopyToContainerRequest(data=piece)
            else:
                for piece in data:
                    yield pb.CopyToContainerRequest(data=bytes(piece))

        try:
            self.client._stub.CopyToContainer(pieces())
        except grpc.RpcError as err:
            raise from_rpc_error(err) from err
        return True


class ContainerCollection:
    def __init__(self, client):
        self.client = client

    def prepare_model(self, attrs):
        return Container(attrs=attrs, client=self.client, collection=self)

    def get(self, container_id):
        reply = self.client._call("InspectContainer",
                                  pb.InspectContainerRequest(container=str(container_id)))
        return self.prepare_model(json.loads(reply.raw_json))

    def create(self, image, command=None, pull=None, auth_config=None, **kwargs):
        """docker-py's create(). pull: "missing" (default), "always" or "never" (docker's
        --pull); auth_config: docker-py's registry credentials for that pull."""
        kwargs.pop("detach", None)  # docker-py ignores it here too
        spec = build_spec(image, command, **kwargs)
        request = pb.CreateContainerRequest(spec=spec, pull=self._pull_policy(pull))
        auth = registry_auth(auth_config)
        if auth is not None:
            request.registry_auth.CopyFrom(auth)
        reply = self.client._call("CreateContainer", request)
        return self.get(reply.id)

    @staticmethod
    def _pull_policy(pull):
        if pull not in _PULL_POLICIES:
            raise InvalidArgument(f"pull: want 'missing', 'always' or 'never', not {pull!r}")
        return _PULL_POLICIES[pull]

    def run(self, image, command=None, stdout=True, stderr=False, remove=False, detach=False,
            stream=False, pull=None, auth_config=None, **kwargs):
        """docker-py's run().

        detach=False: the output (stdout; stderr too with stderr=True) as bytes once the
        container exits, ContainerError on a non-zero exit; stream=True yields it as it comes
        and raises ContainerError at the end. detach=True: the Container. remove=True: the
        container goes when it exits (after its output has been read).
        """
        if remove:
            kwargs["auto_remove"] = True
        spec = build_spec(image, command, **kwargs)
        request = pb.RunContainerRequest(spec=spec, detach=bool(detach),
                                         pull=self._pull_policy(pull))
        auth = registry_auth(auth_config)
        if auth is not None:
            request.registry_auth.CopyFrom(auth)
        call = self.client._open("RunContainer", request)
        if detach:
            try:
                container_id = self._started_id(call)
            except grpc.RpcError as err:
                raise from_rpc_error(err) from err
            try:
                return self.get(container_id)
            except NotFound:
                # Already gone (auto-removed): the id still serves wait(), as in docker-py.
                return self.prepare_model({"Id": container_id})
        return _stream_or_join(call, self._run_output(call, image, command, stdout, stderr),
                               stream)

    @staticmethod
    def _started_id(call):
        # Read to the end rather than cancel after `started`: a detached run ends right after
        # it, and a cancel could reach the server before it has finished.
        container_id = None
        for msg in call:
            if msg.WhichOneof("event") == "started":
                container_id = msg.started.id
        if container_id is None:
            raise DocklineException("RunContainer ended before the container started")
        return container_id

    def _run_output(self, call, image, command, stdout, stderr):
        container_id, errors = None, []
        for msg in call:
            kind = msg.WhichOneof("event")
            if kind == "started":
                container_id = msg.started.id
            elif kind == "output":
                chunk = msg.output
                if chunk.stream == _STDERR:
                    errors.append(chunk.data)
                    if stderr:
                        yield chunk.data
                elif stdout:
                    yield chunk.data
            elif kind == "exited":
                exited = msg.exited
                if exited.exit_code != 0:
                    container = self.prepare_model({"Id": container_id})
                    if not exited.removed:
                        try:
                            container = self.get(container_id)
                        except NotFound:
                            pass
                    raise ContainerError(container, exited.exit_code, command, image,
                                         b"".join(errors))
                return

    def list(self, all=False, before=None, filters=None, limit=-1, since=None, sparse=False,
             ignore_removed=False):
        """Containers, inspected one by one as docker-py does (sparse=True: the list's own
        fields only)."""
        filters = dict(filters or {})
        if before:
            filters["before"] = before
        if since:
            filters["since"] = since
        request = pb.ListContainersRequest(all=all, limit=max(limit, 0))
        request.filters.extend(_convert.filter_list(filters))
        reply = self.client._call("ListContainers", request)
        if sparse:
            return [self.prepare_model(self._summary_attrs(c)) for c in reply.containers]
        out = []
        for summary in reply.containers:
            try:
                out.append(self.get(summary.id))
            except NotFound:
                # Removed between the list and the inspect: as docker-py, raise unless told
                # to ignore it.
                if not ignore_removed:
                    raise
        return out

    @staticmethod
    def _summary_attrs(c):
        state = pb.ContainerStatus.Name(c.state).replace("CONTAINER_STATUS_", "").lower()
        return {
            "Id": c.id,
            "Names": ["/" + n for n in c.names],
            "Image": c.image,
            "ImageID": c.image_id,
            "Command": c.command,
            "Created": c.created.seconds,
            "State": state,
            "Status": c.status,
            "Labels": dict(c.labels),
        }

    def prune(self, filters=None, plan=False, apply=None):
        """{"ContainersDeleted": [ids], "SpaceReclaimed": bytes}; filters: until, label,
        label!. plan=True: the dry run's plan ({"Items", "Token"}), nothing removed;
        apply=<that plan, its token or a list of ids>: exactly those still prunable go, and
        "Skipped" lists the others with why."""
        typed, _ = _convert.prune_filters(filters, allowed=())
        reply = self.client._call("PruneContainers", prune.prune_request(
            pb.PruneContainersRequest(filters=typed), plan, apply))
        if plan:
            return prune.plan_result(reply)
        return prune.with_skipped({"ContainersDeleted": list(reply.containers_deleted),
                                   "SpaceReclaimed": reply.space_reclaimed}, reply, apply)


__all__ = ["Container", "ContainerCollection", "ExecOutput", "ExecResult", "ExecSocket"]
