"""Declared endpoints of the chats area (beyond create, get, list and send in ``_api.py``).

Rules the fact sheet gives and the fake enforces: group-only updates (409 1006), leaving only
iMessage groups of at least 4 active members, typing and location requests in iMessage chats
only (409 2017; location requests in groups 409 2016), one contact-card share per chat per 5
minutes (429 with ``Retry-After``), and 409 for any action on a chat your line left.

Choices where the documentation is silent, made here and nowhere else:

* a left chat answers 409 with code 2013 ("This chat is unavailable", the code the API
  reference shows for an unavailable chat); reading it (``GET``, its location) still works;
* leaving a group of fewer than 4 active members is 400 1005, like removing a member below 3;
* ``POST .../location/request`` is limited to one per chat per 60 seconds (the API only says
  it answers 429 "when hammered");
* the typing indicator never expires by itself in the fake (the API's lasts ~85-90 s);
* a voice memo's ``attachment_id`` must name an attachment of this fake (404 2003); its
  upload state and audio type are not checked.

Both cooldowns are seconds of the monotonic clock, configurable with
`FakeLinqServer.set_cooldowns`.
"""

from __future__ import annotations

import datetime as dt
import math
import mimetypes
import posixpath
import time
import urllib.parse
from typing import Any

import attrs

from . import _render as render
from ._declare import (
    Call,
    Endpoint,
    array,
    bad,
    boolean,
    email_or_phone,
    https_url,
    obj,
    one_of,
    opt,
    req,
    string,
)
from ._envelope import ApiError, trace_id
from ._state import FakeChat

__all__ = ["ENDPOINTS", "ChatsArea", "FakeChatActivity", "FakeLocationShare"]

SHARE_CONTACT_CARD_WINDOW = 300.0
LOCATION_REQUEST_WINDOW = 60.0


@attrs.define(kw_only=True, eq=False)
class FakeLocationShare:
    """A contact sharing their location in a chat (made by `FakeLinqServer.share_location`).

    Attributes:
        handle: Who shares (a participant of the chat).
        longitude: Degrees east.
        latitude: Degrees north.
        altitude: Metres, or ``None``.
        address: The street address the API would give, or ``None``.
        locality: The city, or ``None``.
        updated_at: When the position was last set (aware UTC).
    """

    handle: str
    longitude: float
    latitude: float
    altitude: float | None = None
    address: str | None = None
    locality: str | None = None
    updated_at: dt.datetime


@attrs.define(kw_only=True, eq=False)
class FakeChatActivity:
    """What the chat-level endpoints did in one chat (`FakeLinqServer.chat_activity`).

    Attributes:
        typing: Whether your typing indicator is on (started and not stopped since).
        typing_starts: ``POST .../typing`` requests accepted.
        typing_stops: ``DELETE .../typing`` requests accepted.
        background: The latest accepted ``POST .../background`` body (decoded JSON), or
            ``None`` (never set, or reset).
        location_shares: The contacts sharing their location, by handle.
        location_requests: ``POST .../location/request`` requests accepted.
        contact_card_shares: ``POST .../share_contact_card`` requests accepted.
        voice_memos: The accepted ``POST .../voicememo`` bodies (decoded JSON), in order.
    """

    typing: bool = False
    typing_starts: int = 0
    typing_stops: int = 0
    background: dict[str, Any] | None = None
    location_shares: dict[str, FakeLocationShare] = attrs.field(factory=dict)
    location_requests: int = 0
    contact_card_shares: int = 0
    voice_memos: list[dict[str, Any]] = attrs.field(factory=list)


