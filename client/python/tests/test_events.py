"""client.events() as docker-py's, against a real docklined and the test engine: a container's
life replayed from a past window, as dicts and as JSON bytes, filtered; a live follow stopped
with close(); a bad filter refused."""

import datetime
import json
import threading
import time
import unittest
import uuid

import harness
from harness import IMAGE, LABELS

import dockline
from dockline.errors import InvalidArgument

client = None


def setUpModule():
    global client
    harness.start()
    client = dockline.from_env()


def tearDownModule():
    client.close()
    harness.stop()


class EventsTest(unittest.TestCase):
    def setUp(self):
        # A label of this test's own, so that only its container's events match.
        self.mark = uuid.uuid4().hex[:12]
        self.labels = dict(LABELS, **{"dockline-events": self.mark})
        self.filter = f"dockline-events={self.mark}"

    def run_once(self):
        since = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=1)
        name = harness.unique("events")
        client.containers.run(IMAGE, "true", name=name, labels=self.labels, network="none",
                              remove=True)
        return name, since

    def test_a_past_window_replays_the_containers_life_and_ends(self):
        name, since = self.run_once()
        until = time.time() + 1  # the destroy may reach the daemon's log just after run()
        events = list(client.events(since=since, until=until, filters={"label": self.filter},
                                    decode=True))
        actions = [e["Action"] for e in events]
        for action in ("create", "start", "die", "destroy"):
            self.assertIn(action, actions)
        self.assertLess(actions.index("create"), actions.index("start"))
        self.assertLess(actions.index("die"), actions.index("destroy"))
        for event in events:
            self.assertEqual(event["Type"], "container")
            self.assertEqual(event["scope"], "local")
            self.assertEqual(event["Actor"]["Attributes"]["name"], name)
            self.assertEqual(event["Actor"]["Attributes"]["image"], IMAGE)
            self.assertEqual(event["Actor"]["Attributes"]["dockline-events"], self.mark)
            self.assertEqual(event["timeNano"] // 1_000_000_000, event["time"])
            self.assertEqual(len(event["Actor"]["ID"]), 64)

        # Bytes without decode, docker-py's default; filters narrow.
        raw = list(client.events(since=since, until=until,
                                 filters={"label": self.filter, "event": ["die", "destroy"]}))
        self.assertTrue(all(isinstance(chunk, bytes) for chunk in raw))
        self.assertEqual([json.loads(chunk)["Action"] for chunk in raw], ["die", "destroy"])

    def test_a_follow_sees_what_happens_and_stops_at_close(self):
        # since: a start before the subscription reached the daemon is replayed, not missed.
        stream = client.events(since=time.time() - 1,
                               filters={"label": self.filter, "event": "start"}, decode=True)
        seen = []

        def follow():
            for event in stream:
                seen.append(event["Action"])

        reader = threading.Thread(target=follow)
        reader.start()
        self.run_once()
        harness.wait_until(lambda: seen, what="the start event")
        stream.close()
        reader.join(10)
        self.assertFalse(reader.is_alive())
        self.assertEqual(seen, ["start"])

    def test_a_bad_filter_key_or_window_is_refused(self):
        with self.assertRaises(InvalidArgument) as caught:
            list(client.events(until=time.time(), filters={"colour": "red"}))
        self.assertIn('filters[0].key: "colour" is not an events filter', str(caught.exception))
        with self.assertRaises(InvalidArgument) as caught:
            list(client.events(since=time.time() + 60, until=time.time()))
        self.assertIn("since: must not be after until", str(caught.exception))


if __name__ == "__main__":
    unittest.main()
