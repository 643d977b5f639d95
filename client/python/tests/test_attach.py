"""container.attach() and attach_socket() (AttachContainer) against a real docklined and the
test engine: docker run -i's create, attach, start; docker-py's attach with and without
stream and logs; the refusals as typed errors."""

import threading
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


def within(fn, seconds=60):
    """fn(), failing the test rather than hanging it when the stream never ends."""
    result, failure = [], []

    def run():
        try:
            result.append(fn())
        except BaseException as err:  # re-raised on the test's thread
            failure.append(err)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        raise AssertionError(f"AttachContainer: the stream did not end within {seconds}s")
    if failure:
        raise failure[0]
    return result[0]


def gated(before, after):
    """A running container that prints `before`, waits for /tmp/go, prints `after`, exits 7."""
    return client.containers.run(
        IMAGE, ["sh", "-c", f"printf '{before}'; while [ ! -f /tmp/go ]; do sleep 0.05; done; "
                            f"printf '{after}'; exit 7"],
        detach=True, labels=LABELS, network_mode="none")


class AttachTest(unittest.TestCase):
    def test_socket_stdin_start_and_exit_code(self):
        container = client.containers.create(IMAGE, "sh -c 'cat; echo done >&2; exit 3'",
                                             stdin_open=True, stdin_once=True, labels=LABELS,
                                             network_mode="none")
        with container.attach_socket(start=True) as sock:
            sock.send(b"hello\n")
            sock.sendall("world\n")
            sock.close_stdin()
            self.assertEqual(within(sock.read), b"hello\nworld\ndone\n")
            self.assertEqual(sock.exit_code, 3)
            self.assertEqual(sock.id, container.id)
            self.assertFalse(sock.tty)
            self.assertFalse(sock.detached)

    def test_socket_tty_resize(self):
        container = client.containers.create(
            IMAGE, ["sh", "-c", "while [ \"$(stty size)\" != \"30 100\" ]; do sleep 0.05; done; "
                                "read x; echo got $x"],
            stdin_open=True, stdin_once=True, tty=True, labels=LABELS, network_mode="none")
        sock = container.attach_socket(start=True)
        sock.resize(30, 100)
        sock.send(b"go\r")
        output = within(sock.read).replace(b"\r\n", b"\n")
        self.assertIn(b"got go\n", output)
        self.assertEqual(sock.exit_code, 0)
        self.assertTrue(sock.tty)

    def test_attach_stream_with_logs(self):
        container = gated("early\\n", "late\\n")
        wait_until(lambda: container.logs() == b"early\n", timeout=30, what="the early line")
        output = container.attach(stream=True, logs=True)
        # The first chunk comes once attached, so the gate opens with the stream in place.
        first = within(lambda: next(output))
        container.exec_run("touch /tmp/go")
        self.assertEqual(first + b"".join(within(lambda: list(output))), b"early\nlate\n")

    def test_attach_joined_and_demuxed(self):
        container = client.containers.create(
            IMAGE, "sh -c 'echo out; echo err >&2'", labels=LABELS, network_mode="none")
        sock = container.attach_socket(stdin=False, start=True, demux=True)
        self.assertEqual(within(sock.read), (b"out\n", b"err\n"))
        # Exited now: attach() has nothing to attach to.
        with self.assertRaises(dockline.errors.Conflict):
            within(container.attach)

    def test_errors(self):
        running = client.containers.run(IMAGE, "sleep 600", detach=True, labels=LABELS,
                                        network_mode="none")
        with self.assertRaisesRegex(dockline.errors.Conflict, "config.stdin"):
            within(running.attach_socket().read)
        running.remove(force=True)
        with self.assertRaises(dockline.NotFound):
            within(running.attach)


if __name__ == "__main__":
    unittest.main()
