"""The generated dockline.v1 stubs, with a clear message when they were not generated."""

try:
    from dockline.v1 import dockline_pb2 as pb
    from dockline.v1 import dockline_pb2_grpc as pb_grpc
except ImportError as err:  # pragma: no cover - depends on the install
    raise ImportError(
        "the dockline.v1 stubs are missing: generate them (ninja -C build "
        "dockline_python_stubs, or protoc with grpc_python_plugin, see client/python/README.md) "
        "and put their directory (build/client/python/gen) on PYTHONPATH"
    ) from err

__all__ = ["pb", "pb_grpc"]
