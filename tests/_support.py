"""Constants and small helpers the tests share (fixtures live in conftest.py)."""

from __future__ import annotations

SENDER = "+12223334444"
RECIPIENT = "+15556667777"


class SleepRecorder:
    """Stands in for asyncio.sleep in retry policies: records delays, waits for nothing."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)
