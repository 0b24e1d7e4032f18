"""The messages area and polls over real sockets: wire requests, typed results, local checks."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from _support import RECIPIENT, SENDER, SleepRecorder, api_requests

from linq_async import (
    AutoSendResult,
    BadRequestError,
    ConflictError,
    LinkPart,
    LinqConnectionError,
    LinqSession,
    LinqUsageError,
    Message,
    NotFoundError,
    OperationResult,
    PollMessage,
    ReplyTo,
    Sticker,
    StickerImage,
    StickerPlacement,
    TextPart,
)
from linq_async._model import unknown_keys
from linq_async.resources import MessagePoll
from linq_async.testing import FakeLinqServer

FRIEND = "+15550001111"
OTHER_LINE = "+12223335555"


async def send_text(linq: LinqSession, text: str = "hello") -> Message:
    created = await linq.chats.create(from_=SENDER, to=RECIPIENT, text=text)
    return created.message


async def raw(
    fake: FakeLinqServer,
    method: str,
    path: str,
    body: Any = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, Any]:
    """One request to the fake without the SDK: to grade the fake, and to read raw answers."""
    sent = {"Authorization": f"Bearer {fake.api_key}", **(headers or {})}
    async with aiohttp.ClientSession() as session:
        url = f"{fake.base_url}{path}"
        async with session.request(method, url, json=body, headers=sent) as resp:
            return resp.status, (await resp.json() if resp.content_length != 0 else None)


# messages.send


async def test_send_picks_a_line_and_says_which(linq: LinqSession, fake: FakeLinqServer) -> None:
    """POST /v3/messages: to and message on the wire, 202, the chosen line and a new chat."""
    result = await linq.messages.send(to=[RECIPIENT, FRIEND], text="hi there")
    (sent,) = api_requests(fake)
    assert (sent.method, sent.path, sent.status) == ("POST", "/api/partner/v3/messages", 202)
    body = sent.json()
    assert body["to"] == [RECIPIENT, FRIEND]
    assert body["message"]["parts"] == [{"type": "text", "value": "hi there"}]
    assert set(body) == {"to", "message"}
    assert isinstance(result, AutoSendResult)
    assert result.from_ == fake.lines[0] == SENDER
    assert result.created_new_chat is True
    assert result.from_selection is not None
    assert result.from_selection.reason == "new_best_number"
    assert result.from_selection.reused_existing_chat is False
    assert result.is_group is True
    assert [handle.handle for handle in result.handles] == [SENDER, RECIPIENT, FRIEND]
    assert result.previous_chat_id is None
    assert result.message.id in fake.messages
    assert fake.messages[result.message.id].chat_id == result.chat_id


async def test_send_puts_one_key_in_header_and_body_and_a_retry_sends_once(
    linq: LinqSession, fake: FakeLinqServer, sleeps: SleepRecorder
) -> None:
    """The minted key is both message.idempotency_key and Idempotency-Key; a lost answer's
    retry carries the same key and the fake replays instead of sending again."""
    fake.drop_next_response(method="POST", path="/v3/messages")
    result = await linq.messages.send(to=RECIPIENT, text="exactly once")
    first, second = api_requests(fake)
    assert first.dropped
    assert second.status == 202
    key = first.headers["Idempotency-Key"]
    assert key == first.json()["message"]["idempotency_key"]
    assert second.headers["Idempotency-Key"] == key
    assert second.json()["message"]["idempotency_key"] == key
    assert len(fake.messages) == 1
    assert result.message.id in fake.messages
    assert len(sleeps.delays) == 1


async def test_send_uses_the_callers_key_everywhere(
    linq: LinqSession, fake: FakeLinqServer
) -> None:
    """A caller's idempotency_key goes out as given, twice, and a repeat sends nothing new."""
    first = await linq.messages.send(to=RECIPIENT, text="a", idempotency_key="run-7")
    again = await linq.messages.send(to=RECIPIENT, text="a", idempotency_key="run-7")
    assert again.message.id == first.message.id
    assert len(fake.messages) == 1
    for request in api_requests(fake):
        assert request.headers["Idempotency-Key"] == "run-7"
        assert request.json()["message"]["idempotency_key"] == "run-7"


async def test_a_str_subclass_key_goes_out_as_its_plain_value_in_header_and_body(
    linq: LinqSession, fake: FakeLinqServer
) -> None:
    """A key of a str subclass that spells itself otherwise (its own ``__str__``) is sent
    as its plain value, the same in the Idempotency-Key header and in the body."""

    class Shouting(str):
        def __str__(self) -> str:
            return self.upper()

    result = await linq.messages.send(to=RECIPIENT, text="a", idempotency_key=Shouting("run-8"))
    assert result.message.id in fake.messages
    (request,) = api_requests(fake)
    assert request.headers["Idempotency-Key"] == "run-8"
    assert request.json()["message"]["idempotency_key"] == "run-8"


