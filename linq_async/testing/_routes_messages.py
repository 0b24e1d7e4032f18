"""Declared endpoints of the messages area (beyond ``GET /v3/messages/{id}`` in ``_api.py``).

Sends with an API-picked line, edits, deletes, reactions and stickers, threads, and polls.
State (one `MessagesArea` per fake): flagged lines, the answers kept per idempotency key,
edits, reactions, polls, and the ids of deleted messages. The partner's lines are
the account area's lines (``FakeLinqServer(lines=...)``, `FakeAccount.add_line`), best first.

Routes, their success status and their refusals:

* ``POST /v3/messages``: 202. 400 1001/1002/1004/1005 for a bad body, the
  ``Idempotency-Key`` header and ``message.idempotency_key`` differing, or every line that
  could be picked excluded; 404 2002 for the key of a deleted message; 404 2003 or 400 1004
  for an attachment; 409 1006 when no line can send.
* ``PATCH /v3/messages/{id}``: 200. 400 1005 for a part that is not text or out of range, a
  sixth edit, or an edit more than 15 minutes after sending; 404 2002.
* ``DELETE /v3/messages/{id}``: 204. 404 2002.
* ``POST /v3/messages/{id}/reactions``: 202. 400 1001 for a missing ``custom_emoji`` or
  sticker source; 400 1005 for a field of another type, several sticker sources, removing a
  sticker or a part out of range; 404 2002, 404 2003.
* ``PATCH /v3/messages/{id}/reactions/{reactionId}``: 200. 400 1001 (no placement), 400 1005
  (not a sticker; ``x`` or ``y`` outside -1..1), 404 2001 (no such reaction), 404 2002.
* ``GET /v3/messages/{id}/thread``: 200. 400 1005 for a bad query; 404 2002.
* ``POST /v3/chats/{id}/polls``: 200. 400 1001/1005 (fewer than 2 options, an empty text),
  404 2001, 404 2002 for the key of a deleted poll.
* ``GET /v3/messages/{id}/poll``: 200. 404 2002 (no such message, or not a poll).
* ``POST /v3/messages/{id}/poll/options``: 200. 400 1001/1005, 404 2002.
* ``POST /v3/messages/{id}/poll/votes``: 200. 400 1005 (no such option), 404 2002.

Decisions where the fact sheet is silent: edit limits, a removed sticker and a vote for an
unknown option answer 400 1005; a reaction or vote that changes nothing (the same tapback
again, removing one that is gone, voting twice) answers success and emits nothing; a
sticker's ``scale`` is clamped to 0.05-2.5 as the API documents, while ``x``/``y`` outside
-1..1 are refused; "no line can send" is 409 with the fake's default 409 code, 1006.
"""

from __future__ import annotations

import datetime as dt
import mimetypes
import posixpath
import urllib.parse
from typing import Any

import attrs

from . import _render as render
from . import _rules as rules
from ._declare import (
    Call,
    Check,
    Endpoint,
    array,
    bad,
    boolean,
    email_or_phone,
    https_url,
    integer,
    number,
    obj,
    one_of,
    opt,
    phone,
    query_int,
    req,
    string,
)
from ._envelope import ApiError, trace_id
from ._routes_account import FakeAccount
from ._state import FakeChat, FakeMessage, Store

__all__ = [
    "ENDPOINTS",
    "FakeEdit",
    "FakePoll",
    "FakePollOption",
    "FakeReaction",
    "MessagesArea",
]

MAX_EDITS = 5
EDIT_WINDOW = dt.timedelta(minutes=15)
MAX_EDIT_CHARS = 10_000  # from the OpenAPI schema of the edit request
MIN_STICKER_SCALE = 0.05
MAX_STICKER_SCALE = 2.5
THREAD_PAGE_SIZE = 50
MAX_PAGE_SIZE = 100
REACTION_TYPES = ("love", "like", "dislike", "laugh", "emphasize", "question", "custom", "sticker")
_STICKER_SOURCES = ("emoji", "url", "attachment_id")


