"""The one place that talks HTTP: auth, timeouts, retries, error mapping, and the upload PUT.

No other module imports aiohttp (but the optional ``session=`` type in ``_session.py``), and
no aiohttp exception leaves this module unwrapped.

Retry safety is decided here, once, by `retry_safe`: GET, PUT and DELETE may be repeated; a
POST or PATCH only when it carries an idempotency key (minted by the caller once per logical
call, reused by every attempt) or when its endpoint states why repeating it is harmless.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import AsyncIterable, Awaitable, Callable, Collection, Mapping, Sequence
from typing import Any, Literal, Protocol, TypeVar

import aiohttp
import attrs
from yarl import URL

from ._errors import (
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    DownloadError,
    LineIneligibleError,
    LinqClosedError,
    LinqConnectionError,
    LinqError,
    LinqTimeoutError,
    NotFoundError,
    OptedOutError,
    PermissionDeniedError,
    RateLimitError,
    ResponseValidationError,
    ServerError,
    UploadError,
    UploadExpiredError,
)
from ._retry import RETRY_STATUSES, RetryPolicy, parse_retry_after
from ._version import __version__

__all__ = ["Pool", "Retry", "Timeouts", "Transport", "retry_safe", "status_error"]

logger = logging.getLogger("linq_async")

T = TypeVar("T")

USER_AGENT = f"linq-async/{__version__}"
_BODY_TEXT_LIMIT = 2000
_SAFE_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE"})
_UPLOAD_RETRY_STATUSES = frozenset({500, 502, 503, 504})

_STATUS_CLASSES: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: BadRequestError,
    429: RateLimitError,
}
_CODE_CLASSES: dict[int, type[APIStatusError]] = {
    2024: OptedOutError,
    2027: LineIneligibleError,
}


def retry_safe(method: str, idempotency_key: str | None, reason: str | None = None) -> bool:
    """Whether a request may be sent again after it may have reached the server.

    GET, PUT and DELETE may; a POST or PATCH only with an idempotency key, or with a stated
    ``reason`` why repeating it is harmless. Refused connections and 429 answers are retried
    whatever this says: those requests were never processed.
    """
    return method in _SAFE_METHODS or idempotency_key is not None or reason is not None


@attrs.frozen(kw_only=True)
class Timeouts:
    """Timeouts in seconds.

    API calls are bounded as a whole (``total``). Uploads have no total, so a 100 MB file on a
    slow link can finish, but a connection that stalls for ``upload_read`` seconds fails.

    Args:
        total: whole API call, per attempt.
        connect: establishing a connection (API calls and uploads).
        upload_read: longest silence while uploading or awaiting the storage's answer.
    """

    total: float = 60.0
    connect: float = 10.0
    upload_read: float = 60.0

    def api(self) -> aiohttp.ClientTimeout:
        """The aiohttp timeout of one API call attempt."""
        return aiohttp.ClientTimeout(total=self.total, connect=self.connect)

    def upload(self) -> aiohttp.ClientTimeout:
        """The aiohttp timeout of one upload attempt."""
        return aiohttp.ClientTimeout(
            total=None, sock_connect=self.connect, sock_read=self.upload_read
        )


class _Secret:
    """Holds the API key so that no repr, log record or traceback local shows it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "<secret>"


class _Headers(dict[str, str]):
    """Request headers whose repr hides the Authorization value.

    Tracebacks with locals (pytest ``--showlocals``, error trackers) print reprs, and this
    dict is a local of every request.
    """

    def __repr__(self) -> str:
        shown = {k: ("<redacted>" if k.lower() == "authorization" else v) for k, v in self.items()}
        return repr(shown)


