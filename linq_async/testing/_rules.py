"""Request validation: the API's documented rules, applied strictly.

Every function here is pure: it takes decoded JSON (or a query mapping) and either returns the
validated values or raises `_envelope.ApiError` with the documented code:

* 1001 a required field is missing (absent or ``null``)
* 1002 a handle is not E.164 (phones: ``+`` then 8-15 digits; emails only as recipients)
* 1004 invalid message content (the part rules)
* 1005 any other invalid value, unknown fields included

Checks that need the fake's records (does an attachment exist, is a chat new) live in the
routes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import attrs
from multidict import MultiMapping

from .._content_types import SUPPORTED_CONTENT_TYPES
from ._envelope import ApiError

MAX_UPLOAD_BYTES = 104_857_600
MAX_PARTS = 100
MAX_URL_MEDIA_PARTS = 40
MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20

_PHONE = re.compile(r"\+[0-9]{8,15}")
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_URL_IN_TEXT = re.compile(r"(?i)\b(?:https?://|www\.)")
_CURSOR = re.compile(r"[0-9]{1,9}")

_SCREEN_EFFECTS = frozenset(
    {
        "confetti",
        "fireworks",
        "lasers",
        "sparkles",
        "celebration",
        "hearts",
        "love",
        "balloons",
        "happy_birthday",
        "echo",
        "spotlight",
    }
)
_BUBBLE_EFFECTS = frozenset({"slam", "loud", "gentle", "invisible"})
_SERVICES = frozenset({"iMessage", "SMS", "RCS"})
# Part types that must be the only part of a message.
_EXCLUSIVE_PARTS = frozenset({"link", "app_clip", "imessage_app"})
_PART_FIELDS: dict[str, frozenset[str]] = {
    "text": frozenset(
        {"type", "value", "text_decorations", "mention", "mention_range", "inline_stickers"}
    ),
    "media": frozenset({"type", "url", "attachment_id", "sticker"}),
    "link": frozenset({"type", "value"}),
    "app_clip": frozenset({"type", "value", "caption"}),
    "imessage_app": frozenset({"type", "app", "layout", "url", "fallback_text", "interactive"}),
}
_MESSAGE_FIELDS = frozenset(
    {"parts", "experience", "effect", "reply_to", "preferred_service", "idempotency_key"}
)


@attrs.frozen(kw_only=True)
class AttachmentRequest:
    """A valid ``POST /v3/attachments`` body."""

    filename: str
    content_type: str
    size_bytes: int


@attrs.frozen(kw_only=True)
class MessageRequest:
    """A valid ``MessageContent`` object."""

    parts: list[dict[str, Any]]
    experience: dict[str, Any] | None
    effect: dict[str, Any] | None
    reply_to: dict[str, Any] | None
    preferred_service: str | None
    idempotency_key: str | None

    def attachment_ids(self) -> list[str]:
        """Return the ``attachment_id`` of every media part, in order."""
        return [
            part["attachment_id"]
            for part in self.parts
            if part["type"] == "media" and part.get("attachment_id") is not None
        ]

    def has_link(self) -> bool:
        """Return True when a part is a link or a text part contains a URL."""
        return any(
            part["type"] == "link"
            or (part["type"] == "text" and _URL_IN_TEXT.search(part["value"]) is not None)
            for part in self.parts
        )


@attrs.frozen(kw_only=True)
class ChatRequest:
    """A valid ``POST /v3/chats`` body."""

    from_handle: str
    to: list[str]
    message: MessageRequest
    override_optout: bool | None


@attrs.frozen(kw_only=True)
class SendRequest:
    """A valid ``POST /v3/chats/{id}/messages`` body."""

    message: MessageRequest
    override_optout: bool | None


@attrs.frozen(kw_only=True)
class Page:
    """Validated ``cursor``/``limit`` query parameters."""

    offset: int
    limit: int


def is_uuid(value: object) -> bool:
    """Return True for a canonical lowercase UUID string (the only form the fake issues)."""
    return isinstance(value, str) and _UUID.fullmatch(value) is not None


def is_phone(value: str) -> bool:
    """Return True for an E.164 phone number: ``+`` then 8-15 digits."""
    return _PHONE.fullmatch(value) is not None


def _bad(code: int, message: str) -> ApiError:
    return ApiError(400, code, message)


def _present(obj: Mapping[str, Any], key: str) -> bool:
    return obj.get(key) is not None


def _require(obj: Mapping[str, Any], key: str, where: str) -> Any:
    if not _present(obj, key):
        raise _bad(1001, f"{where}{key} is required")
    return obj[key]


def _only_known(obj: Mapping[str, Any], allowed: frozenset[str], where: str, code: int) -> None:
    unknown = sorted(set(obj) - allowed)
    if unknown:
        raise _bad(code, f"unknown field {where}{unknown[0]}")


def _object(value: object, name: str, code: int) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _bad(code, f"{name} must be an object")
    return value


def _string(value: object, name: str, code: int) -> str:
    if not isinstance(value, str) or not value:
        raise _bad(code, f"{name} must be a non-empty string")
    return value


def _int(value: object) -> int | None:
    # bool is an int subclass, but true is not a size.
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value


def _bool(value: object, name: str) -> bool | None:
    if value is None:
        return None
    if not isinstance(value, bool):
        raise _bad(1005, f"{name} must be a boolean")
    return value


def _https(value: object) -> bool:
    return isinstance(value, str) and value.startswith("https://") and len(value) <= 2048


def phone(value: object, name: str) -> str:
    """Validate a sending line.

    Args:
        value: The decoded JSON value.
        name: The field name used in error messages.

    Returns:
        The phone number.

    Raises:
        ApiError: 1005 when not a string, 1002 when not E.164 (emails included).
    """
    if not isinstance(value, str):
        raise _bad(1005, f"{name} must be a string")
    if not is_phone(value):
        raise _bad(1002, f"{name} must be an E.164 phone number, got {value!r}")
    return value


def handle(value: object, name: str) -> str:
    """Validate a recipient: an E.164 phone number or an email address.

    Args:
        value: The decoded JSON value.
        name: The field name used in error messages.

    Returns:
        The handle.

    Raises:
        ApiError: 1005 when not a string, 1002 when neither E.164 nor an email.
    """
    if not isinstance(value, str):
        raise _bad(1005, f"{name} must be a string")
    if not is_phone(value) and _EMAIL.fullmatch(value) is None:
        raise _bad(1002, f"{name} must be an E.164 phone number or an email, got {value!r}")
    return value


def attachment_request(body: dict[str, Any]) -> AttachmentRequest:
    """Validate a ``POST /v3/attachments`` body.

    Args:
        body: The decoded JSON object.

    Returns:
        The validated request.

    Raises:
        ApiError: 1001 for a missing field, 1005 for a bad or unknown one.
    """
    _only_known(body, frozenset({"filename", "content_type", "size_bytes"}), "", 1005)
    filename = _require(body, "filename", "")
    content_type = _require(body, "content_type", "")
    size = _require(body, "size_bytes", "")
    if not isinstance(filename, str) or not 1 <= len(filename) <= 255:
        raise _bad(1005, "filename must be a string of 1-255 characters")
    if content_type not in SUPPORTED_CONTENT_TYPES:
        raise _bad(1005, f"content_type {content_type!r} is not supported")
    size_bytes = _int(size)
    if size_bytes is None or not 1 <= size_bytes <= MAX_UPLOAD_BYTES:
        raise _bad(1005, f"size_bytes must be an integer from 1 to {MAX_UPLOAD_BYTES}")
    return AttachmentRequest(filename=filename, content_type=content_type, size_bytes=size_bytes)


def chat_request(body: dict[str, Any]) -> ChatRequest:
    """Validate a ``POST /v3/chats`` body (the structure; not whether the chat is new).

    Args:
        body: The decoded JSON object.

    Returns:
        The validated request.

    Raises:
        ApiError: 1001, 1002, 1004 or 1005.
    """
    _only_known(body, frozenset({"from", "to", "message", "override_optout"}), "", 1005)
    from_handle = phone(_require(body, "from", ""), "from")
    to = _require(body, "to", "")
    if not isinstance(to, list) or not to:
        raise _bad(1005, "to must be a non-empty array of handles")
    recipients = [handle(item, f"to[{index}]") for index, item in enumerate(to)]
    if len(set(recipients)) != len(recipients):
        raise _bad(1005, "to contains the same handle twice")
    if from_handle in recipients:
        raise _bad(1005, "to must not contain the sending line")
    return ChatRequest(
        from_handle=from_handle,
        to=recipients,
        message=message_request(_require(body, "message", "")),
        override_optout=_bool(body.get("override_optout"), "override_optout"),
    )


def send_request(body: dict[str, Any]) -> SendRequest:
    """Validate a ``POST /v3/chats/{id}/messages`` body.

    Args:
        body: The decoded JSON object.

    Returns:
        The validated request.

    Raises:
        ApiError: 1001, 1004 or 1005.
    """
    _only_known(body, frozenset({"message", "override_optout"}), "", 1005)
    return SendRequest(
        message=message_request(_require(body, "message", "")),
        override_optout=_bool(body.get("override_optout"), "override_optout"),
    )


def idempotency_key(body: dict[str, Any]) -> str | None:
    """Return ``message.idempotency_key`` when it is a non-empty string, before validation."""
    message = body.get("message")
    if isinstance(message, dict):
        key = message.get("idempotency_key")
        if isinstance(key, str) and key:
            return key
    return None


def message_request(value: object) -> MessageRequest:
    """Validate a ``MessageContent`` object (fact sheet 4.3).

    Args:
        value: The decoded ``message`` value.

    Returns:
        The validated message.

    Raises:
        ApiError: 1001 when neither ``parts`` nor ``experience`` is given, 1004 for the part
            rules, 1005 for the other fields.
    """
    message = _object(value, "message", 1004)
    _only_known(message, _MESSAGE_FIELDS, "message.", 1005)
    has_parts = _present(message, "parts")
    has_experience = _present(message, "experience")
    if has_parts and has_experience:
        raise _bad(1004, "message takes parts or experience, not both")
    if not has_parts and not has_experience:
        raise _bad(1001, "message.parts is required")
    parts = _parts(message["parts"]) if has_parts else []
    experience = _experience(message["experience"]) if has_experience else None
    key = message.get("idempotency_key")
    if key is not None:
        key = _string(key, "message.idempotency_key", 1005)
    service = message.get("preferred_service")
    if service is not None and service not in _SERVICES:
        raise _bad(1005, f"message.preferred_service must be one of {sorted(_SERVICES)}")
    return MessageRequest(
        parts=parts,
        experience=experience,
        effect=_effect(message.get("effect")),
        reply_to=_reply_to(message.get("reply_to")),
        preferred_service=service,
        idempotency_key=key,
    )


def _experience(value: object) -> dict[str, Any]:
    experience = _object(value, "message.experience", 1004)
    _only_known(experience, frozenset({"name", "action", "params"}), "message.experience.", 1004)
    for key in ("name", "action"):
        _string(_require(experience, key, "message.experience."), f"message.experience.{key}", 1004)
    if _present(experience, "params"):
        _object(experience["params"], "message.experience.params", 1004)
    return experience


def _effect(value: object) -> dict[str, Any] | None:
    if value is None:
        return None
    effect = _object(value, "message.effect", 1005)
    _only_known(effect, frozenset({"type", "name"}), "message.effect.", 1005)
    kind = _require(effect, "type", "message.effect.")
    name = _require(effect, "name", "message.effect.")
    names = {"screen": _SCREEN_EFFECTS, "bubble": _BUBBLE_EFFECTS}.get(kind)
    if names is None:
        raise _bad(1005, "message.effect.type must be 'screen' or 'bubble'")
    if name not in names:
        raise _bad(1005, f"message.effect.name {name!r} is not a {kind} effect")
    return effect


def _reply_to(value: object) -> dict[str, Any] | None:
    if value is None:
        return None
    reply_to = _object(value, "message.reply_to", 1005)
    _only_known(reply_to, frozenset({"message_id", "part_index"}), "message.reply_to.", 1005)
    message_id = _require(reply_to, "message_id", "message.reply_to.")
    if not isinstance(message_id, str):
        raise _bad(1005, "message.reply_to.message_id must be a string")
    if _present(reply_to, "part_index"):
        index = _int(reply_to["part_index"])
        if index is None or index < 0:
            raise _bad(1005, "message.reply_to.part_index must be a non-negative integer")
    return reply_to


def _parts(value: object) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not value:
        raise _bad(1004, "message.parts must be a non-empty array")
    if len(value) > MAX_PARTS:
        raise _bad(1004, f"a message takes at most {MAX_PARTS} parts")
    parts = [_part(item, f"message.parts[{index}]") for index, item in enumerate(value)]
    types = [part["type"] for part in parts]
    exclusive = _EXCLUSIVE_PARTS.intersection(types)
    if exclusive and len(parts) > 1:
        raise _bad(1004, f"a {sorted(exclusive)[0]} part must be the only part of the message")
    for index in range(1, len(types)):
        if types[index] == types[index - 1] == "text":
            raise _bad(1004, f"message.parts[{index}] is a second consecutive text part")
    url_media = sum(1 for part in parts if part["type"] == "media" and _present(part, "url"))
    if url_media > MAX_URL_MEDIA_PARTS:
        raise _bad(1004, f"a message takes at most {MAX_URL_MEDIA_PARTS} media parts by url")
    return parts


def _part(value: object, where: str) -> dict[str, Any]:
    part = _object(value, where, 1004)
    kind = part.get("type")
    if not isinstance(kind, str) or kind not in _PART_FIELDS:
        raise _bad(1004, f"{where}.type {kind!r} is not a known part type")
    _only_known(part, _PART_FIELDS[kind], f"{where}.", 1004)
    if kind == "text":
        _text_part(part, where)
    elif kind == "media":
        has_url = _present(part, "url")
        if has_url == _present(part, "attachment_id"):
            raise _bad(1004, f"{where} needs exactly one of url or attachment_id")
        if has_url and not _https(part["url"]):
            raise _bad(1004, f"{where}.url must be an https URL of at most 2048 characters")
        if not has_url and not isinstance(part["attachment_id"], str):
            raise _bad(1004, f"{where}.attachment_id must be a string")
        if part.get("sticker") is not None and not isinstance(part["sticker"], bool):
            raise _bad(1004, f"{where}.sticker must be a boolean")
    elif kind == "link":
        link = part.get("value")
        if not isinstance(link, str) or not re.match(r"(?i)https?://", link) or len(link) > 2048:
            raise _bad(1004, f"{where}.value must be an http(s) URL of at most 2048 characters")
    elif kind == "app_clip":
        if not _https(part.get("value")):
            raise _bad(1004, f"{where}.value must be an https URL")
    else:
        for key in ("app", "layout"):
            _object(part.get(key), f"{where}.{key}", 1004)
    return part


def _text_part(part: dict[str, Any], where: str) -> None:
    _string(part.get("value"), f"{where}.value", 1004)
    for key in ("text_decorations", "inline_stickers"):
        if part.get(key) is not None and not isinstance(part[key], list):
            raise _bad(1004, f"{where}.{key} must be an array")
    if part.get("mention") is not None and not isinstance(part["mention"], str):
        raise _bad(1004, f"{where}.mention must be a string")
    if part.get("mention_range") is not None and not isinstance(part["mention_range"], dict):
        raise _bad(1004, f"{where}.mention_range must be an object")


def page(query: MultiMapping[str], *, filters: frozenset[str] = frozenset()) -> Page:
    """Validate the ``cursor`` and ``limit`` query parameters.

    Args:
        query: The decoded query parameters.
        filters: Other parameters the route accepts.

    Returns:
        The page to serve.

    Raises:
        ApiError: 1005 for a bad cursor or limit, or an unknown parameter.
    """
    unknown = sorted(set(query) - filters - {"cursor", "limit"})
    if unknown:
        raise _bad(1005, f"unknown query parameter {unknown[0]!r}")
    for key in ("cursor", "limit"):
        if len(query.getall(key, [])) > 1:
            raise _bad(1005, f"{key} given more than once")
    limit = DEFAULT_PAGE_SIZE
    raw_limit = query.get("limit")
    if raw_limit is not None:
        if not raw_limit.isascii() or not raw_limit.isdigit():
            raise _bad(1005, "limit must be an integer")
        limit = int(raw_limit)
        if not 1 <= limit <= MAX_PAGE_SIZE:
            raise _bad(1005, f"limit must be from 1 to {MAX_PAGE_SIZE}")
    offset = 0
    cursor = query.get("cursor")
    if cursor is not None:
        if _CURSOR.fullmatch(cursor) is None:
            raise _bad(1005, f"cursor {cursor!r} is not valid")
        offset = int(cursor)
    return Page(offset=offset, limit=limit)
