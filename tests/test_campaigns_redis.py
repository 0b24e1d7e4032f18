"""Campaign records, send budgets, webhook dedupe and arq jobs, on a real Redis (Valkey).

Every test uses its own campaign ids, queue and sending line, so tests never see each other's
keys and the Redis is never flushed. arq workers run in this process (burst mode) with a
session pointed at the test's fake; the multi-process tests are in
``test_campaigns_workers.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import socket
import sys
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from _support import SleepRecorder, api_requests
from arq.connections import ArqRedis
from arq.constants import job_key_prefix, result_key_prefix
from arq.worker import Retry, create_worker
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.retry import Retry as RedisRetry

from linq_async import LinqSession, LinqUsageError, RetryPolicy, ServerError, Upload, campaign_key
from linq_async.campaigns import Campaign, CampaignOutcome
from linq_async.contrib.arq import (
    JOB_NAME,
    campaign_status,
    close_worker,
    connect,
    enqueue_campaign,
    send_campaign_job,
    worker_settings,
)
from linq_async.contrib.redis import (
    CampaignNotFoundError,
    CampaignStatus,
    CampaignStore,
    LineRateLimiter,
    RateBudgetTimeout,
    RedisDedupe,
    deliver_campaign_message,
)
from linq_async.testing import FakeLinqServer

pytestmark = [
    pytest.mark.redis,
    # arq 0.28's Worker.close() calls redis-py's deprecated close() (arq is in maintenance).
    pytest.mark.filterwarnings("ignore:Call to deprecated close:DeprecationWarning"),
]

CLAIMER = Path(__file__).with_name("_dedupe_claimer.py")
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def uid() -> str:
    return uuid.uuid4().hex[:12]


@pytest.fixture
def line() -> str:
    """A sending line no other test uses (its rate budget is its own)."""
    return f"+1{random.randrange(2 * 10**9, 10**10)}"


def people(count: int) -> list[str]:
    return [f"+1555{index:07d}" for index in range(count)]


def session_factory(fake: FakeLinqServer, sleeps: SleepRecorder) -> Callable[[], LinqSession]:
    def make() -> LinqSession:
        retry = RetryPolicy(attempts=2, sleep=sleeps)
        return LinqSession(fake.api_key, base_url=fake.base_url, retry=retry)

    return make


async def run_worker(
    redis_url: str, queue: str, fake: FakeLinqServer, sleeps: SleepRecorder, **settings: Any
) -> None:
    """Run an arq worker in this process until the queue is empty."""
    options = worker_settings(
        redis_url,
        queue_name=queue,
        handle_signals=False,
        session_factory=session_factory(fake, sleeps),
        **settings,
    )
    worker = create_worker(options, burst=True, poll_delay=0.02)
    try:
        await worker.async_run()
    finally:
        await worker.close()


@contextlib.asynccontextmanager
async def job_context(
    redis: ArqRedis, fake: FakeLinqServer, sleeps: SleepRecorder, **settings: Any
) -> AsyncIterator[dict[str, Any]]:
    """The ctx arq would give a campaign job: the worker's startup before, its shutdown after."""
    options = worker_settings(session_factory=session_factory(fake, sleeps), **settings)
    ctx: dict[str, Any] = {"redis": redis, "job_try": 1}
    await options["on_startup"](ctx)
    try:
        yield ctx
    finally:
        await options["on_shutdown"](ctx)


def messages_per_recipient(fake: FakeLinqServer) -> Counter[str]:
    return Counter(fake.chats[m.chat_id].handles[0] for m in fake.messages.values())


# Webhook dedupe


async def test_dedupe_first_claim_wins(redis: ArqRedis, uid: str) -> None:
    """The first claim of a key is True; every later one, False."""
    dedupe = RedisDedupe(redis, prefix=f"t-{uid}:")
    assert await dedupe.claim("evt_1", 60) is True
    assert await dedupe.claim("evt_1", 60) is False
    assert await dedupe.claim("evt_2", 60) is True
    assert await redis.exists(f"t-{uid}:evt_1")


async def test_dedupe_holds_a_claim_for_at_least_min_ttl(redis: ArqRedis, uid: str) -> None:
    """A claim lasts the longer of the caller's ttl and min_ttl (6 hours by default)."""
    default = RedisDedupe(redis, prefix=f"t-{uid}:")
    assert default.min_ttl == 6 * 3600
    await default.claim("short", 1)
    assert 6 * 3600 * 1000 - 60_000 < await redis.pttl(f"t-{uid}:short") <= 6 * 3600 * 1000
    exact = RedisDedupe(redis, prefix=f"t-{uid}:", min_ttl=0)
    await exact.claim("exact", 2.5)
    assert 0 < await redis.pttl(f"t-{uid}:exact") <= 2500


@pytest.mark.parametrize(("key", "ttl"), [("", 60), (None, 60), ("k", 0), ("k", -1), ("k", True)])
async def test_dedupe_refuses_bad_arguments(
    redis: ArqRedis, uid: str, key: object, ttl: object
) -> None:
    """An empty key or a ttl that is not a positive number is a usage error."""
    with pytest.raises(LinqUsageError):
        await RedisDedupe(redis, prefix=f"t-{uid}:").claim(key, ttl)  # type: ignore[arg-type]


