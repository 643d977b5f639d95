"""exec_run: the spec's section 2 (basic, streaming, detached, interactive-style) and the
socket form, against a real docklined and the test engine. The spec's python commands are
busybox equivalents."""

import contextlib
import io
import threading
import unittest

import harness
from harness import IMAGE, LABELS, wait_until

import dockline

client = container = None


def setUpModule():
    global client, container
    harness.start()
    client = dockline.from_env()
    container = client.containers.run(IMAGE, "sleep 600", detach=True, labels=LABELS)


def tearDownModule():
    client.close()
    harness.stop()


def read_within(sock, seconds=30):
    """sock.read(), failing the test rather than hanging it when the output never ends."""
    result = []
    reader = threading.Thread(target=lambda: result.append(sock.read()), daemon=True)
    reader.start()
    reader.join(seconds)
    if reader.is_alive():
        sock.close()
        raise AssertionError(f"AttachExec: the exec did not end within {seconds}s")
    return result[0]


class ExecRunTest(unittest.TestCase):
    def test_basic_execution(self):
        result = container.exec_run("expr 1 + 1")
        assert result.exit_code == 0
        assert result.output == b"2\n"
        self.assertIsInstance(result, dockline.ExecResult)
        self.assertEqual(result, (0, b"2\n"))

    def test_streaming_output(self):
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            result = container.exec_run(
                "sh -c 'for i in 1 2 3; do echo epoch $i; echo warn $i >&2; sleep 0.1; done'",
                stream=True,
                demux=True,
            )
            for stdout_chunk, stderr_chunk in result.output:
                if stdout_chunk:
                    print(stdout_chunk.decode(), end="")
                if stderr_chunk:
                    print(f"ERR: {stderr_chunk.decode()}", end="")
        self.assertIsNone(result.exit_code)
        self.assertEqual(result.output.exit_code, 0)  # known at the end of the stream
        lines = printed.getvalue().splitlines()
        self.assertEqual([line for line in lines if line.startswith("epoch")],
                         ["epoch 1", "epoch 2", "epoch 3"])
        self.assertEqual([line for line in lines if line.startswith("ERR")],
                         ["ERR: warn 1", "ERR: warn 2", "ERR: warn 3"])

    def test_stream_without_demux_yields_bytes(self):
        result = container.exec_run("sh -c 'echo a; sleep 0.3; echo b; exit 4'", stream=True)
        chunks = list(result.output)
        self.assertTrue(all(isinstance(c, bytes) for c in chunks))
        self.assertEqual(b"".join(chunks), b"a\nb\n")
        self.assertEqual(result.output.exit_code, 4)

    def test_stream_closed_early(self):
        result = container.exec_run("sh -c 'echo first; sleep 300'", stream=True)
        self.assertEqual(next(result.output), b"first\n")
        result.output.close()
        self.assertEqual(list(result.output), [])

    def test_detached_execution(self):
        container.exec_run("rm -f /tmp/detached")
        result = container.exec_run("sh -c 'sleep 0.5; touch /tmp/detached'", detach=True)
        # result.output is None; command runs in background
        self.assertEqual(result, (None, None))
        wait_until(lambda: container.exec_run("test -f /tmp/detached").exit_code == 0,
                   timeout=30, what="the detached exec's file")

    def test_interactive_style_execution(self):
        # The spec's migration, as a user of the image (65534 is nobody) in a directory of it.
        result = container.exec_run(
            "/bin/sh -c 'cd /tmp && echo $DJANGO_SETTINGS_MODULE $(pwd) $(id -u)'",
            environment={"DJANGO_SETTINGS_MODULE": "config.production"},
            workdir="/tmp",
            user="65534",
        )
        if result.exit_code != 0:
            raise RuntimeError(f"Migration failed: {result.output.decode()}")
        self.assertEqual(result.output, b"config.production /tmp 65534\n")

        result = container.exec_run("sh -c 'echo bad >&2; exit 3'", workdir="/tmp")
        with self.assertRaisesRegex(RuntimeError, "Migration failed: bad"):
            if result.exit_code != 0:
                raise RuntimeError(f"Migration failed: {result.output.decode()}")

    def test_demux_and_stream_selection(self):
        command = "sh -c 'echo out; echo err >&2'"
        self.assertEqual(container.exec_run(command, demux=True), (0, (b"out\n", b"err\n")))
        self.assertEqual(container.exec_run(command, stdout=False).output, b"err\n")
        self.assertEqual(container.exec_run(command, stderr=False, demux=True).output,
                         (b"out\n", None))
        self.assertEqual(container.exec_run(["sh", "-c", "exit 0"], demux=True).output,
                         (None, None))

    def test_exit_codes_are_data(self):
        self.assertEqual(container.exec_run("sh -c 'exit 9'").exit_code, 9)
        self.assertIn(container.exec_run("no-such-binary").exit_code, (126, 127))

    def test_tty_merges_the_streams(self):
        result = container.exec_run("sh -c 'echo out; echo err >&2'", tty=True)
        self.assertEqual(result.exit_code, 0)
        self.assertEqual(result.output.replace(b"\r\n", b"\n"), b"out\nerr\n")

    def test_socket_stdin(self):
        result = container.exec_run("sh -c 'cat; echo done >&2'", stdin=True, socket=True)
        self.assertIsNone(result.exit_code)
        with result.output as sock:
            sock.send(b"hello\n")
            sock.sendall("world\n")
            sock.close_stdin()
            self.assertEqual(read_within(sock), b"hello\nworld\ndone\n")
            self.assertEqual(sock.exit_code, 0)
            self.assertTrue(sock.exec_id)

    def test_socket_tty_resize(self):
        # The resize reaches the terminal once the exec has started, which may be after the
        # shell first looks: it waits for the size (5 s at most) as the C++ test does.
        result = container.exec_run(
            "sh -c 'read x; for i in $(seq 100); do [ \"$(stty size)\" = \"30 100\" ] && break; "
            "sleep 0.05; done; stty size; echo got $x'", stdin=True, tty=True, socket=True)
        sock = result.output
        sock.resize(30, 100)
        sock.send(b"go\n")
        output = read_within(sock).replace(b"\r\n", b"\n")
        self.assertIn(b"30 100\n", output)
        self.assertIn(b"got go\n", output)
        self.assertEqual(sock.exit_code, 0)

    def test_socket_demux(self):
        result = container.exec_run("sh -c 'echo out; echo err >&2'", socket=True, demux=True)
        self.assertEqual(read_within(result.output), (b"out\n", b"err\n"))

    def test_errors(self):
        stopped = client.containers.create(IMAGE, "true", labels=LABELS)
        with self.assertRaises(dockline.errors.Conflict):
            stopped.exec_run("true")
        stopped.remove()
        with self.assertRaises(dockline.NotFound):
            stopped.exec_run("true")
        with self.assertRaises(dockline.NotFound):
            list(stopped.exec_run("true", stream=True).output)

    def test_retained_output_is_read_later_and_from_an_offset(self):
        result = container.exec_run(
            ["sh", "-c", "echo one; echo two >&2; sleep 1; echo three; exit 4"],
            detach=True, retain_output=True)
        exec_id = result.output
        self.assertTrue(exec_id)
        stream = client.exec_resume(exec_id, demux=True)
        chunks = list(stream)
        self.assertEqual(b"".join(c[0] or b"" for c in chunks), b"one\nthree\n")
        self.assertEqual(b"".join(c[1] or b"" for c in chunks), b"two\n")
        self.assertEqual(stream.exit_code, 4)
        self.assertEqual((stream.offset, stream.lost_bytes), (14, 0))
        rest = client.exec_resume(exec_id, offset=8)
        self.assertEqual(len(b"".join(rest)), 6)
        self.assertEqual(rest.exit_code, 4)
        with self.assertRaises(dockline.NotFound):
            list(client.exec_resume("0123456789abcdef"))
        with self.assertRaises(dockline.errors.InvalidArgument):
            container.exec_run("true", retain_output=True)

    def test_retained_stream_keeps_going_without_its_reader(self):
        first = container.exec_run(
            ["sh", "-c", "for i in 1 2 3 4 5; do echo line$i; sleep 0.2; done"],
            stream=True, retain_output=True)
        got = next(first.output)
        first.output.close()  # the client goes away; the server keeps reading
        self.assertTrue(first.output.exec_id)
        rest = client.exec_resume(first.output.exec_id, offset=first.output.offset)
        self.assertEqual(got + b"".join(rest), b"".join(b"line%d\n" % i for i in range(1, 6)))
        self.assertEqual(rest.exit_code, 0)


if __name__ == "__main__":
    unittest.main()
