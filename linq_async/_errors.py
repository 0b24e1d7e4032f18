"""The exception tree. Every error this package raises is a `LinqError`.

```text
LinqError
+-- LinqUsageError (also ValueError)      bad arguments, raised before any I/O
+-- LinqClosedError (also RuntimeError)   the session was used before open or after close
+-- LinqLoopError (also RuntimeError)     the session was used from another event loop
+-- LinqConnectionError                   no usable response (refused, reset, dropped)
|   +-- LinqTimeoutError (also TimeoutError)
+-- APIStatusError                        the API answered with an error status
|   +-- BadRequestError                   400, 422
|   +-- AuthenticationError               401
|   +-- PermissionDeniedError             403
|   |   +-- OptedOutError                 403, code 2024
|   |   +-- LineIneligibleError           403, code 2027
|   +-- NotFoundError                     404
|   +-- ConflictError                     409
|   +-- RateLimitError                    429
|   +-- ServerError                       5xx
+-- UploadError                           the presigned PUT failed (.attachment_id, .s3_code)
|   +-- UploadExpiredError                the upload URL expired
+-- DownloadError                         fetching a file from its download URL failed
+-- ResponseValidationError               a 2xx body did not fit the model
+-- WebhookVerificationError              a webhook delivery failed verification
    +-- WebhookHeaderError                a webhook-* header is missing or malformed
    +-- WebhookSignatureError             no signature matches the body
    +-- WebhookTimestampError             signed too long ago (or in the future)
    +-- WebhookPayloadError               authentic, but not a JSON event envelope
+-- BroadcastInterruptedError             a broadcast stopped early (.broadcast_id, .report)
```

The webhook errors are raised by `linq_async.webhooks` (and exported from it).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .models import BroadcastReport

__all__ = [
    "APIStatusError",
    "AuthenticationError",
    "BadRequestError",
    "BroadcastInterruptedError",
    "ConflictError",
    "DownloadError",
    "LineIneligibleError",
    "LinqClosedError",
    "LinqConnectionError",
    "LinqError",
    "LinqLoopError",
    "LinqTimeoutError",
    "LinqUsageError",
    "NotFoundError",
    "OptedOutError",
    "PermissionDeniedError",
    "RateLimitError",
    "ResponseValidationError",
    "ServerError",
    "UploadError",
    "UploadExpiredError",
    "WebhookHeaderError",
    "WebhookPayloadError",
    "WebhookSignatureError",
    "WebhookTimestampError",
    "WebhookVerificationError",
]


class LinqError(Exception):
    """Base class of every error raised by ``linq_async``."""


class LinqUsageError(LinqError, ValueError):
    """An argument is invalid. Raised before anything is sent."""


class LinqClosedError(LinqError, RuntimeError):
    """The session is not open: use ``async with LinqSession(...)`` or reopen a new one."""


class LinqLoopError(LinqError, RuntimeError):
    """The session was used from an event loop other than the one that opened it.

    A `LinqSession` holds connections that belong to the event loop it was opened in (the
    first ``async with`` or call). A second ``asyncio.run(...)`` runs a new loop: make a new
    `LinqSession` inside it instead of reusing the first one.
    """


class LinqConnectionError(LinqError):
    """The request got no usable response: connection refused, reset or dropped."""


class LinqTimeoutError(LinqConnectionError, TimeoutError):
    """The request timed out."""


class APIStatusError(LinqError):
    """The API answered with an error status.

    Attributes:
        status: the HTTP status.
        code: the Linq error code (``1002``, ``2004`` ...), or ``None`` if the body had none.
        message: the human-readable message from the body, or the HTTP reason.
        trace_id: the API's trace id, to quote to Linq support.
        doc_url: the documentation page for ``code``, when given.
        retry_after: seconds to wait before retrying (429), when given.
        body: the decoded JSON body, or the raw text when it was not JSON.
        method: the request's HTTP method.
        path: the request's API path (no host, no query).
    """

    def __init__(
        self,
        *,
        status: int,
        message: str,
        code: int | None = None,
        trace_id: str | None = None,
        doc_url: str | None = None,
        retry_after: float | None = None,
        body: Any = None,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        self.status = status
        self.code = code
        self.message = message
        self.trace_id = trace_id
        self.doc_url = doc_url
        self.retry_after = retry_after
        self.body = body
        self.method = method
        self.path = path
        super().__init__(str(self))

    def __str__(self) -> str:
        parts = [f"HTTP {self.status}"]
        if self.code is not None:
            parts.append(f"code {self.code}")
        text = ", ".join(parts) + f": {self.message}"
        if self.method and self.path:
            text += f" ({self.method} {self.path})"
        if self.trace_id:
            text += f" [trace_id {self.trace_id}]"
        return text

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), self._kwargs()))

    def _kwargs(self) -> Mapping[str, Any]:
        return {
            "status": self.status,
            "message": self.message,
            "code": self.code,
            "trace_id": self.trace_id,
            "doc_url": self.doc_url,
            "retry_after": self.retry_after,
            "body": self.body,
            "method": self.method,
            "path": self.path,
        }


def _rebuild(cls: type[APIStatusError], kwargs: Mapping[str, Any]) -> APIStatusError:
    return cls(**kwargs)


class BadRequestError(APIStatusError):
    """400 or 422: the request was refused as invalid (codes 1001-1005 ...)."""


class AuthenticationError(APIStatusError):
    """401: the API key is missing, wrong or revoked (code 2004)."""


class PermissionDeniedError(APIStatusError):
    """403: the key may not do this."""


class OptedOutError(PermissionDeniedError):
    """403 code 2024: the recipient opted out. ``override_optout=True`` bypasses it once."""


class LineIneligibleError(PermissionDeniedError):
    """403 code 2027: the sending line is temporarily not eligible to send."""


class NotFoundError(APIStatusError):
    """404: not found, or owned by another partner (the API does not say which)."""


class ConflictError(APIStatusError):
    """409: the request conflicts with the resource's state. Usually permanent."""


