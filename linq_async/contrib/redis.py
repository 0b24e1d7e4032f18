"""Campaign records, per-line send budgets and webhook dedupe, shared through Redis.

Needs redis-py (``pip install 'linq-async[redis]'``); `LineRateLimiter` also needs
[limits](https://limits.readthedocs.io/) (``pip install 'linq-async[arq]'`` brings both).
Every class takes a ``redis.asyncio.Redis`` client of yours (an arq pool is one) and never
closes it.

- `CampaignStore`: a campaign's message, rate and recipients, and each recipient's final
  outcome, so any process can send, count and resume a campaign.
- `deliver_campaign_message`: the body of one campaign job for any job queue: skip a
  recipient already done, refuse one the campaign does not name, wait for the line's
  budget, send with the derived key (`linq_async.campaigns.send_campaign_message`), record
  the outcome.
- `LineRateLimiter`: waits for a sending line's budget (``"2/s"``), one budget per line for
  every worker on the same Redis; the API's 429 and ``Retry-After`` stay the backstop.
- `RedisDedupe`: claims webhook ids atomically, so an event is handled by one receiver pod.

Redis keys, with the default prefixes:

- ``linq-async:campaign:{<id>}``, a hash: ``campaign`` (the `Campaign` as JSON), ``rate``,
  ``created_at``. It expires ``ttl`` seconds (30 days by default) after the last enqueue.
  The braces keep one campaign's keys apart from another's whatever its id holds (a
  campaign ``X:sent`` does not write into ``X``'s records).
- ``linq-async:campaign:{<id>}:recipients``, a set of canonical recipients; same expiry.
- ``linq-async:campaign:{<id>}:sent``, a hash recipient -> ``{"chat_id", "message_id",
  "attempts", "at"}``, and ``...:failed``, a hash recipient -> ``{"error", "message",
  "status", "code", "attempts", "at"}``; each write gives them the campaign's remaining
  expiry.
- ``linq-async:rate:LIMITER/line/<line>/<n>/<k>/<unit>``, a list: the moving window of
  recent sends of one line under one rate (written by limits); it expires with its window.
- ``linq-async:webhook:<webhook-id>``, a string: one claimed webhook delivery.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
import math
import random
import re
import secrets
import time
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import attrs

try:
    from redis.asyncio import Redis
    from redis.exceptions import ResponseError
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "linq_async.contrib.redis needs redis-py: pip install 'linq-async[redis]'"
    ) from exc

from .._errors import LinqError, LinqUsageError
from .._keys import campaign_key, canonical_recipient, check_campaign_id
from .._validation import as_given, is_number
from ..campaigns import Campaign, CampaignOutcome, send_campaign_message

if TYPE_CHECKING:
    from limits import RateLimitItem

    from .._session import LinqSession

__all__ = [
    "CAMPAIGN_PREFIX",
    "DEFAULT_CAMPAIGN_TTL",
    "DEFAULT_DEDUPE_TTL",
    "CampaignNotFoundError",
    "CampaignStatus",
    "CampaignStore",
    "FailedRecipient",
    "LineRateLimiter",
    "RateBudgetTimeout",
    "RedisDedupe",
    "StoredCampaign",
    "canonical_recipients",
    "deliver_campaign_message",
    "parse_rate",
]

logger = logging.getLogger("linq_async.contrib.redis")

CAMPAIGN_PREFIX = "linq-async:campaign:"
RATE_PREFIX = "linq-async:rate"
WEBHOOK_PREFIX = "linq-async:webhook:"
DEFAULT_CAMPAIGN_TTL = 30 * 24 * 3600.0
"""How long a campaign's records live after its last enqueue: 30 days, in seconds."""
DEFAULT_DEDUPE_TTL = 6 * 3600.0
"""How long a claimed webhook id is remembered at least: 6 hours, in seconds.

Linq redelivers a failed delivery with backoff for up to 30 minutes (its older documentation
said about 2 hours). Six hours covers that window twelve times over (three times the older
one), so a delivery that sat in a load balancer's or the receiver's queue, a retry that left
late, or a receiver whose clock is off by minutes still meets the first claim; a claimed id
costs about 100 bytes of Redis memory for that long. It equals the webhooks router's
``DEFAULT_DEDUPE_TTL``.
"""
_CACHE_SECONDS = 10.0  # how long a worker trusts its copy of a campaign's record (the rate)