async def test_fake_refuses_different_header_and_body_keys(fake: FakeLinqServer) -> None:
    """The fake answers 400 (1005) when the header and the body carry different keys."""
    message = {"parts": [{"type": "text", "value": "x"}], "idempotency_key": "body-key"}
    body = {"to": [RECIPIENT], "message": message}
    status, answer = await raw(fake, "POST", "/v3/messages", body, {"Idempotency-Key": "other"})
    assert (status, answer["error"]["code"]) == (400, 1005)
    assert fake.messages == {}


async def test_send_reuses_the_active_chat_whatever_the_order(
    linq: LinqSession, fake: FakeLinqServer
) -> None:
    """`to` is a set: the chat made for [a, b] is reused for [b, a] on its own line."""
    created = await linq.chats.create(from_=OTHER_LINE, to=[RECIPIENT, FRIEND], text="hi")
    result = await linq.messages.send(to=[FRIEND, RECIPIENT], text="again")
    assert result.chat_id == created.chat.id
    assert result.from_ == OTHER_LINE
    assert result.created_new_chat is False
    assert result.from_selection is not None
    assert result.from_selection.reason == "reused_active_chat"
    assert result.from_selection.reused_existing_chat is True
    assert len(fake.chats) == 1


async def test_exclude_from_steers_new_chats_only(linq: LinqSession, fake: FakeLinqServer) -> None:
    """An excluded line is not picked for a new chat, but a live chat on it is still reused."""
    fresh = await linq.messages.send(to=RECIPIENT, text="a", exclude_from=[SENDER])
    assert fresh.from_ == OTHER_LINE
    assert api_requests(fake)[0].json()["exclude_from"] == [SENDER]
    again = await linq.messages.send(to=RECIPIENT, text="b", exclude_from=OTHER_LINE)
    assert (again.chat_id, again.from_) == (fresh.chat_id, OTHER_LINE)


async def test_exclude_from_prefers_a_chat_on_another_line(
    linq: LinqSession, fake: FakeLinqServer
) -> None:
    """With chats on two lines, the one on a non-excluded line wins, even if older."""
    older = await linq.chats.create(from_=SENDER, to=RECIPIENT, text="a")
    newer = await linq.chats.create(from_=OTHER_LINE, to=RECIPIENT, text="b")
    assert (await linq.messages.send(to=RECIPIENT, text="c")).chat_id == newer.chat.id
    steered = await linq.messages.send(to=RECIPIENT, text="d", exclude_from=[OTHER_LINE])
    assert (steered.chat_id, steered.from_) == (older.chat.id, SENDER)


async def test_excluding_every_line_is_a_bad_request(
    linq: LinqSession, fake: FakeLinqServer
) -> None:
    """When a line must be picked and every one is excluded, the API answers 400."""
    with pytest.raises(BadRequestError) as info:
        await linq.messages.send(to=RECIPIENT, text="a", exclude_from=[SENDER, OTHER_LINE])
    assert info.value.code == 1005
    assert fake.chats == {}


async def test_no_line_that_can_send_is_a_conflict(linq: LinqSession, fake: FakeLinqServer) -> None:
    """With every line flagged, POST /v3/messages answers 409 and nothing is sent."""
    for line in fake.lines:
        fake.flag_line(line)
    with pytest.raises(ConflictError):
        await linq.messages.send(to=RECIPIENT, text="a")
    assert fake.messages == {}


async def test_failover_sends_the_continuation_text_from_a_fresh_line(
    linq: LinqSession, fake: FakeLinqServer
) -> None:
    """A chat stranded on a flagged line is abandoned: a new chat, the continuation text."""
    stranded = await linq.messages.send(to=RECIPIENT, text="first")
    fake.flag_line(SENDER)
    result = await linq.messages.send(
        to=RECIPIENT, text="the original", continuation_text="New number, same us!"
    )
    assert api_requests(fake)[1].json()["continuation_message"] == {"text": "New number, same us!"}
    assert result.from_selection is not None
    assert result.from_selection.reason == "failover_flagged"
    assert result.previous_chat_id == stranded.chat_id
    assert (result.from_, result.created_new_chat) == (OTHER_LINE, True)
    assert [part.value for part in result.message.parts if isinstance(part, TextPart)] == [
        "New number, same us!"
    ]


async def test_a_link_may_open_a_chat_here(linq: LinqSession, fake: FakeLinqServer) -> None:
    """Unlike chats.create, messages.send may open a new chat with a link."""
    result = await linq.messages.send(to=RECIPIENT, parts=[LinkPart(value="https://linq.example")])
    assert result.created_new_chat is True


async def test_reusing_the_key_of_a_deleted_message_is_not_found(
    linq: LinqSession, fake: FakeLinqServer
) -> None:
    """A key whose message was deleted answers 404 and never sends again."""
    first = await linq.messages.send(to=RECIPIENT, text="a", idempotency_key="gone-1")
    await linq.messages.delete(first.message.id)
    with pytest.raises(NotFoundError):
        await linq.messages.send(to=RECIPIENT, text="a", idempotency_key="gone-1")
    assert fake.messages == {}


