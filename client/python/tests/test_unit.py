"""The package without a server: keyword arguments -> ContainerSpec, the error table, the
address and token rules, filters and times."""

import datetime
import os
import unittest

import grpc

import dockline
from dockline import _convert
from dockline._proto import pb
from dockline._spec import build_spec
from dockline.client import DEFAULT_ADDRESS, is_local_address
from dockline.errors import from_rpc_error
from dockline.images import parse_repository_tag
from dockline.types import Healthcheck, Mount

SECOND = 1_000_000_000


class FakeRpcError(grpc.RpcError):
    def __init__(self, code, details):
        self._code, self._details = code, details

    def code(self):
        return self._code

    def details(self):
        return self._details


class SpecTest(unittest.TestCase):
    def test_the_spec_full_run_signature(self):
        # Section 1 of the spec, every keyword but detach (a run() argument, not a spec field).
        spec = build_spec(
            image="python:3.12-slim",
            command="python app.py",
            name="my-app",
            ports={"8000/tcp": 8080, "8443/tcp": ("127.0.0.1", 8443)},
            network="app-net",
            hostname="app-host",
            environment={"DEBUG": "1", "DB_URL": "sqlite:///data.db"},
            working_dir="/app",
            user="1000:1000",
            volumes={"/host/data": {"bind": "/data", "mode": "rw"}},
            mounts=[Mount(target="/config", source="/host/config", type="bind",
                          read_only=True)],
            tmpfs={"/tmp": "size=100m"},
            read_only=True,
            auto_remove=True,
            init=True,
            restart_policy={"Name": "on-failure", "MaximumRetryCount": 3},
            stop_signal="SIGTERM",
            mem_limit="512m",
            nano_cpus=500_000_000,
            labels={"app": "web", "version": "1.0"},
            healthcheck={
                "test": ["CMD-SHELL", "curl -f http://localhost:8000/health || exit 1"],
                "interval": 10_000_000_000,
                "timeout": 5_000_000_000,
                "retries": 3,
                "start_period": 30_000_000_000,
            },
        )
        want = pb.ContainerSpec(
            image="python:3.12-slim", command=["python", "app.py"], name="my-app",
            network="app-net", hostname="app-host",
            env=["DEBUG=1", "DB_URL=sqlite:///data.db"], working_dir="/app", user="1000:1000",
            ports=[pb.PortBinding(container_port=8000, protocol=pb.PROTOCOL_TCP, host_port=8080),
                   pb.PortBinding(container_port=8443, protocol=pb.PROTOCOL_TCP,
                                  host_ip="127.0.0.1", host_port=8443)],
            volumes=[pb.VolumeBind(source="/host/data", target="/data")],
            mounts=[pb.Mount(type=pb.MOUNT_TYPE_BIND, target="/config", source="/host/config",
                             read_only=True)],
            tmpfs={"/tmp": "size=100m"}, read_only=True, auto_remove=True, init=True,
            restart_policy=pb.RestartPolicy(name=pb.RESTART_POLICY_NAME_ON_FAILURE,
                                            maximum_retry_count=3),
            stop_signal="SIGTERM", memory="512m", nano_cpus=500_000_000,
            labels={"app": "web", "version": "1.0"},
            healthcheck=pb.Healthcheck(
                test=["CMD-SHELL", "curl -f http://localhost:8000/health || exit 1"],
                interval=_convert.duration_from_nanos(10 * SECOND),
                timeout=_convert.duration_from_nanos(5 * SECOND), retries=3,
                start_period=_convert.duration_from_nanos(30 * SECOND)))
        self.assertEqual(spec, want)

    def test_port_forms(self):
        spec = build_spec("i", ports={"1111": ("127.0.0.1",), "9000/udp": None, 53: [53, 5353],
                                      "2222/sctp": "2223", 7: [("::1", 8), 9]})
        got = [(p.container_port, p.protocol, p.host_ip, p.host_port) for p in spec.ports]
        self.assertEqual(got, [
            (1111, pb.PROTOCOL_TCP, "127.0.0.1", 0),
            (9000, pb.PROTOCOL_UDP, "", 0),
            (53, pb.PROTOCOL_TCP, "", 53),
            (53, pb.PROTOCOL_TCP, "", 5353),
            (2222, pb.PROTOCOL_SCTP, "", 2223),
            (7, pb.PROTOCOL_TCP, "::1", 8),
            (7, pb.PROTOCOL_TCP, "", 9),
        ])
        for bad in ({"80/icmp": 1}, {"1000-1002": 1}, {0: 1}, {"80": "x"}, {"80": (1, 2, 3)}):
            with self.subTest(bad=bad), self.assertRaises(dockline.errors.InvalidArgument):
                build_spec("i", ports=bad)

    def test_volume_forms(self):
        spec = build_spec("i", volumes={"/a": {"bind": "/x", "mode": "ro,rslave"},
                                        "named": {"bind": "/y", "ro": True}, "/b": "/z"})
        self.assertEqual(list(spec.volumes), [
            pb.VolumeBind(source="/a", target="/x", read_only=True, propagation="rslave"),
            pb.VolumeBind(source="named", target="/y", read_only=True),
            pb.VolumeBind(source="/b", target="/z")])
        spec = build_spec("i", volumes=["/a:/x:ro", "v:/y", "/anon"])
        self.assertEqual(list(spec.volumes), [
            pb.VolumeBind(source="/a", target="/x", read_only=True),
            pb.VolumeBind(source="v", target="/y")])
        self.assertEqual(list(spec.mounts), [pb.Mount(type=pb.MOUNT_TYPE_VOLUME,
                                                      target="/anon")])
        with self.assertRaises(dockline.errors.InvalidArgument):
            build_spec("i", volumes=["/a:/x:z"])
        with self.assertRaises(dockline.errors.InvalidArgument):
            build_spec("i", volumes={"/a": {"mode": "ro"}})

    def test_mount_forms_ours_and_docker_types(self):
        mounts = [
            Mount("/v", "vol", no_copy=True, labels={"k": "v"}),
            Mount("/t", None, type="tmpfs", tmpfs_size="1m", tmpfs_mode=0o700),
            Mount("/b", "/src", type="bind", propagation="rshared"),
            "/host:/c:ro",
        ]
        spec = build_spec("i", mounts=mounts)
        self.assertEqual(list(spec.mounts), [
            pb.Mount(type=pb.MOUNT_TYPE_VOLUME, target="/v", source="vol", no_copy=True,
                     volume_labels={"k": "v"}),
            pb.Mount(type=pb.MOUNT_TYPE_TMPFS, target="/t", tmpfs_size_bytes=1 << 20,
                     tmpfs_mode=0o700),
            pb.Mount(type=pb.MOUNT_TYPE_BIND, target="/b", source="/src",
                     propagation="rshared"),
            pb.Mount(type=pb.MOUNT_TYPE_BIND, target="/c", source="/host", read_only=True),
        ])
        try:
            import docker.types
        except ImportError:
            return
        theirs = build_spec("i", mounts=[docker.types.Mount("/v", "vol", no_copy=True,
                                                            labels={"k": "v"})])
        self.assertEqual(theirs.mounts[0], spec.mounts[0])
        hc = build_spec("i", healthcheck=docker.types.Healthcheck(
            test="exit 0", interval=2 * SECOND, start_period=SECOND)).healthcheck
        self.assertEqual(hc, pb.Healthcheck(
            test=["CMD-SHELL", "exit 0"], interval=_convert.duration_from_nanos(2 * SECOND),
            start_period=_convert.duration_from_nanos(SECOND)))

    def test_other_forms(self):
        spec = build_spec("i", ["echo", "a b"], environment=["A=1", "B"], mem_limit=1 << 20,
                          labels=["flag"], tmpfs=["/run:size=1m", "/x"], user=1000,
                          entrypoint="/bin/sh -c", stop_timeout=7, network_disabled=True,
                          healthcheck=Healthcheck(test=["NONE"]), privileged=False,
                          cap_add=None)
        self.assertEqual(list(spec.command), ["echo", "a b"])
        self.assertEqual(list(spec.env), ["A=1", "B"])
        self.assertEqual(spec.memory_bytes, 1 << 20)
        self.assertEqual(dict(spec.labels), {"flag": ""})
        self.assertEqual(dict(spec.tmpfs), {"/run": "size=1m", "/x": ""})
        self.assertEqual(spec.user, "1000")
        self.assertEqual(list(spec.entrypoint), ["/bin/sh", "-c"])
        self.assertEqual(spec.stop_timeout.seconds, 7)
        self.assertEqual(spec.network, "none")
        self.assertEqual(list(spec.healthcheck.test), ["NONE"])
        self.assertEqual(build_spec("i", environment={"A": None}).env, ["A"])

    def test_unsupported_and_unknown_keywords(self):
        with self.assertRaisesRegex(dockline.errors.InvalidArgument, "privileged"):
            build_spec("i", privileged=True)
        with self.assertRaises(TypeError):
            build_spec("i", no_such_option=1)
        with self.assertRaises(dockline.errors.InvalidArgument):
            build_spec("i", network="a", network_mode="b")
        with self.assertRaises(dockline.errors.InvalidArgument):
            build_spec("i", restart_policy={"Name": "sometimes"})
        with self.assertRaises(dockline.errors.InvalidArgument):
            build_spec("i", healthcheck={"tests": ["NONE"]})
        with self.assertRaises(dockline.errors.InvalidArgument):
            build_spec("")


