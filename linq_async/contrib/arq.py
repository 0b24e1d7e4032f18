"""Campaigns on [arq](https://arq-docs.helpmanual.io/) workers: one job per recipient.

``pip install 'linq-async[arq]'``. The producer, `enqueue_campaign`, uploads the file once,
stores the campaign in Redis (`linq_async.contrib.redis.CampaignStore`) and enqueues one job
per recipient whose arq job id is the recipient's idempotency key
(`linq_async.campaign_key`), so enqueuing the same campaign again adds nothing that is
queued or done. Workers (`worker_settings`, or ``linq-async worker``) open one
`LinqSession` per process and run `send_campaign_job`, which waits for the line's budget,
sends, and records the outcome; `campaign_status` counts sent, failed and pending.

Exactly once rests on the key, not on arq: arq runs a job at least once (a killed worker's
jobs run again once their lock expires, ``job_timeout`` + 10 s later), and a job that runs
again sends the same key, which the API answers with the message it already created.

```python
# worker.py: run with `arq worker.WorkerSettings` (or `linq-async worker --redis URL`)
from linq_async.contrib.arq import worker_settings

WorkerSettings = worker_settings("redis://localhost:6379/0", max_jobs=10)
```

```python
# producer
from arq import create_pool
from arq.connections import RedisSettings
from linq_async import LinqSession
from linq_async.contrib.arq import enqueue_campaign

redis = await create_pool(RedisSettings.from_dsn("redis://localhost:6379/0"))
async with LinqSession.from_env() as linq:
    report = await enqueue_campaign(
        redis, recipients, from_="+12223334444", text="Hi", file="flyer.pdf",
        linq=linq, rate="2/s",
    )
```
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import uuid
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import attrs

try:
    from arq.connections import ArqRedis, RedisSettings
    from arq.constants import job_key_prefix, result_key_prefix
    from arq.worker import Retry, Worker, func
    from redis.exceptions import RedisError
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError("linq_async.contrib.arq needs arq: pip install 'linq-async[arq]'") from exc

from .._errors import LinqUsageError
from .._keys import campaign_key, check_campaign_id
from .._sending import check_reuse
from .._session import LinqSession
from .._upload import FileInput, ProgressCallback, open_source
from .._validation import check_int, check_phone, check_text
from ..campaigns import Campaign
from ..models import Upload
from .redis import (
    CAMPAIGN_PREFIX,
    DEFAULT_CAMPAIGN_TTL,
    RATE_PREFIX,
    CampaignStatus,
    CampaignStore,
    LineRateLimiter,
    canonical_recipients,
    check_ttl,
    deliver_campaign_message,
    parse_rate,
)

if TYPE_CHECKING:
    from arq.typing import WorkerCoroutine

__all__ = [
    "JOB_NAME",
    "QUEUE_NAME",
    "EnqueueReport",
    "campaign_status",
    "close_worker",
    "connect",
    "enqueue_campaign",
    "redis_settings",
    "redis_url_from_env",
    "send_campaign_job",
    "worker_settings",
]

logger = logging.getLogger("linq_async.contrib.arq")

QUEUE_NAME = "linq-async:campaigns"
"""The arq queue campaign jobs go to, apart from arq's default queue."""
JOB_NAME = "linq_async_campaign_send"
"""The name campaign jobs are registered and enqueued under."""
REDIS_URL_VAR = "LINQ_REDIS_URL"
DEFAULT_REDIS_URL = "redis://localhost:6379/0"
_STATE = "linq_async_campaigns"
_CHUNK = 500  # recipients per round of reads and enqueues
_ENQUEUE_CONCURRENCY = 32


def redis_url_from_env(environ: dict[str, str] | None = None) -> str:
    """``LINQ_REDIS_URL`` if set, else ``redis://localhost:6379/0``."""
    env = os.environ if environ is None else environ
    return env.get(REDIS_URL_VAR, "").strip() or DEFAULT_REDIS_URL