@attrs.define(kw_only=True, eq=False)
class FakeEdit:
    """One accepted ``PATCH /v3/messages/{messageId}``.

    Attributes:
        message_id: The edited message.
        part_index: The edited part.
        text: The part's new text.
        edited_at: When the fake accepted the edit (aware UTC).
    """

    message_id: str
    part_index: int
    text: str
    edited_at: dt.datetime


@attrs.define(kw_only=True, eq=False)
class FakeReaction:
    """A reaction the fake holds on a message part.

    Attributes:
        id: The reaction id (``Reaction.id``; what moving a sticker takes).
        message_id: The message reacted to.
        part_index: The part reacted to.
        type: The reaction type (``love`` ... ``custom``, ``sticker``).
        handle: Who reacted (the chat's sending line, for reactions made through the API).
        custom_emoji: The emoji of a ``custom`` reaction.
        sticker: A sticker's source as sent (``{"emoji"}``, ``{"url"}`` or
            ``{"attachment_id"}``), or ``None``.
        placement: A sticker's placement (``scale`` clamped to 0.05-2.5), or ``None``.
        image: The sticker image object the API shows, or ``None``.
        created_at: When the fake accepted it (aware UTC).
    """

    id: str
    message_id: str
    part_index: int
    type: str
    handle: str
    custom_emoji: str | None = None
    sticker: dict[str, Any] | None = None
    placement: dict[str, Any] | None = None
    image: dict[str, Any] | None = None
    created_at: dt.datetime


@attrs.define(kw_only=True, eq=False)
class FakePollOption:
    """One option of a fake poll.

    Attributes:
        option_id: The option id.
        text: The option text.
        creator: The handle that added it.
        votes: When each handle voted for it, in voting order.
    """

    option_id: str
    text: str
    creator: str
    votes: dict[str, dt.datetime] = attrs.field(factory=dict)


@attrs.define(kw_only=True, eq=False)
class FakePoll:
    """A poll sent with ``POST /v3/chats/{chatId}/polls`` (its message is in ``messages``).

    Attributes:
        message_id: The poll message's id.
        chat_id: Its chat.
        options: Its options, in the order they were added.
        idempotency_key: ``poll.idempotency_key`` as sent, or ``None``.
        created_at: When it was sent (aware UTC).
        updated_at: When its options or votes last changed.
    """

    message_id: str
    chat_id: str
    options: list[FakePollOption]
    idempotency_key: str | None = None
    created_at: dt.datetime
    updated_at: dt.datetime


@attrs.define(kw_only=True, eq=False)
class MessagesArea:
    """The messages area's state (one per fake)."""

    # Lines that cannot send (FakeLinqServer.flag_line): skipped when picking a line.
    flagged_lines: set[str] = attrs.field(factory=set)
    # Idempotency key -> (message id, first answer), for POST /v3/messages and polls.
    sends: dict[str, tuple[str, dict[str, Any]]] = attrs.field(factory=dict)
    polls_by_key: dict[str, tuple[str, dict[str, Any]]] = attrs.field(factory=dict)
    edits: list[FakeEdit] = attrs.field(factory=list)
    reactions: dict[str, FakeReaction] = attrs.field(factory=dict)
    polls: dict[str, FakePoll] = attrs.field(factory=dict)
    deleted: set[str] = attrs.field(factory=set)


# Sending with an API-picked line.


def _message_content(value: Any, where: str) -> rules.MessageRequest:
    return rules.message_request(value)