def status_error(
    status: int,
    reason: str | None,
    headers: Mapping[str, str],
    raw: bytes,
    *,
    method: str | None = None,
    path: str | None = None,
    secret: bool = False,
) -> APIStatusError:
    """Build the typed error for an error response, whatever its body looks like.

    Understands the documented envelope ``{"error": {...}, "trace_id": ...}``, a bare
    ``{"status", "code", "message"}`` object, and non-JSON bodies (a proxy's HTML page, an
    empty body), which are kept as text.

    With ``secret`` (a route whose answers hold secrets), the error keeps only the
    envelope's documented fields as its ``body`` and never quotes a non-JSON body.
    """
    body: Any = None
    envelope: Mapping[str, Any] = {}
    if raw:
        text = raw.decode("utf-8", "replace")
        try:
            body = json.loads(text)
        except ValueError:
            body = text[:_BODY_TEXT_LIMIT]
    if isinstance(body, Mapping):
        inner = body.get("error")
        envelope = inner if isinstance(inner, Mapping) else body

    code = envelope.get("code")
    code = code if isinstance(code, int) and not isinstance(code, bool) else None
    message = envelope.get("message")
    if not isinstance(message, str) or not message:
        message = reason or "error"
        if (
            not secret
            and isinstance(body, str)
            and body.strip()
            and not body.lstrip().startswith("<")
        ):
            message = f"{message}: {body.strip()[:200]}"
    trace_id = body.get("trace_id") if isinstance(body, Mapping) else None
    trace_id = trace_id or envelope.get("trace_id") or headers.get("x-trace-id")
    doc_url = envelope.get("doc_url")
    hint = envelope.get("retry_after")
    body_retry = None
    if isinstance(hint, (int, float)) and not isinstance(hint, bool):
        body_retry = float(hint)

    if secret:
        body = _documented_error(body, envelope)
    cls = _CODE_CLASSES.get(code or 0) or _STATUS_CLASSES.get(status)
    if cls is None:
        cls = ServerError if status >= 500 else APIStatusError
    return cls(
        status=status,
        code=code,
        message=message,
        trace_id=trace_id if isinstance(trace_id, str) else None,
        doc_url=doc_url if isinstance(doc_url, str) else None,
        retry_after=parse_retry_after(headers, body_retry),
        body=body,
        method=method,
        path=path,
    )


_ERROR_FIELDS = ("status", "code", "message", "doc_url", "retry_after")


def _documented_error(body: Any, envelope: Mapping[str, Any]) -> dict[str, Any] | None:
    """The documented scalar fields of an error body: what a secret route's error keeps."""
    if not isinstance(body, Mapping):
        return None
    kept: dict[str, Any] = {
        key: envelope[key]
        for key in _ERROR_FIELDS
        if isinstance(envelope.get(key), (str, int, float))
    }
    out: dict[str, Any] = {"error": kept}
    if isinstance(body.get("success"), bool):
        out["success"] = body["success"]
    if isinstance(body.get("trace_id"), str):
        out["trace_id"] = body["trace_id"]
    return out


_S3_CODE = re.compile(rb"<Code>([^<]{1,100})</Code>")
_S3_MESSAGE = re.compile(rb"<Message>([^<]{1,500})</Message>")


def storage_error(status: int, reason: str | None, raw: bytes, attachment_id: str) -> UploadError:
    """Turn a storage error response (S3-style XML, or anything else) into an UploadError."""
    code_match = _S3_CODE.search(raw)
    message_match = _S3_MESSAGE.search(raw)
    code = code_match.group(1).decode("utf-8", "replace") if code_match else None
    message = message_match.group(1).decode("utf-8", "replace") if message_match else reason
    expired = code in ("ExpiredToken", "RequestExpired") or (
        status == 403 and "expired" in (message or "").lower()
    )
    cls = UploadExpiredError if expired else UploadError
    return cls(
        f"the upload was refused: {message or 'no reason given'}",
        attachment_id=attachment_id,
        status=status,
        s3_code=code,
    )


def _redact(text: str, url: str) -> str:
    query = url.partition("?")[2]
    return text.replace(query, "<redacted>") if query else text


State = Literal["unopened", "open", "closed"]