class RateLimitError(APIStatusError):
    """429: rate limited. ``retry_after`` says how long to wait, when the API said."""


class ServerError(APIStatusError):
    """5xx: the API failed. Retried by the session's retry policy."""


class UploadError(LinqError):
    """The presigned upload (PUT to storage) failed, or the file changed while it was sent.

    Attributes:
        attachment_id: the attachment the upload was for.
        status: the storage service's HTTP status, or ``None`` if there was no response.
        s3_code: the storage error code (``SignatureDoesNotMatch``, ``AccessDenied`` ...).
    """

    def __init__(
        self,
        message: str,
        *,
        attachment_id: str | None = None,
        status: int | None = None,
        s3_code: str | None = None,
    ) -> None:
        self.message = message
        self.attachment_id = attachment_id
        self.status = status
        self.s3_code = s3_code
        super().__init__(message)

    def __str__(self) -> str:
        details = [
            f"{name} {value}"
            for name, value in (
                ("attachment", self.attachment_id),
                ("HTTP", self.status),
                ("S3 code", self.s3_code),
            )
            if value is not None
        ]
        return self.message + (f" ({', '.join(details)})" if details else "")

    def __reduce__(self) -> tuple[Any, ...]:
        kwargs = {"attachment_id": self.attachment_id, "status": self.status}
        return (_rebuild_upload, (type(self), self.message, kwargs, self.s3_code))


def _rebuild_upload(
    cls: type[UploadError], message: str, kwargs: Mapping[str, Any], s3_code: str | None
) -> UploadError:
    return cls(message, s3_code=s3_code, **kwargs)


class UploadExpiredError(UploadError):
    """The upload URL expired before the upload started or finished."""


class DownloadError(LinqError):
    """Downloading an attachment's file (from its download URL) failed.

    The destination is left as it was: nothing partial is ever written there.

    Attributes:
        attachment_id: the attachment, when the download was asked for by id.
        status: the file host's HTTP status, or ``None`` if there was no response.
    """

    def __init__(
        self, message: str, *, attachment_id: str | None = None, status: int | None = None
    ) -> None:
        self.message = message
        self.attachment_id = attachment_id
        self.status = status
        super().__init__(message)

    def __str__(self) -> str:
        details = [
            f"{name} {value}"
            for name, value in (("attachment", self.attachment_id), ("HTTP", self.status))
            if value is not None
        ]
        return self.message + (f" ({', '.join(details)})" if details else "")

    def __reduce__(self) -> tuple[Any, ...]:
        return (
            _rebuild_download,
            (type(self), self.message, self.attachment_id, self.status),
        )