# Records one recipient's final outcome. A failure never overwrites a success: once a
# message is known to be sent, nothing can make the records say otherwise.
_RECORD = """
if ARGV[4] == 'failed' and redis.call('HEXISTS', KEYS[3], ARGV[1]) == 1 then
  return 0
end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('HDEL', KEYS[3], ARGV[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl == -2 then ttl = tonumber(ARGV[3]) end
if ttl > 0 then redis.call('PEXPIRE', KEYS[2], ttl) end
return 1
"""

# Adds recipients to a campaign's set with the campaign record's remaining expiry, read in
# the same step: another producer's later enqueue (a longer ttl) cannot be undone by an
# expiry read before it, which would let the set expire before the campaign.
_ADD_RECIPIENTS = """
local added = redis.call('SADD', KEYS[2], unpack(ARGV))
local ttl = redis.call('PTTL', KEYS[1])
if ttl > 0 then redis.call('PEXPIRE', KEYS[2], ttl) end
return added
"""
_ADD_SLICE = 1_000  # recipients per call of the script

# Deletes a webhook claim only if it still holds the token of the call that made it.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
_MAX_ABANDONED = 10_000  # claims to give back that one receiver remembers, at most


class CampaignNotFoundError(LinqError, LookupError):
    """Redis holds no such campaign: it was never enqueued there, or its records expired."""


class RateBudgetTimeout(LinqError):
    """A line had no send budget within the time a job may wait for it.

    Attributes:
        line: the sending line.
        retry_after: seconds until the line's window frees a slot, as last seen.
    """

    def __init__(self, line: str, rate: str, waited: float, retry_after: float) -> None:
        self.line = line
        self.retry_after = retry_after
        super().__init__(
            f"line {line} had no send budget under {rate} within {waited:.1f}s; "
            f"a slot frees in {retry_after:.1f}s"
        )


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat().replace("+00:00", "Z")


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _ms(seconds: float) -> int:
    return max(1, math.ceil(seconds * 1000))


_MAX_TTL = 3650 * 86400.0  # ten years: Redis cannot hold an expiry much past 2^63 ms


def check_ttl(ttl: object, what: str) -> float:
    """``ttl`` as a float, if it is a number of seconds above 0 and at most ten years."""
    if not is_number(ttl, above=0, at_most=_MAX_TTL):  # also refuses NaN and infinity
        raise LinqUsageError(
            f"{what} must be a number of seconds above 0 and at most {_MAX_TTL:.0f} "
            f"(ten years), got {ttl!r}"
        )
    return float(ttl)


# Rates

_RATE = re.compile(r"\s*([1-9][0-9]*)\s*(?:/|per\s)\s*([1-9][0-9]*)?\s*([A-Za-z]+)\s*")
_UNITS = {
    **dict.fromkeys(("s", "sec", "secs", "second", "seconds"), "second"),
    **dict.fromkeys(("m", "min", "mins", "minute", "minutes"), "minute"),
    **dict.fromkeys(("h", "hr", "hrs", "hour", "hours"), "hour"),
    **dict.fromkeys(("d", "day", "days"), "day"),
}

_UNIT_SECONDS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
_MAX_RATE_COUNT = 1_000_000
_MAX_RATE_WINDOW = 366 * 86400


def parse_rate(spec: str) -> RateLimitItem:
    """A send rate such as ``"2/s"``, ``"120/minute"`` or ``"10 per 5 seconds"``.

    The form is ``<count>/<unit>`` or ``<count>/<n> <unit>`` (``per`` may replace ``/``),
    with the unit ``s``, ``m``, ``h`` or ``d`` or its English name. Counts are whole numbers
    (``"3 per 2 seconds"``, not ``"1.5/s"``) of at most 1 000 000, in a window of at most
    366 days.

    Returns:
        The limits rate item (at most ``count`` sends in any window of ``n`` units).

    Raises:
        LinqUsageError: ``spec`` is not such a rate.
    """
    from limits import (
        RateLimitItemPerDay,
        RateLimitItemPerHour,
        RateLimitItemPerMinute,
        RateLimitItemPerSecond,
    )

    match = _RATE.fullmatch(spec) if isinstance(spec, str) else None
    unit = _UNITS.get(match.group(3).lower()) if match else None
    if match is None or unit is None:
        raise LinqUsageError(
            "a rate is a whole number of sends per unit, such as '2/s', '120/minute' or "
            f"'3 per 2 seconds' (for 1.5/s), got {spec!r}"
        )
    count, multiple = int(match.group(1)), int(match.group(2) or 1)
    window = multiple * _UNIT_SECONDS[unit]
    # Redis must hold the window's expiry and list; past these a rate is a typo, and every
    # job would fail on Redis instead.
    if count > _MAX_RATE_COUNT or window > _MAX_RATE_WINDOW:
        raise LinqUsageError(
            f"a rate allows at most {_MAX_RATE_COUNT:,} sends in a window of at most 366 days, "
            f"got {spec!r}"
        )
    kinds: dict[str, type[RateLimitItem]] = {
        "second": RateLimitItemPerSecond,
        "minute": RateLimitItemPerMinute,
        "hour": RateLimitItemPerHour,
        "day": RateLimitItemPerDay,
    }
    return kinds[unit](count, multiple)


