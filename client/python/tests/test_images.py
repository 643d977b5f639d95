"""client.images: get, list, remove, pull and prune, and run()'s pull policy, against a real
docklined and the test engine. The engine has only the test image and no network: pulls go to
a registry address on loopback that nothing serves, so they fail fast without traffic leaving
the host. A second tag of the test image (made straight on the engine) is what remove() takes
away."""

import unittest
import urllib.parse

import harness
from harness import IMAGE, LABELS, RUN_ID

import dockline

client = None


def setUpModule():
    global client
    harness.start()
    client = dockline.from_env()


def tearDownModule():
    client.close()
    harness.stop()


def tag_test_image(repo, tag):
    query = urllib.parse.urlencode({"repo": repo, "tag": tag})
    status, body = harness.engine("POST", f"/images/{urllib.parse.quote(IMAGE, safe='')}"
                                          f"/tag?{query}")
    if status != 201:
        raise RuntimeError(f"tagging {IMAGE} as {repo}:{tag}: {status} {body}")
    return f"{repo}:{tag}"


def untag(ref):
    # Only a leftover of a failed test: the tests remove their tags themselves.
    harness.engine("DELETE", f"/images/{urllib.parse.quote(ref, safe='')}?noprune=1")


class ImagesTest(unittest.TestCase):
    def test_get(self):
        image = client.images.get(IMAGE)
        self.assertIsInstance(image, dockline.Image)
        self.assertIn(IMAGE, image.tags)
        self.assertTrue(image.id.startswith("sha256:"), image.id)
        self.assertEqual(image.short_id, image.id[:17])
        self.assertIsInstance(image.labels, dict)
        self.assertEqual(client.images.get(image.id), image)
        self.assertEqual(client.images.get(image.id[7:19]).id, image.id)
        image.reload()
        self.assertIn(IMAGE, image.tags)

    def test_get_missing(self):
        with self.assertRaises(dockline.ImageNotFound) as caught:
            client.images.get("dockline-test/no-such-image:latest")
        self.assertIsInstance(caught.exception, dockline.NotFound)

    def test_list(self):
        images = client.images.list()
        self.assertIn(IMAGE, [tag for image in images for tag in image.tags])
        repository = IMAGE.rsplit(":", 1)[0]
        named = client.images.list(name=repository)
        self.assertTrue(named)
        self.assertTrue(all(any(t.startswith(repository + ":") for t in i.tags)
                            for i in named))
        self.assertEqual(client.images.list(name="dockline-test/no-such-image"), [])
        self.assertEqual(client.images.list(filters={"dangling": True,
                                                     "label": f"dockline-test={RUN_ID}"}), [])

    def test_remove_a_tag(self):
        ref = tag_test_image("dockline-test/py-remove", RUN_ID)
        self.addCleanup(untag, ref)
        self.assertEqual(client.images.get(ref).id, client.images.get(IMAGE).id)
        deleted = client.images.remove(ref)
        self.assertEqual(deleted, [{"Untagged": ref}])
        with self.assertRaises(dockline.ImageNotFound):
            client.images.get(ref)
        client.images.get(IMAGE)  # the image itself stays under its other tag
        with self.assertRaises(dockline.ImageNotFound):
            client.images.remove(ref)

    def test_remove_in_use_needs_force(self):
        ref = tag_test_image("dockline-test/py-in-use", RUN_ID)
        self.addCleanup(untag, ref)
        container = client.containers.create(ref, "true", labels=LABELS)
        try:
            # The image has another tag: untagging is allowed even in use. Removing by id is
            # what needs force.
            image_id = client.images.get(ref).id
            with self.assertRaises(dockline.errors.Conflict):
                client.images.remove(image_id)
            self.assertEqual(client.images.remove(ref), [{"Untagged": ref}])
        finally:
            container.remove()

    def test_pull_failure_is_an_api_error(self):
        progress = []
        with self.assertRaises(dockline.APIError) as caught:
            client.images.pull("127.0.0.1:1/dockline-test/unreachable", tag="latest",
                               progress=progress.append)
        self.assertNotIsInstance(caught.exception, dockline.errors.Unimplemented,
                                 "the server does not implement PullImage yet")
        self.assertIsNotNone(caught.exception.explanation)

    def test_pull_refuses_all_tags(self):
        with self.assertRaises(dockline.errors.InvalidArgument):
            client.images.pull("busybox", all_tags=True)

    def test_container_image(self):
        container = client.containers.create(IMAGE, "true", labels=LABELS)
        try:
            self.assertEqual(container.image, client.images.get(IMAGE))
        finally:
            container.remove()

    def test_pull_policies_of_run(self):
        self.assertEqual(client.containers.run(IMAGE, "echo local", pull="never",
                                               remove=True, labels=LABELS), b"local\n")
        self.assertEqual(client.containers.run(IMAGE, "echo local", pull="missing",
                                               remove=True, labels=LABELS), b"local\n")
        with self.assertRaises(dockline.ImageNotFound):
            client.containers.run("dockline-test/no-such-image:latest", "true", pull="never",
                                  labels=LABELS)
        with self.assertRaises(dockline.APIError) as caught:
            client.containers.run("127.0.0.1:1/dockline-test/unreachable:latest", "true",
                                  pull="always", labels=LABELS)
        self.assertNotIsInstance(caught.exception, dockline.errors.Unimplemented)
        with self.assertRaises(dockline.errors.InvalidArgument):
            client.containers.run(IMAGE, "true", pull="sometimes", labels=LABELS)

    def test_prune_dangling_by_label(self):
        result = client.images.prune(filters={"dangling": True,
                                              "label": f"dockline-test={RUN_ID}"})
        self.assertEqual(result, {"ImagesDeleted": [], "SpaceReclaimed": 0})


if __name__ == "__main__":
    unittest.main()