async def test_dedupe_across_processes_exactly_one_claim_wins(redis_url: str, uid: str) -> None:
    """4 processes claim the same 60 keys at once: each key is won exactly once."""
    keys = [f"evt_{index}" for index in range(60)]
    prefix, go = f"t-{uid}:", f"t-{uid}-go"
    procs = []
    for seed in range(4):
        order = random.Random(seed).sample(keys, len(keys))
        procs.append(
            await asyncio.create_subprocess_exec(
                sys.executable,
                str(CLAIMER),
                redis_url,
                prefix,
                go,
                *order,
                stdout=asyncio.subprocess.PIPE,
                cwd=REPO,
            )
        )
    for proc in procs:
        assert proc.stdout is not None
        assert await asyncio.wait_for(proc.stdout.readline(), 30) == b"ready\n"
    redis = await connect(redis_url)
    try:
        await redis.set(go, b"1", ex=60)
    finally:
        await redis.aclose()
    wins: Counter[str] = Counter()
    for proc in procs:
        out, _ = await asyncio.wait_for(proc.communicate(), 30)
        assert proc.returncode == 0
        wins.update(json.loads(out.decode().splitlines()[-1]))
    assert wins == Counter(keys)


# Send budgets


async def test_a_full_window_times_out_with_the_wait_left(redis: ArqRedis, line: str) -> None:
    """Under 3/minute the 4th send has no budget: RateBudgetTimeout says how long to wait."""
    limiter = LineRateLimiter(redis)
    for _ in range(3):
        await limiter.acquire(line, "3/minute", timeout=5)
    with pytest.raises(RateBudgetTimeout) as info:
        await limiter.acquire(line, "3/minute", timeout=0.5)
    assert info.value.line == line
    assert 50 < info.value.retry_after <= 61
    # Another line has a budget of its own.
    await limiter.acquire(line[:-1] + str((int(line[-1]) + 1) % 10), "3/minute", timeout=5)


async def test_waiting_takes_the_next_slot(redis: ArqRedis, line: str) -> None:
    """With 1/s, a second send waits for the window to free a slot, then gets it."""
    limiter = LineRateLimiter(redis)
    assert await limiter.acquire(line, "1/s") < 0.5
    waited = await limiter.acquire(line, "1/s", timeout=10)
    assert waited > 0


# Campaign records


async def test_the_store_refuses_an_id_that_cannot_name_a_campaign(
    redis: ArqRedis, uid: str, line: str
) -> None:
    """Every read of the store checks the id first (a LinqUsageError, before Redis), and
    an id of a str subclass reads the campaign of its plain value."""

    class Spelled(str):
        def __str__(self) -> str:
            return "OTHER"

        def __format__(self, spec: str) -> str:
            return "OTHER"

    store = CampaignStore(redis)
    campaign = Campaign(id=f"c-{uid}", from_=line, text="Hi")
    await store.save(campaign, rate=None, ttl=3600)
    stored = await store.get(Spelled(f"c-{uid}"))
    assert stored is not None
    assert stored.campaign == campaign
    for bad in (None, "", "x" * 256, "a\ud800", 1):
        for read in (store.get, store.pending, store.failures, store.status):
            with pytest.raises(LinqUsageError, match="campaign id"):
                await read(bad)  # type: ignore[arg-type]


async def test_store_saves_and_checks_a_campaign(redis: ArqRedis, uid: str, line: str) -> None:
    """A saved campaign reads back; the same id with another message is refused."""
    store = CampaignStore(redis)
    campaign = Campaign(id=f"c-{uid}", from_=line, text="Hi")
    saved = await store.save(campaign, rate="2/s", ttl=3600)
    assert saved.campaign == campaign
    assert saved.rate == "2/s"
    assert saved.created_at.endswith("Z")
    with pytest.raises(LinqUsageError, match="another message"):
        await store.save(Campaign(id=f"c-{uid}", from_=line, text="Bye"), rate=None)
    kept = await CampaignStore(redis).save(campaign, rate=None, ttl=3600)
    assert kept.rate == "2/s"
    again = await CampaignStore(redis).save(campaign, rate="1/s", ttl=3600)
    assert again.rate == "1/s"
    assert again.created_at == saved.created_at
    assert 0 < await redis.pttl(f"linq-async:campaign:{{c-{uid}}}") <= 3600 * 1000


async def test_store_counts_and_lists_outcomes(redis: ArqRedis, uid: str, line: str) -> None:
    """Recorded outcomes make the status; a failure never replaces a success."""
    store = CampaignStore(redis)
    cid = f"c-{uid}"
    await store.save(Campaign(id=cid, from_=line, text="Hi"), rate=None, ttl=600)
    a, b, c = people(3)
    assert await store.add_recipients(cid, [a, b, c]) == 3
    assert await store.add_recipients(cid, [a]) == 0
    sent = CampaignOutcome(
        campaign_id=cid, recipient=a, status="sent", chat_id="ch", message_id="m"
    )
    failed = CampaignOutcome(
        campaign_id=cid, recipient=b, status="failed", error=ServerError(status=503, message="x")
    )
    assert await store.record(sent, attempts=1)
    assert await store.record(failed, attempts=8)
    assert not await store.record(CampaignOutcome(campaign_id=cid, recipient=a, status="failed"))
    assert await store.status(cid) == CampaignStatus(
        campaign_id=cid, total=3, sent=1, failed=1, pending=1
    )
    assert await store.pending(cid) == [c]
    (failure,) = await store.failures(cid)
    assert (failure.recipient, failure.error, failure.status, failure.attempts) == (
        b,
        "ServerError",
        503,
        8,
    )
    found = await store.outcome(cid, a)
    assert found is not None
    assert (found.status, found.message_id) == ("sent", "m")
    for part in (":recipients", ":sent", ":failed"):
        assert 0 < await redis.pttl(f"linq-async:campaign:{{{cid}}}{part}") <= 600 * 1000
    with pytest.raises(LinqUsageError):
        await store.record(CampaignOutcome(campaign_id=cid, recipient=c, status="transient"))