class LineRateLimiter:
    """Send budgets per sending line, shared by every process on the same Redis.

    Built on the moving window of [limits](https://limits.readthedocs.io/): at most ``n``
    sends of a line in any window of the rate's length, counted in Redis by an atomic script,
    whichever worker sends. A line's budget is keyed by the line and the rate, so give every
    campaign on one line the same rate (two rates make two budgets).

    The window uses each worker's wall clock: keep workers' clocks in sync (NTP); a skew of
    ``x`` seconds can let up to ``x`` seconds' worth of extra sends through. The API's 429
    answers, retried by the session after ``Retry-After``, remain the backstop.

    Args:
        redis: a ``redis.asyncio.Redis`` client (an arq pool works); its connection pool is
            shared, never closed.
        prefix: the prefix of the limiter's keys.
    """

    def __init__(self, redis: Redis, *, prefix: str = RATE_PREFIX) -> None:
        from limits.aio.storage import RedisStorage
        from limits.aio.strategies import MovingWindowRateLimiter

        storage = RedisStorage(
            "async+redis://",
            implementation="redispy",
            key_prefix=prefix,
            connection_pool=redis.connection_pool,  # type: ignore[arg-type]
        )
        self._limiter = MovingWindowRateLimiter(storage)

    async def acquire(
        self, line: str, rate: str | RateLimitItem, *, timeout: float | None = None
    ) -> float:
        """Wait until ``line`` may send one message under ``rate``, and take that slot.

        Waiters poll Redis when the window should free a slot, with a little jitter so that
        many waiters do not all ask at once; the first to ask gets it (there is no queue).

        Args:
            line: the sending line (any string naming the budget).
            rate: a rate such as ``"2/s"`` (see `parse_rate`) or a limits rate item.
            timeout: the most seconds to wait; ``None`` waits as long as it takes.

        Returns:
            The seconds waited.

        Raises:
            RateBudgetTimeout: no slot within ``timeout`` (raised as soon as the next free
                slot is known to come too late).
            LinqUsageError: ``rate`` is not a rate.
        """
        item = parse_rate(rate) if isinstance(rate, str) else rate
        loop = asyncio.get_running_loop()
        start = loop.time()
        # Up to a quarter of the spacing between sends, at most 0.1 s.
        jitter = min(0.1, item.get_expiry() / item.amount / 4)
        while True:
            if await self._limiter.hit(item, "line", line):
                return loop.time() - start
            stats = await self._limiter.get_window_stats(item, "line", line)
            delay = max(stats.reset_time - time.time(), 0.0) + random.uniform(0.0, jitter)
            delay = max(delay, 0.005)
            waited = loop.time() - start
            if timeout is not None and waited + delay > timeout:
                raise RateBudgetTimeout(line, str(item), waited, delay)
            await asyncio.sleep(delay)


# Webhook dedupe


