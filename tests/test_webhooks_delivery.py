"""End to end over real sockets: the fake signs and POSTs deliveries to an aiohttp app whose
route is the webhook Router; what each kind of delivery is answered and what it dispatches."""

from __future__ import annotations

import asyncio
import io
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import pytest
from _support import RECIPIENT, SENDER, SleepRecorder
from aiohttp import web
from multidict import CIMultiDict

from linq_async import LinqSession
from linq_async.testing import FakeLinqServer, FakeSubscription
from linq_async.testing._webhooks import sign_standard
from linq_async.webhooks import (
    MAX_BODY,
    V1,
    V2,
    MessageEvent,
    ReactionEvent,
    Router,
    TypingEvent,
    Verifier,
    WebhookEvent,
    setup_aiohttp,
)

FRIEND = "+15550001111"
DELAYS = (1.0, 2.0, 4.0)


@pytest.fixture
async def fake(sleeps: SleepRecorder) -> AsyncIterator[FakeLinqServer]:
    async with FakeLinqServer(webhook_retry_delays=DELAYS, webhook_sleep=sleeps) as server:
        yield server


@asynccontextmanager
async def serve(app: web.Application) -> AsyncIterator[str]:
    """Serve ``app`` on a free loopback port; yield its origin; clean up (draining) after."""
    runner = web.AppRunner(app)
    await runner.setup()
    try:
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


@asynccontextmanager
async def receiver(router: Router) -> AsyncIterator[str]:
    """An aiohttp app routing /hook to ``router``; yields the hook's URL."""
    app = web.Application()
    setup_aiohttp(app, router, "/hook")
    async with serve(app) as origin:
        yield f"{origin}/hook"


class Recorder:
    """Collects the events handlers saw and the errors reported."""

    def __init__(self) -> None:
        self.events: list[WebhookEvent] = []
        self.errors: list[tuple[BaseException, WebhookEvent]] = []

    async def handle(self, event: WebhookEvent) -> None:
        self.events.append(event)

    def on_error(self, exc: BaseException, event: WebhookEvent) -> None:
        self.errors.append((exc, event))


def make_router(sub: FakeSubscription | None, seen: Recorder, **options: Any) -> Router:
    verifier = None if sub is None else Verifier(sub.signing_secret, **options.pop("verify", {}))
    router = Router(verifier, on_error=seen.on_error, **options)
    router.on("message.*")(seen.handle)
    return router


async def settle(fake: FakeLinqServer, router: Router) -> None:
    """Wait for every delivery (retries included) and every handler task."""
    await fake.webhooks.wait()
    await router.drain()


def statuses(fake: FakeLinqServer) -> list[list[int | None]]:
    return [[attempt.status for attempt in d.attempts] for d in fake.webhooks.deliveries]


async def test_message_received_in_both_payload_versions_reaches_the_same_handler(
    fake: FakeLinqServer,
) -> None:
    """2025-01-01 and 2026-02-03 message.received: same handler, same text, sender and chat."""
    seen = Recorder()
    sub = fake.webhooks.subscribe("http://127.0.0.1:1/", events=["message.received"])
    router = make_router(sub, seen)
    async with receiver(router) as url:
        sub.target_url = f"{url}?version={V1}"
        first = fake.receive_message(sender=FRIEND, line=SENDER, text="hello there")
        await settle(fake, router)
        sub.target_url = f"{url}?version={V2}"
        fake.receive_message(sender=FRIEND, line=SENDER, text="hello there")
        await settle(fake, router)
    v1, v2 = fake.webhooks.deliveries
    assert (v1.version, v2.version) == (V1, V2)
    assert "is_from_me" in v1.json()["data"]
    assert "message" in v1.json()["data"]
    assert "direction" in v2.json()["data"]
    assert "sender_handle" in v2.json()["data"]
    assert statuses(fake) == [[200], [200]]
    old, new = seen.events
    assert isinstance(old, MessageEvent)
    assert isinstance(new, MessageEvent)
    assert (old.payload_version, new.payload_version) == (V1, V2)
    for event in (old, new):
        assert event.event_type == "message.received"
        assert event.text == "hello there"
        assert event.sender == FRIEND
        assert event.direction == "inbound"
        assert event.is_inbound
        assert event.chat_id == first.chat_id
        assert event.is_group is False
    assert old.message_id == first.id
    assert seen.errors == []


