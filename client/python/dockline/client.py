"""DocklineClient and from_env(): docker.DockerClient's shape over a dockline channel."""

import ipaddress
import json
import os

import grpc

from dockline import _convert
from dockline._proto import pb, pb_grpc
from dockline._stream import CancellableStream
from dockline.errors import DocklineException, from_rpc_error

# The C++ CLI's default (client/cli/cli.h kDefaultAddress) and environment variables.
DEFAULT_ADDRESS = "127.0.0.1:50051"
ADDRESS_ENV = "DOCKLINE_ADDR"
TOKEN_ENV = "DOCKLINE_TOKEN"

# Deadline of short calls (inspect, list, start, ...), as docker-py's 60 s default timeout.
# Calls that wait by nature (wait, exec, run, logs, health waits) have none unless asked.
DEFAULT_TIMEOUT = 60

# As the C++ client: exec output comes in one message (up to 16 MiB per stream on the server)
# and large inspect documents too, well past gRPC's default 4 MiB.
_MAX_RECEIVE_BYTES = 64 << 20

_DEFAULT = object()


def from_env(environment=None, context=None, **kwargs):
    """A client chosen as the CLI chooses: `addr`, else `context` (a name in the CLI's context
    store), else $DOCKLINE_ADDR, else $DOCKLINE_CONTEXT, else the context `dockline context
    use` chose, else 127.0.0.1:50051; the token from the context, else $DOCKLINE_TOKEN.

    Keyword arguments are DocklineClient's and win over the environment and the context.
    """
    from dockline import contexts

    env = os.environ if environment is None else environment
    addr = kwargs.pop("addr", None)
    chosen = None
    if not addr and (context or not env.get(ADDRESS_ENV)):
        chosen = contexts.resolve(context, env)
    if chosen is not None:
        addr = chosen.address
        for key, value in contexts.client_kwargs(chosen).items():
            kwargs.setdefault(key, value)
    addr = addr or env.get(ADDRESS_ENV) or DEFAULT_ADDRESS
    if "token" not in kwargs and env.get(TOKEN_ENV):
        kwargs["token"] = env[TOKEN_ENV]
    return DocklineClient(addr, **kwargs)


class _Details(grpc.ClientCallDetails):
    def __init__(self, details, metadata):
        self.method = details.method
        self.timeout = details.timeout
        self.metadata = metadata
        self.credentials = details.credentials
        self.wait_for_ready = details.wait_for_ready
        self.compression = details.compression


class _BearerToken(grpc.UnaryUnaryClientInterceptor, grpc.UnaryStreamClientInterceptor,
                   grpc.StreamUnaryClientInterceptor, grpc.StreamStreamClientInterceptor):
    """Adds the token to plaintext calls to a local server; over TLS gRPC's own call
    credentials do it (and only over the TLS they were checked with)."""

    def __init__(self, token):
        self._header = ("authorization", f"Bearer {token}")

    def _details(self, details):
        return _Details(details, list(details.metadata or []) + [self._header])

    def intercept_unary_unary(self, continuation, details, request):
        return continuation(self._details(details), request)

    def intercept_unary_stream(self, continuation, details, request):
        return continuation(self._details(details), request)

    def intercept_stream_unary(self, continuation, details, request_iterator):
        return continuation(self._details(details), request_iterator)

    def intercept_stream_stream(self, continuation, details, request_iterator):
        return continuation(self._details(details), request_iterator)


def _is_loopback_host(host):
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return address.is_loopback


def _host_of(address):
    if address.startswith("["):
        return address[:address.find("]") + 1] if "]" in address else address
    if address.count(":") == 1:
        return address.split(":")[0]
    return address


def is_local_address(target):
    """The CLI's rule for sending a token without TLS: unix sockets and loopback only."""
    if target.startswith(("unix:", "unix-abstract:")):
        return True
    rest = target
    if rest.startswith("dns:"):
        rest = rest[4:]
        if rest.startswith("//"):
            rest = rest[rest.find("/", 2) + 1:] if "/" in rest[2:] else ""
        return bool(rest) and _is_loopback_host(_host_of(rest))
    if rest.startswith(("ipv4:", "ipv6:")):
        hosts = [h for h in rest[5:].split(",") if h]
        return bool(hosts) and all(_is_loopback_host(_host_of(h)) for h in hosts)
    return _is_loopback_host(_host_of(rest))


def _read(path, what):
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as err:
        raise DocklineException(f"{what}: cannot read {path}: {err.strerror}") from err


