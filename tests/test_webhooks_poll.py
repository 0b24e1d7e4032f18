"""poll_inbound: new inbound messages by polling the fake, without a public URL."""

from __future__ import annotations

import pytest
from _support import RECIPIENT, SENDER, api_requests

from linq_async import LinqSession, LinqUsageError, Message
from linq_async.testing import FakeLinqServer
from linq_async.webhooks import poll_inbound

FRIEND = "+15550001111"
OTHER = "+15550002222"


async def test_new_inbound_messages_are_yielded_once_oldest_first(
    linq: LinqSession, fake: FakeLinqServer
) -> None:
    """Messages that arrive after the first round, not your own, each once, in order."""
    fake.receive_message(sender=FRIEND, line=SENDER, text="before")
    await linq.chats.create(from_=SENDER, to=RECIPIENT, text="mine")
    waits: list[float] = []

    async def sleep(delay: float) -> None:
        waits.append(delay)
        if len(waits) == 1:
            fake.receive_message(sender=FRIEND, line=SENDER, text="new 1")
            fake.receive_message(sender=FRIEND, line=SENDER, text="new 2")
            await linq.chats.messages.send(
                fake.messages[next(iter(fake.messages))].chat_id, text="reply"
            )
            fake.receive_message(sender=OTHER, line=SENDER, text="other chat")

    got: list[Message] = []
    async for message in poll_inbound(linq, interval=7, sleep=sleep):
        got.append(message)
        if len(got) == 3:
            break
    texts = [getattr(message.parts[0], "value", None) for message in got]
    assert sorted(texts, key=str) == ["new 1", "new 2", "other chat"]
    assert texts.index("new 1") < texts.index("new 2")
    assert all(message.is_from_me is False for message in got)
    assert waits == [7]


async def test_quiet_rounds_only_list_chats(linq: LinqSession, fake: FakeLinqServer) -> None:
    """A chat whose updated_at did not change is not re-read."""
    fake.receive_message(sender=FRIEND, line=SENDER, text="hello")
    rounds = 0

    async def sleep(delay: float) -> None:
        nonlocal rounds
        rounds += 1
        if rounds == 1:
            fake.requests.clear()
        if rounds == 2:
            fake.receive_message(sender=FRIEND, line=SENDER, text="wake up")

    async for message in poll_inbound(linq, interval=0, sleep=sleep):
        assert getattr(message.parts[0], "value", None) == "wake up"
        break
    paths = [request.path.removeprefix("/api/partner") for request in api_requests(fake)]
    chat_id = next(iter(fake.chats))
    assert paths == ["/v3/chats", "/v3/chats", f"/v3/chats/{chat_id}/messages"]


async def test_include_existing_yields_the_first_page(
    linq: LinqSession, fake: FakeLinqServer
) -> None:
    """include_existing=True also yields the inbound messages already there."""
    fake.receive_message(sender=FRIEND, line=SENDER, text="waiting")
    async for message in poll_inbound(linq, include_existing=True):
        assert getattr(message.parts[0], "value", None) == "waiting"
        break


@pytest.mark.parametrize(
    "options", [{"interval": -1}, {"max_chats": 0}, {"seen_cache": 0}, {"interval": True}]
)
async def test_bad_options_are_refused(linq: LinqSession, options: dict[str, object]) -> None:
    """Out-of-range options raise LinqUsageError before any request."""
    with pytest.raises(LinqUsageError):
        async for _ in poll_inbound(linq, **options):  # type: ignore[arg-type]
            pass


async def test_a_small_seen_cache_yields_no_old_message_and_misses_none(
    linq: LinqSession, fake: FakeLinqServer
) -> None:
    """Message ids forgotten by a small seen_cache are not yielded again: each chat stops
    at the messages older than the newest it has read. New ones still arrive, each once."""
    for index in range(4):
        fake.receive_message(sender=FRIEND, line=SENDER, text=f"old friend {index}")
        fake.receive_message(sender=OTHER, line=SENDER, text=f"old other {index}")
    rounds = 0
    sent: list[str] = []

    class Done(Exception):
        pass

    async def sleep(delay: float) -> None:
        nonlocal rounds
        rounds += 1
        if rounds > 4:
            raise Done
        for sender in (FRIEND, OTHER):
            sent.append(f"new {sender} {rounds}")
            fake.receive_message(sender=sender, line=SENDER, text=sent[-1])

    got: list[str] = []

    async def collect() -> None:
        async for message in poll_inbound(linq, interval=0, seen_cache=2, sleep=sleep):
            got.append(str(getattr(message.parts[0], "value", None)))

    with pytest.raises(Done):
        await collect()
    assert sorted(got) == sorted(sent)


async def test_messages_arriving_mid_round_in_many_chats_come_once_each(
    linq: LinqSession, fake: FakeLinqServer
) -> None:
    """While the caller handles a yielded message, customers write into chats the round has
    read, chats it has not reached yet, and new chats: each message is yielded exactly once."""
    senders = [f"+1555010{index:04d}" for index in range(25)]  # more chats than a page
    for sender in senders:
        fake.receive_message(sender=sender, line=SENDER, text=f"old {sender}")
    sent: list[str] = []

    def write(sender: str) -> None:
        sent.append(f"{sender} #{len(sent)}")
        fake.receive_message(sender=sender, line=SENDER, text=sent[-1])

    class Done(Exception):
        pass

    rounds = 0

    async def sleep(delay: float) -> None:
        nonlocal rounds
        rounds += 1
        if rounds == 1:
            for sender in senders[::5]:
                write(sender)
        if rounds > 4:
            raise Done

    got: list[str] = []

    async def collect() -> None:
        async for message in poll_inbound(linq, interval=0, sleep=sleep):
            got.append(str(getattr(message.parts[0], "value", None)))
            if len(sent) < 40:  # mid-round: one read chat, one not reached, one new chat
                write(senders[0])
                write(senders[-1])
                write(f"+1555020{len(sent):04d}")

    with pytest.raises(Done):
        await collect()
    assert sorted(got) == sorted(sent)
