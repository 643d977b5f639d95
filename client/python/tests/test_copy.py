"""container.get_archive and container.put_archive as docker-py's, against a real docklined and
the test engine: a tar in, the same bytes back out with the path's stat first."""

import io
import tarfile
import unittest

import harness
from harness import IMAGE, LABELS

import dockline
from dockline.errors import NotFound

client = None


def setUpModule():
    global client
    harness.start()
    client = dockline.from_env()


def tearDownModule():
    client.close()
    harness.stop()


def tar_of(files):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


class CopyTest(unittest.TestCase):
    def setUp(self):
        self.container = client.containers.run(IMAGE, "sleep 300", detach=True, labels=LABELS,
                                               network="none")
        self.addCleanup(self.container.remove, force=True)

    def test_put_then_get_round_trips_with_the_stat_first(self):
        payload = bytes(range(256)) * 4096  # 1 MiB, several pieces
        self.assertIs(self.container.put_archive("/tmp", tar_of({"dir/blob": payload})), True)
        # A file object goes up a piece at a time.
        self.assertIs(self.container.put_archive("/tmp", io.BytesIO(tar_of({"note": b"hi\n"}))),
                      True)

        chunks, stat = self.container.get_archive("/tmp/dir")
        self.assertEqual(stat["name"], "dir")
        self.assertTrue(stat["mode"] & (1 << 31))  # Go's ModeDir, as docker-py shows it
        self.assertTrue(stat["mtime"].endswith("Z"))
        with tarfile.open(fileobj=io.BytesIO(b"".join(chunks))) as tar:
            self.assertEqual(tar.extractfile("dir/blob").read(), payload)

        chunks, stat = self.container.get_archive("/tmp/note")
        self.assertEqual((stat["name"], stat["size"], stat["linkTarget"]), ("note", 3, ""))
        with tarfile.open(fileobj=io.BytesIO(b"".join(chunks))) as tar:
            self.assertEqual(tar.extractfile("note").read(), b"hi\n")

    def test_missing_paths_raise_not_found(self):
        with self.assertRaises(NotFound):
            self.container.get_archive("/no/such")
        with self.assertRaises(NotFound):
            self.container.put_archive("/no/such", tar_of({"x": b"x"}))


if __name__ == "__main__":
    unittest.main()
