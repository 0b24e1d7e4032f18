"""The chats area over real sockets: each endpoint's wire request, typed result and local checks."""

from __future__ import annotations

import pytest
from _support import RECIPIENT, SENDER, api_requests

from linq_async import ConflictError, LinqSession, LinqUsageError, OperationResult
from linq_async.testing import FakeLinqServer

FRIEND = "+15550001111"


async def make_group(linq: LinqSession, *others: str) -> str:
    created = await linq.chats.create(from_=SENDER, to=[RECIPIENT, *others], text="hi all")
    return created.chat.id


async def test_mark_read_posts_no_body_and_accepts_any(
    linq: LinqSession, fake: FakeLinqServer
) -> None:
    """POST /v3/chats/{chatId}/read: no body, Accept */*, 204 -> None."""
    chat_id = await make_group(linq, FRIEND)
    fake.requests.clear()
    assert await linq.chats.mark_read(chat_id) is None
    (sent,) = api_requests(fake)
    assert (sent.method, sent.path) == ("POST", f"/api/partner/v3/chats/{chat_id}/read")
    assert sent.body == b""
    assert sent.headers["Accept"] == "*/*"
    assert fake.chats[chat_id].read_at is not None


async def test_participants_add_and_remove(linq: LinqSession, fake: FakeLinqServer) -> None:
    """POST and DELETE (with a JSON body) /v3/chats/{chatId}/participants."""
    chat_id = await make_group(linq, FRIEND, "+15550002222")
    fake.requests.clear()
    added = await linq.chats.participants.add(chat_id, "pal@example.com")
    assert isinstance(added, OperationResult)
    assert added.status == "accepted"
    assert added.trace_id
    removed = await linq.chats.participants.remove(chat_id, FRIEND)
    assert removed.status == "accepted"
    add, remove = api_requests(fake)
    assert (add.method, add.path) == ("POST", f"/api/partner/v3/chats/{chat_id}/participants")
    assert add.json() == {"handle": "pal@example.com"}
    assert (remove.method, remove.path) == ("DELETE", add.path)
    assert remove.json() == {"handle": FRIEND}
    assert fake.chats[chat_id].handles == [RECIPIENT, "+15550002222", "pal@example.com"]


async def test_participants_of_a_direct_chat_is_a_conflict(
    linq: LinqSession, fake: FakeLinqServer
) -> None:
    """A direct chat has no participants to change: 409, code 1006."""
    created = await linq.chats.create(from_=SENDER, to=RECIPIENT, text="hi")
    with pytest.raises(ConflictError) as info:
        await linq.chats.participants.add(created.chat.id, FRIEND)
    assert info.value.code == 1006


@pytest.mark.parametrize(
    "handle",
    [
        "5550001111",
        "+1\u0665\u0665\u06650001111",
        "+1\uff15\uff15\uff150001111",
        "no-at-sign",
        "",
        None,
    ],
)
async def test_participant_handles_are_checked_before_sending(
    linq: LinqSession, fake: FakeLinqServer, handle: object
) -> None:
    """A handle that is not E.164 (ASCII digits) or an email is refused with nothing sent."""
    with pytest.raises(LinqUsageError, match="handle"):
        await linq.chats.participants.add("chat", handle)  # type: ignore[arg-type]
    with pytest.raises(LinqUsageError, match="handle"):
        await linq.chats.participants.remove("chat", handle)  # type: ignore[arg-type]
    assert fake.requests == []