async def test_a_send_is_delivered_as_message_sent(fake: FakeLinqServer) -> None:
    """chats.create through the fake delivers a signed message.sent (outbound) to the app."""
    seen = Recorder()
    sub = fake.webhooks.subscribe("http://127.0.0.1:1/", events=["message.sent"])
    router = make_router(sub, seen)
    async with receiver(router) as url, LinqSession(fake.api_key, base_url=fake.base_url) as linq:
        sub.target_url = url
        created = await linq.chats.create(from_=SENDER, to=RECIPIENT, text="out we go")
        await settle(fake, router)
    (event,) = seen.events
    assert isinstance(event, MessageEvent)
    assert (event.event_type, event.direction, event.sender) == ("message.sent", "outbound", SENDER)
    assert event.message_id == created.message.id
    assert event.text == "out we go"


async def test_a_duplicate_delivery_dispatches_once(fake: FakeLinqServer) -> None:
    """The same webhook-id delivered twice: both answered 200, the handler runs once."""
    seen = Recorder()
    sub = fake.webhooks.subscribe("http://127.0.0.1:1/", events=["message.received"])
    router = make_router(sub, seen)
    async with receiver(router) as url:
        sub.target_url = url
        fake.webhooks.inject_fault("duplicate")
        fake.receive_message(sender=FRIEND, line=SENDER, text="once")
        await settle(fake, router)
    first, again = fake.webhooks.deliveries
    assert first.webhook_id == again.webhook_id
    assert first.body == again.body
    assert statuses(fake) == [[200], [200]]
    assert [event.event_id for event in seen.events] == [first.event_id]


@pytest.mark.parametrize("fault", ["bad_signature", "stale", "strip_headers"])
async def test_unverifiable_deliveries_get_401_and_dispatch_nothing(
    fake: FakeLinqServer, fault: Any
) -> None:
    """Bad signature, stale timestamp, stripped headers: 401 (not retried), no handler."""
    seen = Recorder()
    sub = fake.webhooks.subscribe("http://127.0.0.1:1/", events=["message.received"])
    router = make_router(sub, seen)
    async with receiver(router) as url:
        sub.target_url = url
        fake.webhooks.inject_fault(fault)
        fake.receive_message(sender=FRIEND, line=SENDER, text="forged?")
        await settle(fake, router)
    assert statuses(fake) == [[401]]
    assert fake.webhooks.deliveries[0].state == "failed"
    assert seen.events == []


async def test_a_stale_timestamp_by_the_receivers_clock_gets_401(fake: FakeLinqServer) -> None:
    """With the verifier's clock an hour ahead, a fresh delivery is stale: 401, no handler."""
    seen = Recorder()
    sub = fake.webhooks.subscribe("http://127.0.0.1:1/", events=["message.received"])
    router = make_router(sub, seen, verify={"clock": lambda: time.time() + 3600})
    async with receiver(router) as url:
        sub.target_url = url
        fake.receive_message(sender=FRIEND, line=SENDER, text="late")
        await settle(fake, router)
    assert statuses(fake) == [[401]]
    assert seen.events == []


async def test_an_oversized_body_gets_413_and_dispatches_nothing(fake: FakeLinqServer) -> None:
    """A body over the 1 MiB cap is refused with 413 before anything else."""
    seen = Recorder()
    sub = fake.webhooks.subscribe("http://127.0.0.1:1/", events=["message.received"])
    router = make_router(sub, seen)
    router.fallback(seen.handle)
    async with receiver(router) as url:
        sub.target_url = url
        fake.webhooks.emit("message.received", {"chat_id": "x", "blob": "x" * (1024 * 1024)})
        await settle(fake, router)
    assert statuses(fake) == [[413]]
    assert seen.events == []


