"""Declared endpoint of app cards: ``POST /v3/messages/{messageId}/update``."""

from __future__ import annotations

from typing import Any

from . import _render as render
from . import _rules as rules
from ._declare import Call, Endpoint, bad, boolean, obj, opt, req, string
from ._state import FakeMessage

__all__ = ["ENDPOINTS"]


def update_app_card(call: Call) -> dict[str, Any]:
    """Send an updated copy of an app card as a new message in the card's chat.

    The new card is the old one with the body's fields replacing its own (``layout``
    always). A message without an ``imessage_app`` part or an experience is not a card:
    400, code 1004.
    """
    original = call.message()
    chat = call.chat(original.chat_id)
    body = call.body
    card = next((part for part in original.parts if part["type"] == "imessage_app"), None)
    if card is None and original.experience is None:
        raise bad(1004, f"Message {original.id} is not an app card")
    experience = body.get("experience", original.experience)
    parts: list[dict[str, Any]] = []
    if card is not None:
        fields = ("layout", "app", "url", "fallback_text", "interactive")
        parts = [{**card, **{key: body[key] for key in fields if key in body}}]
        experience = None
    message_id = call.new_id()
    now = call.now()
    message = FakeMessage(
        id=message_id,
        chat_id=chat.id,
        parts=parts,
        response_parts=[
            render.response_part(part, call.store.attachments, message_id, me=chat.from_handle)
            for part in parts
        ],
        experience=experience,
        created_at=now,
    )
    call.store.messages[message.id] = message
    chat.message_ids.append(message.id)
    chat.updated_at = now
    sent = render.sent_message(message, chat)
    call.emit("message.sent", {"chat_id": chat.id, "message_id": message.id})
    return {"chat_id": chat.id, "message": sent}


_UPDATE = obj(
    {
        "layout": req(rules.app_card_layout),
        "app": opt(rules.app_card_app),
        "experience": opt(rules.experience),
        "url": opt(rules.app_card_url),
        "fallback_text": opt(string(code=1004)),
        "interactive": opt(boolean),
    }
)

ENDPOINTS = [
    Endpoint(
        method="POST",
        route="/v3/messages/{messageId}/update",
        handler=update_app_card,
        body=_UPDATE,
    ),
]