async def test_fake_checks_reply_to_against_the_chosen_chat(
    linq: LinqSession, fake: FakeLinqServer
) -> None:
    """The fake takes reply_to only to a message of the chat it picks, and a part it has."""
    elsewhere = await linq.chats.create(from_=SENDER, to=FRIEND, text="other chat")
    here = await linq.messages.send(to=RECIPIENT, text="this chat")

    def body(message_id: str, part_index: int = 0) -> dict[str, Any]:
        reply_to = {"message_id": message_id, "part_index": part_index}
        parts = [{"type": "text", "value": "re"}]
        return {"to": [RECIPIENT], "message": {"parts": parts, "reply_to": reply_to}}

    status, answer = await raw(fake, "POST", "/v3/messages", body(elsewhere.message.id))
    assert (status, answer["error"]["code"]) == (404, 2002)
    status, answer = await raw(fake, "POST", "/v3/messages", body(here.message.id, 1))
    assert (status, answer["error"]["code"]) == (400, 1005)
    status, answer = await raw(fake, "POST", "/v3/messages", body(here.message.id))
    assert status == 202
    assert answer["message"]["reply_to"]["message_id"] == here.message.id


async def test_send_answer_fits_the_model(linq: LinqSession, fake: FakeLinqServer) -> None:
    """Every key of the fake's POST /v3/messages answer is modelled (drift check)."""
    body = {"to": [RECIPIENT], "message": {"parts": [{"type": "text", "value": "x"}]}}
    status, answer = await raw(fake, "POST", "/v3/messages", body)
    assert status == 202
    assert unknown_keys(answer, AutoSendResult) == []


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"to": "5550001111"}, "recipient"),
        ({"to": [RECIPIENT, RECIPIENT]}, "more than once"),
        ({"to": []}, "at least one"),
        ({"to": RECIPIENT, "exclude_from": ["friend@example.com"]}, "exclude_from"),
        ({"to": RECIPIENT, "exclude_from": 5}, "exclude_from"),
        ({"to": RECIPIENT, "continuation_text": ""}, "continuation_text"),
        ({"to": RECIPIENT, "reply_to": ReplyTo(message_id="m1")}, "reply_to"),
        ({"to": RECIPIENT, "preferred_service": "Telegram"}, "preferred_service"),
    ],
)
async def test_send_checks_arguments_before_sending(
    linq: LinqSession, fake: FakeLinqServer, kwargs: dict[str, Any], match: str
) -> None:
    """A bad handle, line, continuation, service or a reply_to is refused with nothing sent."""
    kwargs.setdefault("text", "hi")
    with pytest.raises(LinqUsageError, match=match):
        await linq.messages.send(**kwargs)
    assert fake.requests == []


# messages.edit and messages.delete


async def test_edit_patches_a_text_part(linq: LinqSession, fake: FakeLinqServer) -> None:
    """PATCH /v3/messages/{id} {text, part_index}: the message comes back edited, recorded."""
    message = await send_text(linq)
    fake.requests.clear()
    edited = await linq.messages.edit(message.id, "hello, edited")
    (sent,) = api_requests(fake)
    assert (sent.method, sent.path) == ("PATCH", f"/api/partner/v3/messages/{message.id}")
    assert sent.json() == {"text": "hello, edited", "part_index": 0}
    assert isinstance(edited, Message)
    assert isinstance(edited.parts[0], TextPart)
    assert edited.parts[0].value == "hello, edited"
    (record,) = fake.edits
    assert (record.message_id, record.part_index, record.text) == (message.id, 0, "hello, edited")


async def test_a_sixth_edit_is_refused(linq: LinqSession, fake: FakeLinqServer) -> None:
    """Five edits are allowed; the sixth answers 400."""
    message = await send_text(linq)
    for number in range(5):
        await linq.messages.edit(message.id, f"take {number}")
    with pytest.raises(BadRequestError):
        await linq.messages.edit(message.id, "take 6")
    assert len(fake.edits) == 5


async def test_an_edit_after_15_minutes_is_refused(linq: LinqSession, fake: FakeLinqServer) -> None:
    """A message sent more than 15 minutes ago cannot be edited."""
    message = await send_text(linq)
    fake.age_message(message.id, by=dt.timedelta(minutes=15, seconds=1))
    with pytest.raises(BadRequestError, match="15 minutes"):
        await linq.messages.edit(message.id, "too late")
    assert fake.edits == []


async def test_only_text_parts_can_be_edited(linq: LinqSession, fake: FakeLinqServer) -> None:
    """Editing a link part (or a part that does not exist) answers 400."""
    created = await linq.chats.create(from_=SENDER, to=RECIPIENT, text="hi")
    sent = await linq.chats.messages.send(created.chat.id, parts=[LinkPart(value="https://x.io")])
    with pytest.raises(BadRequestError, match="only text parts"):
        await linq.messages.edit(sent.id, "text")
    with pytest.raises(BadRequestError, match="out of range"):
        await linq.messages.edit(created.message.id, "text", part_index=3)