def _rebuild_download(
    cls: type[DownloadError], message: str, attachment_id: str | None, status: int | None
) -> DownloadError:
    return cls(message, attachment_id=attachment_id, status=status)


class ResponseValidationError(LinqError):
    """A successful response did not have the shape the models expect."""


class WebhookVerificationError(LinqError):
    """A webhook delivery could not be verified, so it must not be trusted.

    The message says why in terms safe to log: it never holds the secret, and never the
    expected signature.

    Attributes:
        reason: the message.
        header: the header at fault (``"webhook-signature"`` ...), when one is.
    """

    def __init__(self, reason: str, *, header: str | None = None) -> None:
        self.reason = reason
        self.header = header
        super().__init__(reason)


class WebhookHeaderError(WebhookVerificationError):
    """A required header is missing, empty or malformed (``webhook-id``,
    ``webhook-timestamp``, ``webhook-signature``), or the same header came twice with
    different values. A proxy that strips unknown headers causes this on every delivery."""


class WebhookSignatureError(WebhookVerificationError):
    """No ``v1`` signature of ``webhook-signature`` matches the body: a wrong secret, a body
    changed on the way (re-serialised JSON, re-encoded text), or a forgery.

    Attributes:
        signatures: how many entries the header held.
        malformed: how many of them were not ``v1,<base64>`` (no comma, bad base64 ...).
    """

    def __init__(
        self, reason: str, *, header: str | None = None, signatures: int = 0, malformed: int = 0
    ) -> None:
        super().__init__(reason, header=header)
        self.signatures = signatures
        self.malformed = malformed


class WebhookTimestampError(WebhookVerificationError):
    """The signature is right but the timestamp is further from now than the tolerance: a
    replayed delivery, or a clock that is wrong (this machine's or the sender's).

    Attributes:
        skew: now minus the signed timestamp, in seconds (positive: signed in the past).
        tolerance: the largest skew accepted either way, in seconds.
    """

    def __init__(
        self, reason: str, *, header: str | None = None, skew: float = 0.0, tolerance: float = 0.0
    ) -> None:
        super().__init__(reason, header=header)
        self.skew = skew
        self.tolerance = tolerance


class WebhookPayloadError(WebhookVerificationError):
    """The delivery is authentic but its body is not a JSON event envelope (not JSON, not an
    object, or without a string ``event_id``/``event_type`` and an object ``data``)."""


class BroadcastInterruptedError(LinqError):
    """A broadcast stopped before every recipient was tried: the cause is in ``__cause__``.

    A broadcast stops when a send fails in a way that would fail every other recipient too
    (the API key was refused, the API cannot be reached, the session was closed) instead of
    failing the recipients one by one. Run the broadcast again with the same
    ``broadcast_id`` once the cause is fixed: recipients already sent get nothing twice.

    Attributes:
        broadcast_id: the id to pass as ``broadcast_id=`` to resume.
        report: the outcomes of the recipients tried so far, in the order given, and the
            upload (pass ``report.upload`` as the file to resume without uploading again).
        remaining: the recipients never tried.
    """

    def __init__(
        self,
        message: str,
        *,
        broadcast_id: str,
        report: BroadcastReport,
        remaining: tuple[str, ...],
    ) -> None:
        self.message = message
        self.broadcast_id = broadcast_id
        self.report = report
        self.remaining = remaining
        super().__init__(message)

    def __reduce__(self) -> tuple[Any, ...]:
        kwargs = {
            "broadcast_id": self.broadcast_id,
            "report": self.report,
            "remaining": self.remaining,
        }
        return (_rebuild_interrupted, (type(self), self.message, kwargs))


def _rebuild_interrupted(
    cls: type[BroadcastInterruptedError], message: str, kwargs: Mapping[str, Any]
) -> BroadcastInterruptedError:
    return cls(message, **kwargs)
