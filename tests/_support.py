"""Constants and small helpers the tests share (fixtures live in conftest.py)."""

from __future__ import annotations

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
