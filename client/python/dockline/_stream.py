"""A server stream handed to the caller: iterate it, close() it from any thread."""

import grpc

from dockline.errors import from_rpc_error


class CancellableStream:
    """docker-py's CancellableStream over a gRPC call.

    `items` is a generator that reads `call`; gRPC errors it raises come out as dockline
    exceptions. close() cancels the call, which also ends an iteration blocked in another
    thread (the spec's log-tailing thread), where a generator's own close() could not.
    """

    def __init__(self, call, items, not_found=None):
        self._call = call
        self._items = items
        self._not_found = not_found
        self._closed = False

    def __iter__(self):
        return self

    def __next__(self):
        try:
            return next(self._items)
        except grpc.RpcError as err:
            if self._closed and err.code() == grpc.StatusCode.CANCELLED:
                raise StopIteration from None
            raise from_rpc_error(err, self._not_found) from err

    def close(self):
        self._closed = True
        self._call.cancel()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
