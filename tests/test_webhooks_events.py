"""Typed webhook events: every documented type has a class, both message payload versions
decode to the same normalised answers, and unknown types keep their payload."""

from __future__ import annotations

# ruff: noqa: E501  (one payload case per line reads best)
import json
from collections.abc import Mapping
from typing import Any

import pytest

from linq_async import ResponseValidationError, TextPart
from linq_async._model import unknown_keys, unstructure
from linq_async.testing._state import FakeChat, FakeMessage
from linq_async.testing._webhooks import EVENT_TYPES as FAKE_EVENT_TYPES
from linq_async.testing._webhooks import message_v1, message_v2
from linq_async.webhooks import (
    EVENT_TYPES,
    V1,
    V2,
    AuditEvent,
    CallEvent,
    ChatCreatedEvent,
    ChatUpdatedEvent,
    ChatUpdateFailedEvent,
    MessageEditedEvent,
    MessageEvent,
    MessageEventData,
    MessageFailedEvent,
    ParticipantEvent,
    PaymentEvent,
    PhoneNumberEvent,
    ReactionEvent,
    TypingEvent,
    UnknownEvent,
    event_class,
    parse_event,
)

HANDLE_ME = {
    "id": "h-me",
    "handle": "+12025551234",
    "is_me": True,
    "joined_at": "2026-01-21T21:59:45.191571Z",
    "left_at": None,
    "service": "iMessage",
    "status": "active",
}
HANDLE_THEM = {**HANDLE_ME, "id": "h-them", "handle": "+14155559876", "is_me": False}
PARTS = [
    {"type": "text", "value": "Hello from Linq!"},
    {
        "type": "media",
        "id": "f13dda7d",
        "filename": "photo.jpg",
        "mime_type": "image/jpeg",
        "size_bytes": 245678,
        "url": "https://cdn.example/photo.jpg",
    },
]


def envelope(event_type: str, data: Any, version: str = V2) -> bytes:
    return json.dumps(
        {
            "api_version": "v3",
            "webhook_version": version,
            "event_type": event_type,
            "event_id": "e20feb41-7f67-43f0-89c8-a985cff3b568",
            "created_at": "2026-02-05T19:52:18.101373886Z",
            "trace_id": "2eff5df5c6f688733c007523c4d61cd9",
            "partner_id": "your-partner-id",
            "data": data,
        }
    ).encode()


V2_RECEIVED = {
    "chat": {"id": "chat-1", "is_group": False, "owner_handle": HANDLE_ME},
    "id": "msg-1",
    "idempotency_key": None,
    "direction": "inbound",
    "sender_handle": HANDLE_THEM,
    "parts": PARTS,
    "effect": None,
    "sent_at": "2026-02-05T19:52:17.219Z",
    "delivered_at": None,
    "read_at": None,
    "service": "iMessage",
    "preferred_service": None,
}
V1_RECEIVED = {
    "chat_id": "chat-1",
    "is_group": False,
    "from": "+14155559876",
    "from_handle": HANDLE_THEM,
    "is_from_me": False,
    "received_at": "2026-02-05T19:52:17.219Z",
    "service": "iMessage",
    "message": {
        "id": "msg-1",
        "parts": PARTS,
        "sent_at": "2026-02-05T19:52:17.219Z",
        "is_delivered": False,
        "is_read": False,
    },
}


def test_every_documented_event_type_has_a_class() -> None:
    """75 types, the same set the fake delivers, none falling back to UnknownEvent."""
    assert len(EVENT_TYPES) == 75
    assert set(FAKE_EVENT_TYPES) == EVENT_TYPES
    for name in EVENT_TYPES:
        assert event_class(name) is not UnknownEvent, name
    assert event_class("message.new_thing") is UnknownEvent


@pytest.mark.parametrize("data", [V1_RECEIVED, V2_RECEIVED], ids=[V1, V2])
def test_both_message_payload_versions_normalise_the_same(data: dict[str, Any]) -> None:
    """direction, sender, chat id, message id, parts and text agree across versions."""
    event = parse_event(envelope("message.received", data))
    assert isinstance(event, MessageEvent)
    assert event.payload_version == (V2 if "direction" in data else V1)
    assert event.direction == "inbound"
    assert event.is_inbound
    assert event.sender == "+14155559876"
    assert event.sender_handle is not None
    assert event.sender_handle.id == "h-them"
    assert event.chat_id == "chat-1"
    assert event.is_group is False
    assert event.message_id == "msg-1"
    assert [type(part).__name__ for part in event.parts] == ["TextPart", "MediaPart"]
    assert event.text == "Hello from Linq!"
    assert event.service == "iMessage"
    assert event.sent_at is not None
    assert event.sent_at.year == 2026
    assert event.created_at is not None