class ErrorTableTest(unittest.TestCase):
    def test_codes_map_to_docker_errors(self):
        table = {
            grpc.StatusCode.NOT_FOUND: dockline.errors.NotFound,
            grpc.StatusCode.INVALID_ARGUMENT: dockline.errors.InvalidArgument,
            grpc.StatusCode.ALREADY_EXISTS: dockline.errors.Conflict,
            grpc.StatusCode.FAILED_PRECONDITION: dockline.errors.Conflict,
            grpc.StatusCode.PERMISSION_DENIED: dockline.errors.PermissionDenied,
            grpc.StatusCode.UNAUTHENTICATED: dockline.errors.Unauthenticated,
            grpc.StatusCode.UNAVAILABLE: dockline.errors.Unavailable,
            grpc.StatusCode.DEADLINE_EXCEEDED: dockline.errors.Timeout,
            grpc.StatusCode.RESOURCE_EXHAUSTED: dockline.errors.ResourceExhausted,
            grpc.StatusCode.UNIMPLEMENTED: dockline.errors.Unimplemented,
            grpc.StatusCode.DATA_LOSS: dockline.errors.DataLoss,
            grpc.StatusCode.INTERNAL: dockline.errors.APIError,
        }
        for code, cls in table.items():
            with self.subTest(code=code):
                err = from_rpc_error(FakeRpcError(code, "the message"))
                self.assertIs(type(err), cls)
                self.assertIsInstance(err, dockline.APIError)
                self.assertIsInstance(err, dockline.DocklineException)
                self.assertEqual(err.status_code, code)
                self.assertEqual(err.explanation, "the message")
                self.assertIn("the message", str(err))

    def test_image_not_found(self):
        err = from_rpc_error(FakeRpcError(grpc.StatusCode.NOT_FOUND,
                                          "No such image: x:latest"))
        self.assertIsInstance(err, dockline.ImageNotFound)
        self.assertIsInstance(err, dockline.NotFound)
        err = from_rpc_error(FakeRpcError(grpc.StatusCode.NOT_FOUND, "no such thing"),
                             not_found=dockline.ImageNotFound)
        self.assertIsInstance(err, dockline.ImageNotFound)
        err = from_rpc_error(FakeRpcError(grpc.StatusCode.NOT_FOUND, "No such container: c"))
        self.assertIs(type(err), dockline.NotFound)

    def test_http_status_and_client_error(self):
        err = from_rpc_error(FakeRpcError(grpc.StatusCode.NOT_FOUND, "x"))
        self.assertEqual(err.http_status, 404)
        self.assertTrue(err.is_client_error())
        err = from_rpc_error(FakeRpcError(grpc.StatusCode.INTERNAL, "x"))
        self.assertTrue(err.is_server_error())

    def test_timeout_is_requests_read_timeout(self):
        try:
            from requests.exceptions import ReadTimeout
        except ImportError:
            self.skipTest("requests is not installed")
        err = from_rpc_error(FakeRpcError(grpc.StatusCode.DEADLINE_EXCEEDED, "late"))
        self.assertIsInstance(err, ReadTimeout)

    def test_container_error_reads_like_docker_py(self):
        err = dockline.ContainerError(None, 3, "sh -c 'exit 3'", "busybox", b"oops\n")
        self.assertEqual(err.exit_status, 3)
        self.assertEqual(err.stderr, b"oops\n")
        self.assertEqual(str(err), "Command 'sh -c 'exit 3'' in image 'busybox' returned "
                                   "non-zero exit status 3: oops\n")


