"""The router: one framework-agnostic ``handle(body, headers)`` from request to handlers.

What it answers, in this order:

1. a method other than ``POST``: 405;
2. a body over ``max_body`` bytes (1 MiB): 413;
3. no secret configured: 503, unless insecure mode was asked for explicitly (fail closed: a
   5xx makes Linq redeliver for a while, so nothing is lost while the secret is fixed);
4. a delivery that fails verification: 401, with an empty body (the reason is logged, never
   sent back to whoever is probing);
5. an authentic body that is not an event envelope: 400;
6. too many handlers already waiting (``max_pending``): 503, before anything is recorded,
   so the redelivery is processed;
7. a delivery already seen (the ``webhook-id`` header, else the envelope's ``event_id``,
   claimed in the dedupe store): 200, and no handler runs;
8. otherwise: 200 at once, and the handlers run in a tracked task, at most ``concurrency``
   at a time. ``drain()`` waits for them on shutdown. A handler's exception is logged and
   passed to ``on_error``; it never becomes a 5xx, which would make Linq deliver the event
   again. With ``wait_for_handlers=True`` the answer waits for the handlers (still 200
   when they fail).
"""

from __future__ import annotations

import asyncio
import fnmatch
import inspect
import logging
import os
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, NamedTuple, Protocol, TypeVar

from .._errors import LinqUsageError, WebhookPayloadError, WebhookVerificationError
from ._events import EVENT_TYPES, WebhookEvent, parse_event
from ._verify import SECRET_ENV, Headers, Verifier

__all__ = [
    "DEFAULT_DEDUPE_TTL",
    "MAX_BODY",
    "Answer",
    "DedupeStore",
    "ErrorHook",
    "Handler",
    "MemoryDedupe",
    "Router",
]

logger = logging.getLogger("linq_async.webhooks")

MAX_BODY = 1024 * 1024
"""The default body cap, in bytes (1 MiB: Linq's events are a few KiB)."""

DEFAULT_DEDUPE_TTL = 6 * 3600.0
"""How long a delivery id is remembered, in seconds: 6 hours.

Linq retries a failed delivery for up to 30 minutes (its older documentation says up to
about 2 hours); remembering ids three times longer than the longest stated window means a
late redelivery is still recognised, while an in-memory store stays bounded."""

Handler = Callable[[Any], Awaitable[Any]]
"""An event handler: ``async def handle(event) -> None``."""

ErrorHook = Callable[[BaseException, WebhookEvent], Any]
"""Called with a handler's exception and the event (may be ``async``)."""

H = TypeVar("H", bound=Handler)


class DedupeStore(Protocol):
    """Where the router remembers which deliveries it has seen (shared across processes in
    a multi-worker deployment: implement it over Redis ``SET NX EX`` or a database).

    ``ttl`` is a float: a Redis client wants whole seconds (redis-py refuses a float
    ``ex``), so pass ``ex=math.ceil(ttl)``."""

    async def claim(self, key: str, ttl: float) -> bool:
        """Claim key for ttl seconds; True if this caller is the first to claim it."""
        ...


