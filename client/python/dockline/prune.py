"""client.volumes.prune() and client.networks.prune(): the spec's prune section; dockline
has no other volume or network calls."""

from dockline import _convert
from dockline._proto import pb


class VolumeCollection:
    def __init__(self, client):
        self.client = client

    def prune(self, filters=None):
        """{"VolumesDeleted": [names], "SpaceReclaimed": bytes}. Anonymous volumes only, unless
        filters={"all": True}, on every Engine API version."""
        typed, extra = _convert.prune_filters(filters, allowed=("all",))
        request = pb.PruneVolumesRequest(filters=typed)
        if "all" in extra:
            request.all = _convert.bool_value(extra["all"], "filters['all']")
        reply = self.client._call("PruneVolumes", request)
        return {"VolumesDeleted": list(reply.volumes_deleted),
                "SpaceReclaimed": reply.space_reclaimed}


class NetworkCollection:
    def __init__(self, client):
        self.client = client

    def prune(self, filters=None):
        """{"NetworksDeleted": [names]}."""
        typed, _ = _convert.prune_filters(filters, allowed=())
        reply = self.client._call("PruneNetworks", pb.PruneNetworksRequest(filters=typed))
        return {"NetworksDeleted": list(reply.networks_deleted)}