async def connect(redis_url: str | None = None) -> ArqRedis:
    """An arq Redis pool for ``redis_url`` (default: `redis_url_from_env`). Close it with
    ``await pool.aclose()``.

    Raises:
        LinqUsageError: the URL is not a ``redis://``, ``rediss://`` or ``unix://`` URL.
    """
    from arq import create_pool

    return await create_pool(redis_settings(redis_url), default_queue_name=QUEUE_NAME)


def redis_settings(redis_url: str | None = None) -> RedisSettings:
    """arq's connection settings for ``redis_url`` (default: `redis_url_from_env`).

    Raises:
        LinqUsageError: the URL is not a ``redis://``, ``rediss://`` or ``unix://`` URL.
    """
    url = redis_url or redis_url_from_env()
    try:
        return RedisSettings.from_dsn(url)
    except (RuntimeError, ValueError):
        raise LinqUsageError(
            "the Redis URL must look like redis://HOST:PORT/DB, rediss://... or unix://PATH"
        ) from None


# The worker


@attrs.frozen(kw_only=True)
class _WorkerState:
    linq: LinqSession
    store: CampaignStore
    limiter: LineRateLimiter
    max_tries: int
    rate_wait: float
    deadline: float
    retry_delay: float
    max_retry_delay: float

    def backoff(self, job_try: int, retry_after: float | None) -> float:
        """Exponential backoff with jitter, never shorter than the server's Retry-After."""
        ceiling = min(self.max_retry_delay, self.retry_delay * 2 ** max(job_try - 1, 0))
        delay: float = ceiling * random.uniform(0.5, 1.0)
        return max(delay, retry_after or 0.0)


async def send_campaign_job(ctx: dict[str, Any], campaign_id: str, recipient: str) -> str:
    """The arq job: send one recipient's message of a campaign and record the outcome.

    A plain coroutine over `linq_async.contrib.redis.deliver_campaign_message`. Outcomes:
    sent or failed for good are recorded and returned (``"sent"``, ``"failed"``); a transient
    failure raises ``arq.worker.Retry`` with exponential backoff (at least the server's
    ``Retry-After``), and on the job's last try is recorded as failed instead, so every
    recipient ends with an outcome. A Redis error, or a job about to reach arq's
    ``job_timeout`` (which arq would record as a failure and never retry), also retries.

    Args:
        ctx: arq's job context; `worker_settings` puts the session and stores in it.
        campaign_id: the campaign.
        recipient: the recipient.

    Returns:
        ``"sent"`` or ``"failed"``.

    Raises:
        arq.worker.Retry: try again later.
    """
    state: _WorkerState = ctx[_STATE]
    job_try = int(ctx.get("job_try") or 1)
    final = job_try >= state.max_tries
    try:
        # Our own deadline, inside arq's job timeout: arq records a timed-out job as failed
        # and never runs it again, while a send cut short here is retried (with its key).
        outcome = await asyncio.wait_for(
            deliver_campaign_message(
                state.linq,
                state.store,
                campaign_id,
                recipient,
                limiter=state.limiter,
                rate_wait=state.rate_wait,
                attempt=job_try,
                final_attempt=final,
            ),
            state.deadline,
        )
    except (RedisError, asyncio.TimeoutError):
        if final:
            raise
        raise Retry(defer=state.backoff(job_try, None)) from None
    if outcome.status == "transient":
        raise Retry(defer=state.backoff(job_try, outcome.retry_after))
    return outcome.status


