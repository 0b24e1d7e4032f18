"""Shared fixtures: a FakeLinqServer per test and a LinqSession pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from _support import SleepRecorder
from redis_server import redis, redis_url  # noqa: F401  (a real Redis: the session's URL, a pool)
from s3_server import s3_target  # noqa: F401  (the session-wide real S3 fixture)

from linq_async import LinqSession, RetryPolicy
from linq_async.testing import FakeLinqServer


@pytest.fixture
def sleeps() -> SleepRecorder:
    return SleepRecorder()


@pytest.fixture
async def fake() -> AsyncIterator[FakeLinqServer]:
    async with FakeLinqServer() as server:
        yield server


@pytest.fixture
async def linq(fake: FakeLinqServer, sleeps: SleepRecorder) -> AsyncIterator[LinqSession]:
    retry = RetryPolicy(attempts=4, sleep=sleeps)
    async with LinqSession(fake.api_key, base_url=fake.base_url, retry=retry) as session:
        yield session
