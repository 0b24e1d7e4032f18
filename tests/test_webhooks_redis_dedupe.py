"""Webhook dedupe across receiver processes: 3 pods behind a load balancer, one Redis.

The fake delivers every event to one subscription URL: a round-robin balancer in this
process, in front of 3 receiver processes (``_webhook_receiver.py``), each a `Router` with a
`RedisDedupe`. Duplicated deliveries (same ``webhook-id``) land on another pod than the
first copy, and each event must still be dispatched exactly once.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sys
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp
import pytest
from aiohttp import web
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError

from linq_async.contrib import redis as contrib_redis
from linq_async.contrib.arq import connect
from linq_async.contrib.redis import RedisDedupe
from linq_async.testing import FakeLinqServer
from linq_async.testing._webhooks import sign_standard
from linq_async.webhooks import DEFAULT_DEDUPE_TTL, Router, Verifier, WebhookEvent

pytestmark = pytest.mark.redis

RECEIVER = Path(__file__).with_name("_webhook_receiver.py")
REPO = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"


class Balancer:
    """Round-robin HTTP balancer: each request goes to the next receiver in turn.

    Attributes:
        routed: (``webhook-id``, receiver index) of every request, in order.
    """

    def __init__(self) -> None:
        self.targets: list[str] = []
        self.routed: list[tuple[str, int]] = []
        self.url = ""
        self._runner: web.AppRunner | None = None
        self._http: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        self._http = aiohttp.ClientSession()
        app = web.Application()
        app.router.add_post("/hook", self._forward)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, HOST, 0).start()
        self.url = f"http://{HOST}:{self._runner.addresses[0][1]}/hook"

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._http is not None:
            await self._http.close()

    async def _forward(self, request: web.Request) -> web.Response:
        assert self._http is not None
        index = len(self.routed) % len(self.targets)
        self.routed.append((request.headers.get("webhook-id", ""), index))
        headers = {k: v for k, v in request.headers.items() if k.lower() != "host"}
        body = await request.read()
        async with self._http.post(self.targets[index], data=body, headers=headers) as answer:
            return web.Response(status=answer.status, body=await answer.read())


async def start_receiver(
    redis_url: str, prefix: str, log_key: str, env: dict[str, str]
) -> asyncio.subprocess.Process:
    """Start one receiver process (it prints its port, and stops when stdin closes)."""
    return await asyncio.create_subprocess_exec(
        sys.executable, str(RECEIVER), redis_url, prefix, log_key, env=env, cwd=REPO,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip


@pytest.fixture
async def balancer() -> AsyncIterator[Balancer]:
    lb = Balancer()
    await lb.start()
    yield lb
    await lb.close()


def test_redis_remembers_ids_as_long_as_the_router() -> None:
    """contrib.redis keeps its own copy of the window (importing the router costs aiohttp.web)."""
    assert contrib_redis.DEFAULT_DEDUPE_TTL == DEFAULT_DEDUPE_TTL


async def test_three_receivers_dispatch_each_event_once(
    fake: FakeLinqServer, balancer: Balancer, redis_url: str
) -> None:
    """15 events, 10 of them delivered twice, spread over 3 receiver processes sharing a
    RedisDedupe: every event is dispatched exactly once, by whichever pod got it first."""
    uid = uuid.uuid4().hex[:12]
    log_key, prefix = f"t-{uid}:dispatched", f"t-{uid}:webhook:"
    subscription = fake.webhooks.subscribe(balancer.url)
    env = {**os.environ, "LINQ_WEBHOOK_SECRET": subscription.signing_secret}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    receivers = [await start_receiver(redis_url, prefix, log_key, env) for _ in range(3)]
    try:
        for proc in receivers:
            assert proc.stdout is not None
            port = int(await asyncio.wait_for(proc.stdout.readline(), 30))
            balancer.targets.append(f"http://{HOST}:{port}/hook")

        fake.webhooks.inject_fault("duplicate", times=10)
        for index in range(15):
            fake.webhooks.emit(
                "chat.typing_indicator.started",
                {"chat_id": str(uuid.uuid4()), "actor_handle": f"+1555000{index:04d}"},
            )
        await asyncio.wait_for(fake.webhooks.wait(), 60)
    finally:
        for proc in receivers:
            assert proc.stdin is not None
            proc.stdin.close()
        for proc in receivers:
            await asyncio.wait_for(proc.wait(), 30)

    deliveries = fake.webhooks.deliveries
    assert len(deliveries) == 25
    assert all(delivery.state == "delivered" for delivery in deliveries)
    pods: dict[str, set[int]] = {}
    for webhook_id, index in balancer.routed:
        pods.setdefault(webhook_id, set()).add(index)
    assert sum(1 for seen in pods.values() if len(seen) == 2) == 10  # copies on another pod

    redis = await connect(redis_url)
    try:
        log = [entry.decode().split() for entry in await redis.lrange(log_key, 0, -1)]
    finally:
        await redis.aclose()
    events = {delivery.event_id for delivery in deliveries}
    assert Counter(event_id for event_id, _ in log) == Counter(events)
    assert len({pid for _, pid in log}) == 3


# A claim whose answer never arrives


class ReplyDropper:
    """A TCP proxy to Redis that drops the connection instead of passing on the answer to the
    next ``drops[NAME]`` commands named ``NAME`` (``SET`` with ``NX``, ``EVALSHA``): Redis
    executed them, the client never hears so. Commands named in ``refuse`` get an error
    answer and never reach Redis. Everything else passes through."""

    def __init__(self, redis_url: str) -> None:
        parts = urlsplit(redis_url)
        self.target = (parts.hostname or HOST, parts.port or 6379)
        self.drops: Counter[str] = Counter()
        self.dropped: list[str] = []
        self.refuse: set[str] = set()  # commands answered with an error, never run
        self.url = ""
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, HOST, 0)
        self.url = f"redis://{HOST}:{self._server.sockets[0].getsockname()[1]}/0"

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def _doomed(self, data: bytes) -> str | None:
        command = data.upper()
        for name in self.drops:
            wanted = f"\r\n{name}\r\n".encode() in command
            if wanted and self.drops[name] > 0 and (name != "SET" or b"\r\nNX\r\n" in command):
                self.drops[name] -= 1
                return name
        return None

    async def _serve(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        server_r, server_w = await asyncio.open_connection(*self.target)
        doomed: list[str] = []
        try:

            async def upstream() -> None:
                while data := await client_r.read(65536):
                    if any(f"\r\n{name}\r\n".encode() in data.upper() for name in self.refuse):
                        client_w.write(b"-ERR this command is disabled\r\n")
                        continue
                    if (name := self._doomed(data)) is not None:
                        doomed.append(name)
                    server_w.write(data)
                    await server_w.drain()

            async def downstream() -> None:
                while data := await server_r.read(65536):
                    if doomed:
                        self.dropped.append(doomed[0])
                        return  # Redis answered; the client only sees the connection drop
                    client_w.write(data)
                    await client_w.drain()

            pumps = [asyncio.ensure_future(upstream()), asyncio.ensure_future(downstream())]
            await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
            for pump in pumps:
                pump.cancel()
            await asyncio.gather(*pumps, return_exceptions=True)
        finally:
            client_w.transport.abort()
            server_w.transport.abort()
            self._tasks.discard(task)


@pytest.fixture
async def dropper(redis_url: str) -> AsyncIterator[ReplyDropper]:
    proxy = ReplyDropper(redis_url)
    await proxy.start()
    yield proxy
    await proxy.close()


SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def delivery(webhook_id: str) -> tuple[bytes, dict[str, str]]:
    """A signed delivery of one event whose webhook-id is ``webhook_id``."""
    body = json.dumps(
        {"event_id": webhook_id, "event_type": "message.received", "data": {}}
    ).encode()
    stamp = int(time.time())
    headers = {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(stamp),
        "webhook-signature": sign_standard(SECRET, webhook_id, stamp, body),
    }
    return body, headers


def pod(redis: Redis, prefix: str, seen: list[str]) -> Router:
    """One receiver: a Router over RedisDedupe that records each dispatched event id."""
    router = Router(Verifier(SECRET), dedupe=RedisDedupe(redis, prefix=prefix),
                    wait_for_handlers=True)  # fmt: skip

    @router.on("*")
    async def record(event: WebhookEvent) -> None:
        seen.append(event.event_id)

    return router


async def test_a_claim_the_client_retried_after_a_lost_answer_is_still_its_own(
    dropper: ReplyDropper, redis_url: str
) -> None:
    """Redis takes the claim but the answer is lost, and the client library sends the SET NX
    again (redis-py 6 retries by default): the event is dispatched, once, not taken for a
    duplicate of itself."""
    prefix, seen = f"t-{uuid.uuid4().hex[:12]}:", []
    retrying = Redis.from_url(dropper.url, retry=Retry(NoBackoff(), 2),
                              retry_on_error=[RedisConnectionError])  # fmt: skip
    direct = Redis.from_url(redis_url)
    try:
        dropper.drops["SET"] = 1
        assert await pod(retrying, prefix, seen).handle(*delivery("msg_a")) == (200, b"")
        assert dropper.dropped == ["SET"]
        assert seen == ["msg_a"]
        # A copy at another pod is a duplicate.
        assert await pod(direct, prefix, seen).handle(*delivery("msg_a")) == (200, b"")
        assert seen == ["msg_a"]
    finally:
        await retrying.aclose()
        await direct.aclose()


@pytest.mark.parametrize(
    ("lost", "redelivered_to"),
    [
        (["SET"], "same pod"),
        (["SET"], "other pod"),
        (["SET", "EVALSHA"], "same pod"),
        (["SET", "EVALSHA"], "other pod, after this one's next claim"),
    ],
)
async def test_a_claim_that_failed_after_redis_took_it_does_not_eat_the_redelivery(
    dropper: ReplyDropper, redis_url: str, lost: list[str], redelivered_to: str
) -> None:
    """Redis takes the claim but the answer is lost: the router answers 503, so Linq
    delivers again, and that redelivery is dispatched (by this pod or another) instead of
    being taken for a duplicate of a delivery nobody handled."""
    prefix, seen = f"t-{uuid.uuid4().hex[:12]}:", []
    flaky = Redis.from_url(dropper.url)
    direct = Redis.from_url(redis_url)
    try:
        this_pod, other_pod = pod(flaky, prefix, seen), pod(direct, prefix, seen)
        dropper.drops.update(lost)
        assert (await this_pod.handle(*delivery("msg_b"))).status == 503
        assert seen == []
        assert dropper.dropped == lost
        if redelivered_to == "same pod":
            assert await this_pod.handle(*delivery("msg_b")) == (200, b"")
        else:
            if "after" in redelivered_to:
                assert await this_pod.handle(*delivery("msg_c")) == (200, b"")
            assert await other_pod.handle(*delivery("msg_b")) == (200, b"")
        assert seen.count("msg_b") == 1
        assert await other_pod.handle(*delivery("msg_b")) == (200, b"")  # later copies: dupes
        assert await this_pod.handle(*delivery("msg_b")) == (200, b"")
        assert seen.count("msg_b") == 1
    finally:
        await flaky.aclose()
        await direct.aclose()


async def test_a_claim_redis_refuses_to_give_back_blocks_nothing(
    dropper: ReplyDropper, redis_url: str
) -> None:
    """The claim's answer is lost and Redis refuses the script that gives it back (scripting
    disabled): later events are still claimed and dispatched, and the redelivery to the
    same receiver is recognised as its own claim."""
    prefix, seen = f"t-{uuid.uuid4().hex[:12]}:", []
    flaky = Redis.from_url(dropper.url)
    try:
        router = pod(flaky, prefix, seen)
        dropper.drops["SET"] = 1
        dropper.refuse.add("EVALSHA")
        assert (await router.handle(*delivery("msg_e"))).status == 503
        assert await router.handle(*delivery("msg_f")) == (200, b"")
        assert await router.handle(*delivery("msg_e")) == (200, b"")
        assert await router.handle(*delivery("msg_e")) == (200, b"")
        assert seen == ["msg_f", "msg_e"]
    finally:
        await flaky.aclose()


async def test_a_router_whose_redis_is_unreachable_answers_503() -> None:
    """RedisDedupe on a Redis nobody listens on: 503 (Linq delivers again later), nothing
    dispatched, the error reported to on_error."""
    with socket.socket() as sock:  # a port that was free a moment ago: nobody listens
        sock.bind((HOST, 0))
        port = sock.getsockname()[1]
    errors: list[BaseException] = []
    redis = Redis(host=HOST, port=port)
    try:
        seen: list[str] = []
        router = Router(Verifier(SECRET), dedupe=RedisDedupe(redis), wait_for_handlers=True,
                        on_error=lambda exc, event: errors.append(exc))  # fmt: skip

        @router.on("*")
        async def record(event: WebhookEvent) -> None:
            seen.append(event.event_id)

        assert (await router.handle(*delivery("msg_d"))).status == 503
    finally:
        await redis.aclose()
    assert seen == []
    assert [type(exc) for exc in errors] == [RedisConnectionError]