async def test_an_edit_is_not_retried_once_it_may_have_arrived(
    linq: LinqSession, fake: FakeLinqServer, sleeps: SleepRecorder
) -> None:
    """A lost answer to an edit is final: a retry would spend a second of the 5 edits."""
    message = await send_text(linq)
    fake.drop_next_response(method="PATCH")
    with pytest.raises(LinqConnectionError):
        await linq.messages.edit(message.id, "once")
    assert len(fake.edits) == 1
    assert [r.method for r in api_requests(fake)] == ["POST", "PATCH"]
    assert sleeps.delays == []


@pytest.mark.parametrize(("text", "part_index"), [("", 0), (None, 0), ("x", -1), ("x", True)])
async def test_edit_checks_arguments_before_sending(
    linq: LinqSession, fake: FakeLinqServer, text: Any, part_index: Any
) -> None:
    """An empty text or a negative (or non-int) part_index is refused with nothing sent."""
    with pytest.raises(LinqUsageError):
        await linq.messages.edit("m1", text, part_index=part_index)
    assert fake.requests == []


async def test_delete_removes_the_message_from_the_api(
    linq: LinqSession, fake: FakeLinqServer
) -> None:
    """DELETE /v3/messages/{id}: no body, Accept */*, 204 -> None; then it is not found."""
    message = await send_text(linq)
    fake.requests.clear()
    await linq.messages.delete(message.id)
    (sent,) = api_requests(fake)
    assert (sent.method, sent.path, sent.status) == (
        "DELETE",
        f"/api/partner/v3/messages/{message.id}",
        204,
    )
    assert sent.body == b""
    assert sent.headers["Accept"] == "*/*"
    with pytest.raises(NotFoundError):
        await linq.messages.get(message.id)


# Reactions


async def test_react_and_unreact_a_tapback(linq: LinqSession, fake: FakeLinqServer) -> None:
    """POST /v3/messages/{id}/reactions with operation add, then remove; the part shows it."""
    message = await send_text(linq)
    fake.requests.clear()
    added = await linq.messages.react(message.id, "love")
    assert isinstance(added, OperationResult)
    assert added.status == "accepted"
    assert added.trace_id
    shown = await linq.messages.get(message.id)
    assert isinstance(shown.parts[0], TextPart)
    (reaction,) = shown.parts[0].reactions or ()
    assert (reaction.type, reaction.is_me, reaction.handle.handle) == ("love", True, SENDER)
    assert reaction.id in fake.reactions
    await linq.messages.unreact(message.id, "love")
    add, _, remove = api_requests(fake)
    assert (add.method, add.path, add.status) == (
        "POST",
        f"/api/partner/v3/messages/{message.id}/reactions",
        202,
    )
    assert add.json() == {"operation": "add", "type": "love"}
    assert remove.json() == {"operation": "remove", "type": "love"}
    assert fake.reactions == {}
    after = await linq.messages.get(message.id)
    assert isinstance(after.parts[0], TextPart)
    assert not after.parts[0].reactions


async def test_a_new_tapback_replaces_the_last(linq: LinqSession, fake: FakeLinqServer) -> None:
    """A line has one tapback per part: like replaces love, and like again changes nothing."""
    message = await send_text(linq)
    await linq.messages.react(message.id, "love")
    await linq.messages.react(message.id, "like", part_index=0)
    await linq.messages.react(message.id, "like")
    assert [reaction.type for reaction in fake.reactions.values()] == ["like"]
    assert api_requests(fake)[2].json() == {"operation": "add", "type": "like", "part_index": 0}


async def test_custom_emoji_reaction(linq: LinqSession, fake: FakeLinqServer) -> None:
    """A custom reaction carries its emoji on the wire and on the part."""
    message = await send_text(linq)
    await linq.messages.react(message.id, "custom", custom_emoji="🚀")
    assert api_requests(fake)[-1].json() == {
        "operation": "add",
        "type": "custom",
        "custom_emoji": "🚀",
    }
    shown = await linq.messages.get(message.id)
    assert isinstance(shown.parts[0], TextPart)
    (reaction,) = shown.parts[0].reactions or ()
    assert (reaction.type, reaction.custom_emoji) == ("custom", "🚀")


async def test_a_tapback_is_retried_but_a_sticker_is_not(
    linq: LinqSession, fake: FakeLinqServer, sleeps: SleepRecorder
) -> None:
    """Adding a tapback again is harmless, so a lost answer is retried; a sticker would land
    twice, so its lost answer is final."""
    message = await send_text(linq)
    fake.drop_next_response(path=f"/v3/messages/{message.id}/reactions")
    await linq.messages.react(message.id, "laugh")
    assert len(fake.reactions) == 1
    assert len(sleeps.delays) == 1
    fake.drop_next_response(path=f"/v3/messages/{message.id}/reactions")
    with pytest.raises(LinqConnectionError):
        await linq.messages.react(message.id, "sticker", sticker=Sticker(emoji="🎉"))
    assert len(fake.reactions) == 2
    assert len(sleeps.delays) == 1


