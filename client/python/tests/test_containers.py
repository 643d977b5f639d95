"""containers.run/create/get/list/prune and the Container lifecycle, against a real docklined
and the test engine: the spec's sections 1 (run and create), 6 (wait), 7 (auto-remove) and 8
(prune), each changed only in the client line, the image (the test engine's busybox has no
python, so commands are its equivalents) and a label on everything created."""

import os
import shutil
import tempfile
import time
import unittest

import harness
from harness import IMAGE, LABELS, LABEL_FILTER, unique, wait_until

import dockline
from dockline.types import Mount


def setUpModule():
    harness.start()


def tearDownModule():
    harness.stop()


def labels(**more):
    return dict(LABELS, **more)


class RunAndCreateTest(unittest.TestCase):
    def setUp(self):
        self.client = dockline.from_env()
        self.addCleanup(self.client.close)

    def test_full_run_signature_reaches_the_daemon(self):
        # Spec section 1, with create() (same parameters, not started), host paths of a temp
        # dir, network "none" (the test engine has no other network) and without remove=True,
        # which the daemon refuses beside a restart policy (see the next test).
        host = tempfile.mkdtemp(prefix="dlpy-host.")
        self.addCleanup(shutil.rmtree, host, ignore_errors=True)
        os.mkdir(os.path.join(host, "data"))
        os.chmod(os.path.join(host, "data"), 0o777)  # the container writes as uid 1000
        os.chmod(host, 0o755)
        os.mkdir(os.path.join(host, "config"))
        name = unique("my-app")
        client = dockline.from_env()
        self.addCleanup(client.close)
        container = client.containers.create(
            image=IMAGE,
            command="sleep 300",
            name=name,
            detach=True,

            # Networking
            ports={"8000/tcp": 8080, "8443/tcp": ("127.0.0.1", 8443)},
            network="none",
            hostname="app-host",

            # Environment
            environment={"DEBUG": "1", "DB_URL": "sqlite:///data.db"},
            working_dir="/app",
            user="1000:1000",

            # Storage
            volumes={f"{host}/data": {"bind": "/data", "mode": "rw"}},
            mounts=[Mount(target="/config", source=f"{host}/config", type="bind",
                          read_only=True)],
            tmpfs={"/tmp": "size=100m"},
            read_only=True,

            # Lifecycle
            init=True,
            restart_policy={"Name": "on-failure", "MaximumRetryCount": 3},
            stop_signal="SIGTERM",

            # Resources
            mem_limit="512m",
            nano_cpus=500_000_000,

            # Labels
            labels=labels(app="web", version="1.0"),

            # Health
            healthcheck={
                "test": ["CMD-SHELL", "curl -f http://localhost:8000/health || exit 1"],
                "interval": 10_000_000_000,
                "timeout": 5_000_000_000,
                "retries": 3,
                "start_period": 30_000_000_000,
            },
        )
        attrs = container.attrs
        config, hostcfg = attrs["Config"], attrs["HostConfig"]
        self.assertEqual(container.name, name)
        self.assertEqual(container.status, "created")
        self.assertEqual(config["Image"], IMAGE)
        self.assertEqual(config["Cmd"], ["sleep", "300"])
        self.assertEqual(config["Hostname"], "app-host")
        self.assertEqual(config["Env"][:2], ["DEBUG=1", "DB_URL=sqlite:///data.db"])
        self.assertEqual(config["WorkingDir"], "/app")
        self.assertEqual(config["User"], "1000:1000")
        self.assertEqual(hostcfg["PortBindings"], {
            "8000/tcp": [{"HostIp": "", "HostPort": "8080"}],
            "8443/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8443"}]})
        self.assertEqual(hostcfg["NetworkMode"], "none")
        self.assertEqual(hostcfg["Binds"], [f"{host}/data:/data:rw"])
        self.assertEqual(hostcfg["Mounts"], [{"Type": "bind", "Source": f"{host}/config",
                                              "Target": "/config", "ReadOnly": True}])
        self.assertEqual(hostcfg["Tmpfs"], {"/tmp": "size=100m"})
        self.assertTrue(hostcfg["ReadonlyRootfs"])
        self.assertTrue(hostcfg["Init"])
        self.assertFalse(hostcfg["AutoRemove"])
        self.assertEqual(hostcfg["RestartPolicy"], {"Name": "on-failure",
                                                    "MaximumRetryCount": 3})
        self.assertEqual(config["StopSignal"], "SIGTERM")
        self.assertEqual(hostcfg["Memory"], 512 << 20)
        self.assertEqual(hostcfg["NanoCpus"], 500_000_000)
        self.assertEqual(container.labels, labels(app="web", version="1.0"))
        self.assertEqual(config["Healthcheck"], {
            "Test": ["CMD-SHELL", "curl -f http://localhost:8000/health || exit 1"],
            "Interval": 10_000_000_000, "Timeout": 5_000_000_000, "Retries": 3,
            "StartPeriod": 30_000_000_000})

        # And it runs: binds, the read-only root, tmpfs, init and the user as asked.
        container.start()
        result = container.exec_run(["sh", "-c", "id -u; touch /data/ok && echo rw; "
                                     "touch /config/x 2>/dev/null || echo ro-config; "
                                     "touch /etc/x 2>/dev/null || echo ro-root; "
                                     "touch /tmp/x && echo tmpfs; cat /proc/1/comm"])
        self.assertEqual(result.exit_code, 0, result.output)
        self.assertEqual(result.output.split(b"\n")[:5],
                         [b"1000", b"rw", b"ro-config", b"ro-root", b"tmpfs"])
        self.assertNotEqual(result.output.split(b"\n")[5], b"sleep")  # init is PID 1
        self.assertTrue(os.path.exists(os.path.join(host, "data", "ok")))
        container.remove(force=True)

    def test_remove_with_a_restart_policy_is_refused(self):
        # The spec's full example asks for both; the daemon (and docker run) refuse that.
        with self.assertRaises(dockline.APIError) as caught:
            self.client.containers.run(IMAGE, "true", detach=True, remove=True,
                                       restart_policy={"Name": "on-failure",
                                                       "MaximumRetryCount": 3},
                                       labels=labels())
        self.assertTrue(caught.exception.is_client_error(), caught.exception)

    def test_create_then_start(self):
        # Spec section 1, "create() vs run()".
        client = dockline.from_env()
        self.addCleanup(client.close)
        name = unique("one-off")
        container = client.containers.create(IMAGE, command="echo hello", name=name,
                                             labels=LABELS)
        # Configure further if needed...
        self.assertEqual(container.status, "created")
        container.start()
        output = container.wait()
        logs = container.logs()
        container.remove()
        self.assertEqual(output, {"StatusCode": 0, "Error": None})
        self.assertEqual(logs, b"hello\n")
        with self.assertRaises(dockline.NotFound):
            client.containers.get(name)

    def test_run_returns_stdout(self):
        out = self.client.containers.run(IMAGE, "sh -c 'echo out; echo err >&2'",
                                         labels=LABELS)
        self.assertEqual(out, b"out\n")
        both = self.client.containers.run(IMAGE, "sh -c 'echo out; echo err >&2'",
                                          stderr=True, labels=LABELS)
        self.assertEqual(sorted(both.splitlines()), [b"err", b"out"])
        only_err = self.client.containers.run(IMAGE, "sh -c 'echo out; echo err >&2'",
                                              stdout=False, stderr=True, labels=LABELS)
        self.assertEqual(only_err, b"err\n")

    def test_run_raises_container_error_on_a_non_zero_exit(self):
        command = "sh -c 'echo partial; echo oops >&2; exit 3'"
        with self.assertRaises(dockline.ContainerError) as caught:
            self.client.containers.run(IMAGE, command, labels=LABELS)
        err = caught.exception
        self.assertEqual(err.exit_status, 3)
        self.assertEqual(err.stderr, b"oops\n")
        self.assertEqual(err.command, command)
        self.assertEqual(err.image, IMAGE)
        self.assertEqual(err.container.status, "exited")
        self.assertIn("returned non-zero exit status 3", str(err))

        with self.assertRaises(dockline.ContainerError) as caught:
            self.client.containers.run(IMAGE, "sh -c 'exit 4'", remove=True, labels=LABELS)
        self.assertEqual(caught.exception.exit_status, 4)
        with self.assertRaises(dockline.NotFound):
            caught.exception.container.reload()

    def test_run_stream_yields_output_as_it_comes(self):
        stream = self.client.containers.run(
            IMAGE, "sh -c 'echo one; sleep 1; echo two'", stream=True, labels=LABELS)
        first = next(stream)
        started = time.monotonic()
        rest = b"".join(stream)
        self.assertEqual(first, b"one\n")
        self.assertEqual(rest, b"two\n")
        self.assertGreater(time.monotonic() - started, 0.5, "the first chunk came before the "
                           "second was written")

        stream = self.client.containers.run(IMAGE, "sh -c 'echo a; exit 2'", stream=True,
                                            remove=True, labels=LABELS)
        got = []
        with self.assertRaises(dockline.ContainerError) as caught:
            for chunk in stream:
                got.append(chunk)
        self.assertEqual(got, [b"a\n"])
        self.assertEqual(caught.exception.exit_status, 2)

    def test_run_stream_closed_early_still_removes_an_ephemeral_container(self):
        # Closing the stream leaves the container running (as closing docker-py's log stream
        # does); the server removes it when it exits.
        case = unique("closed")
        stream = self.client.containers.run(IMAGE, "sh -c 'echo go; sleep 2'", stream=True,
                                            remove=True, labels=labels(case=case))
        self.assertEqual(next(stream), b"go\n")
        stream.close()
        self.assertEqual(list(stream), [])
        mine = {"label": [LABEL_FILTER, f"case={case}"]}
        self.assertEqual(len(self.client.containers.list(filters=mine)), 1)
        wait_until(lambda: not self.client.containers.list(all=True, filters=mine),
                   timeout=60, what="the closed run's container to go")

    def test_ephemeral_container(self):
        # Spec section 7.
        client = dockline.from_env()
        self.addCleanup(client.close)
        case = unique("ephemeral")
        output = client.containers.run(
            IMAGE,
            command="sh -c 'echo 42'",
            remove=True,
            labels=labels(case=case),
        )
        print(output)  # b"42\n"
        self.assertEqual(output, b"42\n")
        self.assertEqual(client.containers.list(all=True, filters={"label": f"case={case}"}),
                         [])

    def test_detached_with_auto_remove(self):
        # Spec section 7; the worker is a 2 s sleep.
        client = dockline.from_env()
        self.addCleanup(client.close)
        container = client.containers.run(
            IMAGE,
            "sleep 2",
            detach=True,
            remove=True,
            labels=LABELS,
        )
        # Container auto-removes when it exits; container.wait() still works
        result = container.wait()
        self.assertEqual(result, {"StatusCode": 0, "Error": None})

        def gone():
            try:
                container.reload()
            except dockline.NotFound:
                return True
            return False

        wait_until(gone, timeout=30, what="the auto-removal")
        with self.assertRaises(dockline.NotFound):
            container.logs()

    def test_run_detached_returns_a_running_container(self):
        container = self.client.containers.run(IMAGE, "sleep 300", detach=True,
                                               name=unique("detached"), labels=LABELS)
        self.assertIsInstance(container, dockline.Container)
        self.assertEqual(container.status, "running")
        self.assertEqual(len(container.id), 64)
        self.assertEqual(container.short_id, container.id[:12])
        self.assertEqual(container.labels, LABELS)
        self.assertEqual(self.client.containers.get(container.name), container)
        self.assertEqual(self.client.containers.get(container.short_id).id, container.id)
        container.remove(force=True)

    def test_missing_image(self):
        with self.assertRaises(dockline.ImageNotFound):
            self.client.containers.run("dockline-test/no-such-image:latest", "true",
                                       pull="never", labels=LABELS)
        with self.assertRaises(dockline.ImageNotFound):
            self.client.containers.create("dockline-test/no-such-image:latest", "true",
                                          pull="never", labels=LABELS)

    def test_name_in_use_is_a_conflict(self):
        name = unique("twice")
        self.client.containers.create(IMAGE, "true", name=name, labels=LABELS)
        with self.assertRaises(dockline.errors.Conflict) as caught:
            self.client.containers.create(IMAGE, "true", name=name, labels=LABELS)
        self.assertEqual(caught.exception.http_status, 409)

    def test_server_side_validation_is_invalid_argument(self):
        with self.assertRaises(dockline.errors.InvalidArgument) as caught:
            self.client.containers.create(IMAGE, "true", labels=LABELS,
                                          healthcheck={"test": ["CMD"]})
        self.assertIn("healthcheck", str(caught.exception))
        with self.assertRaises(dockline.errors.InvalidArgument):
            self.client.containers.create(IMAGE, "true", labels=LABELS, mem_limit="lots")