class RedisDedupe:
    """Claims webhook ids in Redis, so each event is handled once across receiver processes.

    Implements the ``DedupeStore`` protocol of `linq_async.webhooks`: ``claim`` is one
    atomic ``SET key <token> NX PX ttl``, so of any number of receivers claiming the same
    ``webhook-id`` at once, exactly one gets ``True``.

    ```python
    router = Router(Verifier.from_env(), dedupe=RedisDedupe(Redis.from_url(url)))
    ```

    A claim can reach Redis while its answer is lost (a dropped connection, a timeout).
    Each claim writes a random token, so when the client library sends the ``SET`` again
    (redis-py 6 retries by default) and finds the key taken, the token says the claim is
    this call's own. When ``claim`` raises instead, the router answers 503 and Linq delivers
    again, so the claim, which Redis may hold, is given back (deleted if it still holds
    this call's token) at once, or, if Redis does not answer, before this object's next
    claim; a redelivery to this same receiver reuses the token and counts the claim as its
    own. Only a redelivery that reaches another receiver before the claim is given back is
    taken for a duplicate.

    Args:
        redis: a ``redis.asyncio.Redis`` client; never closed here.
        prefix: prepended to each claimed key.
        min_ttl: the shortest time a claim is kept, whatever ``ttl`` the caller passes:
            `DEFAULT_DEDUPE_TTL` (6 hours) by default, twelve times Linq's 30-minute
            redelivery window. 0 keeps exactly the caller's ``ttl``.
    """

    def __init__(
        self, redis: Redis, *, prefix: str = WEBHOOK_PREFIX, min_ttl: float = DEFAULT_DEDUPE_TTL
    ) -> None:
        self._redis = redis
        self._prefix = prefix
        zero = isinstance(min_ttl, (int, float)) and not isinstance(min_ttl, bool) and min_ttl == 0
        self.min_ttl = 0.0 if zero else check_ttl(min_ttl, "min_ttl")
        self._release = redis.register_script(_RELEASE)
        # Claims whose call raised (Redis may hold them), oldest first, key -> the token
        # written: those still to give back, and those whose token a redelivery reuses.
        self._abandoned: OrderedDict[str, str] = OrderedDict()
        self._tokens: OrderedDict[str, str] = OrderedDict()

    async def claim(self, key: str, ttl: float) -> bool:
        """Claim ``key`` for the longer of ``ttl`` and ``min_ttl`` seconds.

        Returns:
            ``True`` if this caller is the first to claim it (within that time).

        Raises:
            LinqUsageError: ``key`` is empty or ``ttl`` is not a positive number.
            redis.exceptions.RedisError: Redis failed; the claim is given back (see above).
        """
        if not isinstance(key, str) or not key:
            raise LinqUsageError(f"key must be a non-empty string, got {key!r}")
        ttl = max(check_ttl(ttl, "ttl"), self.min_ttl)
        name = self._prefix + key
        # A claim of this key that ended in an error here may be in Redis under its token:
        # the redelivery reuses it, so that claim counts as its own.
        token = self._tokens.pop(name, None) or secrets.token_hex(16)
        self._abandoned.pop(name, None)
        try:
            with contextlib.suppress(Exception):  # best effort; the claim goes on regardless
                await self._give_back()
            if await self._redis.set(name, token, nx=True, px=_ms(ttl)):
                return True
            # Taken: by another receiver, or by this very claim, if the client sent the SET
            # again after losing the answer to the first one.
            current = await self._redis.get(name)
            return current is not None and _text(current) == token
        except BaseException:
            # Redis may hold the claim, yet the caller sees a failure and handles nothing.
            for kept in (self._abandoned, self._tokens):
                kept[name] = token
                while len(kept) > _MAX_ABANDONED:
                    kept.popitem(last=False)
            with contextlib.suppress(Exception):
                await self._give_back()
            raise

    async def _give_back(self) -> None:
        """Delete the abandoned claims that still hold their token.

        A connection error keeps the rest for next time; Redis refusing the script (an
        answer, not an outage) drops the claim, so one bad entry cannot block the others.
        """
        while self._abandoned:
            name, token = self._abandoned.popitem(last=False)
            try:
                await self._release(keys=[name], args=[token])
                self._tokens.pop(name, None)
            except ResponseError:
                logger.warning("could not give back the webhook claim %s", name, exc_info=True)
            except BaseException:
                self._abandoned[name] = token
                self._abandoned.move_to_end(name, last=False)
                raise


# Campaign records


@attrs.frozen(kw_only=True)
class StoredCampaign:
    """A campaign as Redis holds it: the message, the send rate, when it was created."""

    campaign: Campaign
    rate: str | None
    """The sending line's rate (``"2/s"``), or ``None`` for no limit of our own."""
    created_at: str
    """When the campaign was first enqueued (ISO 8601, UTC)."""


