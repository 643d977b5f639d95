"""A docklined of the test module's own, on a Unix socket, against the test engine.

setUpModule() calls start(); it exports DOCKLINE_ADDR so that the spec's examples run with
`client = dockline.from_env()` as their only change. Everything a test creates carries LABELS
(`dockline-test=<run id>`), and cleanup goes only by that label. Without DOCKER_HOST the
daemon-backed modules fail: they never skip.
"""

import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid

import grpc

import dockline
from dockline._proto import pb, pb_grpc

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
IMAGE = os.environ.get("DOCKLINE_TEST_IMAGE") or "dockline-test/busybox:latest"
LABEL_KEY = "dockline-test"
RUN_ID = f"python-{os.getpid()}-{uuid.uuid4().hex[:6]}"
LABELS = {LABEL_KEY: RUN_ID}
LABEL_FILTER = f"{LABEL_KEY}={RUN_ID}"


def docklined_path():
    path = os.environ.get("DOCKLINED") or os.path.join(REPO, "build", "server", "docklined")
    if not os.access(path, os.X_OK):
        raise RuntimeError(f"docklined not found at {path} (build it, or set DOCKLINED)")
    return path


def docker_host():
    host = os.environ.get("DOCKER_HOST")
    if not host:
        raise RuntimeError(
            "DOCKER_HOST is not set: start the test engine (bash tests/engine/test-engine.sh "
            "start) and export the DOCKER_HOST it prints, or run scripts/test.sh")
    return host


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost", timeout=60)
        self._path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(60)
        self.sock.connect(self._path)


def engine(method, path):
    """One Engine API call straight to the test engine, for what dockline has no RPC for
    (tagging an image); returns (status, decoded JSON or None)."""
    host = docker_host()
    if not host.startswith("unix://"):
        raise RuntimeError(f"DOCKER_HOST {host} is not a unix:// socket")
    conn = _UnixConnection(host[len("unix://"):])
    try:
        conn.request(method, path, headers={"Host": "docker"})
        reply = conn.getresponse()
        body = reply.read()
        return reply.status, json.loads(body) if body.strip() else None
    finally:
        conn.close()


def unique(prefix):
    return f"{prefix}-{RUN_ID}-{uuid.uuid4().hex[:6]}"


def wait_until(predicate, timeout=30, interval=0.1, what="condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def _die_with_parent():
    # In the child before exec: a test killed by ctest's timeout must not leave its docklined
    # running (PR_SET_PDEATHSIG = 1).
    import ctypes
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)


class Server:
    """One docklined process; `addr` is its unix:// address."""

    def __init__(self, extra_args=()):
        self.extra_args = list(extra_args)
        self.proc = None
        self.dir = None
        self.addr = None

    def start(self):
        host = docker_host()
        binary = docklined_path()
        # A short path: Unix socket paths stop at 107 bytes.
        self.dir = tempfile.mkdtemp(prefix="dlpy.", dir="/tmp")
        self.addr = "unix://" + os.path.join(self.dir, "d.sock")
        self.log_path = os.path.join(self.dir, "docklined.log")
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                [binary, "--listen", self.addr, "--docker-host", host, "--log-level", "warn"]
                + self.extra_args,
                stdout=log, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent)
        try:
            self._wait_ready()
        except BaseException:
            self.stop(check=False)
            raise
        return self

    def _wait_ready(self):
        channel = grpc.insecure_channel(self.addr)
        stub = pb_grpc.DocklineStub(channel)
        deadline = time.monotonic() + 30
        last = None
        try:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"docklined exited with {self.proc.returncode}:\n"
                                       f"{self.log_tail()}")
                try:
                    stub.GetEngineInfo(pb.GetEngineInfoRequest(), timeout=2,
                                       wait_for_ready=True)
                    return
                except grpc.RpcError as err:
                    if err.code() == grpc.StatusCode.UNAUTHENTICATED:
                        return  # up, and wants credentials
                    last = err
                time.sleep(0.1)
        finally:
            channel.close()
        raise RuntimeError(f"docklined did not answer within 30s ({last}):\n{self.log_tail()}")

    def log_tail(self, lines=40):
        try:
            with open(self.log_path, "rb") as f:
                return b"".join(f.readlines()[-lines:]).decode(errors="replace")
        except OSError:
            return ""

    def stop(self, check=True):
        code = None
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                code = self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                code = "killed after 20s"
        elif self.proc is not None:
            code = self.proc.returncode
        tail = self.log_tail()
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
        if check and code != 0:
            raise RuntimeError(f"docklined ended with {code}:\n{tail}")


_server = None


def start():
    """For setUpModule: one docklined for the module, DOCKLINE_ADDR pointing at it."""
    global _server
    _server = Server().start()
    os.environ["DOCKLINE_ADDR"] = _server.addr
    os.environ.pop("DOCKLINE_TOKEN", None)
    return _server


def stop():
    """For tearDownModule: remove what this run labelled, then stop docklined."""
    global _server
    if _server is None:
        return
    try:
        cleanup()
    finally:
        server, _server = _server, None
        server.stop()


def cleanup():
    client = dockline.DocklineClient(_server.addr)
    try:
        for container in client.containers.list(all=True, sparse=True,
                                                filters={"label": LABEL_FILTER}):
            try:
                container.remove(force=True, v=True)
            except dockline.NotFound:
                pass
        client.volumes.prune(filters={"label": LABEL_FILTER, "all": True})
    except Exception as err:  # cleanup must not hide the test's own outcome
        print(f"cleanup: {err}", file=sys.stderr)
    finally:
        client.close()