def _pick(
    call: Call, to: list[str], excluded: set[str]
) -> tuple[FakeChat | None, str, str, str | None]:
    """The chat to reuse (or ``None``), the line, the reason and the abandoned chat's id."""
    store, state = call.store, call.area(MessagesArea)
    lines = list(call.area(FakeAccount).lines)
    wanted = frozenset(to)
    matching = [
        chat
        for chat in store.chats.values()
        if frozenset(chat.handles) == wanted and chat.from_handle in lines
    ]
    live = [chat for chat in matching if chat.from_handle not in state.flagged_lines]
    if live:
        # An exclusion never abandons a live chat: it only steers the choice between chats.
        preferred = [chat for chat in live if chat.from_handle not in excluded] or live
        chat = max(reversed(preferred), key=lambda item: item.updated_at)
        return chat, chat.from_handle, "reused_active_chat", None
    eligible = [line for line in lines if line not in state.flagged_lines]
    if not eligible:
        raise ApiError(409, 1006, "None of your lines can send right now")
    pickable = [line for line in eligible if line not in excluded]
    if not pickable:
        raise bad(1005, "exclude_from excludes every line that could send this message")
    if matching:
        abandoned = max(reversed(matching), key=lambda item: item.updated_at)
        return None, pickable[0], "failover_flagged", abandoned.id
    return None, pickable[0], "new_best_number", None


async def send(call: Call) -> dict[str, Any]:
    """``POST /v3/messages``: 202; the same key in header and body; replays a repeated key."""
    body, state, store = call.body, call.area(MessagesArea), call.store
    spec: rules.MessageRequest = body["message"]
    header_key = call.request.headers.get("Idempotency-Key") or None
    if header_key and spec.idempotency_key and header_key != spec.idempotency_key:
        raise bad(1005, "the Idempotency-Key header and message.idempotency_key differ")
    key = header_key or spec.idempotency_key
    if key is not None and key in state.sends:
        message_id, answer = state.sends[key]
        if message_id in state.deleted:
            raise ApiError(404, 2002, f"Message {message_id} was deleted; it is not sent again")
        return answer
    to: list[str] = body["to"]
    if len(set(to)) != len(to):
        raise bad(1005, "to contains the same handle twice")
    chat, line, reason, previous = _pick(call, to, set(body.get("exclude_from", ())))
    for attachment_id in spec.attachment_ids():
        await call.uploaded_attachment(attachment_id)
    if spec.reply_to is not None:
        target = store.messages.get(spec.reply_to["message_id"])
        if chat is None or target is None or target.chat_id != chat.id:
            raise ApiError(404, 2002, f"Message {spec.reply_to['message_id']} not found here")
        if (spec.reply_to.get("part_index") or 0) >= max(len(target.parts), 1):
            raise bad(1005, "message.reply_to.part_index is out of range")
    continuation = body.get("continuation_message")
    if reason == "failover_flagged" and continuation is not None:
        # The continuation replaces the message: text only, no parts, media or effects.
        spec = rules.message_request({"parts": [{"type": "text", "value": continuation["text"]}]})
    spec = attrs.evolve(spec, idempotency_key=key)
    if chat is None:
        chat = call.new_chat(line, to)
        store.chat_keys[(line, frozenset(to))] = chat.id
    message = call.add_message(chat, spec, body.get("override_optout"))
    answer = {
        "chat_id": chat.id,
        "created_new_chat": reason != "reused_active_chat",
        "from": line,
        "from_selection": {
            "reason": reason,
            "reused_existing_chat": reason == "reused_active_chat",
        },
        "handles": [render.chat_handle(chat, handle) for handle in [line, *chat.handles]],
        "is_group": chat.is_group,
        "service": chat.service,
        "message": render.sent_message(message, chat),
        "previous_chat_id": previous,
    }
    if key is not None:
        state.sends[key] = (message.id, answer)
    return answer


# Edits and deletes.


def _chat_of(call: Call, message: FakeMessage) -> FakeChat:
    return call.store.chats[message.chat_id]


def _part(message: FakeMessage, index: int) -> dict[str, Any]:
    if index >= len(message.response_parts):
        raise bad(1005, f"part_index {index} is out of range: the message has no such part")
    return message.response_parts[index]


