"""Inbound messages without a public URL: poll the API (a development fallback)."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from .._errors import LinqUsageError

if TYPE_CHECKING:
    from .._session import LinqSession
    from ..models import Message

__all__ = ["poll_inbound"]


async def poll_inbound(
    linq: LinqSession,
    *,
    interval: float = 5.0,
    from_: str | None = None,
    include_existing: bool = False,
    max_chats: int = 100,
    seen_cache: int = 10_000,
    sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
) -> AsyncIterator[Message]:
    """Yield inbound messages as they arrive, by polling ``chats.list`` and
    ``chats.messages.list``: for a development machine that Linq cannot reach.

    **Not for production.** It costs requests every ``interval`` even when nothing
    happens, sees a message up to ``interval`` seconds late, and sees only the
    ``max_chats`` most recent chats and the messages the list endpoints return, never
    receipts, reactions or typing. In production, subscribe a public URL and use `Router`;
    in development, ``linq-async webhooks listen`` with a tunnel is the closer match.

    ```python
    async for message in poll_inbound(linq, interval=3):
        print(message.chat_id, message.from_handle, message.parts)
    ```

    Each round lists the chats (newest first, up to ``max_chats``), skips those whose
    ``updated_at`` did not change, and reads each other chat's messages from the newest
    back to the first one already seen, or to the first one older than the newest already
    read in that chat (so a message whose id left the ``seen_cache`` is not yielded
    again). Messages not from you (``is_from_me`` false) are yielded oldest first.

    A chat met for the first time after the first round is read back to its start: right
    for a new chat, but an old chat entering the ``max_chats`` window (the order of
    ``GET /v3/chats`` is not documented) has its history yielded as new.

    Args:
        linq: an open session.
        interval: seconds between rounds.
        from_: only the chats of this line (E.164).
        include_existing: also yield the inbound messages already there at the first round
            (only the newest page of each chat); by default they are only marked seen.
        max_chats: the most chats looked at per round.
        seen_cache: how many message ids are remembered (the newest ``created_at`` read
            per chat is kept as well).
        sleep: how the interval is slept (``asyncio.sleep``); inject one in tests.

    Raises:
        LinqUsageError: an argument is out of range.
        APIStatusError, LinqConnectionError: from the API calls, after the session's
            retries; the iteration ends.
    """
    if isinstance(interval, bool) or not isinstance(interval, (int, float)) or interval < 0:
        raise LinqUsageError(f"interval must be a number of seconds >= 0, got {interval!r}")
    for name, value in (("max_chats", max_chats), ("seen_cache", seen_cache)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise LinqUsageError(f"{name} must be a positive int, got {value!r}")
    seen: OrderedDict[str, None] = OrderedDict()
    marks: dict[str, datetime | None] = {}
    newest: dict[str, _Newest] = {}
    first_round = True

    def remember(message_id: str) -> None:
        seen[message_id] = None
        seen.move_to_end(message_id)
        while len(seen) > seen_cache:
            seen.popitem(last=False)

    while True:
        count = 0
        async for chat in linq.chats.list(from_=from_, limit=min(max_chats, 100)):
            count += 1
            if count > max_chats:
                break
            if (
                chat.id in marks
                and chat.updated_at is not None
                and marks[chat.id] == chat.updated_at
            ):
                continue
            marks[chat.id] = chat.updated_at
            fresh: list[Message] = []
            mark = newest.setdefault(chat.id, _Newest())
            if first_round:
                page = await linq.chats.messages.list(chat.id)
                for message in page.items:
                    remember(message.id)
                    mark.add(message)
                    if include_existing and message.is_from_me is False:
                        fresh.append(message)
            else:
                read: list[Message] = []
                async for message in linq.chats.messages.list(chat.id):
                    # Newest first: stop at the first message already read. The seen ids
                    # are a bounded cache, so also stop at one older than the newest read
                    # in this chat (its id may have been forgotten since).
                    if message.id in seen or mark.older(message):
                        break
                    if mark.holds(message):
                        continue  # as recent as the newest read, and read
                    read.append(message)
                    remember(message.id)
                    if message.is_from_me is False:
                        fresh.append(message)
                for message in read:
                    mark.add(message)
            for message in reversed(fresh):
                yield message
        first_round = False
        await sleep(interval)


class _Newest:
    """The newest ``created_at`` read in one chat, and the ids read with exactly that time."""

    __slots__ = ("at", "ids")

    def __init__(self) -> None:
        self.at: datetime | None = None
        self.ids: set[str] = set()

    def add(self, message: Message) -> None:
        created = message.created_at
        if created is None:
            return
        if self.at is None or created > self.at:
            self.at, self.ids = created, {message.id}
        elif created == self.at:
            self.ids.add(message.id)

    def older(self, message: Message) -> bool:
        return (
            self.at is not None and message.created_at is not None and message.created_at < self.at
        )

    def holds(self, message: Message) -> bool:
        return (
            message.created_at is not None
            and message.created_at == self.at
            and message.id in self.ids
        )