def test_outbound_in_both_versions() -> None:
    """is_from_me true and direction outbound both read as outbound."""
    v1 = parse_event(envelope("message.sent", {**V1_RECEIVED, "is_from_me": True}, V1))
    v2 = parse_event(envelope("message.sent", {**V2_RECEIVED, "direction": "outbound"}))
    assert isinstance(v1, MessageEvent)
    assert isinstance(v2, MessageEvent)
    assert v1.direction == v2.direction == "outbound"


def test_v1_receipts_carry_message_id_and_times() -> None:
    """2025-01-01 message.read: message_id and read_at at the top level."""
    data = {
        **V1_RECEIVED,
        "message": None,
        "message_id": "msg-9",
        "read_at": "2026-02-05T20:00:00Z",
    }
    data["message"] = {"id": None, "parts": []}
    event = parse_event(envelope("message.read", data, V1))
    assert isinstance(event, MessageEvent)
    assert event.message_id == "msg-9"
    assert event.read_at is not None
    assert event.text == ""


def test_zero_retention_empty_parts_give_empty_text() -> None:
    """A zero-retention line sends empty parts: text is "" (not an error)."""
    event = parse_event(
        envelope("message.received", {**V2_RECEIVED, "parts": [], "zero_retention": True})
    )
    assert isinstance(event, MessageEvent)
    assert event.parts == ()
    assert event.text == ""
    assert event.data.zero_retention is True


@pytest.mark.parametrize(
    "attribute", ["direction", "sender", "chat_id", "message_id", "parts", "text"]
)
def test_a_payload_of_neither_version_fails_loudly(attribute: str) -> None:
    """A third payload format raises ResponseValidationError when read: never a silent drop."""
    event = parse_event(envelope("message.received", {"msg": {"body": "hi"}}))
    assert isinstance(event, MessageEvent)
    with pytest.raises(ResponseValidationError, match="payload format may have changed"):
        getattr(event, attribute)


def test_text_joins_text_parts_in_order() -> None:
    """Several text parts (with media between) join with newlines."""
    parts = [{"type": "text", "value": "one"}, PARTS[1], {"type": "text", "value": "two"}]
    event = parse_event(envelope("message.received", {**V2_RECEIVED, "parts": parts}))
    assert isinstance(event, MessageEvent)
    assert event.text == "one\ntwo"
    assert isinstance(event.parts[0], TextPart)


def test_the_fakes_message_payloads_fit_the_model_without_unknown_keys() -> None:
    """The fake's v1 and v2 renderings use only fields MessageEventData models."""
    import datetime as dt

    now = dt.datetime(2026, 2, 5, tzinfo=dt.timezone.utc)
    chat = FakeChat(
        id="c",
        from_handle="+12223334444",
        handles=["+15556667777"],
        is_group=False,
        created_at=now,
        updated_at=now,
        handle_ids={"+12223334444": "a", "+15556667777": "b"},
    )
    message = FakeMessage(
        id="m",
        chat_id="c",
        parts=[{"type": "text", "value": "x"}],
        response_parts=[{"type": "text", "value": "x", "reactions": None}],
        sender="+15556667777",
        created_at=now,
    )
    for data in (message_v1("message.read", message, chat), message_v2(message, chat)):
        drift = [
            key for key in unknown_keys(data, MessageEventData) if not key.endswith("reactions")
        ]
        assert drift == []
        event = parse_event(envelope("message.received", data))
        assert isinstance(event, MessageEvent)
        assert (event.sender, event.direction, event.text) == ("+15556667777", "inbound", "x")


def test_an_unknown_event_type_keeps_its_payload() -> None:
    """A type newer than this release: UnknownEvent with data and the whole envelope."""
    event = parse_event(envelope("hologram.projected", {"depth": 3}))
    assert isinstance(event, UnknownEvent)
    assert event.event_type == "hologram.projected"
    assert event.data == {"depth": 3}
    assert event.payload["trace_id"] == "2eff5df5c6f688733c007523c4d61cd9"
    assert unstructure(event)["data"] == {"depth": 3}