@attrs.frozen(kw_only=True)
class CampaignStatus:
    """How far a campaign got: each recipient is sent, failed or still pending.

    Attributes:
        campaign_id: the campaign.
        total: recipients enqueued so far (each once).
        sent: recipients whose message the API created.
        failed: recipients who failed for good (see `CampaignStore.failures`).
        pending: recipients not yet sent or failed: queued, waiting for budget, or retrying.
        lost: of the pending ones, those whose job the queue no longer holds (it expired or
            ran out of tries without recording an outcome); ``None`` when not checked.
            Enqueuing the campaign again re-enqueues them.
    """

    campaign_id: str
    total: int
    sent: int
    failed: int
    pending: int
    lost: int | None = None

    @property
    def done(self) -> bool:
        """Whether every recipient is sent or failed."""
        return self.pending == 0


@attrs.frozen(kw_only=True)
class FailedRecipient:
    """A recipient who failed for good, as recorded.

    Attributes:
        recipient: the recipient.
        error: the error's class name (``"OptedOutError"`` ...).
        message: the error's text.
        status: the HTTP status, for API errors.
        code: the Linq error code, for API errors.
        attempts: how many times the job ran.
        at: when it was recorded (ISO 8601, UTC).
    """

    recipient: str
    error: str
    message: str
    status: int | None = None
    code: int | None = None
    attempts: int | None = None
    at: str | None = None