async def test_sticker_goes_flat_on_the_wire_and_moves(
    linq: LinqSession, fake: FakeLinqServer
) -> None:
    """A sticker's source and placement are fields of the reaction; move_sticker PATCHes
    /v3/messages/{id}/reactions/{reactionId} with {placement} and the fake merges it."""
    message = await send_text(linq)
    sticker = Sticker(emoji="🎉", placement=StickerPlacement(x=-0.5, y=1, scale=2.5))
    await linq.messages.react(message.id, "sticker", sticker=sticker, part_index=0)
    assert api_requests(fake)[-1].json() == {
        "operation": "add",
        "type": "sticker",
        "emoji": "🎉",
        "placement": {"x": -0.5, "y": 1, "scale": 2.5},
        "part_index": 0,
    }
    (reaction,) = fake.reactions.values()
    assert reaction.sticker == {"emoji": "🎉"}
    moved = await linq.messages.move_sticker(
        message.id, reaction.id, placement=StickerPlacement(rotation=90.0, x=0)
    )
    assert isinstance(moved, OperationResult)
    assert moved.success is True
    (sent,) = api_requests(fake)[-1:]
    assert (sent.method, sent.path) == (
        "PATCH",
        f"/api/partner/v3/messages/{message.id}/reactions/{reaction.id}",
    )
    assert sent.json() == {"placement": {"x": 0, "rotation": 90.0}}
    assert reaction.placement == {"x": 0, "y": 1, "scale": 2.5, "rotation": 90.0}


async def test_moves_and_removals_are_retried_after_a_lost_answer(
    linq: LinqSession, fake: FakeLinqServer, sleeps: SleepRecorder
) -> None:
    """Moving a sticker to a placement, or removing a tapback, twice is harmless: retried."""
    message = await send_text(linq)
    await linq.messages.react(message.id, "sticker", sticker=Sticker(emoji="🎉"))
    await linq.messages.react(message.id, "love")
    sticker_id = next(r.id for r in fake.reactions.values() if r.type == "sticker")
    fake.drop_next_response(method="PATCH")
    moved = await linq.messages.move_sticker(
        message.id, sticker_id, placement=StickerPlacement(y=-1)
    )
    assert moved.success is True
    fake.drop_next_response(path=f"/v3/messages/{message.id}/reactions")
    await linq.messages.unreact(message.id, "love")
    assert [r.type for r in fake.reactions.values()] == ["sticker"]
    assert fake.reactions[sticker_id].placement == {"y": -1}
    assert len(sleeps.delays) == 2


async def test_a_sticker_by_url_shows_its_image_with_a_redacted_repr(
    linq: LinqSession, fake: FakeLinqServer
) -> None:
    """A sticker reaction loads with its image; the presigned URL's query stays out of repr."""
    message = await send_text(linq)
    url = "https://cdn.linq.example/stickers/party.png?X-Amz-Signature=s3cr3t"
    await linq.messages.react(message.id, "sticker", sticker=Sticker(url=url))
    shown = await linq.messages.get(message.id)
    assert isinstance(shown.parts[0], TextPart)
    (reaction,) = shown.parts[0].reactions or ()
    assert isinstance(reaction.sticker, StickerImage)
    assert (reaction.sticker.file_name, reaction.sticker.mime_type) == ("party.png", "image/png")
    assert reaction.sticker.url == url
    assert "s3cr3t" not in repr(reaction)
    assert "party.png" in repr(reaction.sticker)


async def test_moving_a_tapback_is_refused(linq: LinqSession, fake: FakeLinqServer) -> None:
    """Only stickers move: a tapback answers 400, an unknown reaction 404."""
    message = await send_text(linq)
    await linq.messages.react(message.id, "question")
    (reaction_id,) = fake.reactions
    with pytest.raises(BadRequestError, match="not a sticker"):
        await linq.messages.move_sticker(message.id, reaction_id, placement=StickerPlacement(x=0))
    with pytest.raises(NotFoundError):
        await linq.messages.move_sticker(message.id, "nope", placement=StickerPlacement(x=0))


@pytest.mark.parametrize(
    ("type_", "kwargs", "match"),
    [
        ("heart", {}, "type"),
        ("LOVE", {}, "type"),
        ("custom", {}, "custom_emoji is required"),
        ("custom", {"custom_emoji": ""}, "custom_emoji"),
        ("love", {"custom_emoji": "🚀"}, "custom_emoji goes only"),
        ("sticker", {}, "needs sticker"),
        ("sticker", {"sticker": {"emoji": "🎉"}}, "needs sticker"),
        ("like", {"sticker": "sticker-placeholder"}, "sticker goes only"),
        ("love", {"part_index": -1}, "part_index"),
        ("love", {"part_index": 1.0}, "part_index"),
    ],
)
async def test_react_checks_arguments_before_sending(
    linq: LinqSession, fake: FakeLinqServer, type_: str, kwargs: dict[str, Any], match: str
) -> None:
    """An unknown type, a misplaced emoji or sticker, or a bad part_index sends nothing."""
    if kwargs.get("sticker") == "sticker-placeholder":
        kwargs["sticker"] = Sticker(emoji="🎉")
    with pytest.raises(LinqUsageError, match=match):
        await linq.messages.react("m1", type_, **kwargs)
    assert fake.requests == []