def worker_settings(
    redis_url: str | None = None,
    *,
    queue_name: str = QUEUE_NAME,
    max_jobs: int = 10,
    job_timeout: float = 300.0,
    max_tries: int = 8,
    keep_result: float = 24 * 3600.0,
    job_completion_wait: int = 20,
    rate_wait: float | None = None,
    retry_delay: float = 5.0,
    max_retry_delay: float = 600.0,
    session_factory: Callable[[], LinqSession] = LinqSession.from_env,
    campaign_prefix: str = CAMPAIGN_PREFIX,
    rate_prefix: str = RATE_PREFIX,
    handle_signals: bool = True,
) -> dict[str, Any]:
    """arq worker settings that run campaign jobs (pass to ``arq`` or ``arq.run_worker``).

    On startup the worker opens one `LinqSession` (``session_factory()``, by default
    `LinqSession.from_env`, which reads ``LINQ_API_KEY``) for all its jobs, and closes it on
    shutdown.

    Args:
        redis_url: the Redis URL; default ``LINQ_REDIS_URL``, else
            ``redis://localhost:6379/0``.
        queue_name: the queue to take jobs from (the one `enqueue_campaign` used).
        max_jobs: jobs run at once by this worker. Jobs waiting for a line's budget count:
            keep ``max_jobs`` x workers / rate (in sends per second) well below
            ``rate_wait``.
        job_timeout: seconds a job may run before arq cancels it. A killed worker's jobs run
            again ``job_timeout + 10`` seconds after they started, so keep it short; it must
            cover ``rate_wait`` plus a send with the session's retries (60 s at most by
            default).
        max_tries: runs of a job before its transient failure is recorded as failed. Every
            run counts, also one cut short by a killed or stopped worker.
        keep_result: seconds arq keeps a finished job's result, during which enqueuing the
            same job id again adds nothing (the campaign's own records also keep a
            recipient done from being enqueued again, for the campaign's TTL).
        job_completion_wait: seconds a worker stopped by SIGTERM or SIGINT lets running jobs
            finish before cancelling them (cancelled jobs run again elsewhere at once);
            keep it below the pod's termination grace period (Kubernetes: 30 s by default).
        rate_wait: the most seconds a job waits for its line's budget before it is retried
            later (this counts as a try); default half of ``job_timeout``.
        retry_delay: the first retry's delay in seconds; it doubles per try, with jitter.
        max_retry_delay: the longest retry delay, in seconds.
        session_factory: makes the worker's session.
        campaign_prefix: the prefix of the campaign records' keys.
        rate_prefix: the prefix of the rate limiter's keys.
        handle_signals: let arq handle SIGINT and SIGTERM (turn off when embedding).

    Returns:
        A settings dict: ``WorkerSettings = worker_settings(...)`` in a module works with the
        ``arq`` command, and ``arq.worker.create_worker(settings)`` in code.

    Raises:
        LinqUsageError: a value is out of range.
    """
    for name, value in (
        ("job_timeout", job_timeout),
        ("retry_delay", retry_delay),
        ("max_retry_delay", max_retry_delay),
    ):
        check_ttl(value, name)
    if keep_result != 0:  # 0: arq keeps no result
        check_ttl(keep_result, "keep_result")
    check_int(
        job_completion_wait, what="job_completion_wait", low=0, expected="0 or more whole seconds"
    )
    for name, count in (("max_jobs", max_jobs), ("max_tries", max_tries)):
        check_int(count, what=name, low=1, expected="a positive int")
    wait = job_timeout / 2 if rate_wait is None else rate_wait
    if not 0 < wait < job_timeout:
        raise LinqUsageError(f"rate_wait must be between 0 and job_timeout, got {wait!r}")

    async def startup(ctx: dict[str, Any]) -> None:
        linq = session_factory()
        await linq.open()
        redis = ctx["redis"]
        ctx[_STATE] = _WorkerState(
            linq=linq,
            store=CampaignStore(redis, prefix=campaign_prefix),
            limiter=LineRateLimiter(redis, prefix=rate_prefix),
            max_tries=max_tries,
            rate_wait=wait,
            deadline=max(job_timeout - 5, job_timeout * 0.8),
            retry_delay=retry_delay,
            max_retry_delay=max(max_retry_delay, retry_delay),
        )

    async def shutdown(ctx: dict[str, Any]) -> None:
        state: _WorkerState | None = ctx.pop(_STATE, None)
        if state is not None:
            await state.linq.close()

    job: WorkerCoroutine = send_campaign_job
    return {
        "functions": [func(job, name=JOB_NAME, max_tries=max_tries, timeout=job_timeout)],
        "redis_settings": redis_settings(redis_url),
        "queue_name": queue_name,
        "on_startup": startup,
        "on_shutdown": shutdown,
        "max_jobs": max_jobs,
        "job_timeout": job_timeout,
        "max_tries": max_tries,
        "keep_result": keep_result,
        "job_completion_wait": job_completion_wait,
        "handle_signals": handle_signals,
    }