class Pool:
    """The connection pool and the API credentials, shared by a session and its copies.

    Args:
        api_key: the bearer token, sent to ``base_url`` only.
        base_url: the API root; ``/v3/...`` paths are appended to it, keeping its own path.
        session: a caller-owned ClientSession to use (never closed here), or ``None``.
    """

    def __init__(
        self, *, api_key: str, base_url: str, session: aiohttp.ClientSession | None
    ) -> None:
        self.base_url = str(URL(base_url.rstrip("/")))
        self._key = _Secret(api_key)
        self._session = session
        self._owns_session = session is None
        self.state: State = "unopened"
        auth = f"Bearer {api_key}"
        self.headers = _Headers(
            {"Authorization": auth, "Accept": "application/json", "User-Agent": USER_AGENT}
        )
        self.json_headers = _Headers(self.headers, **{"Content-Type": "application/json"})

    def __repr__(self) -> str:
        return f"<Pool {self.base_url} {self.state}>"

    async def open(self) -> None:
        """Create the ClientSession (inside the running loop) unless the caller gave one."""
        if self.state == "closed":
            raise LinqClosedError("this LinqSession is closed; create a new one")
        if self.state == "open":
            return
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=100),
                headers={"User-Agent": USER_AGENT},
            )
        self.state = "open"

    async def close(self) -> None:
        """Close the owned ClientSession. Idempotent; a caller's session is left open."""
        if self.state == "closed":
            return
        self.state = "closed"
        if self._owns_session and self._session is not None:
            await self._session.close()
        self._session = None

    async def client(self) -> aiohttp.ClientSession:
        """The open ClientSession, opening it on first use."""
        if self.state != "open":
            await self.open()
        session = self._session
        assert session is not None
        if session.closed:
            raise LinqClosedError("the aiohttp ClientSession given to LinqSession was closed")
        return session


class UploadBody(Protocol):
    """What `Transport.upload` streams: chunks, with a count and a local failure, if any."""

    sent: int
    failure: UploadError | None

    def __aiter__(self) -> AsyncIterable[bytes]: ...


class DownloadSink(Protocol):
    """Where `Transport.download` writes a file's bytes as they arrive."""

    received: int

    async def begin(self, total: int | None) -> None:
        """Called once the host answered 2xx, before the first chunk (``total``: its length)."""

    async def write(self, chunk: bytes) -> None:
        """Store one chunk (and count it in ``received``)."""


