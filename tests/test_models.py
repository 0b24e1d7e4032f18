"""Models and the converter: wire names, tolerance of unknown fields, tagged parts."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from linq_async import (
    CreatedChat,
    LinkPart,
    MediaPart,
    Message,
    ResponseValidationError,
    TextPart,
    UnknownPart,
    UploadSlot,
    _model,
)
from linq_async._model import load, parse_datetime, unknown_keys, unstructure
from linq_async.models import Effect, MessageContent

MESSAGE = {
    "id": "6c1e7e0e-5f5b-4c9f-9a53-7f0a0e3b8e11",
    "chat_id": "0b0c4b7e-43a4-4a4e-8f5a-5b0c2f1d3e22",
    "created_at": "2026-01-15T10:30:00Z",
    "delivery_status": "queued",
    "is_from_me": True,
    "from": "+12223334444",
    "parts": [
        {"type": "text", "value": "hello"},
        {"type": "media", "id": "a1", "filename": "a.png", "mime_type": "image/png",
         "size_bytes": 10, "url": "https://cdn.example/a.png"},
        {"type": "link", "value": "https://example.com"},
    ],
}  # fmt: skip


def test_message_parses_parts_by_type_and_renames_from() -> None:
    """Parts come back as their own classes and the wire's `from` lands in `from_`."""
    message = load(MESSAGE, Message, "test")
    assert [type(part) for part in message.parts] == [TextPart, MediaPart, LinkPart]
    assert message.from_ == "+12223334444"
    assert message.created_at == datetime(2026, 1, 15, 10, 30, tzinfo=timezone.utc)
    assert unstructure(message)["from"] == "+12223334444"


def test_unknown_fields_enum_values_and_part_types_are_tolerated() -> None:
    """A field, enum value or part type added by Linq later does not break parsing."""
    data = {
        **MESSAGE,
        "brand_new_field": {"x": 1},
        "delivery_status": "teleported",
        "parts": [{"type": "poll", "question": "lunch?", "options": [1, 2]}],
    }
    message = load(data, Message, "test")
    assert message.delivery_status == "teleported"
    (part,) = message.parts
    assert part == UnknownPart(type="poll", data=data["parts"][0])


def test_drift_check_names_fields_the_models_do_not_know() -> None:
    """unknown_keys (the strict twin of lenient loading) flags fields the models miss."""
    assert unknown_keys(MESSAGE, Message) == []
    drifted = {**MESSAGE, "surprise": 1, "parts": [{"type": "text", "value": "x", "new": 2}]}
    assert sorted(unknown_keys(drifted, Message)) == ["parts.0.new", "surprise"]


def test_request_unstructure_leaves_unset_options_off_the_wire() -> None:
    """None-valued options are omitted and each part carries its type tag."""
    content = MessageContent(
        parts=(TextPart(value="hi"), MediaPart(attachment_id="att")),
        effect=Effect(type="screen", name="confetti"),
        idempotency_key="k1",
    )
    assert unstructure(content) == {
        "parts": [{"type": "text", "value": "hi"}, {"type": "media", "attachment_id": "att"}],
        "effect": {"type": "screen", "name": "confetti"},
        "idempotency_key": "k1",
    }


def test_unknown_part_round_trips_for_sending() -> None:
    """An UnknownPart is sent as its data with its type, so new part types can be used."""
    part = UnknownPart(type="app_clip", data={"value": "https://appclip.example/x"})
    assert unstructure(MessageContent(parts=(part,)))["parts"] == [
        {"value": "https://appclip.example/x", "type": "app_clip"}
    ]