async def test_recipients_are_added_in_their_canonical_spelling(
    redis: ArqRedis, uid: str, line: str, fake: FakeLinqServer, linq: LinqSession
) -> None:
    """add_recipients stores emails lowercased (so their jobs are recognised), refuses a
    non-handle before adding any, takes more recipients than one script call can, and gives
    the set the campaign record's expiry."""
    store = CampaignStore(redis)
    cid = f"c-{uid}"
    await store.save(Campaign(id=cid, from_=line, text="Hi"), rate=None, ttl=600)
    with pytest.raises(LinqUsageError, match="recipient"):
        await store.add_recipients(cid, ["+15550001111", "not a handle"])
    with pytest.raises(LinqUsageError, match="a list of handles"):
        await store.add_recipients(cid, "ann@example.com")
    assert await redis.scard(f"linq-async:campaign:{{{cid}}}:recipients") == 0
    assert await store.add_recipients(cid, ["Ann@Example.com", "ann@example.COM"]) == 1
    assert await store.is_recipient(cid, "ann@example.com")
    assert await store.is_recipient(cid, "ANN@example.com")
    assert not await store.is_recipient(cid, "+15550001111")
    outcome = await deliver_campaign_message(linq, store, cid, "Ann@Example.com")
    assert outcome.status == "sent"
    assert messages_per_recipient(fake) == Counter(["ann@example.com"])
    many = [f"+1666{index:07d}" for index in range(2_500)]
    assert await store.add_recipients(cid, many) == 2_500
    assert (await store.status(cid)).total == 2_501
    assert 0 < await redis.pttl(f"linq-async:campaign:{{{cid}}}:recipients") <= 600 * 1000


async def test_status_of_an_unknown_campaign(redis: ArqRedis, uid: str) -> None:
    """A campaign Redis does not hold is CampaignNotFoundError, not zeros."""
    with pytest.raises(CampaignNotFoundError):
        await campaign_status(redis, f"missing-{uid}")


# The producer


async def test_enqueue_one_job_per_recipient_keyed_by_campaign_key(
    redis: ArqRedis, uid: str, line: str
) -> None:
    """One job per unique recipient, its id the idempotency key; a re-run adds none."""
    queue, cid = f"q-{uid}", f"c-{uid}"
    recipients = [*people(5), "Ann@Example.com", "ann@example.com", people(1)[0]]
    report = await enqueue_campaign(
        redis, recipients, from_=line, text="Hi", campaign_id=cid, queue_name=queue, rate="5/s"
    )
    assert (report.recipients, report.duplicates, report.enqueued) == (6, 2, 6)
    expected = {campaign_key(cid, r) for r in [*people(5), "ann@example.com"]}
    assert {m.decode() for m in await redis.zrange(queue, 0, -1)} == expected
    again = await enqueue_campaign(
        redis, recipients, from_=line, text="Hi", campaign_id=cid, queue_name=queue, rate="5/s"
    )
    assert (again.enqueued, again.already_queued) == (0, 6)
    assert await redis.zcard(queue) == 6
    status = await campaign_status(redis, cid, check_jobs=True)
    assert (status.total, status.pending, status.lost) == (6, 6, 0)


@pytest.mark.parametrize(
    ("recipients", "kwargs"),
    [
        (["+15550000001", "bob"], {"text": "Hi"}),
        ("+15550000001", {"text": "Hi"}),
        (None, {"text": "Hi"}),
        (42, {"text": "Hi"}),
        ([], {"text": "Hi"}),
        (["+15550000001"], {}),
        (["+15550000001"], {"text": "Hi", "rate": "fast"}),
        (["+15550000001"], {"text": "Hi", "file": b"%PDF-1.4", "filename": "a.pdf"}),
        (["+15550000001"], {"text": "Hi", "campaign_id": ""}),
    ],
)
async def test_enqueue_checks_everything_first(
    redis: ArqRedis, uid: str, line: str, recipients: Any, kwargs: dict[str, Any]
) -> None:
    """A bad recipient, rate or id, no message, or a file without linq=: nothing stored."""
    kwargs.setdefault("campaign_id", f"c-{uid}")
    queue = f"q-{uid}"
    with pytest.raises(LinqUsageError):
        await enqueue_campaign(redis, recipients, from_=line, queue_name=queue, **kwargs)
    assert not await redis.exists(f"linq-async:campaign:{{c-{uid}}}")
    assert await redis.zcard(queue) == 0