class LifecycleTest(unittest.TestCase):
    def setUp(self):
        self.client = dockline.from_env()
        self.addCleanup(self.client.close)

    def running(self, command="sleep 300", **kwargs):
        kwargs.setdefault("labels", LABELS)
        container = self.client.containers.run(IMAGE, command, detach=True, **kwargs)
        self.addCleanup(self._remove, container)
        return container

    @staticmethod
    def _remove(container):
        try:
            container.remove(force=True)
        except dockline.NotFound:
            pass

    def test_stop_start_restart_kill_remove(self):
        container = self.running("sh -c 'trap \"exit 0\" TERM; while :; do sleep 0.1; done'")
        started_at = container.attrs["State"]["StartedAt"]
        container.stop(timeout=5)
        container.reload()
        self.assertEqual(container.status, "exited")
        self.assertEqual(container.attrs["State"]["ExitCode"], 0)
        container.start()
        container.reload()
        self.assertEqual(container.status, "running")
        container.restart(timeout=5)
        container.reload()
        self.assertEqual(container.status, "running")
        self.assertNotEqual(container.attrs["State"]["StartedAt"], started_at)
        container.kill()
        self.assertEqual(container.wait()["StatusCode"], 137)
        container.remove()
        with self.assertRaises(dockline.NotFound):
            container.reload()

    def test_kill_with_a_signal(self):
        container = self.running("sh -c 'trap \"exit 7\" USR1; while :; do sleep 0.1; done'")
        time.sleep(0.5)  # the trap is set once the shell runs
        container.kill(signal="SIGUSR1")
        self.assertEqual(container.wait(timeout=30), {"StatusCode": 7, "Error": None})

    def test_removing_a_running_container_needs_force(self):
        container = self.running()
        with self.assertRaises(dockline.errors.Conflict):
            container.remove()
        container.remove(force=True, v=True)
        with self.assertRaises(dockline.NotFound):
            self.client.containers.get(container.id)

    def test_blocking_wait(self):
        # Spec section 6, "Blocking Wait".
        container = self.running("sh -c 'echo failing now; exit 5'")
        with self.assertRaises(RuntimeError) as caught:
            result = container.wait(timeout=120, condition="not-running")
            # Returns: {"StatusCode": 0, "Error": None}

            if result["StatusCode"] != 0:
                logs = container.logs(tail=50)
                raise RuntimeError(
                    f"Container failed (exit {result['StatusCode']}): {logs.decode()}")
        self.assertEqual(str(caught.exception), "Container failed (exit 5): failing now\n")

    def test_wait_timeout_handling(self):
        # Spec section 6, "Timeout Handling", waiting 1 s instead of 30.
        from requests.exceptions import ReadTimeout

        container = self.running()
        started = time.monotonic()
        with self.assertRaises(TimeoutError):
            try:
                result = container.wait(timeout=1)  # noqa: F841
            except ReadTimeout:
                container.stop(timeout=5)
                container.remove(force=True)
                raise TimeoutError("Container did not exit within 30s")
        self.assertLess(time.monotonic() - started, 20)
        with self.assertRaises(dockline.NotFound):
            container.reload()

    def test_wait_conditions(self):
        container = self.client.containers.create(IMAGE, "sh -c 'exit 3'", labels=LABELS)
        self.addCleanup(self._remove, container)
        with self.assertRaises(dockline.errors.InvalidArgument):
            container.wait(condition="whenever")
        with self.assertRaises(dockline.errors.Timeout):
            container.wait(timeout=0.5, condition="next-exit")
        container.start()
        self.assertEqual(container.wait(condition="not-running")["StatusCode"], 3)

    def test_list_and_get(self):
        case = unique("list")
        up = self.running(labels=labels(case=case))
        down = self.client.containers.run(IMAGE, "true", detach=True,
                                          labels=labels(case=case))
        self.addCleanup(self._remove, down)
        down.wait()
        mine = {"label": f"case={case}"}
        self.assertEqual(self.client.containers.list(filters=mine), [up])
        self.assertEqual(sorted(c.id for c in self.client.containers.list(all=True,
                                                                            filters=mine)),
                         sorted([up.id, down.id]))
        exited = self.client.containers.list(all=True, filters=dict(mine, status="exited"))
        self.assertEqual(exited, [down])
        self.assertEqual(exited[0].attrs["State"]["Status"], "exited")
        sparse = self.client.containers.list(all=True, filters=mine, sparse=True)
        self.assertEqual({c.id for c in sparse}, {up.id, down.id})
        self.assertEqual({c.status for c in sparse}, {"running", "exited"})
        self.assertEqual(len(self.client.containers.list(all=True, filters=mine, limit=1)), 1)
        with self.assertRaises(dockline.NotFound):
            self.client.containers.get("dockline-no-such-container")

    def test_environment_list_and_ports(self):
        container = self.client.containers.create(
            IMAGE, "env", environment=["A=1", "B=two words"], ports={53: [53, 5353],
                                                                      "9000/udp": None},
            network="none", labels=LABELS)
        self.addCleanup(self._remove, container)
        self.assertEqual(container.attrs["HostConfig"]["PortBindings"], {
            "53/tcp": [{"HostIp": "", "HostPort": "53"}, {"HostIp": "", "HostPort": "5353"}],
            "9000/udp": [{"HostIp": "", "HostPort": ""}]})
        container.start()
        container.wait()
        lines = container.logs().decode().splitlines()
        self.assertIn("A=1", lines)
        self.assertIn("B=two words", lines)


