"""dockline: docker-py's container lifecycle over a docklined gRPC server.

    import dockline
    client = dockline.from_env()          # $DOCKLINE_ADDR, else 127.0.0.1:50051
    print(client.containers.run("busybox", "echo hi", remove=True))
"""

import pkgutil

# The generated stubs live in their own tree (build/client/python/gen/dockline/v1/), under the
# same top-level name as this package: let `dockline.v1` be found there too.
__path__ = pkgutil.extend_path(__path__, __name__)

from dockline import errors, types  # noqa: E402
from dockline.client import DocklineClient, from_env  # noqa: E402
from dockline.containers import Container, ExecResult, LogChunk  # noqa: E402
from dockline.errors import (APIError, ContainerError, DocklineException,  # noqa: E402
                             ImageNotFound, NotFound)
from dockline.fleet import Fleet  # noqa: E402
from dockline.images import Image  # noqa: E402

__all__ = [
    "APIError", "Container", "ContainerError", "DocklineClient", "DocklineException",
    "ExecResult", "Fleet", "Image", "ImageNotFound", "LogChunk", "NotFound", "errors", "from_env",
    "types",
]
