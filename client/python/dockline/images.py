"""client.images and Image, shaped like docker-py's models."""

import json

import grpc

from dockline import _convert, prune
from dockline._proto import pb
from dockline.containers import Model, registry_auth
from dockline.errors import DocklineException, ImageNotFound, InvalidArgument, from_rpc_error


class Image(Model):
    """One image; attrs is the daemon's inspect document, as in docker-py."""

    def __repr__(self):
        return "<Image: '{}'>".format("', '".join(self.tags))

    @property
    def short_id(self):
        if self.id and self.id.startswith("sha256:"):
            return self.id[:17]
        return (self.id or "")[:10]

    @property
    def tags(self):
        return [t for t in self.attrs.get("RepoTags") or [] if t != "<none>:<none>"]

    @property
    def labels(self):
        return (self.attrs.get("Config") or {}).get("Labels") or {}


def parse_repository_tag(repo_name):
    """docker-py's split of "name:tag" / "name@digest" (a registry's port is not a tag)."""
    if "@" in repo_name:
        return tuple(repo_name.rsplit("@", 1))
    name, sep, tag = repo_name.rpartition(":")
    if sep and "/" not in tag:
        return name, tag
    return repo_name, None


def _progress_dict(p):
    out = {"status": p.status}
    if p.id:
        out["id"] = p.id
    if p.current or p.total:
        out["progressDetail"] = {"current": p.current, "total": p.total}
    return out


class ImageCollection:
    def __init__(self, client):
        self.client = client

    def prepare_model(self, attrs):
        return Image(attrs=attrs, client=self.client, collection=self)

    def get(self, name):
        """The image by reference or id; ImageNotFound when the daemon has no such image."""
        reply = self.client._call("InspectImage", pb.InspectImageRequest(image=str(name)),
                                  not_found=ImageNotFound)
        return self.prepare_model(json.loads(reply.raw_json))

    def pull(self, repository, tag=None, all_tags=False, platform=None, auth_config=None,
             progress=None):
        """Pull repository[:tag] and return its Image, as docker-py.

        progress: a callable given each of the daemon's progress lines as docker's JSON
        message ({"status", "id", "progressDetail": {"current", "total"}}).
        """
        if all_tags:
            raise InvalidArgument("pull(all_tags=True) is not supported; name a tag")
        if not tag:
            repository, tag = parse_repository_tag(repository)
        reference = repository
        if tag:
            reference += ("@" if tag.startswith("sha256:") else ":") + tag
        request = pb.PullImageRequest(image=reference, platform=platform or "")
        auth = registry_auth(auth_config)
        if auth is not None:
            request.registry_auth.CopyFrom(auth)
        call = self.client._open("PullImage", request)
        pulled = None
        try:
            for msg in call:
                kind = msg.WhichOneof("event")
                if kind == "progress" and progress is not None:
                    progress(_progress_dict(msg.progress))
                elif kind == "pulled":
                    pulled = msg.pulled
        except grpc.RpcError as err:
            raise from_rpc_error(err, not_found=ImageNotFound) from err
        finally:
            call.cancel()
        if pulled is None:
            raise DocklineException(f"the pull of {reference} ended without the image")
        return self.get(pulled.id or pulled.image)

    def list(self, name=None, all=False, filters=None):
        """Images, inspected one by one as docker-py does."""
        request = pb.ListImagesRequest(name=name or "", all=all)
        request.filters.extend(_convert.filter_list(filters))
        reply = self.client._call("ListImages", request)
        out = []
        for summary in reply.images:
            try:
                out.append(self.get(summary.id))
            except ImageNotFound:
                pass  # removed between the list and the inspect
        return out

    def remove(self, image, force=False, noprune=False):
        """[{"Untagged": ref} or {"Deleted": id}, ...], as the Engine answers."""
        reply = self.client._call("RemoveImage", pb.RemoveImageRequest(
            image=str(image), force=force, no_prune=noprune), not_found=ImageNotFound)
        return [_deleted(d) for d in reply.deleted]

    def prune(self, filters=None, plan=False, apply=None):
        """{"ImagesDeleted": [...], "SpaceReclaimed": bytes}; filters: dangling, until, label,
        label!. plan/apply: as containers.prune."""
        typed, extra = _convert.prune_filters(filters, allowed=("dangling",))
        request = prune.prune_request(pb.PruneImagesRequest(filters=typed), plan, apply)
        if "dangling" in extra:
            value = extra["dangling"]
            if isinstance(value, (list, tuple)) and len(value) == 1:
                value = value[0]
            request.dangling = _convert.bool_value(value, "filters['dangling']")
        reply = self.client._call("PruneImages", request)
        if plan:
            return prune.plan_result(reply)
        return prune.with_skipped({"ImagesDeleted": [_deleted(d) for d in reply.images_deleted],
                                   "SpaceReclaimed": reply.space_reclaimed}, reply, apply)


def _deleted(d):
    return {"Untagged": d.untagged} if d.untagged else {"Deleted": d.deleted}