async def test_a_file_is_uploaded_once_across_runs(
    redis: ArqRedis,
    redis_url: str,
    uid: str,
    line: str,
    fake: FakeLinqServer,
    linq: LinqSession,
    sleeps: SleepRecorder,
    tmp_path: Path,
) -> None:
    """The producer uploads once; running it again reuses the stored upload."""
    flyer = tmp_path / "flyer.pdf"
    flyer.write_bytes(b"%PDF-1.4\n" + b"x" * 1000)
    queue, cid = f"q-{uid}", f"c-{uid}"

    async def produce(path: Path, recipients: list[str]) -> Any:
        return await enqueue_campaign(
            redis, recipients, from_=line, file=path, text="Hi", linq=linq,
            campaign_id=cid, queue_name=queue,
        )  # fmt: skip

    first = await produce(flyer, people(3))
    assert first.upload is not None
    second = await produce(flyer, people(4))
    assert second.upload == first.upload
    assert (second.enqueued, second.already_queued) == (1, 3)
    assert len(fake.attachments) == 1
    other = tmp_path / "other.pdf"
    other.write_bytes(b"%PDF-1.4\n")
    with pytest.raises(LinqUsageError, match="another file"):
        await produce(other, people(5))
    await run_worker(redis_url, queue, fake, sleeps)
    media = {m.parts[-1]["attachment_id"] for m in fake.messages.values()}
    assert media == {first.upload.attachment_id}
    assert messages_per_recipient(fake) == Counter(people(4))


# Workers (in this process)


async def test_a_campaign_runs_to_done_and_a_rerun_sends_nothing(
    redis: ArqRedis,
    redis_url: str,
    uid: str,
    line: str,
    fake: FakeLinqServer,
    sleeps: SleepRecorder,
) -> None:
    """Every recipient gets one message, the status agrees, and producing again is a no-op."""
    queue, cid = f"q-{uid}", f"c-{uid}"
    recipients = people(30)
    await enqueue_campaign(redis, recipients, from_=line, text="Hi", campaign_id=cid,
                           queue_name=queue)  # fmt: skip
    await run_worker(redis_url, queue, fake, sleeps)
    assert messages_per_recipient(fake) == Counter(recipients)
    status = await campaign_status(redis, cid, check_jobs=True)
    assert status == CampaignStatus(campaign_id=cid, total=30, sent=30, failed=0, pending=0, lost=0)
    posts = len(api_requests(fake))
    again = await enqueue_campaign(redis, recipients, from_=line, text="Hi", campaign_id=cid,
                                   queue_name=queue)  # fmt: skip
    assert (again.enqueued, again.already_sent) == (0, 30)
    assert await redis.zcard(queue) == 0
    await run_worker(redis_url, queue, fake, sleeps)
    assert len(api_requests(fake)) == posts


async def test_a_permanent_failure_is_recorded_and_not_retried(
    redis: ArqRedis,
    redis_url: str,
    uid: str,
    line: str,
    fake: FakeLinqServer,
    linq: LinqSession,
    sleeps: SleepRecorder,
) -> None:
    """A blocked recipient fails once, for good; retry_failed sends again after unblocking."""
    queue, cid = f"q-{uid}", f"c-{uid}"
    ann, bob = people(2)
    await linq.blocked_handles.block(bob)
    await enqueue_campaign(redis, [ann, bob], from_=line, text="Hi", campaign_id=cid,
                           queue_name=queue)  # fmt: skip
    await run_worker(redis_url, queue, fake, sleeps)
    tries = [r for r in api_requests(fake) if r.path.endswith("/v3/chats")]
    assert len(tries) == 2  # one each: the 403 was not retried
    status = await campaign_status(redis, cid)
    assert (status.sent, status.failed, status.pending) == (1, 1, 0)
    (failure,) = await CampaignStore(redis).failures(cid)
    assert (failure.recipient, failure.error, failure.code) == (bob, "PermissionDeniedError", 2026)
    rerun = await enqueue_campaign(redis, [ann, bob], from_=line, text="Hi", campaign_id=cid,
                                   queue_name=queue)  # fmt: skip
    assert (rerun.enqueued, rerun.already_failed) == (0, 1)
    await linq.blocked_handles.unblock(bob)
    retried = await enqueue_campaign(redis, [ann, bob], from_=line, text="Hi", campaign_id=cid,
                                     queue_name=queue, retry_failed=True)  # fmt: skip
    assert (retried.enqueued, retried.already_sent) == (1, 1)
    await run_worker(redis_url, queue, fake, sleeps)
    assert messages_per_recipient(fake) == Counter([ann, bob])
    assert (await campaign_status(redis, cid)).sent == 2


async def test_a_transient_failure_retries_with_backoff_then_gives_up(
    redis: ArqRedis, uid: str, line: str, fake: FakeLinqServer, sleeps: SleepRecorder
) -> None:
    """503s after the session's retries: arq Retry with backoff; on the last try, failed."""
    cid = f"c-{uid}"
    (ann,) = people(1)
    await enqueue_campaign(redis, [ann], from_=line, text="Hi", campaign_id=cid,
                           queue_name=f"q-{uid}")  # fmt: skip
    async with job_context(redis, fake, sleeps, max_tries=3, retry_delay=4.0) as ctx:
        fake.fail_next(503, path="/v3/chats", times=100)
        with pytest.raises(Retry) as first:
            await send_campaign_job(ctx, cid, ann)
        assert 2000 <= (first.value.defer_score or 0) <= 4000
        ctx["job_try"] = 2
        with pytest.raises(Retry) as second:
            await send_campaign_job(ctx, cid, ann)
        assert 4000 <= (second.value.defer_score or 0) <= 8000
        assert (await campaign_status(redis, cid)).pending == 1
        ctx["job_try"] = 3
        assert await send_campaign_job(ctx, cid, ann) == "failed"
        (failure,) = await CampaignStore(redis).failures(cid)
        assert (failure.error, failure.attempts) == ("ServerError", 3)