async def test_without_a_secret_the_router_fails_closed_with_503(
    fake: FakeLinqServer, sleeps: SleepRecorder
) -> None:
    """No secret configured: 503 for every attempt (so Linq retries), no handler runs."""
    seen = Recorder()
    sub = fake.webhooks.subscribe("http://127.0.0.1:1/", events=["message.received"])
    router = make_router(None, seen)
    async with receiver(router) as url:
        sub.target_url = url
        fake.receive_message(sender=FRIEND, line=SENDER, text="anyone?")
        await settle(fake, router)
    assert statuses(fake) == [[503, 503, 503, 503]]
    assert sleeps.delays == list(DELAYS)
    assert seen.events == []


async def test_router_from_env_without_the_variable_answers_503(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Router.from_env() starts without LINQ_WEBHOOK_SECRET, and refuses every delivery."""
    monkeypatch.delenv("LINQ_WEBHOOK_SECRET", raising=False)
    router = Router.from_env()
    assert await router.handle(b"{}", {}) == (503, b"")


async def test_a_handler_that_raises_still_gets_200_and_is_reported(fake: FakeLinqServer) -> None:
    """A failing handler: 200 to Linq (no redelivery), the error goes to on_error."""
    seen = Recorder()
    sub = fake.webhooks.subscribe("http://127.0.0.1:1/", events=["message.received"])
    router = Router(Verifier(sub.signing_secret), on_error=seen.on_error)

    @router.on("message.received")
    async def broken(event: MessageEvent) -> None:
        raise RuntimeError(f"cannot store {event.text}")

    async with receiver(router) as url:
        sub.target_url = url
        fake.receive_message(sender=FRIEND, line=SENDER, text="boom")
        await settle(fake, router)
    assert statuses(fake) == [[200]]
    ((error, event),) = seen.errors
    assert isinstance(error, RuntimeError)
    assert str(error) == "cannot store boom"
    assert event.event_id == fake.webhooks.deliveries[0].event_id


async def test_waiting_mode_answers_after_the_handler(fake: FakeLinqServer) -> None:
    """wait_for_handlers=True: the handler has finished when the fake gets its 200."""
    seen = Recorder()
    sub = fake.webhooks.subscribe("http://127.0.0.1:1/", events=["message.received"])
    router = make_router(sub, seen, wait_for_handlers=True)
    async with receiver(router) as url:
        sub.target_url = url
        fake.receive_message(sender=FRIEND, line=SENDER, text="sync")
        await fake.webhooks.wait()
        assert [event.event_type for event in seen.events] == ["message.received"]
        assert router.pending == 0


async def test_reactions_typing_and_the_fallback(fake: FakeLinqServer) -> None:
    """A "reaction.*" handler gets both reactions; typing goes to the fallback."""
    sub = fake.webhooks.subscribe("http://127.0.0.1:1/")
    router = Router(Verifier(sub.signing_secret))
    reactions: list[ReactionEvent] = []
    others: list[WebhookEvent] = []

    @router.on("reaction.*")
    async def on_reaction(event: ReactionEvent) -> None:
        reactions.append(event)

    @router.fallback
    async def on_other(event: WebhookEvent) -> None:
        others.append(event)

    async with receiver(router) as url:
        sub.target_url = url
        message = fake.receive_message(sender=FRIEND, line=SENDER, text="react to me")
        fake.receive_reaction(message.id, sender=FRIEND, type="laugh")
        fake.receive_reaction(message.id, sender=FRIEND, type="laugh", removed=True)
        fake.receive_typing(message.chat_id, sender=FRIEND)
        await settle(fake, router)
    assert [(r.event_type, r.data.reaction_type) for r in reactions] == [
        ("reaction.added", "laugh"),
        ("reaction.removed", "laugh"),
    ]
    assert reactions[0].data.message_id == message.id
    assert reactions[0].data.from_handle is not None
    assert reactions[0].data.from_handle.handle == FRIEND
    assert [type(event) for event in others] == [MessageEvent, TypingEvent]
    typing = others[1]
    assert isinstance(typing, TypingEvent)
    assert typing.data.chat_id == message.chat_id


async def test_the_fake_retries_5xx_and_network_errors_with_backoff(
    fake: FakeLinqServer, sleeps: SleepRecorder
) -> None:
    """503, then 500, then 200: three attempts, two backoff waits, same webhook-id."""
    answers = [503, 500, 200]
    received: list[dict[str, str]] = []

    async def flaky(request: web.Request) -> web.Response:
        received.append(dict(request.headers))
        return web.Response(status=answers[len(received) - 1])

    app = web.Application()
    app.router.add_post("/hook", flaky)
    async with serve(app) as origin:
        fake.webhooks.subscribe(f"{origin}/hook", events=["message.received"])
        fake.receive_message(sender=FRIEND, line=SENDER, text="retry me")
        await fake.webhooks.wait()
    (delivery,) = fake.webhooks.deliveries
    assert [attempt.status for attempt in delivery.attempts] == [503, 500, 200]
    assert delivery.state == "delivered"
    assert sleeps.delays == [1.0, 2.0]
    assert {headers["webhook-id"] for headers in received} == {delivery.webhook_id}


async def test_the_fake_gives_up_on_4xx_and_after_its_retries(
    fake: FakeLinqServer, sleeps: SleepRecorder
) -> None:
    """A 404 is final (one attempt); a dead port is retried through the schedule, then failed."""
    app = web.Application()
    async with serve(app) as origin:
        fake.webhooks.subscribe(f"{origin}/missing", events=["message.received"])
        fake.receive_message(sender=FRIEND, line=SENDER, text="nobody")
        await fake.webhooks.wait()
    assert statuses(fake) == [[404]]
    fake.webhooks.deliveries.clear()
    for sub in list(fake.webhooks.subscriptions.values()):
        sub.target_url = origin + "/gone"  # the server above is closed now
    fake.receive_message(sender=FRIEND, line=SENDER, text="anyone")
    await fake.webhooks.wait()
    (delivery,) = fake.webhooks.deliveries
    assert delivery.state == "failed"
    assert len(delivery.attempts) == 1 + len(DELAYS)
    assert all(attempt.status is None and attempt.error for attempt in delivery.attempts)
    assert sleeps.delays == list(DELAYS)


async def test_the_fake_never_posts_off_the_loopback(fake: FakeLinqServer) -> None:
    """A subscription to a public host is recorded as skipped, never contacted."""
    fake.webhooks.subscribe("https://example.com/hook", events=["message.received"])
    fake.receive_message(sender=FRIEND, line=SENDER, text="stay home")
    await fake.webhooks.wait()
    (delivery,) = fake.webhooks.deliveries
    assert (delivery.state, delivery.attempts) == ("skipped", [])


async def test_the_fake_sends_both_header_sets(fake: FakeLinqServer) -> None:
    """Each attempt carries the Standard and the legacy headers, each verifiable."""
    seen = Recorder()
    sub = fake.webhooks.subscribe("http://127.0.0.1:1/", events=["message.received"])
    router = make_router(sub, seen)
    async with receiver(router) as url:
        sub.target_url = url
        fake.receive_message(sender=FRIEND, line=SENDER, text="headers")
        await settle(fake, router)
    (delivery,) = fake.webhooks.deliveries
    headers = delivery.attempts[0].headers
    assert set(headers) >= {
        "webhook-id",
        "webhook-timestamp",
        "webhook-signature",
        "X-Webhook-Event",
        "X-Webhook-Subscription-ID",
        "X-Webhook-Timestamp",
        "X-Webhook-Signature",
    }
    assert headers["X-Webhook-Event"] == "message.received"
    assert headers["X-Webhook-Subscription-ID"] == sub.id
    assert headers["webhook-signature"].startswith("v1,")
    legacy_only = {k: v for k, v in headers.items() if not k.startswith("webhook-")}
    clock = int(headers["webhook-timestamp"])
    Verifier(sub.signing_secret, allow_legacy=True, clock=lambda: clock).check(
        delivery.body, legacy_only
    )


async def test_legacy_only_deliveries_dedupe_on_event_id(fake: FakeLinqServer) -> None:
    """Legacy headers only, allow_legacy: verified by X-Webhook-*, deduplicated by event_id."""
    seen = Recorder()
    sub = fake.webhooks.subscribe("http://127.0.0.1:1/", events=["message.received"])
    router = make_router(sub, seen, verify={"allow_legacy": True})
    async with receiver(router) as url:
        sub.target_url = url
        fake.webhooks.inject_fault("strip_headers")
        fake.webhooks.inject_fault("duplicate")
        fake.receive_message(sender=FRIEND, line=SENDER, text="old style")
        await settle(fake, router)
    assert statuses(fake) == [[200], [200]]
    assert len(seen.events) == 1


async def test_non_post_methods_get_405() -> None:
    """GET on the webhook route: 405 with Allow: POST."""
    router = Router(None)
    async with receiver(router) as url, aiohttp.ClientSession() as http, http.get(url) as response:
        assert response.status == 405
        assert response.headers["Allow"] == "POST"


async def test_shutdown_drains_running_handlers(fake: FakeLinqServer) -> None:
    """The aiohttp app's shutdown waits for the handler tasks still running."""
    release = asyncio.Event()
    finished: list[str] = []
    sub = fake.webhooks.subscribe("http://127.0.0.1:1/", events=["message.received"])
    router = Router(Verifier(sub.signing_secret))

    @router.on("message.received")
    async def slow(event: MessageEvent) -> None:
        await release.wait()
        finished.append(event.text)

    async with receiver(router) as url:
        sub.target_url = url
        fake.receive_message(sender=FRIEND, line=SENDER, text="finish me")
        await fake.webhooks.wait()
        assert router.pending == 1
        asyncio.get_running_loop().call_soon(release.set)
    assert finished == ["finish me"]
    assert router.pending == 0


# Shutdown, proxies, and what a delivery in flight at shutdown gets

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def signed_delivery(event_id: str = "evt_1") -> tuple[bytes, dict[str, str]]:
    """A message.received body and its Standard Webhooks headers, signed now with SECRET."""
    body = json.dumps({"event_id": event_id, "event_type": "message.received", "data": {}}).encode()
    stamp = int(time.time())
    webhook_id = f"msg_{event_id}"
    return body, {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(stamp),
        "webhook-signature": sign_standard(SECRET, webhook_id, stamp, body),
    }


class ShuttingDownApp:
    """An app with the webhook route, that tells when a request reached it and when the
    shutdown has begun (an on_shutdown hook after setup_aiohttp's), and can hold requests
    (received in full) before they reach the route."""

    def __init__(self, router: Router, hold: asyncio.Event | None = None) -> None:
        self.entered = asyncio.Event()
        self.shutting_down = asyncio.Event()
        self.pending_at_cleanup: list[int] = []

        @web.middleware
        async def note_entry(request: web.Request, handler: Any) -> web.StreamResponse:
            self.entered.set()
            if hold is not None:
                await hold.wait()
            response: web.StreamResponse = await handler(request)
            return response

        async def began(_: web.Application) -> None:
            self.shutting_down.set()

        async def cleanup(_: web.Application) -> None:  # where apps close their resources
            self.pending_at_cleanup.append(router.pending)

        self.app = web.Application(middlewares=[note_entry])
        setup_aiohttp(self.app, router, "/hook")
        self.app.on_shutdown.append(began)
        self.app.on_cleanup.append(cleanup)


async def test_a_delivery_not_yet_handled_at_shutdown_gets_503_and_is_not_dispatched() -> None:
    """Once the app shuts down, a delivery received but not handled yet is answered 503
    (Linq redelivers it), not 200 with its handler started after the drain, to be cut off
    with the process."""
    seen = Recorder()
    router = Router(Verifier(SECRET))
    router.on("message.*")(seen.handle)
    hold = asyncio.Event()
    served = ShuttingDownApp(router, hold)
    runner = web.AppRunner(served.app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    body, headers = signed_delivery()
    async with aiohttp.ClientSession() as http:
        url = f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
        posting = asyncio.create_task(http.post(url, data=body, headers=headers))
        await served.entered.wait()
        cleanup = asyncio.create_task(runner.cleanup())
        await served.shutting_down.wait()
        hold.set()
        async with await posting as response:
            assert response.status == 503
        await cleanup
    assert seen.events == []
    assert served.pending_at_cleanup == [0]


async def test_a_delivery_claimed_as_shutdown_begins_finishes_before_cleanup() -> None:
    """A delivery past verification when the shutdown begins (its dedupe claim still
    running) is answered only once its handler has run: before the app's cleanup hooks."""
    claimed = asyncio.Event()
    release = asyncio.Event()

    class SlowStore:  # a shared store over the network: the claim takes a while
        async def claim(self, key: str, ttl: float) -> bool:
            claimed.set()
            await release.wait()
            return True

    finished: list[str] = []
    router = Router(Verifier(SECRET), dedupe=SlowStore())

    @router.on("message.received")
    async def takes_a_while(event: WebhookEvent) -> None:
        for _ in range(200):  # many turns of the loop, more than the rest of the shutdown
            await asyncio.sleep(0)
        finished.append(event.event_id)

    served = ShuttingDownApp(router)
    runner = web.AppRunner(served.app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    body, headers = signed_delivery("evt_late")
    async with aiohttp.ClientSession() as http:
        url = f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
        posting = asyncio.create_task(http.post(url, data=body, headers=headers))
        await claimed.wait()
        cleanup = asyncio.create_task(runner.cleanup())
        await served.shutting_down.wait()
        release.set()
        async with await posting as response:
            assert response.status == 200
        await cleanup
    assert finished == ["evt_late"]
    assert served.pending_at_cleanup == [0]


async def test_repeated_proxy_headers_do_not_fail_a_delivery() -> None:
    """Through proxies that each add X-Forwarded-For and Via: still 200 and dispatched."""
    seen = Recorder()
    router = Router(Verifier(SECRET))
    router.on("message.*")(seen.handle)
    body, headers = signed_delivery()
    sent = CIMultiDict(headers)
    for name, value in [
        ("X-Forwarded-For", "203.0.113.7"),
        ("X-Forwarded-For", "10.0.0.2"),
        ("Via", "1.1 edge"),
        ("Via", "1.1 lb"),
    ]:
        sent.add(name, value)
    async with receiver(router) as url, aiohttp.ClientSession() as http:
        async with http.post(url, data=body, headers=sent) as response:
            assert response.status == 200
        await router.drain()
    assert [event.event_id for event in seen.events] == ["evt_1"]


async def test_many_identical_deliveries_at_once_dispatch_once() -> None:
    """Twenty copies of one delivery POSTed concurrently: all answered 200, handled once."""
    seen = Recorder()
    router = Router(Verifier(SECRET))
    router.on("message.*")(seen.handle)
    body, headers = signed_delivery("evt_dup")
    async with receiver(router) as url, aiohttp.ClientSession() as http:

        async def post() -> int:
            async with http.post(url, data=body, headers=headers) as response:
                return response.status

        assert await asyncio.gather(*(post() for _ in range(20))) == [200] * 20
        await router.drain()
    assert [event.event_id for event in seen.events] == ["evt_dup"]


@pytest.mark.parametrize("chunked", [False, True])
async def test_the_body_cap_holds_with_and_without_content_length(chunked: bool) -> None:
    """Exactly 1 MiB is accepted, one byte more is 413, whether the length is declared
    (Content-Length) or not (chunked transfer encoding)."""
    seen = Recorder()
    router = Router(Verifier(SECRET))
    router.on("message.*")(seen.handle)

    def sized(size: int, event_id: str) -> tuple[bytes, dict[str, str]]:
        body, _ = signed_delivery(event_id)
        body = body[:-1] + b', "pad": "' + b"x" * (size - len(body) - 11) + b'"}'
        assert len(body) == size
        stamp = int(time.time())
        return body, {
            "webhook-id": event_id,
            "webhook-timestamp": str(stamp),
            "webhook-signature": sign_standard(SECRET, event_id, stamp, body),
        }

    async def in_chunks(data: bytes) -> AsyncIterator[bytes]:
        for start in range(0, len(data), 50_000):
            yield data[start : start + 50_000]

    async with receiver(router) as url, aiohttp.ClientSession() as http:
        answers = []
        for size, event_id in ((MAX_BODY, "at_cap"), (MAX_BODY + 1, "over_cap")):
            body, headers = sized(size, event_id)
            data: Any = in_chunks(body) if chunked else io.BytesIO(body)
            async with http.post(url, data=data, headers=headers) as response:
                sent = response.request_info.headers
                assert ("Content-Length" in sent) is not chunked
                answers.append(response.status)
        await router.drain()
    assert answers == [200, 413]
    assert [event.event_id for event in seen.events] == ["at_cap"]