class PruneTest(unittest.TestCase):
    def test_prune(self):
        # Spec section 8, every filter narrowed to this run's label so that nothing else on the
        # engine goes.
        client = dockline.from_env()
        self.addCleanup(client.close)
        case = unique("prune")
        stopped = client.containers.run(IMAGE, "true", detach=True, labels=labels(case=case))
        stopped.wait()
        mine = [LABEL_FILTER, f"case={case}"]

        # Stopped containers
        result = client.containers.prune(filters={"until": "24h", "label": mine})
        print(result["SpaceReclaimed"])
        self.assertEqual(result["ContainersDeleted"], [])  # not 24 hours old yet
        stopped.reload()
        result = client.containers.prune(filters={"label": mine})
        self.assertEqual(result["ContainersDeleted"], [stopped.id])
        self.assertIsInstance(result["SpaceReclaimed"], int)
        with self.assertRaises(dockline.NotFound):
            stopped.reload()

        # Dangling images
        result = client.images.prune(filters={"dangling": True, "label": mine})
        self.assertEqual(result, {"ImagesDeleted": [], "SpaceReclaimed": 0})

        # Unused volumes
        result = client.volumes.prune(filters={"label": mine})
        self.assertEqual(result["VolumesDeleted"], [])

        # Unused networks
        result = client.networks.prune(filters={"label": mine})
        self.assertEqual(result, {"NetworksDeleted": []})

    def test_prune_plan_then_apply(self):
        client = dockline.from_env()
        self.addCleanup(client.close)
        case = unique("plan")
        mine = [LABEL_FILTER, f"case={case}"]
        first = client.containers.run(IMAGE, "true", detach=True, labels=labels(case=case))
        second = client.containers.run(IMAGE, "true", detach=True, labels=labels(case=case))
        first.wait()
        second.wait()

        plan = client.containers.prune(filters={"label": mine}, plan=True)
        self.assertEqual(sorted(i["Id"] for i in plan["Items"]), sorted([first.id, second.id]))
        self.assertTrue(plan["Token"].startswith("dlplan1."))
        first.reload()  # a plan removes nothing

        # Only what was reviewed: the plan cut down to the first.
        reviewed = dict(plan, Items=[i for i in plan["Items"] if i["Id"] == first.id])
        result = client.containers.prune(apply=reviewed)
        self.assertEqual(result["ContainersDeleted"], [first.id])
        self.assertEqual(result["Skipped"], [])
        second.reload()

        # The whole plan later, by its token: the first is gone by then.
        result = client.containers.prune(apply=plan["Token"])
        self.assertEqual(result["ContainersDeleted"], [second.id])
        self.assertEqual(result["Skipped"], [{"Id": first.id, "Reason": "gone", "Detail": ""}])
        with self.assertRaises(dockline.errors.InvalidArgument):
            client.containers.prune(apply="not a token")
        with self.assertRaises(TypeError):
            client.containers.prune(plan=True, apply=plan)

    def test_prune_refuses_unknown_filters(self):
        client = dockline.from_env()
        self.addCleanup(client.close)
        with self.assertRaises(dockline.errors.InvalidArgument):
            client.containers.prune(filters={"status": "exited"})


