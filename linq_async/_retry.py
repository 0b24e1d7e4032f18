"""Retry policy: which failures are retried, and how long to wait between attempts."""

from __future__ import annotations

import asyncio
import calendar
import inspect
import math
import random
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import attrs

from ._errors import LinqUsageError

__all__ = ["RetryPolicy", "http_date", "parse_retry_after"]

RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
"""HTTP statuses worth another attempt. Other 4xx (including 409) are permanent."""


def _number(owner: str, name: str, value: object) -> float:
    """``value`` if it is a real number a float can hold (an int or float, not a bool, not
    NaN, not an int too large for a float)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not _holds(value):
        raise LinqUsageError(f"{owner}.{name} must be a number of seconds, got {value!r}")
    return value


def _holds(value: float) -> bool:
    """Whether ``value`` is a float or converts to one: not NaN, not a huge int."""
    try:
        return not math.isnan(value)
    except OverflowError:  # math.isnan(10**400)
        return False


def _positive(_: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not 0 <= _number("RetryPolicy", attribute.name, value) < math.inf:
        raise LinqUsageError(
            f"RetryPolicy.{attribute.name} must be a finite number >= 0, got {value!r}"
        )


def _limit(_: object, attribute: attrs.Attribute[float], value: float) -> None:
    if _number("RetryPolicy", attribute.name, value) < 0:
        raise LinqUsageError(f"RetryPolicy.{attribute.name} must be >= 0, got {value!r}")


def _fraction(_: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not 0 <= _number("RetryPolicy", attribute.name, value) <= 1:
        raise LinqUsageError(f"RetryPolicy.{attribute.name} must be 0 to 1, got {value!r}")


def _at_least_one(_: object, attribute: attrs.Attribute[int], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise LinqUsageError(f"RetryPolicy.{attribute.name} must be an int >= 1, got {value!r}")


def _sleeper(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    # A builtin such as time.sleep never returns an awaitable: refuse it now rather than at
    # the first retry, which may be weeks away. A plain function may return a coroutine
    # (``lambda delay: asyncio.sleep(0)``), so only its result can tell.
    if not callable(value) or (inspect.isbuiltin(value) and not inspect.iscoroutinefunction(value)):
        raise LinqUsageError(
            f"RetryPolicy.sleep must be an async function such as asyncio.sleep, got {value!r}"
        )


@attrs.frozen(kw_only=True)
class RetryPolicy:
    """How the session retries failed API calls and uploads.

    Connection errors, timeouts, 408, 429 and 5xx are retried with exponential backoff and
    jitter: attempt *n* (0-based retry count) waits ``min(wait_initial * 2**n, wait_max)``
    scaled by a random factor in ``[1 - jitter, 1]``. A ``Retry-After`` header (seconds or an
    HTTP date) or the body's ``error.retry_after`` replaces the backoff. A server-requested
    wait longer than ``retry_after_max`` is not slept through: the call ends at once with its
    error (a `RateLimitError` whose ``retry_after`` says how long to wait), since retrying
    sooner than the server asked would only be refused again. Retrying stops after
    ``attempts`` attempts or once the next wait would pass ``deadline`` seconds since the
    first attempt, whichever comes first.

    A request that sends a message is retried only when it carries an idempotency key, which
    the SDK generates when the caller gives none, so a retried send never sends twice.

    Args:
        attempts: total attempts including the first (1 disables retries).
        wait_initial: backoff before the first retry, in seconds.
        wait_max: cap on the exponential backoff, in seconds.
        jitter: fraction of the backoff that is randomised, 0 to 1 (0 disables jitter).
        retry_after_max: the longest server-requested wait slept through, in seconds
            (``math.inf``: any); a longer one ends the call with its error.
        deadline: total seconds across all attempts and waits before giving up
            (``math.inf``: none).
        sleep: the async function used to wait; tests pass a recorder that does not sleep.

    Raises:
        LinqUsageError: a value is of the wrong type or out of range (``jitter=2``,
            ``attempts="3"``, ``sleep=time.sleep`` ...), at construction rather than at the
            first retry.

    Example:
        >>> RetryPolicy(attempts=5, wait_max=2.0)  # doctest: +ELLIPSIS
        RetryPolicy(attempts=5, ...)
    """

    attempts: int = attrs.field(default=3, validator=_at_least_one)
    wait_initial: float = attrs.field(default=0.5, validator=_positive)
    wait_max: float = attrs.field(default=8.0, validator=_positive)
    jitter: float = attrs.field(default=0.25, validator=_fraction)
    retry_after_max: float = attrs.field(default=60.0, validator=_limit)
    deadline: float = attrs.field(default=120.0, validator=_limit)
    sleep: Callable[[float], Awaitable[None]] = attrs.field(
        default=asyncio.sleep, repr=False, eq=False, validator=_sleeper
    )

    @classmethod
    def never(cls) -> RetryPolicy:
        """A policy that makes a single attempt."""
        return cls(attempts=1)

    def backoff(self, retry_number: int, retry_after: float | None = None) -> float | None:
        """Seconds to wait before retry number ``retry_number`` (0 for the first retry).

        ``None`` when the server asked for a wait longer than ``retry_after_max``: do not
        retry.
        """
        if retry_after is not None and retry_after >= 0:
            return retry_after if retry_after <= self.retry_after_max else None
        base = min(self.wait_initial * 2.0**retry_number, self.wait_max)
        return base * (1 - self.jitter * random.random())


_MONTHS = {
    name: number
    for number, name in enumerate(
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1
    )
}
_TIME = r"(\d{2}):(\d{2}):(\d{2})"
_IMF_FIXDATE = re.compile(rf"[A-Za-z]{{3}}, (\d{{2}}) ([A-Za-z]{{3}}) (\d{{4}}) {_TIME} GMT")
_RFC_850 = re.compile(rf"[A-Za-z]{{6,9}}, (\d{{2}})-([A-Za-z]{{3}})-(\d{{2}}) {_TIME} GMT")
_ASCTIME = re.compile(rf"[A-Za-z]{{3}} ([A-Za-z]{{3}}) ([ \d]\d) {_TIME} (\d{{4}})")


def http_date(text: str, *, now: float | None = None) -> float | None:
    """The POSIX timestamp of an HTTP date, or ``None`` when ``text`` is not one.

    All three forms of RFC 9110 are read, and all as GMT, whatever the process's time zone:
    IMF-fixdate (``Sun, 06 Nov 1994 08:49:37 GMT``), RFC 850 (``Sunday, 06-Nov-94 08:49:37
    GMT``) and asctime (``Sun Nov  6 08:49:37 1994``, which names no zone). An RFC 850 year
    more than 50 years ahead of ``now`` is taken to be in the previous century, as RFC 9110
    asks.
    """
    text = text.strip()
    if match := _IMF_FIXDATE.fullmatch(text):
        day, month, year, hour, minute, second = match.groups()
    elif match := _ASCTIME.fullmatch(text):
        month, day, hour, minute, second, year = match.groups()
    elif match := _RFC_850.fullmatch(text):
        day, month, short, hour, minute, second = match.groups()
        this_year = time.gmtime(time.time() if now is None else now).tm_year
        full = this_year - this_year % 100 + int(short)
        year = str(full - 100 if full > this_year + 50 else full)
    else:
        return None
    month_number = _MONTHS.get(month.capitalize())
    if month_number is None:
        return None
    fields = (int(year), month_number, int(day), int(hour), int(minute), int(second))
    if not (1 <= fields[2] <= 31 and fields[3] <= 23 and fields[4] <= 59 and fields[5] <= 60):
        return None
    return float(calendar.timegm((*fields, 0, 0, 0)))


def _seconds(raw: str, scale: float) -> float | None:
    try:
        value = float(raw) / scale
    except ValueError:
        return None
    return max(value, 0.0) if not math.isnan(value) else None


def parse_retry_after(headers: Mapping[str, str], body_hint: float | None = None) -> float | None:
    """Read the server's requested wait: ``retry-after-ms``, ``Retry-After``, then the body.

    An HTTP date in ``Retry-After`` is measured from the response's own ``Date`` header, so
    neither the local clock's error nor its time zone changes the wait; without a ``Date``
    header it is measured from the local clock.
    """
    raw_ms = headers.get("retry-after-ms")
    if raw_ms is not None and (wait := _seconds(raw_ms, 1000)) is not None:
        return wait
    raw = headers.get("retry-after")
    if raw is not None:
        if (wait := _seconds(raw, 1)) is not None:
            return wait
        when = http_date(raw)
        if when is not None:
            sent = headers.get("date")
            origin = http_date(sent) if sent is not None else None
            return max(when - (time.time() if origin is None else origin), 0.0)
    return body_hint