def _cancel_requested(task: asyncio.Task[Any]) -> bool:
    cancelling = getattr(task, "cancelling", None)  # Python 3.11+
    return cancelling is not None and cancelling() > 0


async def close_worker(worker: Worker) -> None:
    """Cancel the jobs an arq worker still runs, wait for them, then ``Worker.close()``.

    Use it in place of ``await worker.close()`` once the worker's main task has ended (by
    a signal, or cancelled when embedding). ``Worker.close()`` gathers arq's per-job tasks,
    and one of them ends cancelled when the cancellation reaches it outside the job
    function (while arq reads the job from Redis, records its result or retry, or runs its
    job hooks); ``Worker.close()`` then raises `asyncio.CancelledError` and skips the
    rest: the shutdown hook that closes the worker's session, and closing arq's Redis
    pool. A job cut off before it ran is still queued and runs again once its lock
    expires (``job_timeout`` + 10 s); one cut off while its outcome was recorded may run
    again then too, which for a campaign job is a replay (same key), not a second message.
    ``linq-async worker`` closes its worker this way.

    A task that arq's signal handler cancelled already is not cancelled a second time
    (on Python 3.11+; 3.10 cannot tell), so its cleanup runs to the end. A job task that
    ended with an error of arq's own (its job function's errors are arq's to record, so
    this is Redis failing, or a job hook) is logged on the ``linq_async.contrib.arq``
    logger and left out of ``Worker.close()``, which would raise it and skip the shutdown
    too. If the task awaiting ``close_worker`` is cancelled meanwhile, the close still runs
    to its end before the cancellation goes on (a cancellation that comes before
    ``close_worker`` first runs, as ``asyncio.wait_for(close_worker(w), 0)`` makes, closes
    nothing: no coroutine can help that).

    Raises:
        redis.exceptions.RedisError, OSError: Redis cannot be reached while closing (as
            ``Worker.close()``).
        asyncio.CancelledError: the caller was cancelled (after the close finished; a
            failure of the close is then logged, not raised).
    """
    closing = asyncio.ensure_future(_close_worker(worker))
    cancellation: asyncio.CancelledError | None = None
    while not closing.done():
        try:
            # (asyncio.wait neither raises the close's error nor cancels the close)
            await asyncio.wait([closing])
        except asyncio.CancelledError as exc:
            cancellation = exc  # the close goes on; the cancellation is raised after it
    if cancellation is not None:
        failure = None if closing.cancelled() else closing.exception()
        if failure is not None:  # logged: the cancellation is what goes on
            logger.error("closing the arq worker failed", exc_info=failure)
        raise cancellation
    closing.result()


async def _close_worker(worker: Worker) -> None:
    tasks = worker.tasks
    for task in tasks.values():
        if not task.done() and not _cancel_requested(task):
            task.cancel()  # as Worker.close() does when arq does not handle the signals
    await asyncio.gather(*tasks.values(), return_exceptions=True)
    for job_id, task in list(tasks.items()):
        if task.cancelled():
            del tasks[job_id]
        elif (failure := task.exception()) is not None:
            del tasks[job_id]
            logger.error("arq's task for job %s failed", job_id, exc_info=failure)
    await worker.close()


# The producer


@attrs.frozen(kw_only=True)
class EnqueueReport:
    """What `enqueue_campaign` did.

    Attributes:
        campaign_id: the campaign (pass it again to resume or extend the campaign).
        upload: the file every message carries, or ``None``.
        recipients: unique recipients given.
        duplicates: recipients given more than once (counted once).
        enqueued: jobs added now.
        already_queued: recipients whose job was already queued or running.
        already_sent: recipients already sent (nothing enqueued).
        already_failed: recipients already failed for good (nothing enqueued, unless
            ``retry_failed``).
    """

    campaign_id: str
    upload: Upload | None
    recipients: int
    duplicates: int
    enqueued: int
    already_queued: int
    already_sent: int
    already_failed: int