async def test_a_rate_limited_send_waits_at_least_retry_after(
    redis: ArqRedis, uid: str, line: str, fake: FakeLinqServer, sleeps: SleepRecorder
) -> None:
    """429 with Retry-After: 120 after the session's retries: the job is deferred >= 120 s."""
    cid = f"c-{uid}"
    (ann,) = people(1)
    await enqueue_campaign(redis, [ann], from_=line, text="Hi", campaign_id=cid,
                           queue_name=f"q-{uid}")  # fmt: skip
    async with job_context(redis, fake, sleeps) as ctx:
        fake.rate_limit(times=10, retry_after=120, path="/v3/chats")
        with pytest.raises(Retry) as info:
            await send_campaign_job(ctx, cid, ann)
        assert (info.value.defer_score or 0) >= 120_000


async def test_no_budget_in_time_defers_the_job(
    redis: ArqRedis, uid: str, line: str, fake: FakeLinqServer, sleeps: SleepRecorder
) -> None:
    """A line out of budget for longer than rate_wait: Retry until a slot frees, no send."""
    cid = f"c-{uid}"
    ann, bob = people(2)
    await enqueue_campaign(redis, [ann, bob], from_=line, text="Hi", campaign_id=cid,
                           queue_name=f"q-{uid}", rate="1/minute")  # fmt: skip
    async with job_context(redis, fake, sleeps, job_timeout=10, rate_wait=0.5) as ctx:
        assert await send_campaign_job(ctx, cid, ann) == "sent"
        with pytest.raises(Retry) as info:
            await send_campaign_job(ctx, cid, bob)
        assert (info.value.defer_score or 0) >= 50_000
        assert messages_per_recipient(fake) == Counter([ann])
        # A job that runs again for a recipient already done sends nothing.
        assert await send_campaign_job(ctx, cid, ann) == "sent"
        assert len(fake.messages) == 1


async def test_lost_jobs_are_counted_and_enqueued_again(
    redis: ArqRedis,
    redis_url: str,
    uid: str,
    line: str,
    fake: FakeLinqServer,
    sleeps: SleepRecorder,
) -> None:
    """A job arq dropped (expired, or finished without our record) shows as lost; a re-run
    of the producer enqueues it again."""
    queue, cid = f"q-{uid}", f"c-{uid}"
    ann, bob, cat = people(3)
    await enqueue_campaign(redis, [ann, bob, cat], from_=line, text="Hi", campaign_id=cid,
                           queue_name=queue)  # fmt: skip
    await redis.delete(job_key_prefix + campaign_key(cid, ann))  # expired
    await redis.delete(job_key_prefix + campaign_key(cid, bob))  # finished by arq, no record
    await redis.zrem(queue, campaign_key(cid, bob))
    await redis.set(result_key_prefix + campaign_key(cid, bob), b"x", ex=600)
    status = await campaign_status(redis, cid, check_jobs=True)
    assert (status.pending, status.lost) == (3, 2)
    again = await enqueue_campaign(redis, [ann, bob, cat], from_=line, text="Hi",
                                   campaign_id=cid, queue_name=queue)  # fmt: skip
    assert (again.enqueued, again.already_queued) == (2, 1)
    await run_worker(redis_url, queue, fake, sleeps)
    assert messages_per_recipient(fake) == Counter([ann, bob, cat])
    assert (await campaign_status(redis, cid, check_jobs=True)).lost == 0


async def test_a_job_of_an_unknown_campaign_fails(
    redis: ArqRedis, uid: str, fake: FakeLinqServer, sleeps: SleepRecorder
) -> None:
    """A job whose campaign expired fails without sending (and without a record)."""
    async with job_context(redis, fake, sleeps) as ctx:
        assert await send_campaign_job(ctx, f"gone-{uid}", "+15550000001") == "failed"
        assert api_requests(fake) == []


class _Posing:
    """A caller's wrapper that spells itself as a real recipient."""

    def __init__(self, spelled: str) -> None:
        self.spelled = spelled

    def __str__(self) -> str:
        return self.spelled


class _PosingStr(str):
    """Not a handle, but its ``__str__`` names one."""

    spelled = ""

    def __str__(self) -> str:
        return self.spelled


class _AlwaysEqual(str):
    """Says it equals anything: taken as it says, a different message would pass as the same."""

    def __eq__(self, other: object) -> bool:
        return True

    def __ne__(self, other: object) -> bool:
        return False

    __hash__ = str.__hash__