class CampaignStore:
    """Campaign records in Redis: the message, the recipients and each one's final outcome.

    Records are only ever added or replaced with the same meaning, so every operation is
    safe to repeat and to run from several processes at once. A worker keeps its copy of a
    campaign's record for up to 10 seconds, so a new rate given by enqueuing again reaches
    running workers within that time. Every method raises `LinqUsageError` for a campaign
    id that cannot name a campaign (see `check_campaign_id`), before it asks Redis.

    Args:
        redis: a ``redis.asyncio.Redis`` client (an arq pool works); never closed here.
        prefix: the prefix of every key (see the module doc).
    """

    def __init__(self, redis: Redis, *, prefix: str = CAMPAIGN_PREFIX) -> None:
        self._redis = redis
        self._prefix = prefix
        self._cache: dict[str, tuple[float, StoredCampaign]] = {}
        self._record = redis.register_script(_RECORD)
        self._add_recipients = redis.register_script(_ADD_RECIPIENTS)

    def _key(self, campaign_id: str, part: str = "") -> str:
        # The id sits between braces: the record key ends in "}" and the others in a fixed
        # suffix, so no campaign's keys can be another's ("X:sent" is not X's sent hash).
        # The braces also make the id the Redis Cluster hash tag: one slot per campaign.
        # Every method names its campaign through here: an id that cannot name one is a
        # LinqUsageError, and a str subclass counts as its plain value.
        return f"{self._prefix}{{{check_campaign_id(campaign_id)}}}{part}"

    async def get(self, campaign_id: str) -> StoredCampaign | None:
        """The campaign's record, or ``None`` when Redis holds none."""
        campaign_id = check_campaign_id(campaign_id)  # (before the cache, keyed by it)
        cached = self._cache.get(campaign_id)
        now = time.monotonic()
        if cached is not None and now - cached[0] < _CACHE_SECONDS:
            return cached[1]
        raw = await self._redis.hgetall(self._key(campaign_id))  # type: ignore[misc]
        if not raw:
            self._cache.pop(campaign_id, None)
            return None
        fields = {_text(k): _text(v) for k, v in raw.items()}
        stored = StoredCampaign(
            campaign=Campaign.from_dict(json.loads(fields["campaign"])),
            rate=fields.get("rate") or None,
            created_at=fields.get("created_at", ""),
        )
        self._cache[campaign_id] = (now, stored)
        return stored

    async def save(
        self, campaign: Campaign, *, rate: str | None, ttl: float = DEFAULT_CAMPAIGN_TTL
    ) -> StoredCampaign:
        """Create the campaign's record, or check it against the one Redis holds.

        The message of a campaign never changes (its id keys every recipient's message), so
        an existing record must hold the same message: the same line, text and attachment id
        (the `Upload`'s other fields, such as a download URL re-signed by the API, may
        differ; the stored record is kept). A ``rate`` replaces the stored one;
        ``None`` keeps it (a rate can be changed, not removed: give a generous one instead).
        The expiry of every key of the campaign is pushed to ``ttl`` seconds from now.

        Returns:
            The record now in Redis.

        Raises:
            LinqUsageError: Redis holds a different message under this id, or ``rate`` or
                ``ttl`` is invalid.
        """
        ttl = check_ttl(ttl, "ttl")
        if rate is not None:
            parse_rate(rate)
        key = self._key(campaign.id)
        message = json.dumps(campaign.to_dict(), sort_keys=True)
        created = await self._redis.hsetnx(key, "campaign", message)  # type: ignore[misc]
        if not created:
            existing = await self._redis.hget(key, "campaign")  # type: ignore[misc]
            if existing is not None and not _same_message(
                Campaign.from_dict(json.loads(existing)), campaign
            ):
                raise LinqUsageError(
                    f"campaign {campaign.id!r} already exists with another message (line, text "
                    "or file); a campaign's message cannot change: use a new campaign id"
                )
        async with self._redis.pipeline(transaction=True) as pipe:
            if created:
                pipe.hset(key, "created_at", _now())
            if rate is not None:
                pipe.hset(key, "rate", rate)
            for part in ("", ":recipients", ":sent", ":failed"):
                pipe.pexpire(self._key(campaign.id, part), _ms(ttl))
            await pipe.execute()
        self._cache.pop(campaign.id, None)
        stored = await self.get(campaign.id)
        assert stored is not None  # just written
        return stored

    async def add_recipients(self, campaign_id: str, recipients: Sequence[str]) -> int:
        """Add recipients to the campaign, in their canonical spelling; return how many
        were new.

        Add them before enqueueing their jobs: `deliver_campaign_message` refuses a
        recipient the campaign does not name. The set expires with the campaign's record.
        They are added 1,000 at a time: a Redis error partway leaves the earlier ones added,
        and adding them all again is safe.

        Raises:
            LinqUsageError: ``recipients`` is a string, or a recipient is neither an E.164
                phone number nor an email address (nothing is added).
        """
        handles, _ = _unique_canonical(recipients)
        keys = [self._key(campaign_id), self._key(campaign_id, ":recipients")]
        added = 0
        # In slices: Lua's unpack takes some thousands of values at most.
        for start in range(0, len(handles), _ADD_SLICE):
            batch = handles[start : start + _ADD_SLICE]
            added += int(await self._add_recipients(keys=keys, args=batch))
        return added

    async def is_recipient(self, campaign_id: str, recipient: str) -> bool:
        """Whether ``recipient`` (in any spelling `canonical_recipient` takes) is one of the
        campaign's (`add_recipients`).

        Raises:
            LinqUsageError: ``recipient`` is neither an E.164 phone number nor an email address.
        """
        key = self._key(campaign_id, ":recipients")
        member = canonical_recipient(recipient)
        return bool(await self._redis.sismember(key, member))  # type: ignore[misc]

    async def outcome(self, campaign_id: str, recipient: str) -> CampaignOutcome | None:
        """The recorded final outcome of ``recipient`` (canonical), or ``None``.

        A recorded failure carries no exception (``error`` is ``None``); see `failures`.
        """
        return (await self.outcomes(campaign_id, [recipient]))[0]

    async def outcomes(
        self, campaign_id: str, recipients: Sequence[str]
    ) -> list[CampaignOutcome | None]:
        """`outcome` for each of ``recipients`` (canonical), in order, in one round trip."""
        if not recipients:
            return []
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hmget(self._key(campaign_id, ":sent"), list(recipients))
            pipe.hmget(self._key(campaign_id, ":failed"), list(recipients))
            sent, failed = await pipe.execute()
        found: list[CampaignOutcome | None] = []
        for recipient, sent_raw, failed_raw in zip(recipients, sent, failed, strict=True):
            if sent_raw is None and failed_raw is None:
                found.append(None)
                continue
            ids = json.loads(sent_raw) if sent_raw is not None else {}
            found.append(
                CampaignOutcome(
                    campaign_id=campaign_id,
                    recipient=recipient,
                    status="sent" if sent_raw is not None else "failed",
                    idempotency_key=_key_or_none(campaign_id, recipient),
                    chat_id=ids.get("chat_id"),
                    message_id=ids.get("message_id"),
                )
            )
        return found

    async def record(self, outcome: CampaignOutcome, *, attempts: int | None = None) -> bool:
        """Record a final outcome (``"sent"`` or ``"failed"``).

        A failure is not recorded over a success.

        Returns:
            Whether it was recorded.

        Raises:
            LinqUsageError: the outcome is ``"transient"`` (not final).
        """
        if outcome.status == "sent":
            record: dict[str, Any] = {"chat_id": outcome.chat_id, "message_id": outcome.message_id}
            target, other = ":sent", ":failed"
        elif outcome.status == "failed":
            error = outcome.error
            record = {
                "error": type(error).__name__ if error is not None else "unknown",
                "message": str(error) if error is not None else "",
                "status": getattr(error, "status", None),
                "code": getattr(error, "code", None),
            }
            target, other = ":failed", ":sent"
        else:
            raise LinqUsageError("only a final outcome (sent or failed) can be recorded")
        record.update(attempts=attempts, at=_now())
        cid = outcome.campaign_id
        done = await self._record(
            keys=[self._key(cid), self._key(cid, target), self._key(cid, other)],
            args=[outcome.recipient, json.dumps(record), _ms(DEFAULT_CAMPAIGN_TTL), outcome.status],
        )
        return bool(done)

    async def forget_failures(self, campaign_id: str, recipients: Sequence[str]) -> int:
        """Delete the recorded failures of ``recipients``, so they can be sent again.

        Returns:
            How many failures were deleted.
        """
        if not recipients:
            return 0
        deleted = await self._redis.hdel(self._key(campaign_id, ":failed"), *recipients)  # type: ignore[misc]
        return int(deleted)

    async def status(self, campaign_id: str) -> CampaignStatus:
        """Count the campaign's recipients: total, sent, failed, pending.

        Raises:
            CampaignNotFoundError: Redis holds no such campaign.
            LinqUsageError: ``campaign_id`` cannot name a campaign.
        """
        campaign_id = check_campaign_id(campaign_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.exists(self._key(campaign_id))
            pipe.scard(self._key(campaign_id, ":recipients"))
            pipe.hlen(self._key(campaign_id, ":sent"))
            pipe.hlen(self._key(campaign_id, ":failed"))
            exists, total, sent, failed = await pipe.execute()
        if not exists:
            raise CampaignNotFoundError(
                f"no campaign {campaign_id!r} in this Redis (never enqueued, or expired)"
            )
        return CampaignStatus(
            campaign_id=campaign_id,
            total=total,
            sent=sent,
            failed=failed,
            pending=max(total - sent - failed, 0),
        )

    async def pending(self, campaign_id: str) -> list[str]:
        """The recipients with no recorded outcome yet, sorted."""
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.smembers(self._key(campaign_id, ":recipients"))
            pipe.hkeys(self._key(campaign_id, ":sent"))
            pipe.hkeys(self._key(campaign_id, ":failed"))
            members, sent, failed = await pipe.execute()
        done = {_text(item) for item in (*sent, *failed)}
        return sorted(r for r in map(_text, members) if r not in done)

    async def failures(self, campaign_id: str) -> list[FailedRecipient]:
        """The recipients who failed for good, sorted by recipient."""
        raw = await self._redis.hgetall(self._key(campaign_id, ":failed"))  # type: ignore[misc]
        found = []
        for recipient, value in raw.items():
            data = json.loads(value)
            found.append(
                FailedRecipient(
                    recipient=_text(recipient),
                    error=str(data.get("error", "unknown")),
                    message=str(data.get("message", "")),
                    status=data.get("status"),
                    code=data.get("code"),
                    attempts=data.get("attempts"),
                    at=data.get("at"),
                )
            )
        return sorted(found, key=lambda failure: failure.recipient)


def _same_message(stored: Campaign, given: Campaign) -> bool:
    """Whether two campaigns send the same message (what `Campaign.parts` puts on the wire)."""

    def attachment(campaign: Campaign) -> str | None:
        return None if campaign.upload is None else campaign.upload.attachment_id

    return (stored.from_, stored.text, attachment(stored)) == (
        given.from_,
        given.text,
        attachment(given),
    )


def _key_or_none(campaign_id: str, recipient: str) -> str | None:
    try:
        return campaign_key(campaign_id, recipient)
    except LinqUsageError:
        return None


def canonical_recipients(recipients: Iterable[str]) -> tuple[list[str], int]:
    """The unique canonical recipients, in first-seen order, and how many duplicates there were.

    Raises:
        LinqUsageError: ``recipients`` is a string, is empty, or holds something that is not
            an E.164 phone number or an email address (named in the message).
    """
    handles, total = _unique_canonical(recipients)
    if not handles:
        raise LinqUsageError("recipients must name at least one handle")
    return handles, total - len(handles)


def _unique_canonical(recipients: Iterable[str]) -> tuple[list[str], int]:
    """`canonical_recipients` that takes no recipients too: (unique ones, how many given)."""
    if isinstance(recipients, (str, bytes)) or not isinstance(recipients, Iterable):
        raise LinqUsageError(
            f"recipients must be a list of handles, got {type(recipients).__name__}"
        )
    seen: dict[str, None] = {}
    total = 0
    for recipient in recipients:
        total += 1
        seen.setdefault(canonical_recipient(recipient), None)
    return list(seen), total


def _unrecorded(refused: CampaignOutcome) -> CampaignOutcome:
    """Log a job refused before any send: its outcome is in no record, so say it here."""
    logger.warning(
        "campaign %r: a job was refused (nothing sent, nothing recorded): %s",
        refused.campaign_id,
        refused.error,
    )
    return refused


async def deliver_campaign_message(
    linq: LinqSession,
    store: CampaignStore,
    campaign_id: str,
    recipient: str,
    *,
    limiter: LineRateLimiter | None = None,
    rate_wait: float | None = None,
    attempt: int = 1,
    final_attempt: bool = False,
) -> CampaignOutcome:
    """Send one recipient's message of a stored campaign: the body of a campaign job.

    In order: load the campaign from ``store``; if the recipient already has a final outcome,
    return it (nothing is sent); refuse a recipient the campaign does not name; wait for
    the line's budget when the campaign has a rate and a ``limiter`` is given; send with
    the derived key (`linq_async.campaigns.send_campaign_message`); record a final
    outcome. A transient failure is returned unrecorded for the job queue to retry, unless
    ``final_attempt``, when it is recorded (and returned) as ``"failed"``.

    Args:
        linq: an open `LinqSession`.
        store: the campaign records.
        campaign_id: the campaign.
        recipient: the recipient, as enqueued.
        limiter: the shared per-line budgets; without it the campaign's rate is not applied.
        rate_wait: the most seconds to wait for budget; past it the outcome is
            ``"transient"`` with a `RateBudgetTimeout`.
        attempt: which attempt this is (1 for the first), recorded with the outcome.
        final_attempt: whether the job queue will not try again.

    Returns:
        The outcome. ``"failed"``, not recorded but logged (a WARNING on the
        ``linq_async.contrib.redis`` logger): with a `CampaignNotFoundError` when the
        store holds no such campaign, with a `LinqUsageError` when ``recipient`` is not an
        E.164 number or an email address, or is not one of the campaign's recipients
        (`CampaignStore.add_recipients`): a job naming it could never succeed.
    """
    stored = await store.get(campaign_id)
    if stored is None:
        error = CampaignNotFoundError(f"no campaign {campaign_id!r} in Redis (expired?)")
        return _unrecorded(
            CampaignOutcome(
                campaign_id=campaign_id, recipient=as_given(recipient), status="failed", error=error
            )
        )
    campaign = stored.campaign
    try:
        handle = canonical_recipient(recipient)
    except LinqUsageError:
        # Not a handle, so not one of the campaign's recipients: nothing is recorded, or a
        # refusal could count against the campaign's total or stand under a real
        # recipient's name.
        return _unrecorded(await send_campaign_message(linq, campaign, recipient))  # no I/O
    recorded = await store.outcome(campaign_id, handle)
    if recorded is not None:
        return recorded
    if not await store.is_recipient(campaign_id, handle):
        # Sent, it would reach someone the campaign never named, and count past its total.
        stranger = LinqUsageError(
            f"{handle!r} is not a recipient of campaign {campaign_id!r}: enqueue it with "
            "enqueue_campaign, or add it with CampaignStore.add_recipients before enqueueing "
            "its job (or the campaign's records expired)"
        )
        return _unrecorded(
            CampaignOutcome(
                campaign_id=campaign_id, recipient=handle, status="failed", error=stranger
            )
        )
    outcome: CampaignOutcome | None = None
    if limiter is not None and stored.rate is not None:
        try:
            await limiter.acquire(campaign.from_, stored.rate, timeout=rate_wait)
        except RateBudgetTimeout as exc:
            outcome = CampaignOutcome(
                campaign_id=campaign_id,
                recipient=handle,
                status="transient",
                idempotency_key=campaign_key(campaign_id, handle),
                error=exc,
            )
    if outcome is None:
        outcome = await send_campaign_message(linq, campaign, handle)
    if outcome.status == "transient":
        if not final_attempt:
            return outcome
        outcome = attrs.evolve(outcome, status="failed")
    await store.record(outcome, attempts=attempt)
    return outcome