class DocklineClient:
    """A connection to docklined, shaped like docker.DockerClient.

    addr: "host:port" or "unix:///path". TLS as the CLI's flags: tls=True (system CAs),
    tls_ca, tls_cert + tls_key (mutual TLS; file paths), tls_server_name. token: a bearer
    token, sent only over TLS or to a local address. timeout: seconds for short calls.
    """

    def __init__(self, addr=DEFAULT_ADDRESS, *, token=None, tls=False, tls_ca=None,
                 tls_cert=None, tls_key=None, tls_server_name=None, timeout=DEFAULT_TIMEOUT,
                 keepalive_time=None, options=None):
        # Here rather than at the top: the models import this module's helpers.
        from dockline.containers import ContainerCollection
        from dockline.images import ImageCollection
        from dockline.prune import NetworkCollection, VolumeCollection

        self.addr = addr
        self.timeout = timeout
        channel_options = [("grpc.max_receive_message_length", _MAX_RECEIVE_BYTES)]
        if keepalive_time:
            channel_options.append(("grpc.keepalive_time_ms", int(keepalive_time * 1000)))
        channel_options.extend(options or [])
        use_tls = bool(tls or tls_ca or tls_cert or tls_key or tls_server_name)
        if bool(tls_cert) != bool(tls_key):
            raise DocklineException("tls_cert and tls_key go together (mutual TLS)")
        if token is not None and any(c <= " " or c > "~" for c in token):
            raise DocklineException("the token holds characters a gRPC header cannot carry "
                                    "(only visible ASCII)")
        if use_tls:
            if tls_server_name:
                channel_options.append(("grpc.ssl_target_name_override", tls_server_name))
            credentials = grpc.ssl_channel_credentials(
                root_certificates=_read(tls_ca, "tls_ca") if tls_ca else None,
                private_key=_read(tls_key, "tls_key") if tls_key else None,
                certificate_chain=_read(tls_cert, "tls_cert") if tls_cert else None)
            if token:
                credentials = grpc.composite_channel_credentials(
                    credentials, grpc.access_token_call_credentials(token))
            self._channel = grpc.secure_channel(addr, credentials, options=channel_options)
        else:
            self._channel = grpc.insecure_channel(addr, options=channel_options)
            if token:
                if not is_local_address(addr):
                    self._channel.close()
                    # Anyone on the path could read it, and docklined refuses a plaintext
                    # token from a remote peer anyway.
                    raise DocklineException(
                        f"refusing to send the token in clear to {addr}: use TLS, or a "
                        "loopback or unix:// address")
                self._channel = grpc.intercept_channel(self._channel, _BearerToken(token))
        self._stub = pb_grpc.DocklineStub(self._channel)
        self.containers = ContainerCollection(self)
        self.images = ImageCollection(self)
        self.volumes = VolumeCollection(self)
        self.networks = NetworkCollection(self)

    def __repr__(self):
        return f"<DocklineClient: {self.addr}>"

    # Plumbing shared by the models.

    def _call(self, method, request, timeout=_DEFAULT, not_found=None):
        """A unary call; gRPC errors become dockline exceptions."""
        if timeout is _DEFAULT:
            timeout = self.timeout
        try:
            return getattr(self._stub, method)(request, timeout=timeout)
        except grpc.RpcError as err:
            raise from_rpc_error(err, not_found) from err

    def _open(self, method, request, timeout=None):
        """A server (or bidi) stream; the caller reads it inside a CancellableStream or
        translates errors itself."""
        return getattr(self._stub, method)(request, timeout=timeout)

    def exec_resume(self, exec_id, offset=0, demux=False, reattach_within=30.0):
        """The output of an exec started with retain_output=True, from byte `offset` (an
        earlier ExecOutput's `offset`; 0: all the server keeps), as an ExecOutput whose
        `exit_code` is set at its end and `lost_bytes` says what the server no longer had."""
        from dockline.containers import ExecOutput

        call = self._open("StreamExec", pb.StreamExecRequest(exec_id=exec_id, offset=offset))
        return ExecOutput(call, demux, self, offset, reattach_within)

    # docker.DockerClient's own methods.

    def version(self):
        """docker-py's version() keys, plus the negotiated API version and dockline's."""
        info = self._call("GetEngineInfo", pb.GetEngineInfoRequest())
        return {
            "Version": info.engine_version,
            "ApiVersion": info.engine_api_version,
            "MinAPIVersion": info.engine_min_api_version,
            "NegotiatedApiVersion": info.api_version,
            "Os": info.os,
            "Arch": info.arch,
            "KernelVersion": info.kernel_version,
            "Components": [{"Name": "dockline", "Version": info.dockline_version}],
        }

    def events(self, since=None, until=None, filters=None, decode=None):
        """docker-py's events(): the daemon's events as a stream, each the event object's JSON
        bytes, or a dict with decode=True, in the daemon's shape (Type, Action, Actor{ID,
        Attributes}, scope, time, timeNano). since/until: datetime, Unix seconds or RFC 3339;
        with until the stream ends there, without it it follows until close(). filters:
        docker's events filters, {"type": "container", "label": ["a=b"], ...}."""
        request = pb.WatchEventsRequest(filters=_convert.filter_list(filters))
        if since is not None:
            request.since.CopyFrom(_convert.timestamp_from(since, "since"))
        if until is not None:
            request.until.CopyFrom(_convert.timestamp_from(until, "until"))
        call = self._open("WatchEvents", request)
        events = (_convert.event_dict(m.event) for m in call)
        if decode:
            return CancellableStream(call, events)
        return CancellableStream(call, (json.dumps(e).encode() for e in events))

    def ping(self):
        """True when docklined and the daemon behind it answer; raises otherwise."""
        self._call("GetEngineInfo", pb.GetEngineInfoRequest())
        return True

    def close(self):
        self._channel.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
