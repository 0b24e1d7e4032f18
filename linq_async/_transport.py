"""The one place that talks HTTP to the Linq API: auth, timeouts, retries, error mapping.

Everything aiohttp-specific stays in this module and in ``_upload.py``; no aiohttp exception
leaves either of them unwrapped.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Literal, TypeVar
from urllib.parse import quote

import aiohttp
import attrs
from yarl import URL

from ._errors import (
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    LineIneligibleError,
    LinqClosedError,
    LinqConnectionError,
    LinqError,
    LinqTimeoutError,
    LinqUsageError,
    NotFoundError,
    OptedOutError,
    PermissionDeniedError,
    RateLimitError,
    ResponseValidationError,
    ServerError,
)
from ._retry import RETRY_STATUSES, RetryPolicy, parse_retry_after
from ._version import __version__

__all__ = ["Timeouts"]

logger = logging.getLogger("linq_async")

T = TypeVar("T")

USER_AGENT = f"linq-async/{__version__}"
_BODY_TEXT_LIMIT = 2000

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
        return aiohttp.ClientTimeout(total=self.total, connect=self.connect)

    def upload(self) -> aiohttp.ClientTimeout:
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


def path(template: str, *ids: str) -> str:
    """Fill ``{}`` slots in an API path with ids, each quoted as one path segment."""
    for value in ids:
        if not isinstance(value, str) or not value:
            raise LinqUsageError(f"an id must be a non-empty string, got {value!r}")
    return template.format(*(quote(value, safe="") for value in ids))


def status_error(
    status: int,
    reason: str | None,
    headers: Mapping[str, str],
    raw: bytes,
    *,
    method: str | None = None,
    path: str | None = None,
) -> APIStatusError:
    """Build the typed error for an error response, whatever its body looks like.

    Understands the documented envelope ``{"error": {...}, "trace_id": ...}``, a bare
    ``{"status", "code", "message"}`` object, and non-JSON bodies (a proxy's HTML page, an
    empty body), which are kept as text.
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
        if isinstance(body, str) and body.strip() and not body.lstrip().startswith("<"):
            message = f"{message}: {body.strip()[:200]}"
    trace_id = body.get("trace_id") if isinstance(body, Mapping) else None
    trace_id = trace_id or envelope.get("trace_id") or headers.get("x-trace-id")
    doc_url = envelope.get("doc_url")
    hint = envelope.get("retry_after")
    body_retry = None
    if isinstance(hint, (int, float)) and not isinstance(hint, bool):
        body_retry = float(hint)

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


State = Literal["unopened", "open", "closed"]


