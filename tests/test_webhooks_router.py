"""Router.handle and its parts without a web server: registration, dispatch, dedupe store,
concurrency, backpressure, draining, insecure mode."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

import pytest

from linq_async import LinqUsageError
from linq_async.testing._webhooks import sign_legacy, sign_standard
from linq_async.webhooks import (
    DEFAULT_DEDUPE_TTL,
    MemoryDedupe,
    Router,
    Verifier,
    WebhookEvent,
)

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def delivery(
    event_type: str = "message.received", *, event_id: str = "e1", webhook_id: str | None = "msg_1"
) -> tuple[bytes, dict[str, str]]:
    """A signed body and its headers (without webhook-id: signed with the event id)."""
    body = json.dumps({"event_id": event_id, "event_type": event_type, "data": {}}).encode()
    stamp = int(time.time())
    signed_id = webhook_id or event_id
    headers = {
        "webhook-id": signed_id,
        "webhook-timestamp": str(stamp),
        "webhook-signature": sign_standard(SECRET, signed_id, stamp, body),
    }
    return body, headers


class Calls:
    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []

    def handler(self, name: str) -> Any:
        async def handle(event: WebhookEvent) -> None:
            self.seen.append((name, event.event_type))

        return handle


async def test_exact_glob_and_fallback_dispatch() -> None:
    """Every matching handler runs in registration order; the fallback only when none did."""
    router = Router(Verifier(SECRET), wait_for_handlers=True)
    calls = Calls()
    router.on("reaction.added")(calls.handler("exact"))
    router.on("reaction.*")(calls.handler("glob"))
    router.on("*")(calls.handler("all"))
    router.fallback(calls.handler("fallback"))
    assert await router.handle(*delivery("reaction.added", event_id="1", webhook_id="a")) == (
        200,
        b"",
    )
    assert calls.seen == [
        ("exact", "reaction.added"),
        ("glob", "reaction.added"),
        ("all", "reaction.added"),
    ]
    calls.seen.clear()
    other = Router(Verifier(SECRET), wait_for_handlers=True)
    other.on("message.*")(calls.handler("messages"))
    other.fallback(calls.handler("fallback"))
    await other.handle(*delivery("chat.created", webhook_id="b"))
    await other.handle(*delivery("message.failed", webhook_id="c"))
    assert calls.seen == [("fallback", "chat.created"), ("messages", "message.failed")]


async def test_one_handler_for_two_patterns_runs_once() -> None:
    """A handler registered for two matching patterns runs once per event."""
    router = Router(Verifier(SECRET), wait_for_handlers=True)
    calls = Calls()
    router.on("message.received", "message.*")(calls.handler("h"))
    await router.handle(*delivery())
    assert calls.seen == [("h", "message.received")]


def test_unknown_exact_types_are_refused_unless_allowed() -> None:
    """A typo never silently fails to match: unknown exact names need allow_unknown."""
    router = Router(None)
    with pytest.raises(LinqUsageError, match=r"message\.received"):
        router.on("message.recieved")
    router.on("message.v3_thing", allow_unknown=True)(Calls().handler("x"))
    with pytest.raises(LinqUsageError):
        router.on()
    with pytest.raises(LinqUsageError):
        router.on("")


def test_handlers_must_be_async() -> None:
    """A plain function (it would block the loop) is refused at registration."""
    router = Router(None)

    def blocking(event: WebhookEvent) -> None:
        return None

    with pytest.raises(LinqUsageError, match="async def"):
        router.on("message.sent")(blocking)  # type: ignore[type-var]
    with pytest.raises(LinqUsageError, match="async def"):
        router.fallback(blocking)  # type: ignore[type-var]


@pytest.mark.parametrize(
    "options",
    [
        {"max_body": 0},
        {"concurrency": 0},
        {"max_pending": -1},
        {"dedupe_ttl": 0},
        {"concurrency": True},
    ],
)
def test_bad_router_options_are_refused(options: dict[str, Any]) -> None:
    """Limits must be positive."""
    with pytest.raises(LinqUsageError):
        Router(None, **options)


def test_the_verifier_must_be_a_verifier() -> None:
    """Passing the secret string instead of a Verifier is refused (it would not verify)."""
    with pytest.raises(LinqUsageError, match="Verifier"):
        Router(SECRET)  # type: ignore[arg-type]


async def test_dedupe_falls_back_to_the_event_id() -> None:
    """Without webhook-id (legacy deliveries) the envelope's event_id is the dedupe key."""
    keys: list[tuple[str, float]] = []

    class Store:
        async def claim(self, key: str, ttl: float) -> bool:
            keys.append((key, ttl))
            return True

    body, headers = delivery(webhook_id=None, event_id="evt-7")
    stamp = int(headers["webhook-timestamp"])
    legacy = {
        "x-webhook-timestamp": str(stamp),
        "x-webhook-signature": sign_legacy(SECRET, stamp, body),
    }
    router = Router(Verifier(SECRET, allow_legacy=True), dedupe=Store(), dedupe_ttl=60)
    assert (await router.handle(body, legacy)).status == 200
    assert (await router.handle(*delivery(webhook_id="msg_9"))).status == 200
    assert keys == [("evt-7", 60.0), ("msg_9", 60.0)]
    await router.drain()


