"""Error shapes: the Linq JSON error envelope and S3's XML error document.

Handlers raise `ApiError` or `S3Error`; the server's middleware turns them
into responses with `api_error_response` and `s3_error_response`.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any
from xml.sax.saxutils import escape

from aiohttp import web

# The documented code for a status when a fault does not name one.
_DEFAULT_API_CODES: dict[int, int] = {
    400: 1005,
    401: 2004,
    403: 2005,
    404: 2001,
    409: 1006,
    429: 1007,
}
_DEFAULT_S3_CODES: dict[int, str] = {
    400: "InvalidRequest",
    403: "AccessDenied",
    404: "NoSuchKey",
    405: "MethodNotAllowed",
    411: "MissingContentLength",
    500: "InternalError",
    501: "NotImplemented",
    503: "ServiceUnavailable",
}


class ApiError(Exception):
    """A Linq API error, answered with the JSON envelope."""

    def __init__(
        self,
        status: int,
        code: int,
        message: str,
        *,
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})
        self.extra = dict(extra or {})


class S3Error(Exception):
    """A storage error, answered with S3's XML error document."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message


_DROPPED = web.RequestKey("linq_async.testing.dropped", bool)


def drop_connection(request: web.Request) -> None:
    """Abort ``request``'s connection as an injected fault, and mark the request for the
    recorder: a connection the client hung up on is not a drop of the fake's."""
    request[_DROPPED] = True
    if request.transport is not None:
        request.transport.abort()


def was_dropped(request: web.Request) -> bool:
    """Whether `drop_connection` ended ``request``."""
    return request.get(_DROPPED) is True


def reason(status: int) -> str:
    """Return the standard reason phrase for ``status`` (or ``"Error"``)."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def default_api_code(status: int) -> int:
    """Return the Linq error code the fake uses for ``status`` when none is given."""
    if status in _DEFAULT_API_CODES:
        return _DEFAULT_API_CODES[status]
    return 3006 if status >= 500 else 1005


def default_s3_code(status: int) -> str:
    """Return the S3 error code the fake uses for ``status`` when none is given."""
    if status in _DEFAULT_S3_CODES:
        return _DEFAULT_S3_CODES[status]
    return "InternalError" if status >= 500 else "InvalidRequest"


def doc_url(code: int) -> str:
    """Return the documentation URL the API puts in ``error.doc_url``."""
    return f"https://docs.linqapp.com/error/codes/{code // 1000}xxx/{code}/"


def trace_id() -> str:
    """Return a fresh random trace id (32 hex digits)."""
    return secrets.token_hex(16)


def api_error_body(
    status: int, code: int, message: str, *, extra: Mapping[str, Any] | None = None
) -> bytes:
    """Encode the documented error envelope.

    Args:
        status: The HTTP status, repeated in ``error.status``.
        code: The Linq error code.
        message: Human-readable text.
        extra: More keys for the ``error`` object (``retry_after``).

    Returns:
        The JSON body.
    """
    error: dict[str, Any] = {
        "status": status,
        "code": code,
        "message": message,
        "doc_url": doc_url(code),
    }
    error.update(extra or {})
    envelope = {"success": False, "error": error, "trace_id": trace_id()}
    return json.dumps(envelope).encode()


def api_error_response(exc: ApiError) -> web.Response:
    """Build the response for an `ApiError`."""
    return web.Response(
        status=exc.status,
        body=api_error_body(exc.status, exc.code, exc.message, extra=exc.extra),
        content_type="application/json",
        headers=exc.headers,
    )


def s3_error_body(code: str, message: str) -> bytes:
    """Encode S3's XML error document with a fresh request id."""
    request_id = secrets.token_hex(8).upper()
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{escape(code)}</Code><Message>{escape(message)}</Message>"
        f"<RequestId>{request_id}</RequestId></Error>"
    ).encode()


def s3_error_response(exc: S3Error) -> web.Response:
    """Build the response for an `S3Error`."""
    return web.Response(
        status=exc.status,
        body=s3_error_body(exc.code, exc.message),
        content_type="application/xml",
    )