@attrs.define(kw_only=True, eq=False)
class ChatsArea:
    """The chats area's state: activity per chat id, and the cooldown clocks."""

    activity: dict[str, FakeChatActivity] = attrs.field(factory=dict)
    windows: dict[str, float] = attrs.field(
        factory=lambda: {
            "share_contact_card": SHARE_CONTACT_CARD_WINDOW,
            "location_request": LOCATION_REQUEST_WINDOW,
        }
    )
    # (what, chat id) -> time.monotonic() of the latest accepted request.
    last: dict[tuple[str, str], float] = attrs.field(factory=dict)

    def of(self, chat_id: str) -> FakeChatActivity:
        """The activity record of a chat (made on first use)."""
        record = self.activity.get(chat_id)
        if record is None:
            record = self.activity[chat_id] = FakeChatActivity()
        return record

    def cool_down(self, what: str, chat_id: str, message: str) -> None:
        """Refuse with 429 (and ``Retry-After``) inside the window, else start a new one."""
        now = time.monotonic()
        window = self.windows[what]
        last = self.last.get((what, chat_id))
        if last is not None and now - last < window:
            wait = max(1, math.ceil(window - (now - last)))
            raise ApiError(
                429,
                1007,
                message,
                headers={"Retry-After": str(wait)},
                extra={"retry_after": wait},
            )
        self.last[(what, chat_id)] = now


def _accepted(message: str) -> dict[str, Any]:
    return {"status": "accepted", "message": message, "trace_id": trace_id()}


def _active(call: Call) -> FakeChat:
    """The path's chat, refusing a chat your line left (409 2013)."""
    chat = call.chat()
    if chat.left_at is not None:
        raise ApiError(409, 2013, f"Chat {chat.id} is unavailable: your line left it")
    return chat


def _group(call: Call) -> FakeChat:
    chat = _active(call)
    if not chat.is_group:
        raise ApiError(409, 1006, f"Chat {chat.id} is a direct chat; this needs a group")
    return chat


def _imessage(chat: FakeChat, what: str) -> None:
    if chat.service != "iMessage":
        raise ApiError(409, 2017, f"{what} is not supported on {chat.service} chats")


# Chat operations


def mark_read(call: Call) -> None:
    """``POST /v3/chats/{chatId}/read``: 204."""
    chat = _active(call)
    chat.read_at = call.now()


def update_chat(call: Call) -> dict[str, Any]:
    """``PUT /v3/chats/{chatId}``: groups only; queued (``status: pending``)."""
    chat = _group(call)
    name = call.body.get("display_name")
    icon = call.body.get("group_chat_icon")
    if name is None and icon is None:
        raise bad(1001, "display_name or group_chat_icon is required")
    if name is not None:
        chat.display_name = name
        call.emit("chat.group_name_updated", {"chat_id": chat.id, "display_name": name})
    if icon is not None:
        chat.group_chat_icon = icon
        call.emit("chat.group_icon_updated", {"chat_id": chat.id, "group_chat_icon": icon})
    return {"chat_id": chat.id, "status": "pending"}


def leave_chat(call: Call) -> dict[str, Any]:
    """``POST /v3/chats/{chatId}/leave``: iMessage groups of at least 4 active members."""
    chat = _group(call)
    _imessage(chat, "Leaving a chat")
    if len(chat.handles) + 1 < 4:  # the recipients, plus your own line
        raise bad(1005, "only groups of at least 4 active members can be left")
    chat.left_at = call.now()
    call.emit("participant.removed", {"chat_id": chat.id, "handle": chat.from_handle})
    return _accepted("Left the chat")


def add_participant(call: Call) -> dict[str, Any]:
    """``POST /v3/chats/{chatId}/participants``: 202, queued."""
    chat = _group(call)
    handle = call.body["handle"]
    if handle in chat.handles or handle == chat.from_handle:
        raise bad(1005, f"{handle} is already a participant of chat {chat.id}")
    chat.handles.append(handle)
    chat.handle_ids[handle] = call.new_id()
    call.emit("participant.added", {"chat_id": chat.id, "handle": handle})
    return _accepted("Participant addition queued")


def remove_participant(call: Call) -> dict[str, Any]:
    """``DELETE /v3/chats/{chatId}/participants`` (JSON body): 202; 3 must remain."""
    chat = _group(call)
    handle = call.body["handle"]
    if handle not in chat.handles:
        raise bad(1005, f"{handle} is not a participant of chat {chat.id}")
    if len(chat.handles) - 1 + 1 < 3:  # the recipients left, plus our own line
        raise bad(1005, "a group chat must keep at least 3 participants")
    chat.handles.remove(handle)
    call.emit("participant.removed", {"chat_id": chat.id, "handle": handle})
    return _accepted("Participant removal queued")