@pytest.mark.parametrize(
    ("type_", "kwargs", "match"),
    [
        ("sticker", {}, "stickers cannot be removed"),
        ("wink", {}, "type"),
        ("custom", {}, "custom_emoji is required"),
        ("dislike", {"custom_emoji": "👎"}, "custom_emoji goes only"),
    ],
)
async def test_unreact_checks_arguments_before_sending(
    linq: LinqSession, fake: FakeLinqServer, type_: str, kwargs: dict[str, Any], match: str
) -> None:
    """Stickers cannot be removed, and the type rules hold, with nothing sent."""
    with pytest.raises(LinqUsageError, match=match):
        await linq.messages.unreact("m1", type_, **kwargs)
    assert fake.requests == []


@pytest.mark.parametrize(
    "placement",
    [
        {"x": 1.01},
        {"x": -2},
        {"y": 1.5},
        {"scale": 0.01},
        {"scale": 2.6},
        {"rotation": math.nan},
        {"rotation": math.inf},
        {"x": True},
        {"y": "0.5"},
    ],
)
def test_sticker_placement_ranges_are_checked_when_built(placement: dict[str, Any]) -> None:
    """x and y stay in -1..1, scale in 0.05..2.5, every value a finite number."""
    with pytest.raises(LinqUsageError, match="StickerPlacement"):
        StickerPlacement(**placement)


@pytest.mark.parametrize(
    ("fields", "match"),
    [
        ({}, "exactly one"),
        ({"emoji": "🎉", "attachment_id": "a1"}, "exactly one"),
        ({"emoji": ""}, "Sticker.emoji"),
        ({"url": "http://cdn.example/a.png"}, "https"),
        ({"emoji": "🎉", "placement": {"x": 0}}, "StickerPlacement"),
    ],
)
def test_sticker_sources_are_checked_when_built(fields: dict[str, Any], match: str) -> None:
    """A sticker has exactly one non-empty source, an https url, and a StickerPlacement."""
    with pytest.raises(LinqUsageError, match=match):
        Sticker(**fields)


async def test_move_sticker_checks_placement_before_sending(
    linq: LinqSession, fake: FakeLinqServer
) -> None:
    """A placement that is not a StickerPlacement is refused with nothing sent."""
    with pytest.raises(LinqUsageError, match="StickerPlacement"):
        await linq.messages.move_sticker("m1", "r1", placement={"x": 0})  # type: ignore[arg-type]
    assert fake.requests == []


async def test_fake_clamps_scale_and_refuses_stickers_elsewhere(fake: FakeLinqServer) -> None:
    """The fake clamps a sticker's scale as the API does, and grades the reaction rules."""
    send = {"to": [RECIPIENT], "message": {"parts": [{"type": "text", "value": "x"}]}}
    _, sent = await raw(fake, "POST", "/v3/messages", send)
    path = f"/v3/messages/{sent['message']['id']}/reactions"
    cases: list[tuple[dict[str, Any], int]] = [
        ({"operation": "add", "type": "love", "emoji": "🎉"}, 1005),
        ({"operation": "add", "type": "sticker"}, 1001),
        ({"operation": "add", "type": "sticker", "emoji": "a", "url": "https://x.io/a"}, 1005),
        ({"operation": "remove", "type": "sticker", "emoji": "🎉"}, 1005),
        ({"operation": "add", "type": "custom"}, 1001),
        ({"operation": "add", "type": "love", "part_index": 4}, 1005),
        ({"operation": "add", "type": "sticker", "emoji": "a", "placement": {"x": 2}}, 1005),
    ]
    for body, code in cases:
        status, answer = await raw(fake, "POST", path, body)
        assert (status, answer["error"]["code"]) == (400, code), body
    assert fake.reactions == {}
    huge = {"operation": "add", "type": "sticker", "emoji": "🎉", "placement": {"scale": 40}}
    status, _ = await raw(fake, "POST", path, huge)
    assert status == 202
    (reaction,) = fake.reactions.values()
    assert reaction.placement == {"scale": 2.5}


# Threads


async def test_thread_lists_the_first_message_and_its_replies(
    linq: LinqSession, fake: FakeLinqServer
) -> None:
    """GET /v3/messages/{id}/thread from a reply: the thread only, oldest first, in pages."""
    created = await linq.chats.create(from_=SENDER, to=RECIPIENT, text="root")
    chat_id, root = created.chat.id, created.message
    send = linq.chats.messages.send
    first = await send(chat_id, text="reply 1", reply_to=ReplyTo(message_id=root.id))
    await send(chat_id, text="unrelated")
    second = await send(chat_id, text="reply 2", reply_to=ReplyTo(message_id=first.id))
    fake.requests.clear()
    ids = [message.id async for message in linq.messages.thread(second.id, limit=2)]
    assert ids == [root.id, first.id, second.id]
    page_one, page_two = api_requests(fake)
    assert page_one.path == f"/api/partner/v3/messages/{second.id}/thread"
    assert page_one.query_string == "limit=2"
    assert page_two.query_string == "limit=2&cursor=2"
    newest = await linq.messages.thread(root.id, order="desc")
    assert [message.id for message in newest.items] == [second.id, first.id, root.id]
    assert api_requests(fake)[-1].query_string == "order=desc"