def edit(call: Call) -> dict[str, Any]:
    """``PATCH /v3/messages/{messageId}``: 200; text parts, <= 5 edits, <= 15 min old."""
    message = call.message()
    state = call.area(MessagesArea)
    index: int = call.body.get("part_index", 0)
    part = _part(message, index)
    if part.get("type") != "text":
        raise bad(1005, f"part {index} is a {part.get('type')} part: only text parts can be edited")
    now = call.now()
    if now - message.created_at > EDIT_WINDOW:
        raise bad(1005, "a message can be edited only within 15 minutes of sending")
    if sum(1 for item in state.edits if item.message_id == message.id) >= MAX_EDITS:
        raise bad(1005, f"a message can be edited at most {MAX_EDITS} times")
    text: str = call.body["text"]
    part["value"] = text
    state.edits.append(FakeEdit(message_id=message.id, part_index=index, text=text, edited_at=now))
    chat = _chat_of(call, message)
    call.emit(
        "message.edited",
        {
            "id": message.id,
            "chat": {"id": chat.id, "is_group": chat.is_group},
            "direction": "outbound",
            "edited_at": render.iso(now),
            "part": {"index": index, "text": text},
            "sender_handle": render.chat_handle(chat, chat.from_handle),
        },
    )
    return render.message(message, chat)


def delete(call: Call) -> None:
    """``DELETE /v3/messages/{messageId}``: 204; gone from the API (not unsent)."""
    message = call.message()
    chat = _chat_of(call, message)
    del call.store.messages[message.id]
    chat.message_ids.remove(message.id)
    call.area(MessagesArea).deleted.add(message.id)


# Reactions.


def _clamped(placement: dict[str, Any]) -> dict[str, Any]:
    if "scale" in placement:
        scale = min(max(placement["scale"], MIN_STICKER_SCALE), MAX_STICKER_SCALE)
        return {**placement, "scale": scale}
    return placement


async def _sticker_image(call: Call, source: dict[str, Any]) -> dict[str, Any]:
    if "attachment_id" in source:
        record = await call.uploaded_attachment(source["attachment_id"])
        return {
            "file_name": record.filename,
            "mime_type": record.content_type,
            "url": render.download_url(record),
        }
    if "url" in source:
        name = posixpath.basename(urllib.parse.urlsplit(source["url"]).path) or "sticker"
        return {
            "file_name": name,
            "mime_type": mimetypes.guess_type(name)[0] or "image/png",
            "url": source["url"],
        }
    return {}


def _render_reaction(chat: FakeChat, reaction: FakeReaction) -> dict[str, Any]:
    return {
        "handle": render.chat_handle(chat, reaction.handle),
        "is_me": reaction.handle == chat.from_handle,
        "type": reaction.type,
        "id": reaction.id,
        "custom_emoji": reaction.custom_emoji,
        "sticker": reaction.image,
    }


def _show(store: Store, state: MessagesArea, message: FakeMessage, index: int) -> None:
    """Render the part's ``reactions`` from the records (the records are the truth)."""
    chat = store.chats[message.chat_id]
    held = [
        _render_reaction(chat, reaction)
        for reaction in state.reactions.values()
        if reaction.message_id == message.id and reaction.part_index == index
    ]
    message.response_parts[index]["reactions"] = held or None


def _reaction_event(chat: FakeChat, reaction: FakeReaction, now: dt.datetime) -> dict[str, Any]:
    return {
        "reaction_type": reaction.type,
        "is_from_me": reaction.handle == chat.from_handle,
        "chat_id": chat.id,
        "message_id": reaction.message_id,
        "part_index": reaction.part_index,
        "reaction_id": reaction.id,
        "custom_emoji": reaction.custom_emoji,
        "sticker": reaction.image,
        "from_handle": render.chat_handle(chat, reaction.handle),
        "reacted_at": render.iso(now),
        "service": chat.service,
    }


def _check_reaction_fields(body: dict[str, Any]) -> None:
    kind = body["type"]
    if kind == "custom" and "custom_emoji" not in body:
        raise bad(1001, 'custom_emoji is required when type is "custom"')
    if kind != "custom" and "custom_emoji" in body:
        raise bad(1005, 'custom_emoji is only valid when type is "custom"')
    sources = [name for name in _STICKER_SOURCES if name in body]
    if kind != "sticker":
        if sources or "placement" in body:
            raise bad(1005, f'{(sources or ["placement"])[0]} is only valid when type is "sticker"')
        return
    if body["operation"] == "remove":
        raise bad(1005, "stickers cannot be removed")
    if not sources:
        raise bad(1001, "a sticker needs one of emoji, url or attachment_id")
    if len(sources) > 1:
        raise bad(1005, "a sticker takes exactly one of emoji, url or attachment_id")