def test_dumping_models_and_scalars_needs_no_converter_and_makes_each_function_once() -> None:
    """A model (a fallback union member too) is dumped by its generated function, made on
    the first dump and kept; an exact JSON scalar is returned as it is; what only cattrs
    knows (a datetime) goes through the converter, which uses the same model functions."""
    part = UnknownPart(type="app_clip", data={"value": "https://appclip.example/x"})
    first = _model._dumper_of(UnknownPart)
    assert unstructure(part) == {"value": "https://appclip.example/x", "type": "app_clip"}
    assert _model._DUMPERS[UnknownPart] is first is _model._dumper_of(UnknownPart)
    for scalar in ("text", 3, 2.5, True, None):
        assert unstructure(scalar) is scalar
    assert unstructure(datetime(2026, 1, 2, 3, 4, tzinfo=timezone.utc)) == ("2026-01-02T03:04:00Z")
    text = TextPart(value="hi")
    made = _model._dumper_of(TextPart)
    assert _model.converter().unstructure(text) == {"type": "text", "value": "hi"}
    assert unstructure(text) == {"type": "text", "value": "hi"}
    assert _model._DUMPERS[TextPart] is made  # the converter's hook is the same function


def test_created_chat_unwraps_the_nested_message() -> None:
    """POST /v3/chats nests the message in the chat; CreatedChat splits them."""
    data = {"chat": {"id": "c1", "handles": [], "is_group": False, "message": MESSAGE}}
    created = load(data, CreatedChat, "test")
    assert created.chat.id == "c1"
    assert created.message.id == MESSAGE["id"]


def test_validation_errors_name_the_route_and_the_field() -> None:
    """A missing required key fails at once; a mistyped field fails when read, naming both."""
    with pytest.raises(ResponseValidationError, match=r"GET /v3/x.*'id' is missing"):
        load({"parts": []}, Message, "GET /v3/x")
    with pytest.raises(ResponseValidationError, match=r"GET /v3/x.*expected a Message object"):
        load(["not", "an", "object"], Message, "GET /v3/x")
    message = load(
        {**MESSAGE, "created_at": "yesterday", "is_from_me": "yes"}, Message, "GET /v3/x"
    )
    assert message.id == MESSAGE["id"]
    with pytest.raises(ResponseValidationError, match=r"GET /v3/x.*Message\.created_at"):
        _ = message.created_at
    with pytest.raises(ResponseValidationError, match=r"Message\.is_from_me: expected a boolean"):
        _ = message.is_from_me


def test_lazy_fields_are_converted_once_and_compare_like_built_ones() -> None:
    """A loaded model equals the same model built by hand, and a read field is kept."""
    loaded = load({"id": "m1", "delivery_status": "queued", "effect": None}, Message, "t")
    assert loaded == Message(id="m1", delivery_status="queued")
    parts = load(MESSAGE, Message, "t").parts
    message = load(MESSAGE, Message, "t")
    assert message.parts is message.parts
    assert message.parts == parts


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-01-15T10:30:00Z", datetime(2026, 1, 15, 10, 30, tzinfo=timezone.utc)),
        ("2026-01-15T10:30:00.1Z", datetime(2026, 1, 15, 10, 30, 0, 100000, timezone.utc)),
        ("2026-01-15T10:30:00.123456789Z", datetime(2026, 1, 15, 10, 30, 0, 123456, timezone.utc)),
        ("2026-01-15T10:30:00", datetime(2026, 1, 15, 10, 30, tzinfo=timezone.utc)),
    ],
)
def test_timestamps_parse_to_aware_utc(text: str, expected: datetime) -> None:
    """Z suffixes, odd fraction lengths and naive stamps all become aware datetimes."""
    assert parse_datetime(text) == expected


def test_upload_slot_repr_hides_the_signature() -> None:
    """The presigned URL's query (its signature) never shows in a repr."""
    slot = UploadSlot(
        attachment_id="a",
        upload_url="https://uploads.example/a?X-Amz-Signature=deadbeef",
        download_url="https://cdn.example/a",
        expires_at=datetime.now(timezone.utc),
    )
    assert "deadbeef" not in repr(slot)
    assert "X-Amz" not in repr(slot)
    assert "https://uploads.example/a" in repr(slot)
