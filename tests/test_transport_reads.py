"""API connections read in 64 KiB pieces, not asyncio's 256 KiB (a map and unmap per read)."""

from __future__ import annotations

import asyncio
import gc
from urllib.parse import urlsplit

import aiohttp
from _support import RECIPIENT, SENDER

from linq_async import LinqSession
from linq_async._transport import READ_SIZE
from linq_async.testing import FakeLinqServer

DEFAULT_READ_SIZE = 256 * 1024
"""asyncio's ``_SelectorSocketTransport.max_size``."""


def client_read_sizes(port: int) -> list[int]:
    """``max_size`` of every open socket transport of this process connected to ``port``."""
    sizes = []
    for obj in gc.get_objects():
        if not isinstance(obj, asyncio.Transport) or obj.is_closing():
            continue
        peer = obj.get_extra_info("peername")
        if peer is not None and peer[1] == port and hasattr(obj, "max_size"):
            sizes.append(obj.max_size)
    return sizes


async def test_the_sessions_own_api_connections_read_64_kib_at_a_time(
    linq: LinqSession, fake: FakeLinqServer
) -> None:
    """After its first answer, each API connection asks the socket for 64 KiB at most."""
    port = urlsplit(fake.base_url).port
    assert port is not None
    created = await asyncio.gather(
        *(linq.chats.create(from_=SENDER, to=f"+1555000{i:04d}", text="hi") for i in range(4))
    )
    await asyncio.gather(*(linq.chats.get(c.chat.id) for c in created))
    sizes = client_read_sizes(port)
    assert sizes, "no open API connection found"
    assert set(sizes) == {READ_SIZE}
    assert READ_SIZE < 128 * 1024  # below glibc's default mmap threshold


async def test_a_callers_client_session_is_left_as_it_is(fake: FakeLinqServer) -> None:
    """The connections of a ClientSession given as ``session=`` keep asyncio's read size."""
    port = urlsplit(fake.base_url).port
    assert port is not None
    async with (
        aiohttp.ClientSession() as http,
        LinqSession(fake.api_key, base_url=fake.base_url, session=http) as linq,
    ):
        created = await linq.chats.create(from_=SENDER, to=RECIPIENT, text="hi")
        await linq.chats.get(created.chat.id)
        assert set(client_read_sizes(port)) == {DEFAULT_READ_SIZE}
