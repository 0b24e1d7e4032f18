"""Type-checked only: campaigns as users write them (the core and the arq integration)."""

from __future__ import annotations

from typing import Any

from arq.worker import create_worker
from redis.asyncio import Redis

from linq_async import LinqSession, Upload, campaign_key
from linq_async.campaigns import Campaign, CampaignOutcome, send_campaign_message
from linq_async.contrib.arq import (
    EnqueueReport,
    campaign_status,
    connect,
    enqueue_campaign,
    worker_settings,
)
from linq_async.contrib.redis import (
    CampaignStatus,
    CampaignStore,
    LineRateLimiter,
    RedisDedupe,
    deliver_campaign_message,
)


async def core(linq: LinqSession, upload: Upload) -> str | None:
    campaign = Campaign(id="spring", from_="+12223334444", text="Hi", upload=upload)
    outcome: CampaignOutcome = await send_campaign_message(linq, campaign, "+15556667777")
    key: str = campaign_key(campaign.id, "+15556667777")
    assert key == outcome.idempotency_key
    return outcome.message_id if outcome.ok else None


async def producer(linq: LinqSession) -> int:
    redis = await connect("redis://localhost:6379/0")
    report: EnqueueReport = await enqueue_campaign(
        redis, ["+15556667777"], from_="+12223334444", file="flyer.pdf", linq=linq, rate="2/s"
    )
    status: CampaignStatus = await campaign_status(redis, report.campaign_id, check_jobs=True)
    await redis.aclose()
    return status.pending


def worker() -> None:
    settings: dict[str, Any] = worker_settings(max_jobs=4, job_timeout=120)
    create_worker(settings)


async def another_queue(linq: LinqSession, redis: Redis) -> bool:
    store = CampaignStore(redis)
    outcome = await deliver_campaign_message(
        linq, store, "spring", "+15556667777", limiter=LineRateLimiter(redis), final_attempt=True
    )
    first: bool = await RedisDedupe(redis).claim("msg_123", 3600)
    return outcome.ok and first