class ClientTest(unittest.TestCase):
    def test_from_env_reads_the_cli_variables(self):
        client = dockline.from_env(environment={})
        self.assertEqual(client.addr, DEFAULT_ADDRESS)
        self.assertEqual(DEFAULT_ADDRESS, "127.0.0.1:50051")
        client = dockline.from_env(environment={"DOCKLINE_ADDR": "unix:///tmp/x.sock",
                                                "DOCKLINE_TOKEN": "secret"})
        self.assertEqual(client.addr, "unix:///tmp/x.sock")
        old = os.environ.get("DOCKLINE_ADDR")
        os.environ["DOCKLINE_ADDR"] = "localhost:1"
        try:
            self.assertEqual(dockline.from_env().addr, "localhost:1")
            self.assertEqual(dockline.from_env(addr="127.0.0.1:2").addr, "127.0.0.1:2")
        finally:
            if old is None:
                del os.environ["DOCKLINE_ADDR"]
            else:
                os.environ["DOCKLINE_ADDR"] = old

    def test_a_token_goes_in_clear_only_to_local_addresses(self):
        for addr in ("unix:///tmp/s", "127.0.0.1:1", "localhost:1", "[::1]:1",
                     "dns:///localhost:1", "ipv4:127.0.0.1:1,127.0.0.2:1"):
            self.assertTrue(is_local_address(addr), addr)
        for addr in ("10.0.0.1:1", "example.com:1", "ipv4:127.0.0.1:1,10.0.0.1:1",
                     "127.example.com:1"):
            self.assertFalse(is_local_address(addr), addr)
        with self.assertRaisesRegex(dockline.DocklineException, "in clear"):
            dockline.DocklineClient("10.0.0.1:50051", token="t")
        dockline.DocklineClient("10.0.0.1:50051", token="t", tls=True).close()
        with self.assertRaisesRegex(dockline.DocklineException, "visible ASCII"):
            dockline.DocklineClient("127.0.0.1:1", token="a b")

    def test_an_unreachable_server_is_unavailable(self):
        client = dockline.DocklineClient("unix:///nonexistent/dockline.sock", timeout=5)
        with self.assertRaises(dockline.errors.Unavailable):
            client.ping()
        client.close()


