"""Declared endpoints of the chats area (beyond create, get, list and send in ``_api.py``)."""

from __future__ import annotations

from typing import Any

from ._declare import Call, Endpoint, bad, email_or_phone, obj, req
from ._envelope import ApiError, trace_id

__all__ = ["ENDPOINTS"]


def _accepted(message: str) -> dict[str, Any]:
    return {"status": "accepted", "message": message, "trace_id": trace_id()}


def _group(call: Call) -> Any:
    chat = call.chat()
    if not chat.is_group:
        raise ApiError(409, 1006, f"Chat {chat.id} is a direct chat; participants need a group")
    return chat


def mark_read(call: Call) -> None:
    """``POST /v3/chats/{chatId}/read``: 204."""
    chat = call.chat()
    chat.read_at = call.now()


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


_HANDLE = obj({"handle": req(email_or_phone)})

ENDPOINTS = [
    Endpoint(method="POST", route="/v3/chats/{chatId}/read", handler=mark_read),
    Endpoint(
        method="POST",
        route="/v3/chats/{chatId}/participants",
        handler=add_participant,
        body=_HANDLE,
        status=202,
    ),
    Endpoint(
        method="DELETE",
        route="/v3/chats/{chatId}/participants",
        handler=remove_participant,
        body=_HANDLE,
        status=202,
    ),
]