async def test_a_failing_dedupe_store_answers_503_and_reports() -> None:
    """The store is down: 503 (Linq redelivers later), reported, nothing dispatched."""
    errors: list[BaseException] = []

    class Broken:
        async def claim(self, key: str, ttl: float) -> bool:
            raise ConnectionError("redis is down")

    calls = Calls()
    router = Router(Verifier(SECRET), dedupe=Broken(), on_error=lambda exc, _: errors.append(exc))
    router.on("message.received")(calls.handler("h"))
    assert (await router.handle(*delivery())).status == 503
    assert [type(e) for e in errors] == [ConnectionError]
    assert calls.seen == []


async def test_dedupe_none_dispatches_every_copy() -> None:
    """dedupe=None turns deduplication off."""
    router = Router(Verifier(SECRET), dedupe=None, wait_for_handlers=True)
    calls = Calls()
    router.on("message.received")(calls.handler("h"))
    await router.handle(*delivery())
    await router.handle(*delivery())
    assert len(calls.seen) == 2


async def test_memory_dedupe_expires_and_is_bounded() -> None:
    """Keys expire after their TTL; past max_keys the oldest are forgotten."""
    now = [0.0]
    store = MemoryDedupe(max_keys=2, clock=lambda: now[0])
    assert await store.claim("a", 10)
    assert not await store.claim("a", 10)
    now[0] = 10.5
    assert await store.claim("a", 10)
    assert await store.claim("b", 10)
    assert await store.claim("c", 10)  # evicts "a"
    assert len(store) == 2
    assert await store.claim("a", 10)
    assert DEFAULT_DEDUPE_TTL >= 2 * 3600  # hours: covers Linq's redelivery window


async def test_concurrency_is_bounded() -> None:
    """With concurrency=2, at most two handlers run at once; the rest wait for a slot."""
    router = Router(Verifier(SECRET), concurrency=2)
    release = asyncio.Event()
    running = 0
    peak = 0

    @router.on("message.received")
    async def slow(event: WebhookEvent) -> None:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await release.wait()
        running -= 1

    for index in range(5):
        assert (await router.handle(*delivery(webhook_id=f"m{index}"))).status == 200
    for _ in range(5):
        await asyncio.sleep(0)
    assert (running, router.pending) == (2, 5)
    release.set()
    assert await router.drain()
    assert peak == 2


async def test_too_many_pending_handlers_answer_503_before_claiming() -> None:
    """Past max_pending the delivery gets 503 and is not recorded as seen (so a redelivery runs)."""
    router = Router(Verifier(SECRET), max_pending=1)
    release = asyncio.Event()
    calls = Calls()

    @router.on("message.received")
    async def slow(event: WebhookEvent) -> None:
        await release.wait()
        await calls.handler("h")(event)

    assert (await router.handle(*delivery(webhook_id="one"))).status == 200
    assert (await router.handle(*delivery(webhook_id="two"))).status == 503
    release.set()
    await router.drain()
    assert (await router.handle(*delivery(webhook_id="two"))).status == 200
    await router.drain()
    assert len(calls.seen) == 2


async def test_drain_with_a_timeout_cancels_what_is_left() -> None:
    """drain(timeout) returns False and cancels handlers still running after it."""
    router = Router(Verifier(SECRET))
    cancelled = asyncio.Event()

    started = asyncio.Event()

    @router.on("message.received")
    async def forever(event: WebhookEvent) -> None:
        started.set()
        try:
            await asyncio.Event().wait()
        finally:
            cancelled.set()

    await router.handle(*delivery())
    await started.wait()
    assert await router.drain(timeout=0) is False
    assert cancelled.is_set()
    assert router.pending == 0