class StatsTest(unittest.TestCase):
    def test_stats_one_shot_stream_and_typed(self):
        client = dockline.from_env()
        self.addCleanup(client.close)
        container = client.containers.run(IMAGE, "sleep 60", detach=True, mem_limit="32m",
                                          labels=labels(case=unique("stats")))
        self.addCleanup(container.remove, force=True)
        sample = container.stats(stream=False)
        self.assertEqual(sample["id"], container.id)
        self.assertEqual(sample["memory_stats"]["limit"], 32 << 20)
        stream = container.stats(decode=True)
        first = next(stream)
        self.assertIn("cpu_stats", first)
        stream.close()
        raw = container.stats()
        self.assertIsInstance(next(raw), bytes)
        raw.close()
        typed = container.stats_typed()
        self.assertEqual(typed["MemoryLimit"], 32 << 20)
        self.assertGreaterEqual(typed["Pids"], 1)


class EngineTest(unittest.TestCase):
    def test_version_and_ping(self):
        client = dockline.from_env()
        self.addCleanup(client.close)
        self.assertTrue(client.ping())
        version = client.version()
        self.assertTrue(version["Version"])
        self.assertRegex(version["ApiVersion"], r"^1\.\d+$")
        self.assertRegex(version["NegotiatedApiVersion"], r"^1\.\d+$")
        self.assertEqual(version["Os"], "linux")
        self.assertEqual(version["Components"][0]["Name"], "dockline")

    def test_client_by_address(self):
        with dockline.DocklineClient(os.environ["DOCKLINE_ADDR"]) as client:
            self.assertTrue(client.ping())


if __name__ == "__main__":
    unittest.main()
