"""Exceptions shaped like docker.errors, and the one table from gRPC status codes to them.

docker-py raises from HTTP status codes; dockline's server maps the Engine's codes to gRPC ones
(404 -> NOT_FOUND, 409 -> ALREADY_EXISTS / FAILED_PRECONDITION, ...), so code written against
docker.errors keeps working when it catches NotFound, ImageNotFound, APIError or ContainerError.
"""

import grpc

try:
    # The spec's wait() example catches requests' ReadTimeout, as docker-py raises it. When
    # requests is installed, Timeout is one too, so that code runs unchanged; requests is not a
    # dependency otherwise.
    from requests.exceptions import ReadTimeout as _ReadTimeout
except ImportError:  # pragma: no cover - depends on the install
    _ReadTimeout = None


class DocklineException(Exception):
    """Base of every exception dockline raises (docker.errors.DockerException)."""


class APIError(DocklineException):
    """The server refused or failed a call (docker.errors.APIError).

    `status_code` is the grpc.StatusCode (docker-py's is the HTTP status), `explanation` the
    server's message, `http_status` the Engine status the code usually stands for.
    """

    def __init__(self, message, status_code=grpc.StatusCode.UNKNOWN, explanation=None):
        self.status_code = status_code
        self.explanation = explanation if explanation is not None else message
        super().__init__(message)

    def __str__(self):
        return f"{self.status_code.name}: {self.explanation}"

    @property
    def code(self):
        return self.status_code

    @property
    def http_status(self):
        return _HTTP_STATUS.get(self.status_code, 500)

    def is_client_error(self):
        return 400 <= self.http_status < 500

    def is_server_error(self):
        return self.http_status >= 500

    def is_error(self):
        return True


class NotFound(APIError):
    pass


class ImageNotFound(NotFound):
    pass


class InvalidArgument(APIError):
    """A bad argument, refused by the server or before the call by this package."""

    def __init__(self, message, status_code=grpc.StatusCode.INVALID_ARGUMENT, explanation=None):
        super().__init__(message, status_code, explanation)


class Conflict(APIError):
    """Docker's 409: a name in use (ALREADY_EXISTS) or a state that forbids the call."""


class PermissionDenied(APIError):
    """The server's policy refused the call; the message names the rule."""


class Unauthenticated(APIError):
    """The server wants credentials (a token or a client certificate)."""


class Unavailable(APIError):
    """docklined, or the Docker daemon behind it, cannot be reached."""


class ResourceExhausted(APIError):
    """A server limit (streams, reply size, descriptors); the message names it."""


class Unimplemented(APIError):
    """The server does not implement this call (an older docklined)."""


class DataLoss(APIError):
    """The daemon ended a stream inside a frame: what came was delivered, the rest is lost."""


class Cancelled(APIError):
    pass


if _ReadTimeout is not None:
    class Timeout(APIError, _ReadTimeout):
        """A deadline passed (wait(timeout=...), WaitHealthy): requests' ReadTimeout too."""

        def __init__(self, message, status_code=grpc.StatusCode.DEADLINE_EXCEEDED,
                     explanation=None):
            APIError.__init__(self, message, status_code, explanation)
else:  # pragma: no cover - depends on the install
    class Timeout(APIError, TimeoutError):
        """A deadline passed (wait(timeout=...), WaitHealthy)."""

        def __init__(self, message, status_code=grpc.StatusCode.DEADLINE_EXCEEDED,
                     explanation=None):
            APIError.__init__(self, message, status_code, explanation)


class ContainerError(DocklineException):
    """A container run by containers.run() exited non-zero (docker.errors.ContainerError)."""

    def __init__(self, container, exit_status, command, image, stderr):
        self.container = container
        self.exit_status = exit_status
        self.command = command
        self.image = image
        self.stderr = stderr
        err = f": {stderr.decode(errors='replace')}" if stderr else ""
        super().__init__(
            f"Command '{command}' in image '{image}' returned non-zero exit status "
            f"{exit_status}{err}")


# The one table: gRPC status code -> exception class. Codes not listed are plain APIError.
STATUS_TO_ERROR = {
    grpc.StatusCode.NOT_FOUND: NotFound,
    grpc.StatusCode.INVALID_ARGUMENT: InvalidArgument,
    grpc.StatusCode.OUT_OF_RANGE: InvalidArgument,
    grpc.StatusCode.ALREADY_EXISTS: Conflict,
    grpc.StatusCode.FAILED_PRECONDITION: Conflict,
    grpc.StatusCode.ABORTED: Conflict,
    grpc.StatusCode.PERMISSION_DENIED: PermissionDenied,
    grpc.StatusCode.UNAUTHENTICATED: Unauthenticated,
    grpc.StatusCode.UNAVAILABLE: Unavailable,
    grpc.StatusCode.DEADLINE_EXCEEDED: Timeout,
    grpc.StatusCode.RESOURCE_EXHAUSTED: ResourceExhausted,
    grpc.StatusCode.UNIMPLEMENTED: Unimplemented,
    grpc.StatusCode.DATA_LOSS: DataLoss,
    grpc.StatusCode.CANCELLED: Cancelled,
}

# What docker-py's status_code would have been, for is_client_error() and callers that compare
# against HTTP numbers.
_HTTP_STATUS = {
    grpc.StatusCode.OK: 200,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.OUT_OF_RANGE: 400,
    grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.FAILED_PRECONDITION: 409,
    grpc.StatusCode.ABORTED: 409,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.UNAUTHENTICATED: 401,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DEADLINE_EXCEEDED: 504,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
    grpc.StatusCode.UNIMPLEMENTED: 501,
    grpc.StatusCode.CANCELLED: 499,
}

# The daemon's texts for a missing image: a NOT_FOUND from create or run with one of these is
# about the image, not the container (docker-py makes the same distinction).
_IMAGE_MISSING = ("no such image", "pull access denied", "manifest unknown",
                  "repository does not exist")


def from_rpc_error(err, not_found=None):
    """The exception for a grpc.RpcError. `not_found` overrides NotFound (ImageNotFound for the
    image calls)."""
    code = err.code() if hasattr(err, "code") else grpc.StatusCode.UNKNOWN
    details = (err.details() if hasattr(err, "details") else None) or str(err)
    cls = STATUS_TO_ERROR.get(code, APIError)
    if cls is NotFound:
        if not_found is not None:
            cls = not_found
        elif any(text in details.lower() for text in _IMAGE_MISSING):
            cls = ImageNotFound
    return cls(details, code, details)
