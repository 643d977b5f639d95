"""Health: the spec's sections 4 (healthchecks at creation, nanosecond helpers, NONE) and 5
(reading health, polling until healthy, async polling), against a real docklined and the test
engine. Probes that must run use 1 s intervals so that the tests stay short; the spec's own
values are checked where they only have to reach the daemon."""

import asyncio
import time
import unittest

import harness
from harness import IMAGE, LABELS

import dockline

client = None
SECOND = 1_000_000_000
MINUTE = 60 * SECOND


def setUpModule():
    global client
    harness.start()
    client = dockline.from_env()


def tearDownModule():
    client.close()
    harness.stop()


# The spec's section 5 helpers, verbatim.

def wait_for_healthy(container, timeout=60, interval=2):
    """Poll container health status until healthy or timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        container.reload()
        health = container.attrs.get("State", {}).get("Health", {})
        status = health.get("Status", "none")
        if status == "healthy":
            return True
        if status == "unhealthy":
            logs = health.get("Log", [])
            last = logs[-1] if logs else {}
            raise RuntimeError(
                f"Container unhealthy: exit={last.get('ExitCode')}, "
                f"output={last.get('Output', '')[:200]}"
            )
        time.sleep(interval)
    raise TimeoutError(f"Container did not become healthy within {timeout}s")


async def wait_for_healthy_async(container, timeout=60, interval=2):
    deadline = asyncio.get_event_loop().time() + timeout
    while asyncio.get_event_loop().time() < deadline:
        container.reload()
        status = container.attrs.get("State", {}).get("Health", {}).get("Status", "none")
        if status == "healthy":
            return True
        if status == "unhealthy":
            raise RuntimeError("Container unhealthy")
        await asyncio.sleep(interval)
    raise TimeoutError(f"Health check timeout after {timeout}s")


def probing(test, retries=3):
    return {"test": test, "interval": 1 * SECOND, "timeout": 5 * SECOND, "retries": retries}


class HealthSettingsTest(unittest.TestCase):
    def test_setting_health_checks_at_creation(self):
        container = client.containers.run(
            IMAGE,
            "sleep 300",
            detach=True,
            healthcheck={
                "test": ["CMD-SHELL", "curl -f http://localhost:8080/health || exit 1"],
                "interval": 10_000_000_000,     # 10 seconds (nanoseconds)
                "timeout": 5_000_000_000,       # 5 seconds
                "retries": 3,
                "start_period": 30_000_000_000,  # 30 seconds grace
            },
            labels=LABELS,
        )
        self.assertEqual(container.attrs["Config"]["Healthcheck"], {
            "Test": ["CMD-SHELL", "curl -f http://localhost:8080/health || exit 1"],
            "Interval": 10 * SECOND, "Timeout": 5 * SECOND, "Retries": 3,
            "StartPeriod": 30 * SECOND})
        container.reload()
        self.assertEqual(container.health, "starting")
        container.remove(force=True)

    def test_nanosecond_helpers(self):
        healthcheck = {
            "test": ["CMD", "python", "-c", "import urllib.request; "
                     "urllib.request.urlopen('http://localhost:8000/health')"],
            "interval": 15 * SECOND,
            "timeout": 5 * SECOND,
            "retries": 3,
            "start_period": 1 * MINUTE,
        }
        container = client.containers.create(IMAGE, "sleep 300", healthcheck=healthcheck,
                                              labels=LABELS)
        self.assertEqual(container.attrs["Config"]["Healthcheck"], {
            "Test": healthcheck["test"], "Interval": 15 * SECOND, "Timeout": 5 * SECOND,
            "Retries": 3, "StartPeriod": MINUTE})
        container.remove()

    def test_disabling_health_checks(self):
        container = client.containers.run(IMAGE, "sleep 300", detach=True,
                                          healthcheck={"test": ["NONE"]}, labels=LABELS)
        self.assertEqual(container.attrs["Config"]["Healthcheck"], {"Test": ["NONE"]})
        container.reload()
        self.assertEqual(container.health, "unknown")
        self.assertEqual(container.get_health()["Status"], "none")
        container.remove(force=True)


class HealthStatusTest(unittest.TestCase):
    def test_reading_health_status(self):
        container = client.containers.run(IMAGE, "sleep 300", detach=True,
                                          healthcheck=probing(["CMD-SHELL", "echo probe ok"]),
                                          labels=LABELS)
        self.assertTrue(wait_for_healthy(container, timeout=60, interval=0.5))

        printed = []
        container.reload()  # refresh cached state from daemon
        health = container.attrs["State"]["Health"]

        printed.append(health["Status"])    # "healthy", "unhealthy", "starting"
        printed.append(health["FailingStreak"])
        for log_entry in health["Log"]:
            printed.append(f"  Exit: {log_entry['ExitCode']}, Output: "
                           f"{log_entry['Output'][:100]}")
        self.assertEqual(printed[:2], ["healthy", 0])
        self.assertGreaterEqual(len(printed), 3)
        self.assertEqual(printed[2], "  Exit: 0, Output: probe ok\n")
        self.assertEqual(container.health, "healthy")

        typed = container.get_health()
        self.assertEqual(typed["Status"], "healthy")
        self.assertEqual(typed["Log"][0]["ExitCode"], 0)
        self.assertEqual(typed["Log"][0]["Output"], "probe ok\n")
        container.remove(force=True)

    def test_polling_until_unhealthy(self):
        container = client.containers.run(
            IMAGE, "sleep 300", detach=True,
            healthcheck=probing(["CMD-SHELL", "echo broken; exit 1"], retries=1),
            labels=LABELS)
        with self.assertRaises(RuntimeError) as caught:
            wait_for_healthy(container, timeout=60, interval=0.5)
        self.assertEqual(str(caught.exception), "Container unhealthy: exit=1, output=broken\n")
        container.remove(force=True)

    def test_polling_times_out(self):
        container = client.containers.run(
            IMAGE, "sleep 300", detach=True,
            healthcheck={"test": ["CMD-SHELL", "exit 0"], "interval": 60 * SECOND},
            labels=LABELS)
        with self.assertRaisesRegex(TimeoutError, "within 1s"):
            wait_for_healthy(container, timeout=1, interval=0.2)
        container.remove(force=True)

    def test_async_health_polling(self):
        container = client.containers.run(IMAGE, "sleep 300", detach=True,
                                          healthcheck=probing(["CMD", "true"]),
                                          labels=LABELS)
        self.assertTrue(asyncio.run(wait_for_healthy_async(container, timeout=60,
                                                           interval=0.5)))
        container.remove(force=True)

    def test_event_driven_waits(self):
        container = client.containers.run(IMAGE, "sleep 300", detach=True,
                                          healthcheck=probing(["CMD", "true"]),
                                          labels=LABELS)
        watch = container.watch_health()
        self.assertEqual(container.wait_healthy(timeout=60)["Status"], "healthy")
        seen = []
        for health in watch:
            seen.append(health["Status"])
            if health["Status"] == "healthy":
                break
        watch.close()
        self.assertEqual(seen[-1], "healthy")
        self.assertIn(seen[0], ("starting", "healthy"))

        sick = client.containers.run(IMAGE, "sleep 300", detach=True,
                                     healthcheck=probing(["CMD", "false"], retries=1),
                                     labels=LABELS)
        with self.assertRaises(dockline.errors.Conflict):
            sick.wait_healthy(timeout=60)
        slow = client.containers.run(
            IMAGE, "sleep 300", detach=True,
            healthcheck={"test": ["CMD", "true"], "interval": 60 * SECOND}, labels=LABELS)
        with self.assertRaises(dockline.errors.Timeout):
            slow.wait_healthy(timeout=0.5)
        for c in (container, sick, slow):
            c.remove(force=True)


if __name__ == "__main__":
    unittest.main()
