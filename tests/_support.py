"""Constants and small helpers the tests share (fixtures live in conftest.py)."""

from __future__ import annotations

import socket
from collections.abc import Awaitable
from typing import Any

from linq_async.testing import FakeLinqServer, RecordedRequest

SENDER = "+12223334444"
RECIPIENT = "+15556667777"


class SleepRecorder:
    """Stands in for asyncio.sleep in retry policies: records delays, waits for nothing."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


def api_requests(fake: FakeLinqServer) -> list[RecordedRequest]:
    """The requests the fake's API site received (not the storage site's uploads)."""
    return [request for request in fake.requests if request.site == "api"]


async def caught(awaitable: Awaitable[Any]) -> BaseException:
    """The exception ``awaitable`` raises (its traceback starts here, not in the test)."""
    try:
        await awaitable
    except BaseException as exc:  # the test inspects whatever it was
        return exc
    raise AssertionError("no exception was raised")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (nothing listens on it)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port
