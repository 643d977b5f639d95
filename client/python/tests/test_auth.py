"""Credentials: from_env() sends $DOCKLINE_TOKEN as the CLI does, to a docklined started with
--tokens on a Unix socket (a local address, where a plaintext token is allowed)."""

import hashlib
import os
import secrets
import unittest

import harness
from harness import LABELS

import dockline

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
