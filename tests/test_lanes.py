"""The transport's lanes (its limit on calls in flight): order, and cancellation."""

from __future__ import annotations

import asyncio

from linq_async._transport import Lanes


async def test_a_full_limit_serves_waiters_first_come_first_served() -> None:
    """With no lane free, waiters get one in the order they asked, as lanes come back."""
    lanes = Lanes(1)
    assert lanes.try_take()
    order: list[int] = []

    async def wait(number: int) -> None:
        await lanes.take()
        order.append(number)

    waiters = [asyncio.ensure_future(wait(number)) for number in range(3)]
    await asyncio.sleep(0)
    assert not lanes.try_take()  # full, and others wait: no jumping the queue
    for _ in range(3):
        lanes.release()
        await asyncio.sleep(0)
    await asyncio.gather(*waiters)
    assert order == [0, 1, 2]


async def test_a_cancelled_waiter_never_keeps_a_lane() -> None:
    """Cancelled while waiting, or just after being handed a lane: the lane goes on."""
    lanes = Lanes(1)
    assert lanes.try_take()
    first = asyncio.ensure_future(lanes.take())
    second = asyncio.ensure_future(lanes.take())
    await asyncio.sleep(0)
    lanes.release()  # handed to `first` ...
    first.cancel()  # ... which is cancelled before it runs: `second` must get it
    await asyncio.sleep(0)
    await asyncio.wait_for(second, 1)
    lanes.release()
    assert lanes.try_take()  # and nothing leaked: exactly one lane again
    assert not lanes.try_take()
