"""client.volumes.prune() and client.networks.prune(): the spec's prune section; dockline
has no other volume or network calls. Here too, plan-then-apply for every prune: `plan=True`
returns a dry run's plan, and `apply=` removes exactly a plan's objects that are still
prunable."""

from dockline import _convert
from dockline._proto import pb

_REASONS = {
    pb.PRUNE_SKIP_REASON_GONE: "gone",
    pb.PRUNE_SKIP_REASON_RUNNING: "running",
    pb.PRUNE_SKIP_REASON_IN_USE: "in use",
    pb.PRUNE_SKIP_REASON_NOT_PRUNABLE: "never pruned",
}


def prune_request(request, plan, apply):
    """Sets a prune request's dry run (plan=True) or its apply: `apply` is what plan=True
    returned (its Items' Ids: drop an item to keep its object; with no Items, its Token), a
    token string, or a list of ids."""
    if plan and apply is not None:
        raise TypeError("prune: plan=True and apply= are exclusive")
    if plan:
        request.dry_run = True
    elif isinstance(apply, str):
        request.apply.plan = apply
    elif isinstance(apply, dict):
        if apply.get("Items"):
            request.apply.ids.ids.extend(str(i["Id"]) for i in apply["Items"])
        else:
            request.apply.plan = apply.get("Token", "")
    elif apply is not None:
        request.apply.ids.ids.extend(str(i) for i in apply)
    return request


def plan_result(reply):
    """A dry run's plan: {"Items": [{"Id", "Name", "Size"}], "Token": str}."""
    return {"Items": [{"Id": i.id, "Name": i.name, "Size": i.size} for i in reply.plan.items],
            "Token": reply.plan.token}


def with_skipped(result, reply, apply):
    """docker-py's prune result, plus "Skipped" ([{"Id", "Reason", "Detail"}]) for an apply."""
    if apply is not None:
        result["Skipped"] = [{"Id": s.id, "Reason": _REASONS.get(s.reason, "skipped"),
                              "Detail": s.detail} for s in reply.skipped]
    return result


class VolumeCollection:
    def __init__(self, client):
        self.client = client

    def prune(self, filters=None, plan=False, apply=None):
        """{"VolumesDeleted": [names], "SpaceReclaimed": bytes}. Anonymous volumes only, unless
        filters={"all": True}, on every Engine API version. plan/apply: see the module."""
        typed, extra = _convert.prune_filters(filters, allowed=("all",))
        request = prune_request(pb.PruneVolumesRequest(filters=typed), plan, apply)
        if "all" in extra:
            request.all = _convert.bool_value(extra["all"], "filters['all']")
        reply = self.client._call("PruneVolumes", request)
        if plan:
            return plan_result(reply)
        return with_skipped({"VolumesDeleted": list(reply.volumes_deleted),
                             "SpaceReclaimed": reply.space_reclaimed}, reply, apply)


class NetworkCollection:
    def __init__(self, client):
        self.client = client

    def prune(self, filters=None, plan=False, apply=None):
        """{"NetworksDeleted": [names]}. plan/apply: see the module."""
        typed, _ = _convert.prune_filters(filters, allowed=())
        reply = self.client._call("PruneNetworks", prune_request(
            pb.PruneNetworksRequest(filters=typed), plan, apply))
        if plan:
            return plan_result(reply)
        return with_skipped({"NetworksDeleted": list(reply.networks_deleted)}, reply, apply)