async def react(call: Call) -> dict[str, Any]:
    """``POST /v3/messages/{messageId}/reactions``: 202; add or remove, one tapback per line."""
    body = call.body
    _check_reaction_fields(body)
    message = call.message()
    index: int = body.get("part_index", 0)
    _part(message, index)
    store, state, chat = call.store, call.area(MessagesArea), _chat_of(call, message)
    kind, line, now = body["type"], chat.from_handle, call.now()
    emoji = body.get("custom_emoji")
    here = [
        reaction
        for reaction in state.reactions.values()
        if reaction.message_id == message.id
        and reaction.part_index == index
        and reaction.handle == line
        and reaction.type != "sticker"
    ]
    same = [item for item in here if item.type == kind and item.custom_emoji == emoji]
    removed: list[FakeReaction] = []
    added: FakeReaction | None = None
    if body["operation"] == "remove":
        removed = same
    elif kind == "sticker":
        source = {name: body[name] for name in _STICKER_SOURCES if name in body}
        added = FakeReaction(
            id=call.new_id(),
            message_id=message.id,
            part_index=index,
            type=kind,
            handle=line,
            sticker=source,
            placement=_clamped(body["placement"]) if "placement" in body else None,
            image=await _sticker_image(call, source),
            created_at=now,
        )
    elif not same:
        # A line has one tapback per part: a new one replaces the old.
        removed = here
        added = FakeReaction(
            id=call.new_id(),
            message_id=message.id,
            part_index=index,
            type=kind,
            handle=line,
            custom_emoji=emoji,
            created_at=now,
        )
    for reaction in removed:
        del state.reactions[reaction.id]
        call.emit("reaction.removed", _reaction_event(chat, reaction, now))
    if added is not None:
        state.reactions[added.id] = added
        call.emit("reaction.added", _reaction_event(chat, added, now))
    _show(store, state, message, index)
    return {"status": "accepted", "message": "Reaction processed", "trace_id": trace_id()}


def move_sticker(call: Call) -> dict[str, Any]:
    """``PATCH /v3/messages/{messageId}/reactions/{reactionId}``: 200; merges the placement."""
    message = call.message()
    reaction_id = call.params["reactionId"]
    reaction = call.area(MessagesArea).reactions.get(reaction_id)
    if reaction is None or reaction.message_id != message.id:
        raise ApiError(404, 2001, f"Reaction {reaction_id} not found on message {message.id}")
    if reaction.type != "sticker":
        raise bad(1005, f"reaction {reaction_id} is a {reaction.type}, not a sticker")
    reaction.placement = {**(reaction.placement or {}), **_clamped(call.body["placement"])}
    return {"status": "accepted", "success": True, "trace_id": trace_id()}


# Threads.


def _root(store: Store, message: FakeMessage) -> FakeMessage:
    seen = {message.id}
    while message.reply_to is not None:
        target = store.messages.get(message.reply_to["message_id"])
        if target is None or target.chat_id != message.chat_id or target.id in seen:
            break
        seen.add(target.id)
        message = target
    return message


def _cursor(value: Any, where: str) -> int:
    if not isinstance(value, str) or not value.isascii() or not value.isdigit() or len(value) > 9:
        raise bad(1005, f"{where} {value!r} is not a valid cursor")
    return int(value)