async def test_a_job_naming_no_handle_of_the_campaign_is_refused_unrecorded(
    redis: ArqRedis,
    uid: str,
    line: str,
    fake: FakeLinqServer,
    linq: LinqSession,
    sleeps: SleepRecorder,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A job whose recipient is no handle, or not one of the campaign's, fails, records
    nothing and sends nothing: neither a real recipient's name (a ``__str__`` that spells
    one) nor a typo is marked failed, and nobody the campaign does not name gets its
    message."""
    cid = f"c-{uid}"
    ann, bob = people(2)
    await enqueue_campaign(redis, [ann, bob], from_=line, text="Hi", campaign_id=cid,
                           queue_name=f"q-{uid}")  # fmt: skip
    posing = _PosingStr("not a handle")
    posing.spelled = bob
    async with job_context(redis, fake, sleeps) as ctx:
        for bad in (_Posing(bob), posing, " " + ann):
            assert await send_campaign_job(ctx, cid, bad) == "failed"  # type: ignore[arg-type]
        assert api_requests(fake) == []
        status = await campaign_status(redis, cid)
        assert (status.total, status.sent, status.failed, status.pending) == (2, 0, 0, 2)
        assert await CampaignStore(redis).failures(cid) == []
        assert await send_campaign_job(ctx, cid, bob) == "sent"  # bob's own job still sends
        carol = people(3)[2]  # a handle, but not one the campaign names
        assert await send_campaign_job(ctx, cid, carol) == "failed"
        store = CampaignStore(redis)
        with caplog.at_level(logging.WARNING, logger="linq_async.contrib.redis"):
            outcome = await deliver_campaign_message(linq, store, cid, carol)
        assert isinstance(outcome.error, LinqUsageError)
        assert "add_recipients" in str(outcome.error)
        assert f"is not a recipient of campaign {cid!r}" in caplog.text  # said, not silent
        status = await campaign_status(redis, cid)
        assert (status.total, status.sent, status.failed, status.pending) == (2, 1, 0, 1)
        assert await store.pending(cid) == [ann]
    assert messages_per_recipient(fake) == Counter([bob])


async def test_a_campaign_keeps_its_message_against_a_str_subclass_posing_as_it(
    redis: ArqRedis, uid: str, line: str
) -> None:
    """A text or line whose ``__eq__`` says yes to anything is taken as its plain value, so
    enqueueing another message under the campaign's id is refused, not silently dropped."""

    cid, queue = f"c-{uid}", f"q-{uid}"
    await enqueue_campaign(redis, people(1), from_=line, text="Hi", campaign_id=cid,
                           queue_name=queue)  # fmt: skip
    with pytest.raises(LinqUsageError, match="another message"):
        await enqueue_campaign(redis, people(2), from_=line, text=_AlwaysEqual("Bye"),
                               campaign_id=cid, queue_name=queue)  # fmt: skip
    with pytest.raises(LinqUsageError, match="another message"):
        await enqueue_campaign(redis, people(2), from_=_AlwaysEqual("+19998887777"), text="Hi",
                               campaign_id=cid, queue_name=queue)  # fmt: skip
    stored = await CampaignStore(redis).get(cid)
    assert stored is not None
    assert stored.campaign.text == "Hi"
    assert await redis.zcard(queue) == 1


@contextlib.asynccontextmanager
async def idle_worker(
    redis_url: str, uid: str, fake: FakeLinqServer, sleeps: SleepRecorder
) -> AsyncIterator[tuple[Any, LinqSession]]:
    """A real arq worker past its startup (its session opened), with an empty queue."""
    sessions: list[LinqSession] = []
    make = session_factory(fake, sleeps)

    def tracked() -> LinqSession:
        sessions.append(make())
        return sessions[-1]

    options = worker_settings(
        redis_url, queue_name=f"q-{uid}", handle_signals=False, session_factory=tracked
    )
    worker = create_worker(options, burst=True, poll_delay=0.02)
    await worker.async_run()  # the queue is empty: startup, then back at once
    (linq,) = sessions
    assert not linq.closed
    try:
        yield worker, linq
    finally:
        if worker.pool is not None:  # the test failed before the worker closed
            await worker.pool.close(close_connection_pool=True)
        await linq.close()


async def test_close_worker_closes_after_a_job_cancelled_before_it_ran(
    redis_url: str, uid: str, fake: FakeLinqServer, sleeps: SleepRecorder
) -> None:
    """A job task that ended cancelled (as one does when arq's signal handler cancels it
    while arq still reads the job from Redis) and one still running: close_worker cancels
    the running one, and closes the worker's session and Redis pool without raising."""
    async with idle_worker(redis_url, uid, fake, sleeps) as (worker, linq):
        cancelled_early = asyncio.ensure_future(asyncio.Event().wait())
        running = asyncio.ensure_future(asyncio.Event().wait())
        finished = asyncio.ensure_future(asyncio.sleep(0, "done"))
        await finished
        cancelled_early.cancel()
        worker.tasks.update({"early": cancelled_early, "running": running, "finished": finished})

        await close_worker(worker)
        assert running.cancelled()
        assert cancelled_early.cancelled()
        assert finished.result() == "done"
        assert linq.closed  # the shutdown hook ran
        assert worker.pool is None  # arq closed its pool (the property reads its _pool)