class LogLinesTest(unittest.TestCase):
    @staticmethod
    def lines(chunks, timestamps=False):
        from dockline.containers import Container
        msgs = []
        for stream, data, seconds in chunks:
            chunk = pb.OutputChunk(stream=stream, data=data)
            if seconds is not None:
                chunk.timestamp.seconds = seconds
            msgs.append(pb.StreamLogsResponse(output=chunk))
        return list(Container._log_lines(iter(msgs), timestamps))

    def test_a_line_cut_between_chunks_comes_whole(self):
        out, err = pb.STREAM_STDOUT, pb.STREAM_STDERR
        self.assertEqual(self.lines([(out, b"a\nb", None), (out, b"c\n", None),
                                     (err, b"x", None), (out, b"d\ne\n", None),
                                     (err, b"y\n", None), (out, b"no newline", None)]),
                         [b"a\n", b"bc\n", b"d\n", b"e\n", b"xy\n", b"no newline"])

    def test_timestamps_prefix_each_line_with_its_start(self):
        out = pb.STREAM_STDOUT
        self.assertEqual(
            self.lines([(out, b"one\n", 1), (out, b"par", 2), (out, b"tial\n", 3)], True),
            [b"1970-01-01T00:00:01.000000000Z one\n",
             b"1970-01-01T00:00:02.000000000Z partial\n"])


class ConvertTest(unittest.TestCase):
    def test_prune_filters(self):
        typed, extra = _convert.prune_filters(
            {"until": "24h", "label": ["a=b", "c"], "label!": "d", "dangling": True},
            allowed=("dangling",))
        self.assertEqual(typed.older_than.seconds, 86400)
        self.assertEqual(list(typed.labels), ["a=b", "c"])
        self.assertEqual(list(typed.labels_not), ["d"])
        self.assertEqual(extra, {"dangling": True})
        typed, _ = _convert.prune_filters({"until": 1700000000}, allowed=())
        self.assertEqual(typed.until_time.seconds, 1700000000)
        typed, _ = _convert.prune_filters({"until": "2024-01-01T00:00:00Z"}, allowed=())
        self.assertEqual(typed.until_time.seconds, 1704067200)
        with self.assertRaises(dockline.errors.InvalidArgument):
            _convert.prune_filters({"dangling": True}, allowed=())

    def test_times(self):
        naive = datetime.datetime(2024, 1, 1, 0, 0, 1, 500000)
        self.assertEqual(_convert.timestamp_from(naive, "t").seconds, 1704067201)
        self.assertEqual(_convert.timestamp_from(naive, "t").nanos, 500000000)
        self.assertEqual(_convert.timestamp_from(1.25, "t").nanos, 250000000)
        ts = _convert.duration_to_timestamp(1704067201 * SECOND + 5)
        self.assertEqual(_convert.timestamp_text(ts), "2024-01-01T00:00:01.000000005Z")
        self.assertEqual(_convert.parse_go_duration("1h30m"), 5400 * SECOND)
        self.assertIsNone(_convert.parse_go_duration("soon"))
        self.assertEqual(_convert.parse_bytes("512m", "x"), 512 << 20)

    def test_filters(self):
        got = [(f.key, f.value) for f in _convert.filter_list(
            {"label": ["a=b", "c"], "dangling": True, "status": "exited"})]
        self.assertEqual(got, [("label", "a=b"), ("label", "c"), ("dangling", "true"),
                               ("status", "exited")])

    def test_repository_tag(self):
        self.assertEqual(parse_repository_tag("busybox"), ("busybox", None))
        self.assertEqual(parse_repository_tag("busybox:1.36"), ("busybox", "1.36"))
        self.assertEqual(parse_repository_tag("reg:5000/busybox"), ("reg:5000/busybox", None))
        self.assertEqual(parse_repository_tag("b@sha256:ab"), ("b", "sha256:ab"))


if __name__ == "__main__":
    unittest.main()
