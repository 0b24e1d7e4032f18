"""The package's one cattrs converter: wire JSON <-> models in `linq_async.models`."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any, TypeVar

import cattrs
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override
from cattrs.preconf.json import JsonConverter, make_converter

from ._errors import ResponseValidationError
from .models import (
    Chat,
    CreatedChat,
    Effect,
    LinkPart,
    MediaPart,
    Message,
    MessageContent,
    Part,
    ReplyTo,
    TextDecoration,
    TextPart,
    UnknownPart,
)

T = TypeVar("T")

_PART_TAGS: dict[type[Any], str] = {TextPart: "text", MediaPart: "media", LinkPart: "link"}
_TAG_TO_PART = {tag: cls for cls, tag in _PART_TAGS.items()}
# Request-side classes: optional fields that are None stay off the wire.
_OMIT_NONE = (TextDecoration, TextPart, MediaPart, LinkPart, Effect, ReplyTo, MessageContent)

_FRACTION = re.compile(r"\.(\d+)")


def parse_datetime(value: str) -> datetime:
    """Parse an ISO-8601 timestamp into an aware datetime (UTC when no offset is given).

    Accepts a trailing ``Z`` and any number of fractional digits, which
    `datetime.fromisoformat` does not on Python 3.10.
    """
    try:
        parsed = datetime.fromisoformat(value)  # fast path: Python 3.11+ takes the wire format
    except ValueError:
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        text = _FRACTION.sub(lambda m: "." + m.group(1)[:6].ljust(6, "0"), text, count=1)
        parsed = datetime.fromisoformat(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _structure_datetime(value: Any, _: type[Any]) -> datetime:
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str):
        raise TypeError(f"expected an ISO-8601 string, got {type(value).__name__}")
    return parse_datetime(value)


def _unstructure_datetime(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def build_converter(*, forbid_extra_keys: bool = False) -> JsonConverter:
    """Build the converter. ``forbid_extra_keys=True`` gives the strict twin used by tests."""
    conv = make_converter(forbid_extra_keys=forbid_extra_keys)
    conv.register_structure_hook(datetime, _structure_datetime)
    conv.register_unstructure_hook(datetime, _unstructure_datetime)

    for cls in _OMIT_NONE:
        conv.register_unstructure_hook(
            cls, make_dict_unstructure_fn(cls, conv, _cattrs_omit_if_default=True)
        )
    conv.register_structure_hook(
        Message,
        make_dict_structure_fn(
            Message,
            conv,
            _cattrs_forbid_extra_keys=forbid_extra_keys,
            from_=override(rename="from"),
        ),
    )
    conv.register_unstructure_hook(
        Message, make_dict_unstructure_fn(Message, conv, from_=override(rename="from"))
    )

    # Parts are a union tagged by "type". It is written by hand rather than with
    # cattrs.strategies.configure_tagged_union so that an unknown tag keeps its name and
    # payload (UnknownPart) instead of failing or losing the tag.
    part_structure = {tag: conv.get_structure_hook(cls) for tag, cls in _TAG_TO_PART.items()}
    part_unstructure = {cls: conv.get_unstructure_hook(cls) for cls in _PART_TAGS}

    def structure_part(value: Any, _: Any) -> Part:
        if not isinstance(value, Mapping) or not isinstance(value.get("type"), str):
            raise TypeError("a message part must be an object with a string 'type'")
        tag = value["type"]
        hook = part_structure.get(tag)
        if hook is None:
            return UnknownPart(type=tag, data=dict(value))
        fields = {key: item for key, item in value.items() if key != "type"}
        part: Part = hook(fields, _TAG_TO_PART[tag])
        return part

    def unstructure_part(part: Part) -> dict[str, Any]:
        if isinstance(part, UnknownPart):
            return {**part.data, "type": part.type}
        return {"type": _PART_TAGS[type(part)], **part_unstructure[type(part)](part)}

    conv.register_structure_hook(Part, structure_part)
    conv.register_unstructure_hook(Part, unstructure_part)
    for part_cls in (*_PART_TAGS, UnknownPart):
        conv.register_unstructure_hook(part_cls, unstructure_part)

    def structure_created_chat(value: Any, _: Any) -> CreatedChat:
        # The wire nests the first message inside the chat object: {"chat": {..., "message"}}.
        if not isinstance(value, Mapping) or not isinstance(value.get("chat"), Mapping):
            raise TypeError("expected an object with a 'chat' object")
        chat = dict(value["chat"])
        message = conv.structure(chat.pop("message", None), Message)
        return CreatedChat(chat=conv.structure(chat, Chat), message=message)

    conv.register_structure_hook(CreatedChat, structure_created_chat)
    return conv


converter = build_converter()


def structure(data: Any, cls: type[T], *, what: str) -> T:
    """Structure a decoded response body into ``cls``, or raise ``ResponseValidationError``.

    ``what`` names the request (``"POST /v3/chats"``) in the error message.
    """
    try:
        return converter.structure(data, cls)
    except (cattrs.BaseValidationError, ValueError, TypeError, KeyError) as exc:
        details = (
            "; ".join(cattrs.transform_error(exc))
            if isinstance(exc, cattrs.BaseValidationError)
            else str(exc)
        )
        raise ResponseValidationError(
            f"the response to {what} did not match {cls.__name__}: {details}"
        ) from exc


def unstructure(value: Any, unstructure_as: Any = None) -> Any:
    """Turn a model (or a list of them) into JSON-ready data, leaving unset options out."""
    return converter.unstructure(value, unstructure_as=unstructure_as)