def test_unstructuring_keeps_each_events_own_type() -> None:
    """Several types share a class: each event unstructures with its own event_type."""
    sent = parse_event(envelope("message.sent", V2_RECEIVED))
    read = parse_event(envelope("message.read", V2_RECEIVED))
    assert type(sent) is type(read)
    assert unstructure(sent)["event_type"] == "message.sent"
    assert unstructure(read)["event_type"] == "message.read"


CASES: list[tuple[str, Any, type[Any], str, Any]] = [
    ("message.failed", {"code": 4001, "failed_at": "2026-02-05T19:52:17Z", "chat_id": "c", "reason": "x"}, MessageFailedEvent, "code", 4001),
    ("message.edited", {"id": "m", "chat": {"id": "c"}, "direction": "outbound", "edited_at": "2026-02-05T19:52:17Z", "part": {"index": 0, "text": "new"}, "sender_handle": HANDLE_ME}, MessageEditedEvent, "part.text", "new"),
    ("reaction.added", {"reaction_type": "custom", "is_from_me": False, "custom_emoji": "🚀", "from_handle": HANDLE_THEM}, ReactionEvent, "custom_emoji", "🚀"),
    ("reaction.removed", {"reaction_type": "sticker", "is_from_me": True, "sticker": {"url": "u", "width": 3}}, ReactionEvent, "sticker.width", 3),
    ("participant.added", {"chat_id": "c", "handle": "+1555", "participant": HANDLE_THEM}, ParticipantEvent, "participant.handle", "+14155559876"),
    ("chat.created", {"id": "c", "display_name": None, "handles": [HANDLE_ME, HANDLE_THEM], "is_group": False, "created_at": "2026-02-05T19:52:17Z", "updated_at": "2026-02-05T19:52:17Z"}, ChatCreatedEvent, "handles.1.handle", "+14155559876"),
    ("chat.group_name_updated", {"chat_id": "c", "old_value": "a", "new_value": "b", "updated_at": "2026-02-05T19:52:17Z"}, ChatUpdatedEvent, "new_value", "b"),
    ("chat.background_updated", {"chat_id": "c", "style": "dynamic"}, ChatUpdatedEvent, "raw.style", "dynamic"),
    ("chat.background_update_failed", {"chat_id": "c", "error_code": 5002, "failed_at": "2026-02-05T19:52:17Z"}, ChatUpdateFailedEvent, "error_code", 5002),
    ("chat.typing_indicator.started", {"chat_id": "c"}, TypingEvent, "chat_id", "c"),
    ("phone_number.status_updated", {"phone_number": "+1222", "previous_status": "ACTIVE", "new_status": "FLAGGED", "changed_at": "2026-02-05T19:52:17Z"}, PhoneNumberEvent, "new_status", "FLAGGED"),
    ("api_token.created", {"summary": "Token created", "occurred_at": "2026-02-05T19:52:17Z", "actor": {"type": "team_member"}, "origin": "dashboard", "api_token": {"id": "t"}}, AuditEvent, "actor.type", "team_member"),
    ("webhook_subscription.deleted", {"summary": "s", "webhook_subscription": {"id": "w"}}, AuditEvent, "raw.webhook_subscription.id", "w"),
    ("payment.succeeded", {"payment_id": "p", "amount": 12}, PaymentEvent, "amount", 12),
    ("call.ended", {"call_id": "x"}, CallEvent, "call_id", "x"),
]  # fmt: skip


@pytest.mark.parametrize(("event_type", "data", "cls", "path", "expected"), CASES)
def test_each_payload_shape_decodes(
    event_type: str, data: Any, cls: type[Any], path: str, expected: Any
) -> None:
    """Each payload shape loads as its class, and a field reads back."""
    event = parse_event(envelope(event_type, data))
    assert type(event) is cls
    value: Any = event.data
    for step in path.split("."):
        if isinstance(value, Mapping):
            value = value[step]
        elif isinstance(value, tuple):
            value = value[int(step)]
        else:
            value = getattr(value, step)
    assert value == expected
