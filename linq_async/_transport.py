"""The one place that talks HTTP: auth, timeouts, retries, error mapping, and the upload PUT.

No other module imports aiohttp (but the optional ``session=`` type in ``_session.py``), and
no aiohttp exception leaves this module unwrapped.

Retry safety is decided here, once, by `retry_safe`: GET, PUT and DELETE may be repeated; a
POST or PATCH only when it carries an idempotency key (minted by the caller once per logical
call, reused by every attempt) or when its endpoint states why repeating it is harmless.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import inspect
import json
import logging
import math
import re
import sys
import time
import typing
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Mapping, Sequence
from contextvars import ContextVar
from typing import Any, Literal, Protocol, TypeAlias, TypeVar

import aiohttp
import aiohttp.payload
import attrs
from aiohttp import hdrs
from aiohttp.abc import AbstractStreamWriter
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
    LinqLoopError,
    LinqTimeoutError,
    LinqUsageError,
    NotFoundError,
    OptedOutError,
    PermissionDeniedError,
    RateLimitError,
    ResponseValidationError,
    ServerError,
    UploadError,
    UploadExpiredError,
)
from ._retry import RETRY_STATUSES, RetryPolicy, http_date, parse_retry_after
from ._secret import Secret
from ._validation import check_json_body, is_number, plain_result
from ._version import __version__

__all__ = [
    "Pool",
    "Retry",
    "SignedURL",
    "Timeouts",
    "Transport",
    "retry_safe",
    "status_error",
]

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


def _seconds(_: object, attribute: attrs.Attribute[float], value: object) -> None:
    # Also refuses NaN, and an int too large for a float (asyncio's timers take floats).
    if not is_number(value, above=0, below=math.inf) or value >= sys.float_info.max:
        raise LinqUsageError(
            f"Timeouts.{attribute.name} must be a positive, finite number of seconds, got {value!r}"
        )


@attrs.frozen(kw_only=True)
class Timeouts:
    """Timeouts in seconds.

    API calls are bounded as a whole (``total``). Uploads have no total, so a 100 MB file on a
    slow link can finish; instead an upload fails once the storage takes no bytes of it for
    ``upload_read`` seconds, or gives no answer for that long after the last byte. The bytes
    counted are those the storage's TCP stack acknowledged on Linux, and those handed to
    the operating system elsewhere (so there, up to a socket buffer's worth of a stalled upload
    can be counted before the silence starts).

    Waiting for a free connection (every connection of the pool busy) counts towards no
    timeout: calls queue for their turn, then their timeouts start.

    Args:
        total: a whole API call, per attempt.
        connect: establishing a connection (API calls and uploads).
        upload_read: the longest silence of an upload: no body bytes taken by the storage,
            or no answer after the last one.

    Raises:
        LinqUsageError: a value is not a positive, finite number.
    """

    total: float = attrs.field(default=60.0, validator=_seconds)
    connect: float = attrs.field(default=10.0, validator=_seconds)
    upload_read: float = attrs.field(default=60.0, validator=_seconds)

    def api(self) -> aiohttp.ClientTimeout:
        """The aiohttp timeout of one API call attempt."""
        return aiohttp.ClientTimeout(total=self.total, sock_connect=self.connect)

    def upload(self) -> aiohttp.ClientTimeout:
        """The aiohttp timeout of a transfer with storage: no total, ``upload_read`` per read.

        The presigned PUT does not use it: aiohttp's read timeout does not see a stalled
        write, and some aiohttp versions start it with the request, failing a long upload
        that is still moving. The PUT's silence is watched on the bytes storage takes.
        """
        return aiohttp.ClientTimeout(
            total=None, sock_connect=self.connect, sock_read=self.upload_read
        )


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
    redact: Callable[[str], str] | None = None,
) -> APIStatusError:
    """Build the typed error for an error response, whatever its body looks like.

    Understands the documented envelope ``{"error": {...}, "trace_id": ...}``, a bare
    ``{"status", "code", "message"}`` object, and non-JSON bodies (a proxy's HTML page, an
    empty body), which are kept as text.

    With ``secret`` (a route whose answers hold secrets), the error keeps only the
    envelope's documented fields as its ``body`` and never quotes a non-JSON body.
    ``redact`` is applied to every string of the body, once decoded (see `Pool.redact`).
    """
    body: Any = None
    envelope: Mapping[str, Any] = {}
    too_deep = False  # a body nested too deep to keep (its envelope is still read)
    if raw:
        text = raw.decode("utf-8", "replace")
        try:
            body = json.loads(text)
        except (ValueError, RecursionError):  # RecursionError: nested too deep to decode
            body = text[:_BODY_TEXT_LIMIT] if redact is None else redact(text)[:_BODY_TEXT_LIMIT]
        else:
            if type(body) is dict or type(body) is list:
                too_deep = _look_through(body, redact) > _BODY_DEPTH_LIMIT
            elif type(body) is str and redact is not None:
                body = redact(body)
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
    if redact is not None:  # (the reason phrase and the header are the server's words too)
        message = redact(message)
        if isinstance(trace_id, str):
            trace_id = redact(trace_id)
    doc_url = envelope.get("doc_url")
    hint = envelope.get("retry_after")
    body_retry = None
    if isinstance(hint, (int, float)) and not isinstance(hint, bool):
        body_retry = float(hint)
    if secret:
        body = _documented_error(body, envelope)
    elif too_deep:  # its envelope is read; the rest is not kept (nor its text, unredacted)
        body = None

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


_BODY_DEPTH_LIMIT = 100
"""An error body nested deeper is not kept (``body`` is ``None``; its envelope is still
read): copying or pickling the error would otherwise recurse past Python's limit, and real
error bodies are a few levels deep."""


_JSON_ESCAPE = re.compile(r"\\(?:u([0-9a-fA-F]{4})|(.))", re.DOTALL)
_JSON_SIMPLE = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}


def _json_unescaped(text: str) -> str:
    """``text`` with every JSON string escape (``\\uXXXX``, ``\\/``, ``\\n`` ...) undone."""

    def undo(match: re.Match[str]) -> str:
        code, char = match.groups()
        return chr(int(code, 16)) if code else _JSON_SIMPLE.get(char, char)

    return _JSON_ESCAPE.sub(undo, text)


def _look_through(value: Any, redact: Callable[[str], str] | None) -> int:
    """The nesting depth of a freshly decoded JSON object or array, with ``redact`` applied
    to each string in it, object keys included (changed in place). Iterative: any depth
    ``json.loads`` took."""
    deepest = 0
    pending = [(value, 1)]
    while pending:
        node, depth = pending.pop()
        deepest = max(deepest, depth)
        for key, item in list(node.items() if type(node) is dict else enumerate(node)):
            if type(item) is dict or type(item) is list:
                pending.append((item, depth + 1))
            elif type(item) is str and redact is not None:
                node[key] = redact(item)
            if type(key) is str and redact is not None:  # an object's key
                shown = redact(key)
                if shown != key:
                    node[shown] = node.pop(key)
    return deepest


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


_URL_QUERY = re.compile(r"""(\w+://[^\s?#'"<>]*)\?[^\s#'"<>]*""")
_USERINFO = re.compile(r"(\w+://)[^/\s@]+@")


def _scrub(text: str) -> str:
    """``text`` with the query of any URL in it, and any user:password@, redacted."""
    return _USERINFO.sub(r"\1<redacted>@", _URL_QUERY.sub(r"\1?<redacted>", text))


def _redact(text: str, url: str) -> str:
    query = url.partition("?")[2]
    return _scrub(text.replace(query, "<redacted>") if query else text)


class SignedURL:
    """A presigned URL whose query (the signature) no repr, log record or traceback shows."""

    __slots__ = ("_url",)

    def __init__(self, url: str) -> None:
        self._url = url

    def reveal(self) -> str:
        """The URL, to send byte for byte."""
        return self._url

    @property
    def where(self) -> str:
        """The URL without its query: what logs and errors may show."""
        return self._url.partition("?")[0]

    def redact(self, text: str) -> str:
        """``text`` with this URL's query (and any other URL's) redacted."""
        return _redact(text, self._url)

    def __repr__(self) -> str:
        return f"<SignedURL {self.where}?<redacted>>"


def _detached(exc: BaseException, url: SignedURL | None = None) -> OSError | None:
    """A fresh copy of the operating system error under ``exc``, holding nothing else.

    aiohttp's exceptions keep the request (whose headers hold the API key), and their
    tracebacks keep frames whose locals hold the request and the upload URL. A `LinqError`'s
    ``__cause__`` is this copy instead: the errno and the text, without a traceback.
    """
    seen: BaseException | None = exc
    for _ in range(8):
        if seen is None:
            break
        if isinstance(seen, OSError) and type(seen).__module__ in ("builtins", "socket", "ssl"):
            break
        seen = getattr(seen, "os_error", None) or seen.__cause__ or seen.__context__
    if not isinstance(seen, OSError):
        seen = exc if isinstance(exc, OSError) else None
    if seen is None:
        return None
    cls = type(seen) if type(seen).__module__ == "builtins" else OSError
    scrub = url.redact if url is not None else _scrub
    if seen.errno is not None:
        return cls(seen.errno, scrub(str(seen.strerror)))
    return cls(scrub(str(seen)))


def _describe(exc: BaseException, url: SignedURL | None = None) -> str:
    text = str(exc)
    text = url.redact(text) if url is not None else _scrub(text)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


State = Literal["unopened", "open", "closed"]

_CURRENT = object()  # `Pool.end` of the current task

URL_CACHE_SIZE = 1024
"""The most API URLs a pool keeps for reuse (see `Pool.url`)."""
REDACT_MIN_LENGTH = 8
"""The shortest API key `Pool.redact` writes out of quoted answers."""
API_CONNECTIONS = 100
"""The most API requests one session has in flight; more wait for their turn."""
UPLOAD_CONNECTIONS = 16
"""The most uploads one session has in flight; more wait for their turn."""

_upload_lane_held: ContextVar[bool] = ContextVar("linq_async_upload_lane", default=False)
_attempt_number: ContextVar[int] = ContextVar("linq_async_attempt", default=1)


class Pool:
    """The connections and the API credentials, shared by a session and its copies.

    API calls and uploads have separate connection pools and separate limits, so uploads
    in flight never hold up an API call, and uploads always go through a pool of the SDK's
    own: nothing of a caller's ``session=`` (default headers, cookies, auth) reaches storage.

    The pool belongs to the event loop that opened it, and counts the calls in flight, so
    that `close` can end them (each raises `LinqClosedError`) and return once they have.

    Args:
        api_key: the bearer token, sent to ``base_url`` only.
        base_url: the API root; ``/v3/...`` paths are appended to it, keeping its own path.
        session: a caller-owned ClientSession for API calls (never closed here), or ``None``.
        api_connections: the most API requests in flight at once.
        upload_connections: the most uploads in flight at once.
    """

    def __init__(
        self,
        *,
        api_key: str | Secret[str],
        base_url: str,
        session: aiohttp.ClientSession | None,
        api_connections: int = API_CONNECTIONS,
        upload_connections: int = UPLOAD_CONNECTIONS,
    ) -> None:
        self.base_url = str(URL(base_url.rstrip("/")))
        self._key = api_key if isinstance(api_key, Secret) else Secret(api_key)
        del api_key  # no frame local holds the key in plain text
        self._callers = session
        self._session: aiohttp.ClientSession | None = None
        self._uploads: aiohttp.ClientSession | None = None
        self.state: State = "unopened"
        self.loop: asyncio.AbstractEventLoop | None = None
        self.api_lanes = Lanes(api_connections)
        self.upload_lanes = Lanes(upload_connections)
        self.closing = asyncio.Event()
        self._calls: dict[object, int] = {}
        self._settled = asyncio.Event()
        self._flows: set[_Flow] = set()
        self.answer_headers: Mapping[str, str] | None = None
        """The latest API answer's headers (its ``Date`` tells the API's clock)."""
        self.answer_time = 0.0
        """When `answer_headers` came, as a POSIX timestamp on the local clock."""
        self.shared = session is not None
        """Whether the ClientSession is the caller's (which its owner may close under us)."""
        self.urls: dict[str, URL] = {}
        """API URLs by path, made by `url`."""
        every = _Headers(
            {
                "Authorization": f"Bearer {self._key.reveal()}",
                "Accept": "application/json",
                "User-Agent": USER_AGENT,
            }
        )
        # What every API request carries goes in the default headers of the pool's own
        # ClientSession (which sends nothing else: storage has a session of its own), so
        # aiohttp copies them in one C call instead of merging them header by header. A
        # caller's ClientSession gets them with each request.
        self._session_headers = every if session is None else None
        self.headers = _Headers() if session is None else every
        """The headers each API request passes (beside the ClientSession's own)."""
        self.json_headers = _Headers(self.headers, **{"Content-Type": "application/json"})
        """`headers` for a request with a JSON body."""

    def __repr__(self) -> str:
        return f"<Pool {self.base_url} {self.state}>"

    def ready(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        """Open on first use, inside the running loop; refuse a closed pool or another loop.

        ``loop``: the running loop, when the caller has it (``asyncio.get_running_loop``
        costs a ``getpid`` system call).

        Raises:
            LinqClosedError: the pool was closed, or the caller's ClientSession was.
            LinqLoopError: the pool was opened in another event loop.
        """
        if loop is None:
            loop = asyncio.get_running_loop()
        if self.state == "open":
            if loop is not self.loop:
                raise LinqLoopError(
                    "this LinqSession was opened in another event loop (an earlier "
                    "asyncio.run(), or another thread), and its connections belong to that "
                    "loop; make one LinqSession per event loop, inside it"
                )
            return
        if self.state == "closed":
            raise self.closed_error()
        if self._callers is not None and self._callers.closed:
            raise self.closed_error(caller=True)
        self.loop = loop
        trust_env = self._callers.trust_env if self._callers is not None else False
        # limit=0: the lanes are the limits, so a call never queues inside aiohttp, where
        # the wait would count as its connect timeout (and a close would cancel it).
        self._session = self._callers or _own_session(
            connector=aiohttp.TCPConnector(limit=0), headers=self._session_headers
        )
        self._uploads = _own_session(
            connector=aiohttp.TCPConnector(limit=0),
            headers={"User-Agent": USER_AGENT},
            cookie_jar=aiohttp.DummyCookieJar(),
            trust_env=trust_env,
        )
        self.state = "open"

    async def open(self) -> None:
        """Create the ClientSessions (inside the running loop) unless already open."""
        self.ready()

    def closed_error(self, *, in_flight: bool = False, caller: bool = False) -> LinqClosedError:
        """The error of a call refused, or cut short, by `close` (or, with ``caller``, by the
        owner of the ClientSession given as ``session=``, who closed it)."""
        if caller:
            return LinqClosedError("the aiohttp ClientSession given to LinqSession was closed")
        if in_flight:
            return LinqClosedError(
                "the LinqSession was closed while this call was in flight (a request that "
                "had been sent may or may not have been processed)"
            )
        return LinqClosedError("this LinqSession is closed; create a new one")

    def begin(self, task: object = _CURRENT) -> aiohttp.ClientSession:
        """Count a call in flight (until `end`) and return the API ClientSession.

        ``task``: the current task, when the caller has it already (then passed to `end`).
        """
        if task is _CURRENT:
            task = asyncio.current_task()
        # The task knows its loop: no second look-up of the running loop (a system call).
        loop = task.get_loop() if isinstance(task, asyncio.Task) else None
        if self.state != "open" or loop is not self.loop:
            self.ready(loop)
        self._calls[task] = self._calls.get(task, 0) + 1
        session = self._session
        assert session is not None
        if self._callers is not None and session.closed:  # the owner closed it under us
            self.end(task)
            raise self.closed_error(caller=True)
        return session

    def end(self, task: object = _CURRENT) -> None:
        """A call counted by `begin` is over (``task``: the current one, when known)."""
        if task is _CURRENT:
            task = asyncio.current_task()
        left = self._calls.pop(task) - 1
        if left:
            self._calls[task] = left
        if self.state == "closed":
            self._settled.set()

    async def take(self, lanes: Lanes) -> None:
        """Wait for a free lane (no timeout runs meanwhile); refuse once closed."""
        await lanes.take()
        if self.state == "closed":
            lanes.release()  # hand the wake-up on to the next waiter
            raise self.closed_error(in_flight=True)

    def uploads(self) -> aiohttp.ClientSession:
        """The ClientSession for presigned URLs: no credentials, no cookies of anyone's."""
        session = self._uploads
        if session is None:
            raise self.closed_error(in_flight=True)
        return session

    @contextlib.asynccontextmanager
    async def upload_lane(self) -> AsyncIterator[None]:
        """Hold one of the upload lanes (once per task: nested use holds the same one)."""
        if _upload_lane_held.get():
            yield
            return
        self.ready()
        await self.take(self.upload_lanes)
        token = _upload_lane_held.set(True)
        try:
            yield
        finally:
            _upload_lane_held.reset(token)
            self.upload_lanes.release()

    def url(self, path: str) -> URL:
        """The URL of an API ``path`` (``/v3/...``, ids quoted), kept in `urls` for reuse.

        A bulk loop asks for the same few paths again and again; the cache is emptied
        when it holds `URL_CACHE_SIZE` paths (one per chat of a loop over many chats).
        """
        url = self.urls.get(path)
        if url is None:
            if len(self.urls) >= URL_CACHE_SIZE:
                self.urls.clear()
            url = self.urls[path] = URL(self.base_url + path, encoded=True)
        return url

    def redact(self, text: str) -> str:
        """``text`` (from an answer quoted in an error) with the API key written out of it.

        A server or proxy that echoes the request's ``Authorization`` in an error would
        otherwise put the key into the error's text and ``body``. It is applied to decoded
        text (so a JSON-escaped echo is caught too); text that could not be decoded and
        spells the key with JSON escapes is withheld whole. A key shorter than
        `REDACT_MIN_LENGTH` (a test key such as ``"key"``) is left alone: replacing it
        would mangle ordinary words and numbers.
        """
        key = self._key.reveal()
        if len(key) < REDACT_MIN_LENGTH:
            return text
        if key in text:
            text = text.replace(key, "<the API key>")
        # Text that could not be decoded may spell it with JSON escapes (any of them).
        if "\\" in text and key in _json_unescaped(text):
            return "<not shown: it quotes the API key>"
        return text

    def server_time(self) -> float:
        """Now, as a POSIX timestamp on the API's clock (the local clock until it answered)."""
        # Each answer's headers are kept as they come (two stores per call); the ``Date``
        # is read only here, when the time is asked for (rarely: an upload's expiry).
        headers = self.answer_headers
        if headers is not None:
            text = headers.get("Date")
            server = http_date(text) if text else None
            if server is not None:
                return server + (time.time() - self.answer_time)
        return time.time()

    async def close(self) -> None:
        """Close the owned ClientSessions and end the calls in flight. Idempotent.

        Each call in flight raises `LinqClosedError` (one waiting for a lane or a retry at
        once, one mid-request once its connection is closed); an API call on a caller's
        ClientSession, which is left open, finishes its current attempt. Returns once
        every call in flight (but those of the task calling it) has ended.
        """
        if self.state == "closed":
            return
        opened = self.state == "open"
        self.state = "closed"
        if not opened:
            return
        sessions = [self._uploads, None if self.shared else self._session]
        self._uploads = None
        if asyncio.get_running_loop() is not self.loop:
            # The loop that opened the pool is gone (or busy elsewhere): nothing of it can be
            # awaited here, so its connections are closed as far as they still can be.
            for session in sessions:
                if session is not None:
                    with contextlib.suppress(RuntimeError):
                        await session.close()
            return
        self.closing.set()
        self.api_lanes.release()  # each waiter wakes, raises, and wakes the next
        self.upload_lanes.release()
        for flow in list(self._flows):
            flow.abort()  # an upload's buffered bytes must not delay closing its socket
        for session in sessions:
            if session is not None:
                await session.close()
        me = asyncio.current_task()
        while any(task is not me for task in self._calls):
            self._settled.clear()
            await self._settled.wait()


class Lanes:
    """A limit on calls in flight: the uncontended take costs no coroutine.

    ``asyncio.Semaphore.acquire`` is a coroutine even when a lane is free, and every API call
    takes one; here a free lane is taken synchronously (`try_take`), and only a full limit
    waits (`take`), first come, first served.
    """

    __slots__ = ("_free", "_waiters")

    def __init__(self, size: int) -> None:
        self._free = size
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()

    def try_take(self) -> bool:
        """Take a lane if one is free and nobody waits."""
        if self._free > 0 and not self._waiters:
            self._free -= 1
            return True
        return False

    async def take(self) -> None:
        """Take a lane, waiting for one to be released."""
        if self.try_take():
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter
        except BaseException:
            if waiter.done() and not waiter.cancelled():
                self.release()  # handed a lane but cancelled: hand it on
            else:
                with contextlib.suppress(ValueError):
                    self._waiters.remove(waiter)
            raise

    def release(self) -> None:
        """Give a lane back: to the first waiter, or to the free count."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self._free += 1


class DownloadSink(Protocol):
    """Where `Transport.download` writes a file's bytes as they arrive."""

    received: int

    async def begin(self, total: int | None) -> None:
        """Called once the host answered 2xx, before the first chunk (``total``: its length)."""

    async def write(self, chunk: bytes) -> None:
        """Store one chunk (and count it in ``received``)."""


class UploadBody(Protocol):
    """What `Transport.upload` streams: a file opened only once its bytes are to go out.

    Attributes:
        size: the bytes it yields in all (the ``Content-Length``).
        failure: the local failure that stopped it (the file changed), if any.
    """

    size: int
    failure: UploadError | None

    async def open(self) -> None:
        """Get ready to yield the first chunk (open the file), from the start each time."""

    async def read(self) -> bytes:
        """The next chunk; ``b""`` once all ``size`` bytes were read."""
        ...

    async def close(self) -> None:
        """Release what `open` took. Idempotent."""


ProgressCallback: TypeAlias = Callable[[int, int], Any]
"""Called as ``on_progress(sent_bytes, total_bytes)`` while an upload runs.

``sent_bytes`` counts the bytes the storage took (see `Timeouts`), not those merely queued
for sending. ``total_bytes`` is the file's size; ``sent_bytes`` grows to it, and starts again
from 0 when a failed upload is retried. It must be a plain function (it is called where
nothing can be awaited; an ``async def`` one is refused); its return value is ignored. An
exception it raises ends the upload, unretried, and is raised as itself.
"""


if sys.platform == "linux":
    import fcntl
    import struct
    import termios

    def _unacked(fd: int) -> int:
        # SIOCOUTQ (= TIOCOUTQ): bytes in the socket's send queue not yet acknowledged
        # by the peer.
        queued: int = struct.unpack("i", fcntl.ioctl(fd, termios.TIOCOUTQ, b"\0\0\0\0"))[0]
        return queued

else:
    _unacked = None


class _Stopped(Exception):
    """Stops writing an upload body once the caller's progress callback has raised."""


class _Flow:
    """One upload attempt: the bytes the storage took, progress reports, the silence watch.

    The count is of body bytes the storage's TCP stack acknowledged (Linux: the socket's
    send queue is subtracted), else of bytes handed to the operating system. When it does
    not grow for ``silence`` seconds, or no answer comes that long after the last byte, the
    connection is aborted and the attempt fails.
    """

    def __init__(self, *, total: int, silence: float, on_progress: ProgressCallback | None) -> None:
        self._loop = asyncio.get_running_loop()
        self.total = total
        self.silence = silence
        self._every = min(1.0, silence / 4)
        self._on_progress = on_progress
        self.written = 0
        self.taken = 0
        self._reported = 0
        self._transport: asyncio.BaseTransport | None = None
        self._fd: int | None = None
        self._last_move = self._loop.time()
        self.stalled = False
        self.callback_error: Exception | None = None
        self._timer = self._loop.call_later(self._every, self._tick)

    def attach(self, transport: asyncio.BaseTransport) -> None:
        """The body starts going out on ``transport`` (again): silence counts from now."""
        self._transport = transport
        self.written = self.taken = 0
        self._last_move = self._loop.time()
        sock = transport.get_extra_info("socket") if _unacked is not None else None
        try:
            self._fd = sock.fileno() if sock is not None else None
        except (OSError, ValueError):
            self._fd = None

    def measure(self) -> None:
        """Count what the storage took so far; report it if it grew."""
        transport: Any = self._transport  # asyncio's, uvloop's: duck-typed
        if transport is None or transport.is_closing():
            return
        taken = self.written - transport.get_write_buffer_size()
        if self._fd is not None and _unacked is not None:
            try:
                taken -= _unacked(self._fd)
            except OSError:
                self._fd = None
        if taken > self.taken:
            self.taken = min(taken, self.total)
            self._last_move = self._loop.time()
            self.report(self.taken)

    def report(self, sent: int) -> None:
        """Call the progress callback; keep its exception, to raise as itself."""
        if self._on_progress is None or sent <= self._reported or self.callback_error:
            return
        self._reported = sent
        try:
            plain_result(self._on_progress(sent, self.total), what="on_progress")
        except Exception as exc:  # the caller's own error: it ends the upload, unretried
            self.callback_error = exc
            self.abort()

    def _tick(self) -> None:
        self.measure()
        transport = self._transport
        if (
            transport is not None
            and not transport.is_closing()
            and self._loop.time() - self._last_move >= self.silence
        ):
            self.stalled = True
            self.abort()
            return
        self._timer = self._loop.call_later(self._every, self._tick)

    def abort(self) -> None:
        """Drop the connection at once (buffered bytes are discarded)."""
        transport: Any = self._transport
        if transport is not None:
            transport.abort()

    def stop(self) -> None:
        """The attempt is over: stop watching."""
        self._timer.cancel()


class _UploadPayload(aiohttp.payload.Payload):
    """The PUT body: streams an `UploadBody` once the connection is up, counting it."""

    def __init__(self, body: UploadBody, flow: _Flow) -> None:
        # aiohttp labels every payload with a Content-Type (application/octet-stream); the
        # request skips it (skip_auto_headers): a presigned PUT carries only the headers it
        # was signed with.
        super().__init__(body)
        self._size = body.size
        self._body = body
        self._flow = flow

    def decode(self, encoding: str = "utf-8", errors: str = "strict") -> str:
        raise TypeError("an upload body is streamed, never decoded")

    async def write(self, writer: AbstractStreamWriter) -> None:
        # Marked consumed: aiohttp would otherwise send it again by itself after a dropped
        # connection, behind the retry policy's back (each PUT is one counted attempt).
        self._consumed = True
        body, flow = self._body, self._flow
        transport = getattr(writer, "transport", None)
        if transport is not None:
            flow.attach(transport)
        try:
            await body.open()  # the file is opened now, not while the upload waited its turn
            while chunk := await body.read():
                flow.written += len(chunk)
                await writer.write(chunk)
                flow.measure()
                if flow.callback_error is not None:
                    raise _Stopped
        finally:
            await body.close()

    async def write_with_length(
        self, writer: AbstractStreamWriter, content_length: int | None
    ) -> None:
        await self.write(writer)


_NO_AUTO_CONTENT_TYPE = frozenset({hdrs.CONTENT_TYPE})


class Transport:
    """Sends API requests and uploads through a `Pool`, with per-copy timeouts and retries.

    Each attempt is logged at DEBUG on the ``linq_async`` logger (method, path, status,
    attempt number, seconds), never with a header, a query or a body.

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
        # The pool's own connections never queue (the lanes are the limit), so ``connect``
        # bounds DNS, TCP and TLS only; the silence is `_Flow`'s to judge.
        self._put_timeout = aiohttp.ClientTimeout(total=None, connect=timeouts.connect)
        self._accept_any = _Headers(pool.headers, Accept="*/*")
        self._json_accept_any = _Headers(pool.json_headers, Accept="*/*")
        self._redact = pool.redact  # bound once: every successful call passes it on

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

    def upload_lane(self) -> contextlib.AbstractAsyncContextManager[None]:
        """Hold an upload lane (see `Pool.upload_lane`)."""
        return self.pool.upload_lane()

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
        then: Callable[[Any], Any] | None = None,
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
            secret: the answers hold secrets (card data, a signing secret): errors never
                quote a body that is not JSON, error statuses keep only the documented error
                fields as ``body`` (see `status_error`), and every error is raised with no
                cause and no frame holding the answer.
            then: applied to the decoded answer, whose result is returned (the resource
                layer's loading into its model). Without it the decoded JSON is returned;
                with ``accept="*/*"`` (an answer ignored) ``None`` is, whatever the body.

        Raises:
            APIStatusError: (a subclass of) for an error status, after retries.
            LinqConnectionError: no response, after retries.
            LinqClosedError: the session was closed before or during the call.
            LinqLoopError: the session belongs to another event loop.
            ResponseValidationError: a 2xx body that is not JSON.
        """
        pool = self.pool
        task = asyncio.current_task()
        session = pool.begin(task)
        try:
            url = pool.urls.get(path)
            if url is None:
                url = pool.url(path)
            if query:
                url = url.with_query(query)
            data: bytes | None = None
            if body is None:
                headers = self._accept_any if accept == "*/*" else pool.headers
            else:
                data = encode_json(body)
                headers = self._json_accept_any if accept == "*/*" else pool.json_headers
            if (accept is not None and accept != "*/*") or (key_header and idempotency_key):
                headers = _Headers(headers)
                if accept is not None:
                    headers["Accept"] = accept
                if key_header and idempotency_key:
                    headers["Idempotency-Key"] = idempotency_key
            safe = method in _SAFE_METHODS or idempotency_key is not None or safe_reason is not None
            debug = logger.isEnabledFor(logging.DEBUG)
            retry_number = 0
            started = time.monotonic()
            while True:
                lanes = pool.api_lanes
                if not lanes.try_take():
                    await pool.take(lanes)
                elif pool.state == "closed":
                    lanes.release()
                    raise pool.closed_error(in_flight=True)
                if pool.shared and session.closed:
                    # A caller's ClientSession, closed by its owner since the call began (or
                    # while it waited to retry): aiohttp would raise a bare RuntimeError.
                    lanes.release()
                    raise pool.closed_error(caller=True)
                sent_at = time.monotonic() if debug else 0.0
                failure: LinqError | None = None
                unsent = False
                try:
                    async with session.request(
                        method,
                        url,
                        data=data,
                        headers=headers,
                        timeout=self._api_timeout,
                        allow_redirects=False,
                        raise_for_status=False,
                    ) as resp:
                        raw = await resp.read()
                        status, answer = resp.status, resp.headers
                        # (aiohttp makes the reason phrase on first read: errors only)
                        reason = resp.reason if status >= 300 else None
                # The errors are built here and raised below, outside the handlers: an
                # aiohttp exception must not ride along as __context__ (it holds the
                # request, whose headers hold the key).
                except aiohttp.ClientConnectorError as exc:
                    failure, unsent = _connection_error(exc, method, path), True
                except asyncio.TimeoutError as exc:
                    failure = LinqTimeoutError(f"{method} {path} timed out")
                    failure.__cause__ = _detached(exc)
                    unsent = isinstance(exc, aiohttp.ConnectionTimeoutError)
                except aiohttp.ClientError as exc:
                    failure = _connection_error(exc, method, path)
                finally:
                    lanes.release()
                if failure is None:
                    pool.answer_headers, pool.answer_time = answer, time.time()
                    if debug:
                        _log_attempt(method, path, status, retry_number, sent_at)
                    if status < 300:
                        if accept == "*/*":
                            # An ignored answer: any 2xx body means success (an error would
                            # invite a repeat of a call that may be unsafe to repeat).
                            return None
                        if secret:
                            holder, raw = [raw], b""  # this frame lets go of the answer
                            return _secret_answer(holder, method, path, then)
                        try:
                            data = _decode(raw, method, path, redact=self._redact)
                        except ResponseValidationError:
                            raw = b""  # the error's frames must not show the answer
                            raise
                        return data if then is None else then(data)
                    error: LinqError = status_error(
                        status,
                        reason,
                        answer,
                        raw,
                        method=method,
                        path=path,
                        secret=secret,
                        redact=self._redact,
                    )
                    # The error's frames must not show the answer (it may hold secrets, or
                    # echo the API key); the error holds what it keeps of it, redacted.
                    raw = b""
                    del resp, answer, reason
                    # 429 means the request was refused unprocessed, so it is safe to repeat.
                    if status != 429 and not (safe and status in RETRY_STATUSES):
                        _raise_clean(error)
                    if final_codes and getattr(error, "code", None) in final_codes:
                        _raise_clean(error)
                    retry_after = error.retry_after  # type: ignore[attr-defined]
                else:
                    if pool.state == "closed":
                        raise pool.closed_error(in_flight=True)
                    if debug:
                        _log_attempt(method, path, type(failure).__name__, retry_number, sent_at)
                    if not (safe or unsent):
                        _raise_clean(failure)
                    error, retry_after = failure, None
                delay = self._next_delay(retry_number, started, retry_after)
                if delay is None:
                    _raise_clean(error)
                retry_number += 1
                self._log_retry(method, path, retry_number, delay, error)
                await self._pause(delay)
        finally:
            pool.end(task)

    def _next_delay(
        self, retry_number: int, started: float, retry_after: float | None
    ) -> float | None:
        """The wait before the next attempt, or ``None`` when the policy gives up."""
        policy = self.retry
        if retry_number + 1 >= policy.attempts:
            return None
        delay = policy.backoff(retry_number, retry_after)
        if delay is None or time.monotonic() - started + delay > policy.deadline:
            return None
        return delay

    async def _pause(self, delay: float) -> None:
        """The retry policy's wait, cut short by `Pool.close`."""
        pool = self.pool
        if pool.state == "closed":
            raise pool.closed_error(in_flight=True)
        nap = self.retry.sleep(delay)
        if not inspect.isawaitable(nap):
            raise LinqUsageError(
                f"RetryPolicy.sleep must return an awaitable (like asyncio.sleep), got {nap!r}"
            )
        napping = asyncio.ensure_future(nap)
        closing = asyncio.ensure_future(pool.closing.wait())
        try:
            await asyncio.wait((napping, closing), return_when=asyncio.FIRST_COMPLETED)
        finally:
            closing.cancel()
            if not napping.done():
                napping.cancel()
        if pool.closing.is_set():
            if napping.done() and not napping.cancelled():
                napping.exception()  # seen: the session's end wins
            raise pool.closed_error(in_flight=True)
        napping.result()

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
            token = _attempt_number.set(retry_number + 1)
            signal: Retry | None = None
            try:
                return await attempt()
            except Retry as caught:
                signal = caught
            finally:
                _attempt_number.reset(token)
            error, retry_after = signal.error, signal.retry_after
            del signal
            delay = self._next_delay(retry_number, started, retry_after)
            if delay is None:
                _raise_clean(error)  # outside the handler: no Retry signal as its __context__
            retry_number += 1
            self._log_retry(method, label, retry_number, delay, error)
            await self._pause(delay)

    async def upload(
        self,
        method: str,
        url: SignedURL | str,
        *,
        headers: Mapping[str, str],
        body: UploadBody,
        attachment_id: str,
        on_progress: ProgressCallback | None = None,
    ) -> None:
        """One attempt of a presigned upload: no API key, upload timeouts, no redirects.

        The URL is sent byte for byte (re-quoting its query would break the signature) and
        never appears in an error text or a log record. The headers sent are ``headers``
        and ``Host``, ``Content-Length``, ``User-Agent``, ``Accept`` and
        ``Accept-Encoding``: no ``Content-Type`` unless ``headers`` has one. It goes
        through the pool's own upload ClientSession: nothing of a caller's ``session=``.

        ``on_progress(taken, total)`` is called as the storage takes the bytes (see
        `Timeouts`); an exception it raises ends the upload and is raised as itself.

        Raises:
            Retry: a dropped or silent connection, or a 5xx (wrapping the `UploadError`).
            UploadError: storage refused the upload (`UploadExpiredError` for an expired
                URL), or ``body.failure`` (the file changed while it was read).
            LinqClosedError: the session was closed during the upload.
        """
        signed = url if isinstance(url, SignedURL) else SignedURL(url)
        del url
        pool = self.pool
        pool.begin()
        try:
            outcome = await self._put(method, signed, headers, body, attachment_id, on_progress)
        finally:
            pool.end()
        if outcome is not None:
            _raise_clean(outcome)

    async def _put(
        self,
        method: str,
        url: SignedURL,
        headers: Mapping[str, str],
        body: UploadBody,
        attachment_id: str,
        on_progress: ProgressCallback | None,
    ) -> BaseException | None:
        """Do the exchange; return the exception to raise, so no frame that raises holds the
        response or the URL (tracebacks with locals show both)."""
        pool = self.pool
        session = pool.uploads()
        flow = _Flow(total=body.size, silence=self.timeouts.upload_read, on_progress=on_progress)
        pool._flows.add(flow)
        sent_at = time.monotonic()
        caught: Exception | None = None
        try:
            async with session.request(
                method,
                URL(url.reveal(), encoded=True),
                data=_UploadPayload(body, flow),
                headers=headers,
                timeout=self._put_timeout,
                allow_redirects=False,
                raise_for_status=False,
                skip_auto_headers=_NO_AUTO_CONTENT_TYPE,
            ) as resp:
                raw = await resp.read()
                status, reason = resp.status, resp.reason
        except Exception as exc:  # any failure of the exchange, sorted out below
            caught = exc
        finally:
            flow.stop()
            pool._flows.discard(flow)
        attempt = _attempt_number.get() - 1
        if caught is not None:
            failure = self._upload_failure(caught, flow, body, url, attachment_id)
            if logger.isEnabledFor(logging.DEBUG):
                shown = failure.error if isinstance(failure, Retry) else failure
                _log_attempt(method, url.where, type(shown).__name__, attempt, sent_at)
            return failure
        if logger.isEnabledFor(logging.DEBUG):
            _log_attempt(method, url.where, status, attempt, sent_at)
        if status < 300:
            flow.report(body.size)  # a 2xx: storage holds every byte
            return flow.callback_error
        error = storage_error(status, reason, raw, attachment_id)
        return Retry(error) if status in _UPLOAD_RETRY_STATUSES else error

    async def download(
        self, url: SignedURL | str, sink: DownloadSink, *, attachment_id: str | None = None
    ) -> None:
        """One attempt of a download from a file host (a CDN or storage URL).

        Never sends the API key or anything of a caller's ``session=`` (it goes through the
        pool's credential-free session, as uploads do), uses the transfer timeouts (no
        total, bounded connect and reads: a big file can take its time, a stalled one
        fails), follows redirects, and streams the body to ``sink`` chunk by chunk, so
        memory stays O(chunk). The URL is sent byte for byte (a signed query must not be
        re-quoted) and never appears in an error text.

        Raises:
            Retry: a dropped or timed-out connection, or 408, 429 or 5xx (wrapping the
                `DownloadError`); the caller restarts the download from the beginning.
            DownloadError: the host refused the download (404, 403 ...).
            LinqClosedError: the session was closed during the download.
        """
        signed = url if isinstance(url, SignedURL) else SignedURL(url)
        del url
        pool = self.pool
        pool.begin()
        try:
            outcome = await self._get(signed, sink, attachment_id)
        finally:
            pool.end()
        if outcome is not None:
            _raise_clean(outcome)

    async def _get(
        self, url: SignedURL, sink: DownloadSink, attachment_id: str | None
    ) -> BaseException | None:
        """Do the exchange; return the exception to raise (see `_put` for why)."""
        session = self.pool.uploads()
        retry_after: float | None = None
        caught: Exception | None = None
        status, reason, raw = 0, None, b""
        try:
            async with session.get(
                URL(url.reveal(), encoded=url.reveal().isascii()),
                headers={"Accept": "*/*"},
                timeout=self._upload_timeout,
                raise_for_status=False,
            ) as resp:
                status, reason = resp.status, resp.reason
                if status < 300:
                    await sink.begin(resp.content_length)
                    async for chunk in resp.content.iter_chunked(_DOWNLOAD_CHUNK):
                        await sink.write(chunk)
                    return None
                raw = await resp.content.read(_DOWNLOAD_ERROR_PEEK)
                if status == 429:
                    retry_after = parse_retry_after(resp.headers, None)
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
            caught = exc
        if caught is not None:
            if self.pool.state == "closed":
                return self.pool.closed_error(in_flight=True)
            failure = DownloadError(
                f"the download connection failed after {sink.received:,} bytes: "
                f"{_describe(caught, url)}",
                attachment_id=attachment_id,
            )
            failure.__cause__ = _detached(caught, url)
            return Retry(failure)
        code = _S3_CODE.search(raw)
        detail = f" ({code.group(1).decode('utf-8', 'replace')})" if code else ""
        error = DownloadError(
            f"the file host answered {status} {reason or ''}".rstrip() + detail,
            attachment_id=attachment_id,
            status=status,
        )
        if status in RETRY_STATUSES:
            return Retry(error, retry_after=retry_after)
        return error

    def _upload_failure(
        self,
        exc: Exception,
        flow: _Flow,
        body: UploadBody,
        url: SignedURL,
        attachment_id: str,
    ) -> BaseException:
        """What a failed exchange means, most specific cause first."""
        if flow.callback_error is not None:
            return flow.callback_error
        if body.failure is not None:
            # Raised in the body, it went up through aiohttp's frames, whose locals hold the
            # request (its URL, signature included): it is raised again without them.
            return body.failure.with_traceback(None)
        if self.pool.state == "closed":
            return self.pool.closed_error(in_flight=True)
        if flow.stalled:
            if flow.taken >= flow.total:
                what = (
                    f"storage took all {flow.total:,} bytes, then gave no answer for "
                    f"{flow.silence:g} s (Timeouts.upload_read)"
                )
            else:
                what = (
                    f"storage took no bytes for {flow.silence:g} s (Timeouts.upload_read), "
                    f"after {flow.taken:,} of {flow.total:,}"
                )
            return Retry(UploadError(f"the upload stalled: {what}", attachment_id=attachment_id))
        if isinstance(exc, (aiohttp.ClientError, asyncio.TimeoutError, OSError)):
            failure = UploadError(
                f"the upload connection failed after {flow.taken:,} bytes: {_describe(exc, url)}",
                attachment_id=attachment_id,
            )
            failure.__cause__ = _detached(exc, url)
            return Retry(failure)
        return exc


def _log_attempt(
    method: str, path: str, outcome: int | str, retry_number: int, sent_at: float
) -> None:
    logger.debug(
        "%s %s -> %s (attempt %d, %.3fs)",
        method,
        path,
        outcome,
        retry_number + 1,
        time.monotonic() - sent_at,
    )


# One encoder: json.dumps with any non-default option builds a new JSONEncoder per call.
_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def encode_json(body: Any) -> bytes:
    """A request body as strict JSON (UTF-8, no NaN, no lone surrogates, compact).

    Raises:
        LinqUsageError: the body holds what strict JSON cannot carry, named by its place.
    """
    try:
        return _ENCODER.encode(body).encode()
    except (TypeError, ValueError):  # UnicodeEncodeError is a ValueError
        pass
    check_json_body(body)  # raises, naming the value
    raise LinqUsageError("the request body cannot be sent as JSON")


def _raise_clean(error: BaseException) -> typing.NoReturn:
    """Raise ``error`` with no ``__context__``.

    The package raises its errors outside ``except`` blocks so that no aiohttp exception
    rides along as their context (aiohttp's exceptions and frames hold the request: its
    headers, the API key; its URL, an upload's signature). On Python 3.10 a coroutine can
    still raise with an exception aiohttp handled earlier in the same task as its context
    (a writer task it cancelled, say); this drops it.
    """
    try:
        raise error
    finally:
        error.__context__ = None


def _own_session(**options: Any) -> aiohttp.ClientSession:
    """A ClientSession of the SDK's own, which never repeats a request by itself.

    aiohttp sends a GET, PUT or DELETE a second time, silently, when a reused keep-alive
    connection turns out closed; that hidden attempt would bypass the retry policy
    (``RetryPolicy.never()`` included), its count and its log. aiohttp has no public switch
    for it, only the attribute its own test client sets; a caller's ``session=`` is left as
    its owner made it.
    """
    session = aiohttp.ClientSession(**options)
    if hasattr(session, "_retry_connection"):
        session._retry_connection = False
    return session


def _secret_answer(
    holder: list[bytes], method: str, path: str, then: Callable[[Any], Any] | None
) -> Any:
    """Decode and load an answer that holds secrets; an error is raised with no cause, no
    context and no frame below this one (whose locals held the answer)."""
    data: Any = None
    failure: ResponseValidationError | None = None
    try:
        data = _decode(holder.pop(), method, path, secret=True)
        return data if then is None else then(data)
    except ResponseValidationError as exc:
        failure = exc
    finally:
        data = None
    failure.__cause__ = failure.__context__ = None
    raise failure.with_traceback(None)


def _decode(
    raw: bytes,
    method: str,
    path: str,
    *,
    secret: bool = False,
    redact: Callable[[str], str] | None = None,
) -> Any:
    """The decoded JSON of a 2xx answer (``None`` for an empty one).

    Raises:
        ResponseValidationError: the answer is not JSON; it quotes the first 200
            characters (through ``redact``), or nothing with ``secret``.
    """
    if not raw:
        return None
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):  # RecursionError: JSON nested too deep to decode
        pass
    # Raised outside the handler: the JSON error (which holds the whole body) stays out,
    # and so does the answer itself (tracebacks with locals show this frame).
    shown = "" if secret else raw.decode("utf-8", "replace")
    del raw
    if secret:
        raise ResponseValidationError(
            f"the response to {method} {path} is not JSON (not quoted: it may hold secrets)"
        )
    if redact is not None:
        shown = redact(shown)  # before cutting: a key cut in two would not be found
    shown = shown[:200]
    raise ResponseValidationError(f"the response to {method} {path} is not JSON: {shown!r}")


_DOWNLOAD_CHUNK = 256 * 1024
_DOWNLOAD_ERROR_PEEK = 4096


class Retry(Exception):
    """Raised inside an attempt to say: this failed, and trying again may succeed."""

    def __init__(self, error: LinqError, *, retry_after: float | None = None) -> None:
        super().__init__(str(error))
        self.error = error
        self.retry_after = retry_after


def _connection_error(exc: aiohttp.ClientError, method: str, path: str) -> LinqConnectionError:
    error = LinqConnectionError(f"{method} {path} failed: {_describe(exc)}")
    error.__cause__ = _detached(exc)
    return error