async def test_a_message_outside_any_thread_comes_back_alone(
    linq: LinqSession, fake: FakeLinqServer
) -> None:
    """A message that is no thread's part is its own one-message thread."""
    message = await send_text(linq)
    page = await linq.messages.thread(message.id)
    assert [item.id for item in page.items] == [message.id]
    assert page.next_cursor is None


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"order": "newest"}, "order"),
        ({"order": "ASC"}, "order"),
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
    ],
)
async def test_thread_checks_arguments_before_sending(
    linq: LinqSession, fake: FakeLinqServer, kwargs: dict[str, Any], match: str
) -> None:
    """order is asc or desc and limit is 1-100, checked at the call, before any request."""
    with pytest.raises(LinqUsageError, match=match):
        linq.messages.thread("m1", **kwargs)
    assert fake.requests == []


# Polls


async def test_poll_create_get_vote_and_add_options(
    linq: LinqSession, fake: FakeLinqServer
) -> None:
    """Each poll endpoint's wire request, and the poll message every one answers with."""
    created = await linq.chats.create(from_=SENDER, to=RECIPIENT, text="lunch?")
    chat_id = created.chat.id
    fake.requests.clear()
    poll = await linq.chats.polls.create(chat_id, options=["Tacos", "Sushi"])
    assert isinstance(poll, PollMessage)
    assert poll.chat_id == chat_id
    assert [option.text for option in poll.poll.options] == ["Tacos", "Sushi"]
    assert poll.poll.total_voters == 0
    tacos, sushi = (option.option_id for option in poll.poll.options)
    voted = await linq.messages.poll.vote(poll.message_id, sushi)
    assert [len(option.voters) for option in voted.poll.options] == [0, 1]
    assert voted.poll.options[1].voters[0].handle == SENDER
    await linq.messages.poll.vote(poll.message_id, tacos)
    grown = await linq.messages.poll.add_options(poll.message_id, ["Pizza"])
    assert [option.text for option in grown.poll.options] == ["Tacos", "Sushi", "Pizza"]
    assert grown.poll.total_voters == 1
    after = await linq.messages.poll.unvote(poll.message_id, sushi)
    fetched = await linq.messages.poll.get(poll.message_id)
    assert fetched == after
    assert [len(option.voters) for option in fetched.poll.options] == [1, 0, 0]
    create, vote, _, add, unvote, get = api_requests(fake)
    assert (create.method, create.path) == ("POST", f"/api/partner/v3/chats/{chat_id}/polls")
    key = create.json()["poll"]["idempotency_key"]
    assert create.json() == {
        "poll": {"options": [{"text": "Tacos"}, {"text": "Sushi"}], "idempotency_key": key}
    }
    base = f"/api/partner/v3/messages/{poll.message_id}/poll"
    assert (vote.path, vote.json()) == (
        f"{base}/votes",
        {"operation": "add", "option_id": sushi},
    )
    assert (unvote.path, unvote.json()) == (
        f"{base}/votes",
        {"operation": "remove", "option_id": sushi},
    )
    assert (add.path, add.json()) == (f"{base}/options", {"options": [{"text": "Pizza"}]})
    assert (get.method, get.path) == ("GET", base)
    assert fake.polls[poll.message_id].idempotency_key == key


async def test_poll_create_retry_after_a_lost_answer_sends_once(
    linq: LinqSession, fake: FakeLinqServer, sleeps: SleepRecorder
) -> None:
    """The minted poll.idempotency_key is reused by the retry: one poll is sent."""
    message = await send_text(linq)
    chat_id = fake.messages[message.id].chat_id
    fake.drop_next_response(path=f"/v3/chats/{chat_id}/polls")
    poll = await linq.chats.polls.create(chat_id, options=["Yes", "No"])
    first, second = api_requests(fake)[1:]
    assert first.json() == second.json()
    assert list(fake.polls) == [poll.message_id]
    assert len(sleeps.delays) == 1


async def test_voting_twice_is_harmless_and_retried(
    linq: LinqSession, fake: FakeLinqServer, sleeps: SleepRecorder
) -> None:
    """A vote is a per-option state: a lost answer is retried and the vote counts once."""
    message = await send_text(linq)
    poll = await linq.chats.polls.create(fake.messages[message.id].chat_id, options=["a", "b"])
    option_id = poll.poll.options[0].option_id
    fake.drop_next_response(path=f"/v3/messages/{poll.message_id}/poll/votes")
    voted = await linq.messages.poll.vote(poll.message_id, option_id)
    assert len(voted.poll.options[0].voters) == 1
    assert len(sleeps.delays) == 1
    again = await linq.messages.poll.vote(poll.message_id, option_id)
    assert len(again.poll.options[0].voters) == 1
    assert len(fake.polls[poll.message_id].options[0].votes) == 1