async def test_insecure_mode_dispatches_unverified_and_warns(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """verifier=None with insecure_no_verification: no check at all, and a warning."""
    with caplog.at_level(logging.WARNING, logger="linq_async.webhooks"):
        router = Router(None, insecure_no_verification=True, wait_for_handlers=True)
    assert "NOT verified" in caplog.text
    calls = Calls()
    router.on("message.received")(calls.handler("h"))
    body, _ = delivery()
    assert (await router.handle(body, {})).status == 200
    assert calls.seen == [("h", "message.received")]
    assert (await router.handle(b"junk", {})).status == 400


async def test_status_order() -> None:
    """405 before 413 before 401; a malformed authentic body is 400; 401 has no body."""
    router = Router(Verifier(SECRET), max_body=100)
    body, _ = delivery()
    assert await router.handle(b"x" * 101, {}, method="GET") == (405, b"")
    assert await router.handle(b"x" * 101, {}) == (413, b"")
    assert await router.handle(body, {}) == (401, b"")
    junk = b"not json"
    stamp = int(time.time())
    signed = {
        "webhook-id": "j",
        "webhook-timestamp": str(stamp),
        "webhook-signature": sign_standard(SECRET, "j", stamp, junk),
    }
    assert (await router.handle(junk, signed)).status == 400


async def test_a_failing_error_hook_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    """An on_error hook that raises is logged; the answer is still 200."""

    async def bad_hook(exc: BaseException, event: WebhookEvent) -> None:
        raise ValueError("hook broke")

    router = Router(Verifier(SECRET), on_error=bad_hook, wait_for_handlers=True)

    @router.on("message.received")
    async def broken(event: WebhookEvent) -> None:
        raise RuntimeError("handler broke")

    with caplog.at_level(logging.ERROR, logger="linq_async.webhooks"):
        assert (await router.handle(*delivery())).status == 200
    assert "handler broke" in caplog.text
    assert "on_error hook failed" in caplog.text


async def test_a_handler_raising_cancelled_error_is_a_failure_of_that_handler_only(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A handler that raises CancelledError itself (it awaited something cancelled elsewhere)
    is logged and reported like any failure; the next handler still runs; still 200."""
    errors: list[BaseException] = []
    for wait in (False, True):
        calls = Calls()
        router = Router(
            Verifier(SECRET),
            wait_for_handlers=wait,
            on_error=lambda exc, _: errors.append(exc),
        )

        @router.on("message.received")
        async def gives_up(event: WebhookEvent) -> None:
            raise asyncio.CancelledError

        router.on("message.*")(calls.handler("next"))
        with caplog.at_level(logging.ERROR, logger="linq_async.webhooks"):
            assert (await router.handle(*delivery())).status == 200
            assert await router.drain()
        assert calls.seen == [("next", "message.received")]
    assert [type(exc) for exc in errors] == [asyncio.CancelledError] * 2
    assert caplog.text.count("gives_up failed on message.received e1") == 2


async def test_a_cancelled_dispatch_cancels_the_running_handler() -> None:
    """drain's timeout cancels the handler itself, and no later handler of the event runs."""
    router = Router(Verifier(SECRET))
    started = asyncio.Event()
    outcome: list[str] = []
    calls = Calls()

    @router.on("message.received")
    async def slow(event: WebhookEvent) -> None:
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            outcome.append("cancelled")
            raise

    router.on("message.*")(calls.handler("after"))
    await router.handle(*delivery())
    await started.wait()
    assert await router.drain(timeout=0) is False
    assert outcome == ["cancelled"]
    assert calls.seen == []


async def test_handle_refuses_a_str_body_in_every_mode() -> None:
    """A str body is a LinqUsageError (verifying or insecure), never a TypeError from inside."""
    body, headers = delivery()
    for router in (Router(Verifier(SECRET)), Router(None, insecure_no_verification=True)):
        with pytest.raises(LinqUsageError, match="bytes"):
            await router.handle(body.decode(), headers)  # type: ignore[arg-type]
        with pytest.raises(LinqUsageError, match="headers"):
            await router.handle(body, None)  # type: ignore[arg-type]


async def test_headers_given_as_a_generator_still_dedupe_on_webhook_id() -> None:
    """One-shot (name, value) pairs are read for verification and for the dedupe key."""
    keys: list[str] = []

    class Store:
        async def claim(self, key: str, ttl: float) -> bool:
            keys.append(key)
            return True

    router = Router(Verifier(SECRET), dedupe=Store())
    body, headers = delivery(webhook_id="msg_gen", event_id="evt_gen")
    assert (await router.handle(body, (pair for pair in headers.items()))).status == 200
    assert keys == ["msg_gen"]
    await router.drain()


def test_a_router_serves_one_event_loop_after_another() -> None:
    """A module-level router used from several event loops in turn (a test suite's loop per
    test, or asyncio.run twice) runs every handler, even when deliveries wait for a slot."""
    router = Router(Verifier(SECRET), concurrency=1)
    seen: list[str] = []
    gates: list[asyncio.Event] = []

    @router.on("message.received")
    async def handler(event: WebhookEvent) -> None:
        await gates[-1].wait()
        seen.append(event.event_id)

    async def deliver_three(tag: str) -> None:
        gates.append(asyncio.Event())
        for index in range(3):
            name = f"{tag}{index}"
            assert (await router.handle(*delivery(event_id=name, webhook_id=name))).status == 200
        for _ in range(5):  # the first holds the only slot, the others wait for it
            await asyncio.sleep(0)
        gates[-1].set()
        assert await router.drain()

    asyncio.run(deliver_three("a"))
    asyncio.run(deliver_three("b"))
    assert sorted(seen) == ["a0", "a1", "a2", "b0", "b1", "b2"]