class Transport:
    """Sends API requests over one aiohttp ClientSession, with auth, retries and error mapping.

    Args:
        api_key: the bearer token, sent to ``base_url`` only.
        base_url: the API root; ``/v3/...`` paths are appended to it, keeping its own path.
        timeouts: per-attempt timeouts.
        retry: the retry policy.
        session: a caller-owned ClientSession to use (never closed here), or ``None``.
    """

    def __init__(
        self,
        *,
        api_key: str,
        base_url: str,
        timeouts: Timeouts,
        retry: RetryPolicy,
        session: aiohttp.ClientSession | None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeouts = timeouts
        self.retry = retry
        self._key = _Secret(api_key)
        self._session = session
        self._owns_session = session is None
        self.state: State = "unopened"
        self._headers = _Headers(
            {
                "Authorization": f"Bearer {api_key}",
                "Accept": "application/json",
                "User-Agent": USER_AGENT,
            }
        )
        self._api_timeout = timeouts.api()

    def __repr__(self) -> str:
        return f"<Transport {self.base_url} {self.state}>"

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
        assert self._session is not None
        if self._session.closed:
            raise LinqClosedError("the aiohttp ClientSession given to LinqSession was closed")
        return self._session

    async def request(
        self,
        method: str,
        api_path: str,
        *,
        json_body: Any = None,
        params: Mapping[str, str] | None = None,
        idempotent: bool,
    ) -> Any:
        """Send one API request with retries and return the decoded JSON body (or ``None``).

        Args:
            method: the HTTP method.
            api_path: a path starting with ``/v3/`` (ids already quoted).
            json_body: the JSON-ready body, or ``None`` for none.
            params: query parameters; ``+`` is sent as ``%2B``.
            idempotent: whether repeating the request can do no harm. Only then are errors
                after the request may have reached the server (5xx, dropped responses,
                read timeouts) retried; refused connections and 429 always are.

        Raises:
            APIStatusError: (a subclass of) for an error status, after retries.
            LinqConnectionError: no response, after retries.
            ResponseValidationError: a 2xx body that is not JSON.
        """
        session = await self.client()
        url = URL(self.base_url + api_path)
        if params:
            url = url.with_query(params)
        data: bytes | None = None
        headers = self._headers
        if json_body is not None:
            data = json.dumps(json_body, separators=(",", ":")).encode()
            headers = _Headers(headers, **{"Content-Type": "application/json"})

        async def attempt() -> Any:
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
                    if resp.status < 300:
                        return _decode(raw, method, api_path)
                    error = status_error(
                        resp.status, resp.reason, resp.headers, raw, method=method, path=api_path
                    )
            except aiohttp.ClientConnectorError as exc:
                # Nothing reached the server: always safe to try again.
                raise Retry(_connection_error(exc, method, api_path)) from exc
            except asyncio.TimeoutError as exc:
                timeout_error = LinqTimeoutError(f"{method} {api_path} timed out")
                timeout_error.__cause__ = exc
                if idempotent or isinstance(exc, aiohttp.ConnectionTimeoutError):
                    raise Retry(timeout_error) from exc
                raise timeout_error from exc
            except aiohttp.ClientError as exc:
                connection_error = _connection_error(exc, method, api_path)
                if idempotent:
                    raise Retry(connection_error) from exc
                raise connection_error from exc
            # 429 means the request was refused unprocessed, so it is safe to repeat.
            if resp.status == 429 or (idempotent and resp.status in RETRY_STATUSES):
                raise Retry(error, retry_after=error.retry_after)
            raise error

        return await self.retrying(method, api_path, attempt)

    async def retrying(self, method: str, label: str, attempt: Callable[[], Awaitable[T]]) -> T:
        """Run ``attempt`` until it returns, raises a final error, or the policy gives up.

        ``attempt`` signals a failure worth retrying by raising `Retry`; any other
        exception is final. When the policy gives up, the last error is raised.
        ``label`` names the operation in log records (a path; never a URL with a query).
        """
        policy = self.retry
        started = time.monotonic()
        retry_number = 0
        while True:
            try:
                return await attempt()
            except Retry as signal:
                error = signal.error
                delay = None
                if retry_number + 1 < policy.attempts:
                    delay = policy.backoff(retry_number, signal.retry_after)
                    if time.monotonic() - started + delay > policy.deadline:
                        delay = None
                if delay is None:
                    raise error from error.__cause__
            retry_number += 1
            status = getattr(error, "status", None)
            logger.info(
                "retrying %s %s (attempt %d of %d) in %.2fs after %s",
                method,
                label,
                retry_number + 1,
                policy.attempts,
                delay,
                f"HTTP {status}" if status is not None else type(error).__name__,
            )
            await policy.sleep(delay)


class Retry(Exception):
    """Raised inside an attempt to say: this failed, and trying again may succeed."""

    def __init__(self, error: LinqError, *, retry_after: float | None = None) -> None:
        super().__init__(str(error))
        self.error = error
        self.retry_after = retry_after


def _connection_error(exc: aiohttp.ClientError, method: str, api_path: str) -> LinqConnectionError:
    error = LinqConnectionError(f"{method} {api_path} failed: {type(exc).__name__}: {exc}")
    error.__cause__ = exc
    return error


def _decode(raw: bytes, method: str, api_path: str) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise ResponseValidationError(
            f"the response to {method} {api_path} is not JSON: {raw[:200]!r}"
        ) from exc
