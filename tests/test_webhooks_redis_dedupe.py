"""Webhook dedupe across receiver processes: 3 pods behind a load balancer, one Redis.

The fake delivers every event to one subscription URL: a round-robin balancer in this
process, in front of 3 receiver processes (``_webhook_receiver.py``), each a `Router` with a
`RedisDedupe`. Duplicated deliveries (same ``webhook-id``) land on another pod than the
first copy, and each event must still be dispatched exactly once.
"""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from linq_async.contrib.arq import connect
from linq_async.testing import FakeLinqServer

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
