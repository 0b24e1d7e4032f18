"""Shared fixtures: a FakeLinqServer per test and a LinqSession pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from linq_async import LinqSession, RetryPolicy
from linq_async.testing import FakeLinqServer

SENDER = "+12223334444"
RECIPIENT = "+15556667777"


class SleepRecorder:
    """Stands in for asyncio.sleep in retry policies: records delays, waits for nothing."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


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