async def enqueue_campaign(
    redis: ArqRedis,
    recipients: Iterable[str],
    *,
    from_: str,
    text: str | None = None,
    file: FileInput | Upload | None = None,
    linq: LinqSession | None = None,
    campaign_id: str | None = None,
    rate: str | None = None,
    content_type: str | None = None,
    filename: str | None = None,
    on_upload_progress: ProgressCallback | None = None,
    queue_name: str = QUEUE_NAME,
    ttl: float = DEFAULT_CAMPAIGN_TTL,
    retry_failed: bool = False,
    campaign_prefix: str = CAMPAIGN_PREFIX,
) -> EnqueueReport:
    """Store a campaign in Redis and enqueue one job per recipient; safe to run again.

    Everything is checked before anything is uploaded or enqueued: the line, the text, the
    file, the rate and every recipient (E.164 or email; emails lowercased, duplicates
    dropped). The file is uploaded once; run this again with the same ``campaign_id`` and it
    uploads nothing (the stored upload is reused: the file's name, type and size must
    match), skips recipients already sent, failed or queued, and enqueues the rest, so an
    interrupted producer is resumed by running it again, and more recipients can be added
    later. Each job's arq id is the recipient's idempotency key and it expires after
    ``ttl`` (so a campaign may last longer than arq's default of one day).

    Args:
        redis: an arq pool (`connect`, or ``arq.create_pool``).
        recipients: the handles.
        from_: the sending line, E.164.
        text: the text part, sent before the file.
        file: a path or bytes to upload (needs ``linq``), an `Upload` to reuse, or ``None``.
        linq: the session that uploads ``file``.
        campaign_id: the campaign's id; a new random one when omitted.
        rate: the line's send rate, such as ``"2/s"`` (see
            `linq_async.contrib.redis.parse_rate`), shared by every worker; ``None`` for no
            limit but the API's. Giving another rate on a later call changes it for the
            workers within seconds; ``None`` on a later call keeps the rate set before.
        content_type: the file's MIME type; guessed from its name when omitted.
        filename: the name recipients see; the path's base name by default.
        on_upload_progress: called as ``(sent_bytes, total_bytes)`` during the upload.
        queue_name: the arq queue (the workers' ``queue_name``).
        ttl: seconds the campaign's records and jobs live, counted from this call
            (30 days by default, ten years at most). With a ``rate``, it must cover the
            time the rate needs for the recipients.
        retry_failed: also enqueue again the recipients that failed for good (their failure
            records are deleted first).
        campaign_prefix: the prefix of the campaign records' keys.

    Returns:
        What was enqueued and what was skipped.

    Raises:
        LinqUsageError: an argument or recipient is invalid (``ttl`` and ``rate`` included),
            ``file`` is a path but no ``linq`` was given, or the campaign exists with
            another message (nothing uploaded or enqueued).
        UploadError: the upload failed (nothing enqueued).
        APIStatusError: the API refused the upload slot (nothing enqueued).
    """
    from_ = check_phone(from_, what="from_")
    text = check_text(text)
    if file is None and text is None:
        raise LinqUsageError("a campaign needs a text, a file or both")
    check_ttl(ttl, "ttl")
    handles, duplicates = canonical_recipients(recipients)
    if rate is not None:
        item = parse_rate(rate)
        # Past the ttl the records and the jobs expire: the recipients not yet sent would
        # never be, and the campaign would be forgotten.
        takes = (len(handles) - 1) // item.amount * item.get_expiry()
        if takes > ttl:
            raise LinqUsageError(
                f"at {rate}, {len(handles)} recipients take {takes / 86400:.1f} days, longer "
                f"than the campaign's ttl of {ttl / 86400:.1f} days: give a longer ttl "
                "(--ttl-days) or a faster rate"
            )
    cid = str(uuid.uuid4()) if campaign_id is None else campaign_id
    cid = check_campaign_id(cid)
    to_upload: FileInput | None = None
    source = None
    if isinstance(file, Upload):
        check_reuse(content_type, filename)
    elif file is not None:
        if linq is None:
            raise LinqUsageError("uploading a file needs linq=, an open LinqSession")
        source = open_source(file, filename=filename, content_type=content_type)
        to_upload = file
    store = CampaignStore(redis, prefix=campaign_prefix)

    existing = await store.get(cid)
    upload: Upload | None = file if isinstance(file, Upload) else None
    if existing is not None and source is not None:
        stored_upload = existing.campaign.upload
        if stored_upload is None or (
            stored_upload.filename,
            stored_upload.content_type,
            stored_upload.size_bytes,
        ) != (source.filename, source.content_type, source.size):
            raise LinqUsageError(
                f"campaign {cid!r} already exists with another file; a campaign's message "
                "cannot change: use a new campaign id"
            )
        upload = stored_upload
    elif to_upload is not None and linq is not None:
        upload = await linq.upload(
            to_upload,
            content_type=content_type,
            filename=filename,
            on_progress=on_upload_progress,
        )
    campaign = Campaign(id=cid, from_=from_, text=text, upload=upload)
    upload = (await store.save(campaign, rate=rate, ttl=ttl)).campaign.upload

    counts = {"enqueued": 0, "queued": 0, "sent": 0, "failed": 0}
    limit = asyncio.Semaphore(_ENQUEUE_CONCURRENCY)

    async def enqueue(handle: str) -> None:
        job_id = campaign_key(cid, handle)
        async with limit:
            job = await redis.enqueue_job(
                JOB_NAME, cid, handle, _job_id=job_id, _queue_name=queue_name, _expires=ttl
            )
            # No job but a result: arq finished this job without our record (it expired, or
            # ran out of tries in a worker that died). The result blocks the id, so clear it
            # and enqueue again; the idempotency key makes that safe even if a message went out.
            if (
                job is None
                and not await redis.exists(job_key_prefix + job_id)
                and await store.outcome(cid, handle) is None
            ):
                await redis.delete(result_key_prefix + job_id)
                job = await redis.enqueue_job(
                    JOB_NAME, cid, handle, _job_id=job_id, _queue_name=queue_name, _expires=ttl
                )
        counts["enqueued" if job is not None else "queued"] += 1

    for start in range(0, len(handles), _CHUNK):
        chunk = handles[start : start + _CHUNK]
        await store.add_recipients(cid, chunk)
        outcomes = await store.outcomes(cid, chunk)
        todo = [h for h, outcome in zip(chunk, outcomes, strict=True) if outcome is None]
        failed = [h for h, o in zip(chunk, outcomes, strict=True) if o and o.status == "failed"]
        counts["sent"] += sum(1 for o in outcomes if o is not None and o.status == "sent")
        if retry_failed and failed:
            await store.forget_failures(cid, failed)
            await redis.delete(*(result_key_prefix + campaign_key(cid, h) for h in failed))
            todo += failed
        else:
            counts["failed"] += len(failed)
        await asyncio.gather(*(enqueue(handle) for handle in todo))
    return EnqueueReport(
        campaign_id=cid,
        upload=upload,
        recipients=len(handles),
        duplicates=duplicates,
        enqueued=counts["enqueued"],
        already_queued=counts["queued"],
        already_sent=counts["sent"],
        already_failed=counts["failed"],
    )


async def campaign_status(
    redis: ArqRedis,
    campaign_id: str,
    *,
    check_jobs: bool = False,
    campaign_prefix: str = CAMPAIGN_PREFIX,
) -> CampaignStatus:
    """Count a campaign's recipients: sent, failed for good, pending.

    Args:
        redis: an arq pool.
        campaign_id: the campaign.
        check_jobs: also count the pending recipients whose job arq no longer holds
            (``lost``): one Redis lookup per pending recipient.
        campaign_prefix: the prefix of the campaign records' keys.

    Raises:
        linq_async.contrib.redis.CampaignNotFoundError: Redis holds no such campaign.
    """
    store = CampaignStore(redis, prefix=campaign_prefix)
    status = await store.status(campaign_id)
    if not check_jobs:
        return status
    pending = await store.pending(campaign_id)
    lost = 0
    for start in range(0, len(pending), _CHUNK):
        async with redis.pipeline(transaction=False) as pipe:
            for handle in pending[start : start + _CHUNK]:
                pipe.exists(job_key_prefix + campaign_key(campaign_id, handle))
            lost += sum(1 for exists in await pipe.execute() if not exists)
    return attrs.evolve(status, lost=lost)