class Transport:
    """Sends API requests and uploads through a `Pool`, with per-copy timeouts and retries.

    Args:
        pool: the connection pool and credentials.
        timeouts: per-attempt timeouts.
        retry: the retry policy.
    """

    def __init__(self, pool: Pool, *, timeouts: Timeouts, retry: RetryPolicy) -> None:
        self.pool = pool
        self.timeouts = timeouts
        self.retry = retry
        self._api_timeout = timeouts.api()
        self._upload_timeout = timeouts.upload()
        self._accept_any = _Headers(pool.headers, Accept="*/*")
        self._json_accept_any = _Headers(pool.json_headers, Accept="*/*")

    def __repr__(self) -> str:
        return f"<Transport {self.pool.base_url} {self.pool.state}>"

    @property
    def base_url(self) -> str:
        """The API root requests go to."""
        return self.pool.base_url

    def with_options(
        self, *, timeouts: Timeouts | None = None, retry: RetryPolicy | None = None
    ) -> Transport:
        """A transport over the same pool with other timeouts or retries."""
        return Transport(self.pool, timeouts=timeouts or self.timeouts, retry=retry or self.retry)

    async def request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        query: Mapping[str, str | Sequence[str]] | None = None,
        idempotency_key: str | None = None,
        key_header: bool = False,
        safe_reason: str | None = None,
        accept: str | None = None,
        final_codes: Collection[int] = (),
        secret: bool = False,
    ) -> Any:
        """Send one API request with retries and return the decoded JSON body (or ``None``).

        Args:
            method: the HTTP method.
            path: a path starting with ``/v3/``, ids already quoted.
            body: the JSON-ready body, or ``None`` for none.
            query: query parameters; ``+`` is sent as ``%2B``; a sequence value repeats the
                key (``to=a&to=b``).
            idempotency_key: the key this request carries (in its body, and in the
                ``Idempotency-Key`` header when ``key_header``). With a key, every failure
                is retried; without one, a POST is retried only when nothing was sent.
            key_header: also send the key as the ``Idempotency-Key`` header.
            safe_reason: why this POST or PATCH is harmless to repeat, if it is.
            accept: the ``Accept`` header when not ``application/json`` (``*/*`` for
                endpoints that answer with an empty body).
            final_codes: Linq error codes that end the call at once, whatever the status:
                the endpoint knows that asking again cannot change the answer.
            secret: the answers hold secrets (card data): errors never quote or chain a
                body that is not JSON, and error statuses keep only the documented error
                fields as ``body`` (see `status_error`).

        Raises:
            APIStatusError: (a subclass of) for an error status, after retries.
            LinqConnectionError: no response, after retries.
            ResponseValidationError: a 2xx body that is not JSON.
        """
        pool = self.pool
        session = pool._session if pool.state == "open" else await pool.client()
        assert session is not None
        url = URL(pool.base_url + path, encoded=True)
        if query:
            url = url.with_query(query)
        data: bytes | None = None
        if body is None:
            headers = self._accept_any if accept == "*/*" else pool.headers
        else:
            data = json.dumps(body, separators=(",", ":")).encode()
            headers = self._json_accept_any if accept == "*/*" else pool.json_headers
        if (accept is not None and accept != "*/*") or (key_header and idempotency_key):
            headers = _Headers(headers)
            if accept is not None:
                headers["Accept"] = accept
            if key_header and idempotency_key:
                headers["Idempotency-Key"] = idempotency_key
        safe = method in _SAFE_METHODS or idempotency_key is not None or safe_reason is not None
        retry_number = 0
        started = time.monotonic()
        while True:
            retry_after: float | None = None
            try:
                async with session.request(
                    method,
                    url,
                    data=data,
                    headers=headers,
                    timeout=self._api_timeout,
                    allow_redirects=False,
                ) as resp:
                    raw = await resp.read()
                    status = resp.status
                    if status < 300:
                        if not raw:
                            return None
                        try:
                            return json.loads(raw)
                        except ValueError as exc:
                            if not secret:
                                raise ResponseValidationError(
                                    f"the response to {method} {path} is not JSON: {raw[:200]!r}"
                                ) from exc
                        # Raised outside the handler: the decode error keeps the whole body.
                        raise ResponseValidationError(
                            f"the response to {method} {path} is not JSON (not quoted: it "
                            "may hold secrets)"
                        )
                    error: LinqError = status_error(
                        status,
                        resp.reason,
                        resp.headers,
                        raw,
                        method=method,
                        path=path,
                        secret=secret,
                    )
                # 429 means the request was refused unprocessed, so it is safe to repeat.
                if status != 429 and not (safe and status in RETRY_STATUSES):
                    raise error
                if final_codes and getattr(error, "code", None) in final_codes:
                    raise error
                retry_after = error.retry_after  # type: ignore[attr-defined]
            except aiohttp.ClientConnectorError as exc:
                # Nothing reached the server: always safe to try again.
                error = _connection_error(exc, method, path)
            except asyncio.TimeoutError as exc:
                error = LinqTimeoutError(f"{method} {path} timed out")
                error.__cause__ = exc
                if not (safe or isinstance(exc, aiohttp.ConnectionTimeoutError)):
                    raise error from exc
            except aiohttp.ClientError as exc:
                error = _connection_error(exc, method, path)
                if not safe:
                    raise error from exc
            delay = self._next_delay(retry_number, started, retry_after)
            if delay is None:
                raise error from error.__cause__
            retry_number += 1
            self._log_retry(method, path, retry_number, delay, error)
            await self.retry.sleep(delay)

    def _next_delay(
        self, retry_number: int, started: float, retry_after: float | None
    ) -> float | None:
        """The wait before the next attempt, or ``None`` when the policy gives up."""
        policy = self.retry
        if retry_number + 1 >= policy.attempts:
            return None
        delay = policy.backoff(retry_number, retry_after)
        if time.monotonic() - started + delay > policy.deadline:
            return None
        return delay

    def _log_retry(
        self, method: str, label: str, retry_number: int, delay: float, error: LinqError
    ) -> None:
        status = getattr(error, "status", None)
        logger.info(
            "retrying %s %s (attempt %d of %d) in %.2fs after %s",
            method,
            label,
            retry_number + 1,
            self.retry.attempts,
            delay,
            f"HTTP {status}" if status is not None else type(error).__name__,
        )

    async def retrying(self, method: str, label: str, attempt: Callable[[], Awaitable[T]]) -> T:
        """Run ``attempt`` until it returns, raises a final error, or the policy gives up.

        ``attempt`` signals a failure worth retrying by raising `Retry`; any other
        exception is final. When the policy gives up, the last error is raised.
        ``label`` names the operation in log records (a path; never a URL with a query).
        """
        started = time.monotonic()
        retry_number = 0
        while True:
            try:
                return await attempt()
            except Retry as signal:
                error = signal.error
                delay = self._next_delay(retry_number, started, signal.retry_after)
                if delay is None:
                    raise error from error.__cause__
            retry_number += 1
            self._log_retry(method, label, retry_number, delay, error)
            await self.retry.sleep(delay)

    async def upload(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str],
        body: UploadBody,
        attachment_id: str,
    ) -> None:
        """One attempt of a presigned upload: no API key, upload timeouts, no redirects.

        The URL is sent byte for byte (re-quoting its query would break the signature) and
        never appears in an error text.

        Raises:
            Retry: a dropped connection or a 5xx (wrapping the `UploadError`).
            UploadError: storage refused the upload (`UploadExpiredError` for an expired
                URL), or ``body.failure`` (the file changed while it was read).
        """
        session = await self.pool.client()
        try:
            async with session.request(
                method,
                URL(url, encoded=True),
                data=body,
                headers=headers,
                timeout=self._upload_timeout,
                allow_redirects=False,
            ) as resp:
                raw = await resp.read()
                status, reason = resp.status, resp.reason
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            if body.failure is not None:
                raise body.failure from None
            failure = UploadError(
                f"the upload connection failed after {body.sent:,} bytes: "
                f"{type(exc).__name__}: {_redact(str(exc), url)}",
                attachment_id=attachment_id,
            )
            raise Retry(failure) from None
        if status < 300:
            return
        error = storage_error(status, reason, raw, attachment_id)
        if status in _UPLOAD_RETRY_STATUSES:
            raise Retry(error)
        raise error

    async def download(
        self, url: str, sink: DownloadSink, *, attachment_id: str | None = None
    ) -> None:
        """One attempt of a download from a file host (a CDN or storage URL).

        Never sends the API key (it is not an API URL), uses the transfer timeouts (no
        total, bounded connect and reads: a big file can take its time, a stalled one
        fails), follows redirects, and streams the body to ``sink`` chunk by chunk, so
        memory stays O(chunk). The URL is sent byte for byte (a signed query must not be
        re-quoted) and never appears in an error text.

        Raises:
            Retry: a dropped or timed-out connection, or 408, 429 or 5xx (wrapping the
                `DownloadError`); the caller restarts the download from the beginning.
            DownloadError: the host refused the download (404, 403 ...).
        """
        session = await self.pool.client()
        retry_after: float | None = None
        try:
            async with session.get(
                URL(url, encoded=url.isascii()),
                headers={"Accept": "*/*"},
                timeout=self.timeouts.upload(),
            ) as resp:
                status, reason = resp.status, resp.reason
                if status < 300:
                    await sink.begin(resp.content_length)
                    async for chunk in resp.content.iter_chunked(_DOWNLOAD_CHUNK):
                        await sink.write(chunk)
                    return
                raw = await resp.content.read(_DOWNLOAD_ERROR_PEEK)
                if status == 429:
                    retry_after = parse_retry_after(resp.headers, None)
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            failure = DownloadError(
                f"the download connection failed after {sink.received:,} bytes: "
                f"{type(exc).__name__}: {_redact(str(exc), url)}",
                attachment_id=attachment_id,
            )
            raise Retry(failure) from None
        code = _S3_CODE.search(raw)
        detail = f" ({code.group(1).decode('utf-8', 'replace')})" if code else ""
        error = DownloadError(
            f"the file host answered {status} {reason or ''}".rstrip() + detail,
            attachment_id=attachment_id,
            status=status,
        )
        if status in RETRY_STATUSES:
            raise Retry(error, retry_after=retry_after)
        raise error


_DOWNLOAD_CHUNK = 256 * 1024
_DOWNLOAD_ERROR_PEEK = 4096


class Retry(Exception):
    """Raised inside an attempt to say: this failed, and trying again may succeed."""

    def __init__(self, error: LinqError, *, retry_after: float | None = None) -> None:
        super().__init__(str(error))
        self.error = error
        self.retry_after = retry_after


def _connection_error(exc: aiohttp.ClientError, method: str, path: str) -> LinqConnectionError:
    error = LinqConnectionError(f"{method} {path} failed: {type(exc).__name__}: {exc}")
    error.__cause__ = exc
    return error
