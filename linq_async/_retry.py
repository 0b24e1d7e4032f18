"""Retry policy: which failures are retried, and how long to wait between attempts."""

from __future__ import annotations

import asyncio
import email.utils
import random
import time
from collections.abc import Awaitable, Callable, Mapping

import attrs

from ._errors import LinqUsageError

__all__ = ["RetryPolicy"]

RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
"""HTTP statuses worth another attempt. Other 4xx (including 409) are permanent."""


def _positive(_: object, attribute: attrs.Attribute[float], value: float) -> None:
    if value < 0:
        raise LinqUsageError(f"RetryPolicy.{attribute.name} must be >= 0, got {value!r}")


def _at_least_one(_: object, attribute: attrs.Attribute[int], value: int) -> None:
    if value < 1:
        raise LinqUsageError(f"RetryPolicy.{attribute.name} must be >= 1, got {value!r}")


@attrs.frozen(kw_only=True)
class RetryPolicy:
    """How the session retries failed API calls and uploads.

    Connection errors, timeouts, 408, 429 and 5xx are retried with exponential backoff and
    jitter: attempt *n* (0-based retry count) waits ``min(wait_initial * 2**n, wait_max)``
    scaled by a random factor in ``[1 - jitter, 1]``. A ``Retry-After`` header (seconds or an
    HTTP date) or the body's ``error.retry_after`` replaces the backoff, capped at
    ``retry_after_max``. Retrying stops after ``attempts`` attempts or once the next wait would
    pass ``deadline`` seconds since the first attempt, whichever comes first.

    A request that sends a message is retried only when it carries an idempotency key, which
    the SDK generates when the caller gives none, so a retried send never sends twice.

    Args:
        attempts: total attempts including the first (1 disables retries).
        wait_initial: backoff before the first retry, in seconds.
        wait_max: cap on the exponential backoff, in seconds.
        jitter: fraction of the backoff that is randomised (0 disables jitter).
        retry_after_max: cap on a server-requested wait, in seconds.
        deadline: total seconds across all attempts and waits before giving up.
        sleep: the coroutine used to wait; tests pass a recorder that does not sleep.

    Example:
        >>> RetryPolicy(attempts=5, wait_max=2.0)  # doctest: +ELLIPSIS
        RetryPolicy(attempts=5, ...)
    """

    attempts: int = attrs.field(default=3, validator=_at_least_one)
    wait_initial: float = attrs.field(default=0.5, validator=_positive)
    wait_max: float = attrs.field(default=8.0, validator=_positive)
    jitter: float = attrs.field(default=0.25, validator=_positive)
    retry_after_max: float = attrs.field(default=60.0, validator=_positive)
    deadline: float = attrs.field(default=120.0, validator=_positive)
    sleep: Callable[[float], Awaitable[None]] = attrs.field(
        default=asyncio.sleep, repr=False, eq=False
    )

    @classmethod
    def never(cls) -> RetryPolicy:
        """A policy that makes a single attempt."""
        return cls(attempts=1)

    def backoff(self, retry_number: int, retry_after: float | None = None) -> float:
        """Seconds to wait before retry number ``retry_number`` (0 for the first retry)."""
        if retry_after is not None and retry_after >= 0:
            return min(retry_after, self.retry_after_max)
        base = min(self.wait_initial * 2.0**retry_number, self.wait_max)
        return base * (1 - self.jitter * random.random())


def parse_retry_after(headers: Mapping[str, str], body_hint: float | None = None) -> float | None:
    """Read the server's requested wait: ``retry-after-ms``, ``Retry-After``, then the body."""
    raw_ms = headers.get("retry-after-ms")
    if raw_ms is not None:
        try:
            return max(float(raw_ms) / 1000, 0.0)
        except ValueError:
            pass
    raw = headers.get("retry-after")
    if raw is not None:
        try:
            return max(float(raw), 0.0)
        except ValueError:
            pass
        try:
            when = email.utils.parsedate_to_datetime(raw)
        except (ValueError, TypeError):
            pass
        else:
            return max(when.timestamp() - time.time(), 0.0)
    return body_hint
