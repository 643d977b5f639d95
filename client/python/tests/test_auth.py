"""Credentials: from_env() sends $DOCKLINE_TOKEN as the CLI does, to a docklined started with
--tokens on a Unix socket (a local address, where a plaintext token is allowed)."""

import hashlib
import os
import secrets
import shutil
import subprocess
import tempfile
import unittest

import harness
from harness import LABELS

import dockline
from dockline import contexts

server = None
TOKEN = secrets.token_hex(16)


def setUpModule():
    global server
    harness.docker_host()  # fail early and clearly without an engine
    server = harness.Server()
    tokens = os.path.join("/tmp", f"dlpy-tokens-{harness.RUN_ID}")
    with open(os.open(tokens, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
        f.write(f"py-test sha256:{hashlib.sha256(TOKEN.encode()).hexdigest()}\n")
    server.extra_args = ["--tokens", tokens]
    try:
        server.start()
    finally:
        os.unlink(tokens)


def tearDownModule():
    server.stop()


class ContextTest(unittest.TestCase):
    """A context made by the CLI (dockline context create) is what from_env() reads."""

    def setUp(self):
        self.config = tempfile.mkdtemp(prefix="dlpy-contexts-")
        self.addCleanup(shutil.rmtree, self.config)
        token_file = os.path.join(self.config, "token-source")
        with open(token_file, "w") as f:
            f.write(TOKEN + "\n")
        self.env = {"XDG_CONFIG_HOME": self.config, "PATH": os.environ.get("PATH", "")}
        subprocess.run([os.environ["DOCKLINE_CLI"], "context", "create", "py", "--addr",
                        server.addr, "--token-file", token_file], env=self.env, check=True,
                       capture_output=True)
        os.unlink(token_file)

    def test_from_env_reads_the_clis_context(self):
        with dockline.from_env(environment=self.env, context="py") as client:
            self.assertTrue(client.ping())
        # $DOCKLINE_CONTEXT, and the context `context use` chose.
        with dockline.from_env(environment=dict(self.env, DOCKLINE_CONTEXT="py")) as client:
            self.assertTrue(client.ping())
        subprocess.run([os.environ["DOCKLINE_CLI"], "context", "use", "py"], env=self.env,
                       check=True, capture_output=True)
        with dockline.from_env(environment=self.env) as client:
            self.assertEqual(client.addr, server.addr)
            self.assertTrue(client.ping())
        # $DOCKLINE_ADDR wins over the current context, as with the CLI: here without a token.
        with dockline.from_env(environment=dict(self.env, DOCKLINE_ADDR=server.addr)) as client:
            with self.assertRaises(dockline.errors.Unauthenticated):
                client.ping()
        self.assertEqual([c.name for c in contexts.list_contexts(self.env)], ["py"])
        with self.assertRaises(dockline.NotFound):
            dockline.from_env(environment=self.env, context="nope")

    def test_fleet_asks_every_host_and_keeps_the_failures_apart(self):
        client = dockline.from_env(environment=self.env, context="py")
        self.addCleanup(client.close)
        mine = client.containers.run(harness.IMAGE, "sleep 60", detach=True, labels=LABELS)
        self.addCleanup(mine.remove, force=True)
        with dockline.Fleet(["py", "127.0.0.1:1"], environment=self.env, timeout=5) as fleet:
            found = fleet.containers.list(filters={"id": mine.id})
            self.assertEqual([(c.host, c.id) for c in found], [("py", mine.id)])
            self.assertEqual(list(fleet.errors), ["127.0.0.1:1"])
            self.assertEqual([v["Host"] for v in fleet.version()], ["py"])
        with dockline.Fleet(["127.0.0.1:1"], environment=self.env, timeout=5) as fleet:
            with self.assertRaises(dockline.errors.APIError):
                fleet.containers.list()
        with dockline.Fleet(["py", "127.0.0.1:1"], environment=self.env, timeout=5,
                            strict=True) as fleet:
            with self.assertRaises(dockline.errors.APIError):
                fleet.version()


class TokenTest(unittest.TestCase):
    def test_from_env_sends_the_token(self):
        client = dockline.from_env(environment={"DOCKLINE_ADDR": server.addr,
                                                "DOCKLINE_TOKEN": TOKEN})
        self.addCleanup(client.close)
        self.assertTrue(client.ping())
        # Streams carry it too.
        container = client.containers.run(harness.IMAGE, "echo with a token", detach=True,
                                          labels=LABELS)
        container.wait()
        self.assertEqual(list(container.logs(stream=True, follow=False)),
                         [b"with a token\n"])
        result = container.remove()
        self.assertIsNone(result)

    def test_missing_or_wrong_token_is_unauthenticated(self):
        for token in (None, "wrong"):
            env = {"DOCKLINE_ADDR": server.addr}
            if token:
                env["DOCKLINE_TOKEN"] = token
            with self.subTest(token=token), dockline.from_env(environment=env) as client:
                with self.assertRaises(dockline.errors.Unauthenticated) as caught:
                    client.ping()
                self.assertEqual(caught.exception.http_status, 401)
                self.assertNotIn(TOKEN, str(caught.exception))

    def test_keyword_wins_over_the_environment(self):
        with dockline.from_env(environment={"DOCKLINE_ADDR": server.addr,
                                            "DOCKLINE_TOKEN": "wrong"}, token=TOKEN) as client:
            self.assertTrue(client.ping())


if __name__ == "__main__":
    unittest.main()