def share_contact_card(call: Call) -> None:
    """``POST /v3/chats/{chatId}/share_contact_card``: 204; once per chat per 5 minutes."""
    chat = _active(call)
    area = call.area(ChatsArea)
    area.cool_down(
        "share_contact_card", chat.id, "A contact card can be shared once per chat per 5 minutes"
    )
    area.of(chat.id).contact_card_shares += 1


def send_voice_memo(call: Call) -> dict[str, Any]:
    """``POST /v3/chats/{chatId}/voicememo``: 202, ``{voice_memo}``."""
    chat = _active(call)
    body = call.body
    attachment_id: str | None = body.get("attachment_id")
    url: str | None = body.get("voice_memo_url")
    if attachment_id is None and url is None:
        raise bad(1001, "voice_memo_url or attachment_id is required")
    if attachment_id is not None and url is not None:
        raise bad(1005, "send voice_memo_url or attachment_id, not both")
    if attachment_id is not None:
        record = call.store.attachments.get(attachment_id)
        if record is None:
            raise ApiError(404, 2003, f"Attachment {attachment_id} not found")
        audio: dict[str, Any] = {
            "id": record.id,
            "url": render.download_url(record),
            "filename": record.filename,
            "mime_type": record.content_type,
            "size_bytes": record.size_bytes,
            "duration_ms": None,
        }
    else:
        assert url is not None
        filename = posixpath.basename(urllib.parse.urlsplit(url).path) or "voice-memo"
        audio = {
            "id": call.new_id(),
            "url": url,
            "filename": filename,
            "mime_type": mimetypes.guess_type(filename)[0] or "application/octet-stream",
            "size_bytes": 0,  # the fake never downloads the file
            "duration_ms": None,
        }
    call.area(ChatsArea).of(chat.id).voice_memos.append(dict(body))
    handles = [render.chat_handle(chat, handle) for handle in [chat.from_handle, *chat.handles]]
    return {
        "voice_memo": {
            "id": call.new_id(),
            "from": chat.from_handle,
            "to": list(chat.handles),
            "status": "queued",
            "service": chat.service,
            "voice_memo": audio,
            "created_at": render.iso(call.now()),
            "chat": {
                "id": chat.id,
                "handles": handles,
                "is_group": chat.is_group,
                "service": chat.service,
                "is_active": True,
            },
        }
    }


# Typing


def start_typing(call: Call) -> None:
    """``POST /v3/chats/{chatId}/typing``: 204; iMessage only."""
    chat = _active(call)
    _imessage(chat, "The typing indicator")
    record = call.area(ChatsArea).of(chat.id)
    record.typing = True
    record.typing_starts += 1


def stop_typing(call: Call) -> None:
    """``DELETE /v3/chats/{chatId}/typing``: 204 (also when it was not on)."""
    chat = _active(call)
    _imessage(chat, "The typing indicator")
    record = call.area(ChatsArea).of(chat.id)
    record.typing = False
    record.typing_stops += 1


# Location


def _feature(share: FakeLocationShare) -> dict[str, Any]:
    coordinates = [share.longitude, share.latitude]
    if share.altitude is not None:
        coordinates.append(share.altitude)
    properties: dict[str, Any] = {
        "handle": share.handle,
        "updated_at": render.iso(share.updated_at),
    }
    if share.address is not None:
        properties["address"] = share.address
    if share.locality is not None:
        properties["locality"] = share.locality
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": coordinates},
        "properties": properties,
    }


def get_location(call: Call) -> dict[str, Any]:
    """``GET /v3/chats/{chatId}/location``: ``{success, data: FeatureCollection}``."""
    chat = call.chat()
    shares = call.area(ChatsArea).of(chat.id).location_shares.values()
    return {
        "success": True,
        "data": {"type": "FeatureCollection", "features": [_feature(s) for s in shares]},
    }


def request_location(call: Call) -> dict[str, Any]:
    """``POST /v3/chats/{chatId}/location/request``: direct iMessage chats only."""
    chat = _active(call)
    if chat.is_group:
        raise ApiError(409, 2016, "Location requests are not supported in group chats")
    _imessage(chat, "Location requests")
    area = call.area(ChatsArea)
    area.cool_down("location_request", chat.id, "Too many location requests for this chat")
    area.of(chat.id).location_requests += 1
    return {"success": True, "message": "Location request sent"}