async def test_add_options_is_not_retried_once_it_may_have_arrived(
    linq: LinqSession, fake: FakeLinqServer, sleeps: SleepRecorder
) -> None:
    """Options cannot be removed, so a lost answer to add_options is final."""
    message = await send_text(linq)
    poll = await linq.chats.polls.create(fake.messages[message.id].chat_id, options=["a", "b"])
    fake.drop_next_response(path=f"/v3/messages/{poll.message_id}/poll/options")
    with pytest.raises(LinqConnectionError):
        await linq.messages.poll.add_options(poll.message_id, ["c"])
    assert len(fake.polls[poll.message_id].options) == 3
    assert sleeps.delays == []


async def test_poll_errors(linq: LinqSession, fake: FakeLinqServer) -> None:
    """An unknown option is 400; a message that is not a poll and an unknown chat are 404."""
    message = await send_text(linq)
    poll = await linq.chats.polls.create(fake.messages[message.id].chat_id, options=["a", "b"])
    with pytest.raises(BadRequestError, match="no option"):
        await linq.messages.poll.vote(poll.message_id, "not-an-option")
    with pytest.raises(NotFoundError, match="not a poll"):
        await linq.messages.poll.get(message.id)
    with pytest.raises(NotFoundError):
        await linq.chats.polls.create("no-such-chat", options=["a", "b"])


async def test_poll_answer_fits_the_model(linq: LinqSession, fake: FakeLinqServer) -> None:
    """Every key of the fake's poll answer is modelled (drift check), reactions included."""
    message = await send_text(linq)
    poll = await linq.chats.polls.create(fake.messages[message.id].chat_id, options=["a", "b"])
    await linq.messages.react(poll.message_id, "love")
    await linq.messages.poll.vote(poll.message_id, poll.poll.options[0].option_id)
    status, answer = await raw(fake, "GET", f"/v3/messages/{poll.message_id}/poll")
    assert status == 200
    assert unknown_keys(answer, PollMessage) == []
    loaded = await linq.messages.poll.get(poll.message_id)
    assert [reaction.type for reaction in loaded.reactions] == ["love"]


@pytest.mark.parametrize(
    ("options", "match"),
    [
        (["only one"], "at least 2"),
        ([], "at least 2"),
        (["a", ""], r"options\[1\]"),
        (["a", None], r"options\[1\]"),
        ("ab", "list of option texts"),
    ],
)
async def test_poll_create_checks_options_before_sending(
    linq: LinqSession, fake: FakeLinqServer, options: Any, match: str
) -> None:
    """At least 2 options, each a non-empty string, and a list rather than a string."""
    with pytest.raises(LinqUsageError, match=match):
        await linq.chats.polls.create("chat", options=options)
    assert fake.requests == []


async def test_poll_create_checks_the_key_before_sending(
    linq: LinqSession, fake: FakeLinqServer
) -> None:
    """An idempotency key longer than 255 characters is refused with nothing sent."""
    with pytest.raises(LinqUsageError, match="idempotency_key"):
        await linq.chats.polls.create("chat", options=["a", "b"], idempotency_key="k" * 256)
    assert fake.requests == []


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda poll: poll.add_options("m1", []), "at least 1"),
        (lambda poll: poll.add_options("m1", [""]), r"options\[0\]"),
        (lambda poll: poll.vote("m1", ""), "option_id"),
        (lambda poll: poll.unvote("m1", None), "option_id"),
    ],
)
async def test_poll_methods_check_arguments_before_sending(
    linq: LinqSession,
    fake: FakeLinqServer,
    call: Callable[[MessagePoll], Awaitable[Any]],
    match: str,
) -> None:
    """add_options needs a non-empty text; vote and unvote a non-empty option_id."""
    with pytest.raises(LinqUsageError, match=match):
        await call(linq.messages.poll)
    assert fake.requests == []


# The fake's own configuration


@pytest.mark.parametrize("lines", [["12223334444"], "+12223334444", ["+12223334444"] * 2])
def test_fake_lines_must_be_distinct_e164_numbers(lines: Any) -> None:
    """FakeLinqServer(lines=...) takes a list of distinct E.164 numbers."""
    with pytest.raises(ValueError, match="lines"):
        FakeLinqServer(lines=lines)


async def test_flag_line_takes_only_the_fakes_lines(fake: FakeLinqServer) -> None:
    """Flagging a number that is not one of the fake's lines is refused."""
    with pytest.raises(ValueError, match="not one of"):
        fake.flag_line(RECIPIENT)
    fake.flag_line(SENDER)
    fake.flag_line(SENDER, flagged=False)


async def test_parts_read_from_an_answer_can_be_sent_again(
    linq: LinqSession, fake: FakeLinqServer
) -> None:
    """Response-only fields (reactions, mentions, media metadata) never go back on the wire."""
    created = await linq.chats.create(from_=SENDER, to=RECIPIENT, text="hello")
    await linq.messages.react(created.message.id, "love")
    fetched = await linq.messages.get(created.message.id)
    assert fetched.parts[0].reactions  # type: ignore[union-attr]
    fake.requests.clear()
    await linq.chats.messages.send(created.chat.id, parts=fetched.parts)
    (sent,) = api_requests(fake)
    assert sent.json()["message"]["parts"] == [{"type": "text", "value": "hello"}]