class MemoryDedupe:
    """A `DedupeStore` in this process's memory: right for a single worker.

    Keys expire ``ttl`` seconds after their claim (the router passes
    `DEFAULT_DEDUPE_TTL`, 6 hours, which covers Linq's redelivery window several times over).
    At most ``max_keys`` are kept; past that the oldest are forgotten first (a redelivery of
    one of those would run its handlers again).

    Args:
        max_keys: the most keys kept.
        clock: a monotonic clock, in seconds (``time.monotonic``).
    """

    def __init__(
        self, *, max_keys: int = 1_000_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if isinstance(max_keys, bool) or not isinstance(max_keys, int) or max_keys < 1:
            raise LinqUsageError(f"max_keys must be a positive int, got {max_keys!r}")
        self._max_keys = max_keys
        self._clock = clock
        self._expiry: OrderedDict[str, float] = OrderedDict()

    def __len__(self) -> int:
        return len(self._expiry)

    async def claim(self, key: str, ttl: float) -> bool:
        """Claim key for ttl seconds; True if this caller is the first to claim it."""
        now = self._clock()
        # Keys are kept in claim order; with one TTL per router they also expire in order.
        while self._expiry:
            oldest, expires = next(iter(self._expiry.items()))
            if expires > now and len(self._expiry) < self._max_keys:
                break
            del self._expiry[oldest]
        current = self._expiry.get(key)
        if current is not None and current > now:
            return False
        self._expiry[key] = now + ttl
        self._expiry.move_to_end(key)
        return True


class Answer(NamedTuple):
    """What to answer Linq: a status and a (short, often empty) body."""

    status: int
    body: bytes = b""


_DEFAULT = object()


class Router:
    """Receive webhook deliveries: verify, dedupe, answer, and dispatch to handlers by type.

    ```python
    router = Router(Verifier.from_env())

    @router.on("message.received")
    async def on_message(event: MessageEvent) -> None:
        print(event.sender, event.text)

    @router.on("reaction.*")
    async def on_reaction(event: ReactionEvent) -> None: ...

    @router.fallback
    async def on_other(event: WebhookEvent) -> None: ...

    status, body = await router.handle(raw_body, headers)   # from any web framework
    ```

    Every handler whose pattern matches the event's type runs (in registration order); the
    fallbacks run when none matched.

    Args:
        verifier: checks the signatures. ``None`` when no secret is configured: every
            delivery is answered 503 (fail closed), unless ``insecure_no_verification``.
        dedupe: remembers delivery ids (a fresh `MemoryDedupe` by default); ``None``
            turns deduplication off.
        dedupe_ttl: how long ids are remembered, in seconds (`DEFAULT_DEDUPE_TTL`).
        max_body: the largest body accepted, in bytes (1 MiB).
        concurrency: the most handler tasks running at once.
        max_pending: the most handler tasks pending (running, or waiting for one of the
            ``concurrency`` slots) before new deliveries are answered 503, to be redelivered
            later.
        wait_for_handlers: answer only once the handlers have run (for serverless hosts
            that freeze the process after the answer). Still 200 when a handler fails.
        on_error: called with each handler exception (and the event), after it is logged.
        insecure_no_verification: with ``verifier=None``, dispatch deliveries without
            checking them. Anyone who can reach the URL can then forge events: for local
            experiments only. A warning is logged.

    Raises:
        LinqUsageError: an argument is out of range, or ``verifier`` is not a `Verifier`.
    """

    def __init__(
        self,
        verifier: Verifier | None,
        *,
        dedupe: DedupeStore | None = _DEFAULT,  # type: ignore[assignment]
        dedupe_ttl: float = DEFAULT_DEDUPE_TTL,
        max_body: int = MAX_BODY,
        concurrency: int = 16,
        max_pending: int = 1000,
        wait_for_handlers: bool = False,
        on_error: ErrorHook | None = None,
        insecure_no_verification: bool = False,
    ) -> None:
        if verifier is not None and not isinstance(verifier, Verifier):
            raise LinqUsageError(f"verifier must be a Verifier or None, got {verifier!r}")
        for name, value in (
            ("max_body", max_body),
            ("concurrency", concurrency),
            ("max_pending", max_pending),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise LinqUsageError(f"{name} must be a positive int, got {value!r}")
        if (
            isinstance(dedupe_ttl, bool)
            or not isinstance(dedupe_ttl, (int, float))
            or dedupe_ttl <= 0
        ):
            raise LinqUsageError(f"dedupe_ttl must be a positive number, got {dedupe_ttl!r}")
        self._verifier = verifier
        self._dedupe: DedupeStore | None = MemoryDedupe() if dedupe is _DEFAULT else dedupe
        self._dedupe_ttl = float(dedupe_ttl)
        self._max_body = max_body
        self._concurrency = concurrency
        self._slots: asyncio.Semaphore | None = None
        self._slots_loop: asyncio.AbstractEventLoop | None = None
        self._max_pending = max_pending
        self._wait = wait_for_handlers
        self._on_error = on_error
        self._insecure = verifier is None and insecure_no_verification
        self._handlers: list[tuple[str, Handler]] = []
        self._fallbacks: list[Handler] = []
        self._tasks: set[asyncio.Task[None]] = set()
        if self._insecure:
            logger.warning(
                "webhook Router in insecure mode: deliveries are NOT verified; anyone who can "
                "reach the URL can forge events"
            )

    @classmethod
    def from_env(
        cls,
        *,
        dedupe: DedupeStore | None = _DEFAULT,  # type: ignore[assignment]
        dedupe_ttl: float = DEFAULT_DEDUPE_TTL,
        max_body: int = MAX_BODY,
        concurrency: int = 16,
        max_pending: int = 1000,
        wait_for_handlers: bool = False,
        on_error: ErrorHook | None = None,
        insecure_no_verification: bool = False,
    ) -> Router:
        """A router verifying with ``LINQ_WEBHOOK_SECRET``, or answering 503 when it is unset.

        Unlike `Verifier.from_env`, a missing secret does not stop the application from
        starting: deliveries are refused with 503 (and Linq redelivers them for a while)
        and an error is logged, until the secret is configured.

        Args:
            dedupe: as `Router`.
            dedupe_ttl: as `Router`.
            max_body: as `Router`.
            concurrency: as `Router`.
            max_pending: as `Router`.
            wait_for_handlers: as `Router`.
            on_error: as `Router`.
            insecure_no_verification: as `Router` (only used while the variable is unset).

        Raises:
            LinqUsageError: the variable holds a malformed secret, or an option is out of
                range.
        """
        verifier = None
        if os.environ.get(SECRET_ENV, "").strip():
            verifier = Verifier.from_env()
        else:
            logger.error("%s is not set: every webhook delivery will be answered 503", SECRET_ENV)
        return cls(
            verifier,
            dedupe=dedupe,
            dedupe_ttl=dedupe_ttl,
            max_body=max_body,
            concurrency=concurrency,
            max_pending=max_pending,
            wait_for_handlers=wait_for_handlers,
            on_error=on_error,
            insecure_no_verification=insecure_no_verification,
        )

    def __repr__(self) -> str:
        state = (
            "insecure"
            if self._insecure
            else ("no secret" if self._verifier is None else "verifying")
        )
        return f"<Router {state}, {len(self._handlers)} handlers, {len(self._tasks)} running>"

    # Registration

    def on(self, *patterns: str, allow_unknown: bool = False) -> Callable[[H], H]:
        """Register the decorated coroutine function for these event types.

        A pattern is an event type (``"message.received"``) or a glob (``"reaction.*"``,
        ``"message.*"``, ``"*"``); ``*`` also matches dots.

        Args:
            *patterns: one or more event types or globs.
            allow_unknown: accept an exact event type this release does not know (one Linq
                added later). Without it such a name is refused, since it is usually a typo
                that would never match.

        Raises:
            LinqUsageError: no pattern, an unknown exact type, or a handler that is not a
                coroutine function.
        """
        if not patterns:
            raise LinqUsageError("on() needs at least one event type or pattern")
        for pattern in patterns:
            if not isinstance(pattern, str) or not pattern:
                raise LinqUsageError(
                    f"an event pattern must be a non-empty string, got {pattern!r}"
                )
            if not _is_glob(pattern) and pattern not in EVENT_TYPES and not allow_unknown:
                close = sorted(
                    name for name in EVENT_TYPES if name.split(".")[0] == pattern.split(".")[0]
                )
                hint = f" (known: {', '.join(close)})" if close else ""
                raise LinqUsageError(
                    f"{pattern!r} is not a known event type{hint}; pass allow_unknown=True for "
                    "one newer than this release"
                )

        def register(handler: H) -> H:
            _check_handler(handler)
            for pattern in patterns:
                self._handlers.append((pattern, handler))
            return handler

        return register

    def fallback(self, handler: H) -> H:
        """Register the decorated coroutine function for events no `on` handler matches."""
        _check_handler(handler)
        self._fallbacks.append(handler)
        return handler

    def handlers_for(self, event_type: str) -> list[Handler]:
        """The handlers an event of this type runs (the fallbacks when none matches)."""
        found = [
            handler
            for pattern, handler in self._handlers
            if pattern == event_type
            or (_is_glob(pattern) and fnmatch.fnmatchcase(event_type, pattern))
        ]
        return list(dict.fromkeys(found)) or list(self._fallbacks)

    # Receiving

    async def handle(self, body: bytes, headers: Headers, *, method: str = "POST") -> Answer:
        """Process one delivery and say what to answer (see the module docstring's order).

        Args:
            body: the raw request body.
            headers: the request headers.
            method: the request's HTTP method.

        Returns:
            The status and body to answer with.

        Raises:
            LinqUsageError: ``body`` is not bytes, or ``headers`` is not headers.
        """
        if not isinstance(body, (bytes, bytearray, memoryview)):
            raise LinqUsageError(
                f"handle() takes the raw request body as bytes, not {type(body).__name__}"
            )
        if not isinstance(headers, Mapping):
            try:  # read twice (verify, then the dedupe key): a generator would be empty
                headers = list(headers)
            except TypeError:
                raise LinqUsageError(
                    "headers must be a mapping or (name, value) pairs, "
                    f"not {type(headers).__name__}"
                ) from None
        if method.upper() != "POST":
            return Answer(405)
        if len(body) > self._max_body:
            logger.warning(
                "webhook delivery refused: %d bytes is over the %d-byte cap",
                len(body),
                self._max_body,
            )
            return Answer(413)
        try:
            if self._verifier is not None:
                event = self._verifier.verify(body, headers)
            elif self._insecure:
                event = parse_event(bytes(body))
            else:
                logger.error("webhook delivery refused with 503: no signing secret is configured")
                return Answer(503)
        except WebhookPayloadError as exc:
            logger.warning("webhook delivery refused with 400: %s", exc)
            return Answer(400, b"malformed event\n")
        except WebhookVerificationError as exc:
            logger.warning("webhook delivery refused with 401: %s", exc)
            return Answer(401)
        if len(self._tasks) >= self._max_pending:
            logger.warning(
                "webhook delivery %s answered 503: %d handler tasks already pending",
                event.event_id,
                len(self._tasks),
            )
            return Answer(503)
        if self._dedupe is not None:
            key = _header(headers, "webhook-id") or event.event_id
            try:
                first = await self._dedupe.claim(key, self._dedupe_ttl)
            except Exception as exc:
                # Not processed: a 5xx makes Linq redeliver once the store is back.
                logger.exception("webhook dedupe store failed; answering 503")
                await self._report(exc, event)
                return Answer(503)
            if not first:
                logger.info(
                    "webhook delivery %s (%s) is a duplicate: skipped", key, event.event_type
                )
                return Answer(200)
        task = asyncio.get_running_loop().create_task(self._dispatch(event))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        if self._wait:
            await asyncio.shield(task)
        return Answer(200)

    async def dispatch(self, event: WebhookEvent) -> None:
        """Run the handlers of ``event`` now (for events from elsewhere, e.g. a poller).

        Handler exceptions are logged and reported to ``on_error``, never raised.
        """
        await self._dispatch(event)

    def _slots_here(self) -> asyncio.Semaphore:
        # One semaphore per event loop: a semaphore that had to make a task wait is bound to
        # that loop, and a router made at import time may serve one loop after another (a
        # test suite's loop per test); the old one would fail every waiting dispatch.
        loop = asyncio.get_running_loop()
        if self._slots is None or self._slots_loop is not loop:
            self._slots = asyncio.Semaphore(self._concurrency)
            self._slots_loop = loop
        return self._slots

    async def _dispatch(self, event: WebhookEvent) -> None:
        try:
            async with self._slots_here():
                for handler in self.handlers_for(event.event_type):
                    await self._run(handler, event)
        except Exception as exc:  # a fault outside the handlers: logged, never a silent drop
            logger.exception("webhook dispatch of %s %s failed", event.event_type, event.event_id)
            await self._report(exc, event)

    async def _run(self, handler: Handler, event: WebhookEvent) -> None:
        # Each handler runs in a task of its own, so that a CancelledError the handler raises
        # itself (it awaited something cancelled elsewhere) is told apart from this dispatch
        # being cancelled (drain's timeout): the first is that handler's failure, logged and
        # reported, and the next handlers still run; the second cancels the handler too.
        try:
            child: asyncio.Future[Any] = asyncio.ensure_future(handler(event))
        except Exception as exc:  # a callable that fails before returning its coroutine
            await self._failed(handler, event, exc)
            return
        try:
            await asyncio.wait({child})
        except asyncio.CancelledError:
            child.cancel()
            await asyncio.wait({child})
            raise
        if child.cancelled():
            try:
                child.result()  # the handler's own CancelledError, with its traceback
            except asyncio.CancelledError as cancelled:
                await self._failed(handler, event, cancelled)
            return
        error = child.exception()
        if error is not None:
            await self._failed(handler, event, error)

    async def _failed(self, handler: Handler, event: WebhookEvent, exc: BaseException) -> None:
        logger.error(
            "webhook handler %s failed on %s %s",
            getattr(handler, "__qualname__", handler),
            event.event_type,
            event.event_id,
            exc_info=exc,
        )
        await self._report(exc, event)

    async def _report(self, exc: BaseException, event: WebhookEvent) -> None:
        if self._on_error is None:
            return
        try:
            result = self._on_error(exc, event)
            if inspect.isawaitable(result):
                await result
        except Exception:
            logger.exception("the webhook on_error hook failed")

    @property
    def max_body(self) -> int:
        """The largest body accepted, in bytes."""
        return self._max_body

    @property
    def pending(self) -> int:
        """Handler tasks not finished yet."""
        return len(self._tasks)

    async def drain(self, timeout: float | None = None) -> bool:
        """Wait for the handler tasks started so far (call it on shutdown).

        Args:
            timeout: the longest wait, in seconds; ``None`` waits for all of them.

        Returns:
            True when every task finished; False when the timeout cut the wait short (the
            tasks still running are cancelled).
        """
        deadline = None if timeout is None else asyncio.get_running_loop().time() + timeout
        while self._tasks:
            left = None if deadline is None else deadline - asyncio.get_running_loop().time()
            if left is not None and left <= 0:
                for task in list(self._tasks):
                    task.cancel()
                await asyncio.gather(*self._tasks, return_exceptions=True)
                return False
            await asyncio.wait(list(self._tasks), timeout=left)
        return True


def _is_glob(pattern: str) -> bool:
    return any(char in pattern for char in "*?[")


def _check_handler(handler: Any) -> None:
    # An async def function, or an object whose __call__ is one.
    if not (
        inspect.iscoroutinefunction(handler)
        or inspect.iscoroutinefunction(getattr(handler, "__call__", None))  # noqa: B004
    ):
        raise LinqUsageError(
            f"webhook handler {getattr(handler, '__qualname__', handler)!r} must be an async def "
            "function (a blocking handler would stall every other request)"
        )


def _header(headers: Headers, name: str) -> str | None:
    items = headers.items() if isinstance(headers, Mapping) else headers
    for key, value in items:
        key_text = key.decode("latin-1") if isinstance(key, bytes) else str(key)
        if key_text.lower() == name:
            text = value.decode("latin-1") if isinstance(value, bytes) else str(value)
            return text.strip() or None
    return None