async def test_close_worker_logs_a_job_task_that_failed_and_closes(
    redis_url: str,
    uid: str,
    fake: FakeLinqServer,
    sleeps: SleepRecorder,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A job task that failed with an error of arq's own (a job hook, Redis while arq
    recorded the outcome): Worker.close() would raise it and skip the shutdown;
    close_worker logs it and closes."""
    async with idle_worker(redis_url, uid, fake, sleeps) as (worker, linq):

        async def hook_failed() -> None:
            raise RuntimeError("after_job_end hook failed")

        failed = asyncio.ensure_future(hook_failed())
        await asyncio.wait([failed])
        worker.tasks["failed-job"] = failed

        with caplog.at_level("ERROR", logger="linq_async.contrib.arq"):
            await close_worker(worker)
        assert linq.closed
        assert worker.pool is None
        (record,) = [r for r in caplog.records if r.name == "linq_async.contrib.arq"]
        assert "failed-job" in record.getMessage()
        assert record.exc_info is not None
        assert record.exc_info[1] is failed.exception()


async def cancel_close_worker_in_a_job_cleanup(
    worker: Any, cleanup_seconds: float
) -> tuple[asyncio.Task[None], asyncio.Event]:
    """Give ``worker`` a running job (a stand-in for arq's task) whose cleanup, once the
    job is cancelled, takes ``cleanup_seconds``; start close_worker in a task and cancel
    that task as the cleanup starts: (the close_worker task, set when the cleanup is done)."""
    started, done = asyncio.Event(), asyncio.Event()

    async def job() -> None:
        try:
            await asyncio.Event().wait()
        finally:
            started.set()
            await asyncio.sleep(cleanup_seconds)
            done.set()

    worker.tasks["slow"] = asyncio.ensure_future(job())
    await asyncio.sleep(0)  # the job runs
    caller = asyncio.ensure_future(close_worker(worker))
    await started.wait()
    caller.cancel()
    return caller, done


async def test_close_worker_finishes_closing_when_its_caller_is_cancelled(
    redis_url: str, uid: str, fake: FakeLinqServer, sleeps: SleepRecorder
) -> None:
    """The task awaiting close_worker is cancelled (twice) while a job's cleanup still
    runs: the close goes on to the shutdown hook and arq's pool, then the caller ends
    cancelled."""
    async with idle_worker(redis_url, uid, fake, sleeps) as (worker, linq):
        caller, cleanup_done = await cancel_close_worker_in_a_job_cleanup(worker, 0.1)
        await asyncio.sleep(0.02)
        caller.cancel()
        with pytest.raises(asyncio.CancelledError):
            await caller
        assert caller.cancelled()
        assert cleanup_done.is_set()
        assert linq.closed
        assert worker.pool is None


async def test_close_worker_logs_a_failed_close_when_its_caller_was_cancelled(
    redis_url: str,
    uid: str,
    fake: FakeLinqServer,
    sleeps: SleepRecorder,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The caller is cancelled while a job's cleanup runs, then arq's close fails (Redis
    refuses the connection): the caller ends cancelled, and the failure is logged."""
    async with idle_worker(redis_url, uid, fake, sleeps) as (worker, _linq):
        live = worker.pool
        with socket.socket() as probe:  # a port nothing listens on
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        # Fault injection into arq (not our code): its pool now points at the closed port.
        worker._pool = ArqRedis.from_url(
            f"redis://127.0.0.1:{port}/0", retry=RedisRetry(NoBackoff(), 0)
        )
        try:
            caller, _ = await cancel_close_worker_in_a_job_cleanup(worker, 0.05)
            with (
                caplog.at_level("ERROR", logger="linq_async.contrib.arq"),
                pytest.raises(asyncio.CancelledError),
            ):
                await caller
            assert caller.cancelled()
            (record,) = [r for r in caplog.records if r.name == "linq_async.contrib.arq"]
            assert record.getMessage() == "closing the arq worker failed"
            assert record.exc_info is not None
            assert isinstance(record.exc_info[1], (RedisConnectionError, OSError))
        finally:
            await live.close(close_connection_pool=True)


async def test_worker_settings_refuse_bad_values() -> None:
    """Out-of-range settings are usage errors before any worker starts."""
    for bad in (
        {"max_jobs": 0},
        {"job_timeout": 0},
        {"max_tries": 0},
        {"rate_wait": 500},
        {"job_completion_wait": -5},
        {"keep_result": -1},
        {"max_retry_delay": float("nan")},
    ):
        with pytest.raises(LinqUsageError):
            worker_settings("redis://127.0.0.1:1/0", **bad)
    with pytest.raises(LinqUsageError):
        worker_settings("http://example.com")
    settings = worker_settings("redis://127.0.0.1:1/0", job_timeout=30)
    (function,) = settings["functions"]
    assert (function.name, function.timeout_s, settings["queue_name"]) == (
        JOB_NAME,
        30,
        "linq-async:campaigns",
    )


# Found by trying to break campaigns


@pytest.mark.parametrize("suffix", [":sent", ":failed", ":recipients"])
async def test_a_campaign_id_that_ends_like_a_record_shares_no_key(
    redis: ArqRedis, uid: str, line: str, suffix: str
) -> None:
    """Campaigns "X" and "X:sent" (":failed", ":recipients") keep apart records: each
    enqueues, and each status counts only its own recipients."""
    queue, cid = f"q-{uid}", f"c-{uid}"
    ann, bob = people(2)
    for campaign_id in (cid, cid + suffix):
        await enqueue_campaign(
            redis, [ann, bob], from_=line, text="Hi", campaign_id=campaign_id, queue_name=queue
        )
    store = CampaignStore(redis)
    await store.record(
        CampaignOutcome(campaign_id=cid, recipient=ann, status="sent", message_id="m")
    )
    assert await campaign_status(redis, cid) == CampaignStatus(
        campaign_id=cid, total=2, sent=1, failed=0, pending=1
    )
    assert await campaign_status(redis, cid + suffix) == CampaignStatus(
        campaign_id=cid + suffix, total=2, sent=0, failed=0, pending=2
    )
    assert await store.pending(cid + suffix) == [ann, bob]


async def test_resuming_with_a_fresh_download_url_is_the_same_message(
    redis: ArqRedis, uid: str, line: str
) -> None:
    """The same attachment with another download URL (an ephemeral-tier re-GET, or
    campaign start --attachment-id) resumes the campaign; another attachment is refused."""
    queue, cid = f"q-{uid}", f"c-{uid}"
    attachment = str(uuid.uuid4())

    def upload(url: str, attachment_id: str = attachment) -> Upload:
        return Upload(attachment_id=attachment_id, filename="a.pdf", content_type="application/pdf",
                      size_bytes=10, download_url=url)  # fmt: skip

    first = await enqueue_campaign(redis, people(2), from_=line, text="Hi", campaign_id=cid,
                                   queue_name=queue, file=upload("https://a?sig=1"))  # fmt: skip
    again = await enqueue_campaign(redis, people(3), from_=line, text="Hi", campaign_id=cid,
                                   queue_name=queue, file=upload("https://a?sig=2"))  # fmt: skip
    assert (again.enqueued, again.already_queued) == (1, 2)
    assert again.upload == first.upload  # the stored one: every job sends the same message
    with pytest.raises(LinqUsageError, match="another message"):
        await enqueue_campaign(redis, people(3), from_=line, text="Hi", campaign_id=cid,
                               queue_name=queue, file=upload("u", str(uuid.uuid4())))  # fmt: skip

    posing = _AlwaysEqual(str(uuid.uuid4()))  # another attachment, claiming to be any
    with pytest.raises(LinqUsageError, match="another message"):
        await enqueue_campaign(redis, people(3), from_=line, text="Hi", campaign_id=cid,
                               queue_name=queue, file=upload("u", posing))  # fmt: skip
    for bad in (123, None, ""):
        with pytest.raises(LinqUsageError, match="attachment_id"):
            await enqueue_campaign(redis, people(1), from_=line, text="Hi",
                                   campaign_id=f"{cid}-{bad}", queue_name=queue,
                                   file=upload("u", bad))  # type: ignore[arg-type]  # fmt: skip
        assert not await redis.exists(f"linq-async:campaign:{{{cid}-{bad}}}")
    assert await redis.zcard(queue) == 3


@pytest.mark.parametrize(
    "kwargs",
    [
        {"ttl": float("inf")},
        {"ttl": float("nan")},
        {"ttl": 1e18},
        {"ttl": 0},
        {"rate": "1/1000000000000 days"},
        {"rate": "99999999999999999999999/s"},
    ],
)
async def test_enqueue_refuses_what_redis_cannot_hold_before_uploading(
    redis: ArqRedis,
    uid: str,
    line: str,
    fake: FakeLinqServer,
    linq: LinqSession,
    tmp_path: Path,
    kwargs: dict[str, Any],
) -> None:
    """An infinite or enormous ttl, or a rate Redis cannot count, is a LinqUsageError before
    the file is uploaded: no request, nothing stored (not an OverflowError or a Redis
    error after the upload, nor jobs that fail on every try)."""
    flyer = tmp_path / "flyer.pdf"
    flyer.write_bytes(b"%PDF-1.4\n")
    with pytest.raises(LinqUsageError):
        await enqueue_campaign(redis, people(1), from_=line, text="Hi", file=flyer, linq=linq,
                               campaign_id=f"c-{uid}", queue_name=f"q-{uid}", **kwargs)  # fmt: skip
    assert fake.requests == []
    assert not await redis.exists(f"linq-async:campaign:{{c-{uid}}}")


@pytest.mark.parametrize("campaign_id", [None, "", 7])
async def test_status_of_a_campaign_id_that_is_not_one(redis: ArqRedis, campaign_id: Any) -> None:
    """campaign_status with an id no campaign can have is a usage error, not "not found"."""
    with pytest.raises(LinqUsageError):
        await campaign_status(redis, campaign_id)


async def test_a_campaign_its_rate_cannot_finish_within_its_ttl_is_refused(
    redis: ArqRedis, uid: str, line: str
) -> None:
    """100 recipients at 1/minute take 100 minutes: with a ttl of an hour the records and
    jobs would expire mid-campaign (the rest never sent, the status gone), so enqueueing is
    refused and nothing is stored; 50 recipients fit."""
    queue, cid = f"q-{uid}", f"c-{uid}"
    with pytest.raises(LinqUsageError, match="ttl"):
        await enqueue_campaign(redis, people(100), from_=line, text="Hi", campaign_id=cid,
                               queue_name=queue, rate="1/minute", ttl=3600)  # fmt: skip
    assert not await redis.exists(f"linq-async:campaign:{{{cid}}}")
    assert await redis.zcard(queue) == 0
    report = await enqueue_campaign(redis, people(50), from_=line, text="Hi", campaign_id=cid,
                                    queue_name=queue, rate="1/minute", ttl=3600)  # fmt: skip
    assert report.enqueued == 50
