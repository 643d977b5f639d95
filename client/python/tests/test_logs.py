"""container.logs: the spec's section 3 (real-time tailing, time-bounded, separated streams)
and the rest of logs()'s signature, against a real docklined and the test engine."""

import contextlib
import datetime
import io
import re
import threading
import time
import unittest

import harness
from harness import IMAGE, LABELS, wait_until

import dockline

client = None


def setUpModule():
    global client
    harness.start()
    client = dockline.from_env()


def tearDownModule():
    client.close()
    harness.stop()


def finished(command):
    container = client.containers.run(IMAGE, command, detach=True, labels=LABELS)
    container.wait()
    return container


class LogsTest(unittest.TestCase):
    def test_real_time_tailing(self):
        container = client.containers.run(
            IMAGE, "sh -c 'for i in 1 2 3; do echo line $i; sleep 0.3; done'", detach=True,
            labels=LABELS)

        def tail_logs(container):
            for line in container.logs(stream=True, follow=True):
                print(f"[{container.name}] {line.decode().strip()}")

        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            thread = threading.Thread(target=tail_logs, args=(container,), daemon=True)
            thread.start()
            thread.join(timeout=30)
        self.assertFalse(thread.is_alive(), "the follow did not end with the container")
        self.assertEqual(printed.getvalue().splitlines(),
                         [f"[{container.name}] line {i}" for i in (1, 2, 3)])

    def test_follow_delivers_lines_as_they_are_written(self):
        container = client.containers.run(
            IMAGE, "sh -c 'echo first; sleep 2; echo second'", detach=True, labels=LABELS)
        stream = container.logs(stream=True)  # follow defaults to stream, as in docker-py
        self.assertEqual(next(stream), b"first\n")
        started = time.monotonic()
        self.assertEqual(next(stream), b"second\n")
        self.assertGreater(time.monotonic() - started, 0.5)
        self.assertEqual(list(stream), [])

    def test_close_ends_a_follow_blocked_in_another_thread(self):
        container = client.containers.run(IMAGE, "sh -c 'echo up; sleep 300'", detach=True,
                                          labels=LABELS)
        stream = container.logs(stream=True, follow=True)
        got = []
        thread = threading.Thread(target=lambda: got.extend(stream), daemon=True)
        thread.start()
        wait_until(lambda: got, timeout=30, what="the first line")
        stream.close()
        thread.join(timeout=10)
        self.assertFalse(thread.is_alive(), "close() did not end the blocked iteration")
        self.assertEqual(got, [b"up\n"])
        container.remove(force=True)

    def test_time_bounded_logs(self):
        container = finished("sh -c 'echo recent'")

        # Last hour
        recent = container.logs(since=datetime.datetime.utcnow() - datetime.timedelta(hours=1))
        self.assertEqual(recent, b"recent\n")

        # Between two timestamps
        logs = container.logs(
            since=datetime.datetime(2024, 1, 1),
            until=datetime.datetime(2024, 1, 2),
        )
        self.assertEqual(logs, b"")

        # Epoch seconds, int and float, as docker-py takes them.
        self.assertEqual(container.logs(since=int(time.time()) + 3600), b"")
        self.assertEqual(container.logs(until=time.time() + 60.5), b"recent\n")

    def test_separated_streams(self):
        container = finished("sh -c 'echo to-out; echo to-err >&2'")
        stdout_only = container.logs(stdout=True, stderr=False)
        stderr_only = container.logs(stdout=False, stderr=True)
        self.assertEqual(stdout_only, b"to-out\n")
        self.assertEqual(stderr_only, b"to-err\n")
        self.assertEqual(sorted(container.logs().splitlines()), [b"to-err", b"to-out"])

    def test_tail_and_timestamps(self):
        container = finished("sh -c 'for i in 1 2 3 4 5; do echo $i; done'")
        self.assertEqual(container.logs(tail=2), b"4\n5\n")
        self.assertEqual(container.logs(tail="all"), b"1\n2\n3\n4\n5\n")
        self.assertEqual(container.logs(tail=0), b"")
        with self.assertRaises(dockline.errors.InvalidArgument):
            container.logs(tail="some")
        lines = container.logs(timestamps=True, tail=3).decode().splitlines()
        self.assertEqual(len(lines), 3)
        for line, want in zip(lines, "345"):
            # Docker's form: RFC 3339 with nine fraction digits, UTC, then a space.
            self.assertRegex(line, r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z " + want + "$")
        stamp = datetime.datetime.strptime(lines[0][:26], "%Y-%m-%dT%H:%M:%S.%f")
        age = datetime.datetime.utcnow() - stamp
        self.assertLess(abs(age.total_seconds()), 120)
        streamed = list(container.logs(stream=True, follow=False, timestamps=True))
        self.assertEqual(len(streamed), 5)
        self.assertTrue(all(re.match(rb"^\S+Z \d\n$", line) for line in streamed))

    def test_many_lines_in_one_stream(self):
        container = finished("sh -c 'seq 1 20000'")
        lines = list(container.logs(stream=True, follow=False))
        self.assertEqual(len(lines), 20000)
        self.assertEqual(lines[0], b"1\n")
        self.assertEqual(lines[-1], b"20000\n")
        self.assertEqual(container.logs().count(b"\n"), 20000)

    def test_log_chunks_resume_from_a_cursor(self):
        container = finished("sh -c 'seq 1 3000; seq 1 3000 >&2'")
        whole = list(container.log_chunks(timestamps=True))
        self.assertGreater(len(whole), 100)  # with timestamps, a chunk per line
        self.assertTrue(all(c.cursor for c in whole))
        got = {"stdout": b"", "stderr": b""}
        cursor = None
        # Three chunks a call, each call resumed after the last chunk of the one before.
        while True:
            chunks = container.log_chunks(resume_from=cursor)
            part = [c for _, c in zip(range(3), chunks)]
            chunks.close()
            if not part:
                break
            for c in part:
                got[c.stream] += c.data
            cursor = part[-1].cursor
        self.assertEqual(got["stdout"], container.logs(stderr=False))
        self.assertEqual(got["stderr"], container.logs(stdout=False))
        self.assertEqual(container.logs(resume_from=cursor), b"")
        with self.assertRaises(dockline.errors.InvalidArgument):
            container.logs(resume_from="nonsense")

    def test_missing_container(self):
        container = finished("true")
        container.remove()
        with self.assertRaises(dockline.NotFound):
            container.logs()
        with self.assertRaises(dockline.NotFound):
            list(container.logs(stream=True))


if __name__ == "__main__":
    unittest.main()