def thread(call: Call) -> dict[str, Any]:
    """``GET /v3/messages/{messageId}/thread``: the first message and its replies."""
    message = call.message()
    store, chat = call.store, _chat_of(call, message)
    root = _root(store, message)
    members = [
        item
        for item in (store.messages[message_id] for message_id in chat.message_ids)
        if _root(store, item).id == root.id
    ]
    if call.query.get("order") == "desc":
        members.reverse()
    offset: int = call.query.get("cursor", 0)
    end = offset + call.query.get("limit", THREAD_PAGE_SIZE)
    return {
        "messages": [render.message(item, chat) for item in members[offset:end]],
        "next_cursor": str(end) if end < len(members) else None,
    }


# Polls.


def _poll_answer(store: Store, poll: FakePoll) -> dict[str, Any]:
    chat = store.chats[poll.chat_id]
    message = store.messages[poll.message_id]
    voters = {handle for option in poll.options for handle in option.votes}
    return {
        "chat_id": poll.chat_id,
        "created_at": render.iso(poll.created_at),
        "message_id": poll.message_id,
        "poll": {
            "options": [
                {
                    "option_id": option.option_id,
                    "text": option.text,
                    "can_be_edited": False,
                    "creator_handle": render.chat_handle(chat, option.creator),
                    "voters": [
                        {"handle": handle, "voted_at": render.iso(at)}
                        for handle, at in option.votes.items()
                    ],
                }
                for option in poll.options
            ],
            "total_voters": len(voters),
        },
        "reactions": message.response_parts[0].get("reactions") or [],
        "updated_at": render.iso(poll.updated_at),
    }


def _options(call: Call, texts: list[dict[str, Any]], creator: str) -> list[FakePollOption]:
    return [
        FakePollOption(option_id=call.new_id(), text=item["text"], creator=creator)
        for item in texts
    ]


def create_poll(call: Call) -> dict[str, Any]:
    """``POST /v3/chats/{chatId}/polls``: 200; sends the poll message; replays a repeated key."""
    chat = call.chat()
    store, state = call.store, call.area(MessagesArea)
    content = call.body["poll"]
    key = content.get("idempotency_key")
    if key is not None and key in state.polls_by_key:
        message_id, answer = state.polls_by_key[key]
        if message_id in state.deleted:
            raise ApiError(404, 2002, f"Message {message_id} was deleted; it is not sent again")
        return answer
    now = call.now()
    message = FakeMessage(
        id=call.new_id(),
        chat_id=chat.id,
        parts=[],
        # The API documents no part shape for a poll: the fake shows one "poll" part, which
        # holds the poll's reactions (part 0).
        response_parts=[{"type": "poll", "reactions": None}],
        idempotency_key=key,
        created_at=now,
    )
    store.messages[message.id] = message
    chat.message_ids.append(message.id)
    chat.updated_at = now
    poll = FakePoll(
        message_id=message.id,
        chat_id=chat.id,
        options=_options(call, content["options"], chat.from_handle),
        idempotency_key=key,
        created_at=now,
        updated_at=now,
    )
    state.polls[message.id] = poll
    answer = _poll_answer(store, poll)
    if key is not None:
        state.polls_by_key[key] = (message.id, answer)
    return answer


def _poll(call: Call) -> FakePoll:
    message = call.message()
    poll = call.area(MessagesArea).polls.get(message.id)
    if poll is None:
        raise ApiError(404, 2002, f"Message {message.id} is not a poll")
    return poll


def get_poll(call: Call) -> dict[str, Any]:
    """``GET /v3/messages/{messageId}/poll``: 200, the poll's current results."""
    return _poll_answer(call.store, _poll(call))


def add_options(call: Call) -> dict[str, Any]:
    """``POST /v3/messages/{messageId}/poll/options``: 200; appends (options are add-only)."""
    poll = _poll(call)
    chat = call.store.chats[poll.chat_id]
    added = _options(call, call.body["options"], chat.from_handle)
    poll.options.extend(added)
    poll.updated_at = call.now()
    call.emit(
        "poll.updated",
        {
            "chat_id": poll.chat_id,
            "message_id": poll.message_id,
            "options": [{"option_id": item.option_id, "text": item.text} for item in added],
        },
    )
    return _poll_answer(call.store, poll)


