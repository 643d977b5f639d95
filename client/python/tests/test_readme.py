"""The README's Python lines, run as written by bash from the repository root against this
module's docklined. Only the address (127.0.0.1:50051), the stubs' directory (build/ is
wherever this build is) and the image (when DOCKLINE_TEST_IMAGE names another) are swapped."""

import os
import re
import subprocess
import unittest

import harness
from harness import IMAGE, REPO

MARKER = "<!-- readme-test:python -->"


def setUpModule():
    harness.start()


def tearDownModule():
    harness.stop()


def readme_block(marker):
    with open(os.path.join(REPO, "README.md"), encoding="utf-8") as f:
        text = f.read()
    match = re.search(re.escape(marker) + r"\n```sh\n(.*?)\n```", text, re.S)
    if match is None:
        raise AssertionError(f"no ```sh block after {marker} in README.md")
    return match.group(1)


class ReadmeTest(unittest.TestCase):
    def test_python_lines_run_as_written(self):
        block = readme_block(MARKER)
        self.assertIn("127.0.0.1:50051", block)
        self.assertIn("build/client/python/gen", block)
        # The stubs this build made: the first entry of the PYTHONPATH ctest gives this test.
        gen = os.environ["PYTHONPATH"].split(os.pathsep)[0]
        script = (block.replace("127.0.0.1:50051", os.environ["DOCKLINE_ADDR"])
                  .replace("build/client/python/gen", gen)
                  .replace("dockline-test/busybox:latest", IMAGE))
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "DOCKLINE_ADDR")}
        done = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=REPO, env=env,
                              capture_output=True, text=True, timeout=120)
        self.assertEqual(done.returncode, 0, done.stderr)
        # The block's last line ends with the output it promises as a comment.
        want = block.rstrip().rsplit("# ", 1)[1]
        self.assertEqual(done.stdout, want + "\n")


if __name__ == "__main__":
    unittest.main()