def stop_location(call: Call) -> dict[str, Any]:
    """``DELETE /v3/chats/{chatId}/location`` (JSON body): 202; ends a contact's share."""
    chat = _active(call)
    handle = call.body["handle"]
    if handle not in chat.handles:
        raise bad(1005, f"{handle} is not a participant of chat {chat.id}")
    shares = call.area(ChatsArea).of(chat.id).location_shares
    # Stopping a share that already ended is accepted: a retried DELETE must not fail.
    if shares.pop(handle, None) is not None:
        call.emit("location.sharing.stopped", {"chat_id": chat.id, "handle": handle})
    return {"success": True, "message": "Location sharing stopped"}


# Background


def set_background(call: Call) -> dict[str, Any]:
    """``POST /v3/chats/{chatId}/background``: 202; ``photo`` needs ``image_url``."""
    chat = _active(call)
    body = call.body
    if body["type"] == "photo" and "image_url" not in body:
        raise bad(1001, "image_url is required for a photo background")
    if body["type"] != "photo" and "image_url" in body:
        raise bad(1005, f"image_url is only for photo backgrounds, not {body['type']}")
    call.area(ChatsArea).of(chat.id).background = dict(body)
    call.emit("chat.background_updated", {"chat_id": chat.id, "background": dict(body)})
    return _accepted("Background update queued")


def reset_background(call: Call) -> dict[str, Any]:
    """``DELETE /v3/chats/{chatId}/background``: 202."""
    chat = _active(call)
    call.area(ChatsArea).of(chat.id).background = None
    call.emit("chat.background_updated", {"chat_id": chat.id, "background": None})
    return _accepted("Background reset queued")


_HANDLE = obj({"handle": req(email_or_phone)})
_CHAT = "/v3/chats/{chatId}"

ENDPOINTS = [
    Endpoint(
        method="PUT",
        route=_CHAT,
        handler=update_chat,
        body=obj({"display_name": opt(string()), "group_chat_icon": opt(https_url())}),
    ),
    Endpoint(method="POST", route=f"{_CHAT}/leave", handler=leave_chat),
    Endpoint(method="POST", route=f"{_CHAT}/read", handler=mark_read),
    Endpoint(
        method="POST",
        route=f"{_CHAT}/voicememo",
        handler=send_voice_memo,
        body=obj(
            {
                "attachment_id": opt(string()),
                "voice_memo_url": opt(https_url()),
                "override_optout": opt(boolean),
            }
        ),
        status=202,
    ),
    Endpoint(method="POST", route=f"{_CHAT}/share_contact_card", handler=share_contact_card),
    Endpoint(
        method="POST",
        route=f"{_CHAT}/participants",
        handler=add_participant,
        body=_HANDLE,
        status=202,
    ),
    Endpoint(
        method="DELETE",
        route=f"{_CHAT}/participants",
        handler=remove_participant,
        body=_HANDLE,
        status=202,
    ),
    Endpoint(method="POST", route=f"{_CHAT}/typing", handler=start_typing),
    Endpoint(method="DELETE", route=f"{_CHAT}/typing", handler=stop_typing),
    Endpoint(
        method="GET",
        route=f"{_CHAT}/location",
        handler=get_location,
        content_type="application/geo+json",
    ),
    Endpoint(method="POST", route=f"{_CHAT}/location/request", handler=request_location),
    Endpoint(
        method="DELETE",
        route=f"{_CHAT}/location",
        handler=stop_location,
        body=_HANDLE,
        status=202,
    ),
    Endpoint(
        method="POST",
        route=f"{_CHAT}/background",
        handler=set_background,
        body=obj(
            {
                "type": req(one_of("color", "dynamic", "photo")),
                "variant": opt(string()),
                "shades": opt(array(string(), min_items=1)),
                "style": opt(string()),
                "image_url": opt(https_url()),
            }
        ),
        status=202,
    ),
    Endpoint(method="DELETE", route=f"{_CHAT}/background", handler=reset_background, status=202),
]