def vote(call: Call) -> dict[str, Any]:
    """``POST /v3/messages/{messageId}/poll/votes``: 200; a per-option toggle for the line."""
    poll = _poll(call)
    option_id = call.body["option_id"]
    option = next((item for item in poll.options if item.option_id == option_id), None)
    if option is None:
        raise bad(1005, f"poll {poll.message_id} has no option {option_id}")
    voter = call.store.chats[poll.chat_id].from_handle
    now = call.now()
    adding = call.body["operation"] == "add"
    if adding != (voter in option.votes):
        if adding:
            option.votes[voter] = now
        else:
            del option.votes[voter]
        poll.updated_at = now
        call.emit(
            "poll.vote.added" if adding else "poll.vote.removed",
            {
                "chat_id": poll.chat_id,
                "message_id": poll.message_id,
                "option_id": option_id,
                "handle": voter,
                "voted_at": render.iso(now),
            },
        )
    return _poll_answer(call.store, poll)


# Schemas.

_PLACEMENT = obj(
    {
        "x": opt(number(low=-1.0, high=1.0)),
        "y": opt(number(low=-1.0, high=1.0)),
        # Clamped by the handler, as the API does, rather than refused.
        "scale": opt(number()),
        "rotation": opt(number()),
    }
)
_OPTION = obj({"text": req(string())})
_MESSAGE: Check = _message_content

ENDPOINTS = [
    Endpoint(
        method="POST",
        route="/v3/messages",
        handler=send,
        body=obj(
            {
                "to": req(array(email_or_phone, min_items=1)),
                "message": req(_MESSAGE),
                "continuation_message": opt(obj({"text": req(string())})),
                "exclude_from": opt(array(phone)),
                "override_optout": opt(boolean),
            }
        ),
        status=202,
    ),
    Endpoint(
        method="PATCH",
        route="/v3/messages/{messageId}",
        handler=edit,
        body=obj(
            {
                "text": req(string(max_len=MAX_EDIT_CHARS)),
                "part_index": opt(integer(low=0)),
            }
        ),
    ),
    Endpoint(method="DELETE", route="/v3/messages/{messageId}", handler=delete),
    Endpoint(
        method="POST",
        route="/v3/messages/{messageId}/reactions",
        handler=react,
        body=obj(
            {
                "operation": req(one_of("add", "remove")),
                "type": req(one_of(*REACTION_TYPES)),
                "custom_emoji": opt(string()),
                "emoji": opt(string()),
                "url": opt(https_url()),
                "attachment_id": opt(string()),
                "placement": opt(_PLACEMENT),
                "part_index": opt(integer(low=0)),
            }
        ),
        status=202,
    ),
    Endpoint(
        method="PATCH",
        route="/v3/messages/{messageId}/reactions/{reactionId}",
        handler=move_sticker,
        body=obj({"placement": req(_PLACEMENT)}),
    ),
    Endpoint(
        method="GET",
        route="/v3/messages/{messageId}/thread",
        handler=thread,
        query={
            "cursor": opt(_cursor),
            "limit": opt(query_int(low=1, high=MAX_PAGE_SIZE)),
            "order": opt(one_of("asc", "desc")),
        },
    ),
    Endpoint(
        method="POST",
        route="/v3/chats/{chatId}/polls",
        handler=create_poll,
        body=obj(
            {
                "poll": req(
                    obj(
                        {
                            "options": req(array(_OPTION, min_items=2)),
                            "idempotency_key": opt(string(max_len=255)),
                        }
                    )
                )
            }
        ),
    ),
    Endpoint(method="GET", route="/v3/messages/{messageId}/poll", handler=get_poll),
    Endpoint(
        method="POST",
        route="/v3/messages/{messageId}/poll/options",
        handler=add_options,
        body=obj({"options": req(array(_OPTION, min_items=1))}),
    ),
    Endpoint(
        method="POST",
        route="/v3/messages/{messageId}/poll/votes",
        handler=vote,
        body=obj({"operation": req(one_of("add", "remove")), "option_id": req(string())}),
    ),
]
