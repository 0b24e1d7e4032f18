"""Declared endpoint of app cards: ``POST /v3/messages/{messageId}/update``."""

from __future__ import annotations

from typing import Any

from . import _render as render
from . import _rules as rules
from ._declare import Call, Endpoint, bad, boolean, obj, opt, req, string

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
    spec = rules.MessageRequest(
        parts=parts,
        experience=experience,
        effect=None,
        reply_to=None,
        preferred_service=None,
        idempotency_key=None,
    )
    sent = render.sent_message(call.add_message(chat, spec, None), chat)
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
