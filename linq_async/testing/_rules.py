"""Request validation: the API's documented rules, applied strictly.

Every function here is pure: it takes decoded JSON (or a query mapping) and either returns the
validated values or raises `_envelope.ApiError` with the documented code:

* 1001 a required field is missing (absent or ``null``)
* 1002 a handle is not E.164 (phones: ``+`` then 8-15 digits; emails only as recipients)
* 1004 invalid message content (the part rules, app card fields)
* 1005 any other invalid value, unknown fields included

A mention whose handle is neither E.164 nor an email is 1002, like any other handle.
Ranges are JSON arrays ``[start, end]`` of UTF-16 code-unit offsets, ``end`` exclusive.

Checks that need the fake's records (does an attachment exist, is a chat new) live in the
routes.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from typing import Any, TypeGuard

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
_URL_HOST = re.compile(r"[^/?#@\s]")

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
_TEXT_STYLES = frozenset({"bold", "italic", "strikethrough", "underline"})
_TEXT_ANIMATIONS = frozenset(
    {"big", "small", "shake", "nod", "explode", "ripple", "bloom", "jitter"}
)
_MAX_INLINE_STICKERS = 100
_MAX_STICKER_IMAGES = 10
_MAX_DATA_URL = 16384
_TEAM_ID = re.compile(r"[A-Z0-9]{10}")
_APP_FIELDS = frozenset({"bundle_id", "name", "team_id", "app_store_id"})
_LAYOUT_FIELDS = frozenset(
    {
        "caption",
        "subcaption",
        "trailing_caption",
        "trailing_subcaption",
        "image_url",
        "image_title",
        "image_subtitle",
    }
)
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
        """Return every ``attachment_id`` of media parts and inline stickers, in order."""
        found: list[str] = []
        for part in self.parts:
            if part["type"] == "media" and part.get("attachment_id") is not None:
                found.append(part["attachment_id"])
            if part["type"] == "text":
                for sticker in part.get("inline_stickers") or ():
                    if sticker.get("attachment_id") is not None:
                        found.append(sticker["attachment_id"])
        return found

    def has_mention(self) -> bool:
        """Return True when a text part mentions someone (group chats only: 409, 2023)."""
        return any(part["type"] == "text" and _present(part, "mention") for part in self.parts)

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


def is_https_url(value: object, max_len: int = 2048) -> TypeGuard[str]:
    """Whether ``value`` is a URL Linq would fetch: ``https://``, a host right after the
    scheme, at most ``max_len`` characters, no whitespace or control characters."""
    return (
        isinstance(value, str)
        and value.startswith("https://")
        and len(value) <= max_len
        and _URL_HOST.match(value, len("https://")) is not None
        and not any(char.isspace() or ord(char) < 32 or ord(char) == 127 for char in value)
    )


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
    try:
        filename.encode("utf-8")
    except UnicodeEncodeError:  # JSON escapes can carry one ("\ud800"); no file name holds it
        raise _bad(1005, "filename holds a lone surrogate") from None
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
    return experience(value, "message.experience")


def experience(value: object, where: str) -> dict[str, Any]:
    """Validate an ``experience`` object ``{name, action, params?}``.

    Args:
        value: The decoded value.
        where: Its place in the body, for messages.

    Returns:
        The experience.

    Raises:
        ApiError: 1004 for a bad or unknown field, 1001 for a missing one.
    """
    obj = _object(value, where, 1004)
    _only_known(obj, frozenset({"name", "action", "params"}), f"{where}.", 1004)
    for key in ("name", "action"):
        _string(_require(obj, key, f"{where}."), f"{where}.{key}", 1004)
    if _present(obj, "params"):
        _object(obj["params"], f"{where}.params", 1004)
    return obj


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
        if has_url and not is_https_url(part["url"]):
            raise _bad(1004, f"{where}.url must be an https URL of at most 2048 characters")
        if not has_url and not isinstance(part["attachment_id"], str):
            raise _bad(1004, f"{where}.attachment_id must be a string")
        if part.get("sticker") is not None and not isinstance(part["sticker"], bool):
            raise _bad(1004, f"{where}.sticker must be a boolean")
    elif kind == "link":
        link = part.get("value")
        if not isinstance(link, str) or not re.match(r"(?i)https?://.", link) or len(link) > 2048:
            raise _bad(1004, f"{where}.value must be an http(s) URL of at most 2048 characters")
    elif kind == "app_clip":
        clip = part.get("value")
        if not isinstance(clip, str) or not clip.startswith("https://") or clip == "https://":
            raise _bad(1004, f"{where}.value must be an https App Clip URL")
        _optional_text(part, "caption", where)
    else:
        app_card_app(_require_part(part, "app", where), f"{where}.app")
        app_card_layout(_require_part(part, "layout", where), f"{where}.layout")
        if _present(part, "url"):
            app_card_url(part["url"], f"{where}.url")
        _optional_text(part, "fallback_text", where)
        if part.get("interactive") is not None and not isinstance(part["interactive"], bool):
            raise _bad(1004, f"{where}.interactive must be a boolean")
    return part


def _require_part(part: dict[str, Any], key: str, where: str) -> Any:
    # Inside parts every fault is invalid content (1004), a missing field included.
    if not _present(part, key):
        raise _bad(1004, f"{where}.{key} is required")
    return part[key]


def _optional_text(obj: dict[str, Any], key: str, where: str) -> None:
    if _present(obj, key):
        _unicode(_string(obj[key], f"{where}.{key}", 1004), f"{where}.{key}")


def _unicode(value: str, where: str) -> str:
    # JSON escapes can carry a lone surrogate ("\ud83d"), which no device can show.
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise _bad(1004, f"{where} holds a lone surrogate") from None
    return value


def _range(value: object, where: str, units: bytes) -> tuple[int, int]:
    """A ``[start, end]`` range inside a text given as its UTF-16-LE bytes."""
    if not isinstance(value, list) or len(value) != 2 or any(_int(item) is None for item in value):
        raise _bad(1004, f"{where} must be an array [start, end] of two integers")
    start, end = value
    length = len(units) // 2
    if not 0 <= start < end <= length:
        raise _bad(
            1004, f"{where} {value} must satisfy 0 <= start < end <= {length} (UTF-16 units)"
        )
    for position in (start, end):
        if 0 < position < length:
            unit = int.from_bytes(units[2 * position : 2 * position + 2], "little")
            if 0xDC00 <= unit <= 0xDFFF:
                raise _bad(1004, f"{where} {value} splits a surrogate pair at {position}")
    return start, end


def _overlap(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def _text_part(part: dict[str, Any], where: str) -> None:
    value = _unicode(_string(part.get("value"), f"{where}.value", 1004), f"{where}.value")
    units = value.encode("utf-16-le")
    decorations = part.get("text_decorations")
    if decorations is not None:
        if not isinstance(decorations, list):
            raise _bad(1004, f"{where}.text_decorations must be an array")
        _decorations(decorations, f"{where}.text_decorations", units)
    mention = part.get("mention")
    if mention is not None:
        handle(mention, f"{where}.mention")
    if part.get("mention_range") is not None:
        if mention is None:
            raise _bad(1004, f"{where}.mention_range needs a mention")
        _range(part["mention_range"], f"{where}.mention_range", units)
    stickers = part.get("inline_stickers")
    if stickers is not None:
        if not isinstance(stickers, list):
            raise _bad(1004, f"{where}.inline_stickers must be an array")
        if stickers and mention is not None:
            raise _bad(1004, f"{where} cannot have both inline_stickers and a mention")
        _stickers(stickers, f"{where}.inline_stickers", units)


def _decorations(items: list[Any], where: str, units: bytes) -> None:
    spans: list[tuple[tuple[int, int], bool]] = []
    for index, item in enumerate(items):
        place = f"{where}[{index}]"
        decoration = _object(item, place, 1004)
        _only_known(decoration, frozenset({"range", "style", "animation"}), f"{place}.", 1004)
        span = _range(_require_part(decoration, "range", place), f"{place}.range", units)
        style, animation = decoration.get("style"), decoration.get("animation")
        if (style is None) == (animation is None):
            raise _bad(1004, f"{place} takes exactly one of style or animation")
        if style is not None and style not in _TEXT_STYLES:
            raise _bad(1004, f"{place}.style must be one of {sorted(_TEXT_STYLES)}")
        if animation is not None and animation not in _TEXT_ANIMATIONS:
            raise _bad(1004, f"{place}.animation must be one of {sorted(_TEXT_ANIMATIONS)}")
        spans.append((span, animation is not None))
    # Styles may overlap each other; an animation overlaps nothing.
    for index, (span, animated) in enumerate(spans):
        for other_index, (other, other_animated) in enumerate(spans):
            if index < other_index and (animated or other_animated) and _overlap(span, other):
                raise _bad(
                    1004,
                    f"{where}[{index}] and {where}[{other_index}] overlap: an animation may "
                    "overlap no other decoration",
                )


def _stickers(items: list[Any], where: str, units: bytes) -> None:
    if len(items) > _MAX_INLINE_STICKERS:
        raise _bad(1004, f"{where} takes at most {_MAX_INLINE_STICKERS} stickers")
    spans: list[tuple[int, int]] = []
    images: set[str] = set()
    for index, item in enumerate(items):
        place = f"{where}[{index}]"
        sticker = _object(item, place, 1004)
        _only_known(sticker, frozenset({"range", "attachment_id", "url"}), f"{place}.", 1004)
        spans.append(_range(_require_part(sticker, "range", place), f"{place}.range", units))
        has_url = _present(sticker, "url")
        if has_url == _present(sticker, "attachment_id"):
            raise _bad(1004, f"{place} needs exactly one of url or attachment_id")
        if has_url and not is_https_url(sticker["url"]):
            raise _bad(1004, f"{place}.url must be an https URL of at most 2048 characters")
        image = sticker["url"] if has_url else sticker["attachment_id"]
        images.add(_string(image, f"{place}.attachment_id", 1004))
    if len(images) > _MAX_STICKER_IMAGES:
        raise _bad(1004, f"{where} use more than {_MAX_STICKER_IMAGES} distinct images")
    ordered = sorted(spans)
    for before, after in itertools.pairwise(ordered):
        if _overlap(before, after):
            raise _bad(1004, f"{where} has overlapping ranges {list(before)} and {list(after)}")


def app_card_app(value: object, where: str) -> dict[str, Any]:
    """Validate an iMessage app card's ``app`` object.

    Args:
        value: The decoded value.
        where: Its place in the body, for messages.

    Returns:
        The object.

    Raises:
        ApiError: 1004 for a missing, bad or unknown field.
    """
    app = _object(value, where, 1004)
    _only_known(app, _APP_FIELDS, f"{where}.", 1004)
    bundle_id = _string(_require_part(app, "bundle_id", where), f"{where}.bundle_id", 1004)
    if ":" in bundle_id:
        raise _bad(1004, f"{where}.bundle_id may not contain ':'")
    _unicode(_string(_require_part(app, "name", where), f"{where}.name", 1004), f"{where}.name")
    team_id = _require_part(app, "team_id", where)
    if not isinstance(team_id, str) or _TEAM_ID.fullmatch(team_id) is None:
        raise _bad(1004, f"{where}.team_id must be 10 upper-case letters or digits")
    store_id = app.get("app_store_id")
    if store_id is not None and not (
        (isinstance(store_id, str) and store_id) or (_int(store_id) or 0) > 0
    ):
        raise _bad(1004, f"{where}.app_store_id must be a non-empty string or a positive integer")
    return app


def app_card_layout(value: object, where: str) -> dict[str, Any]:
    """Validate an iMessage app card's ``layout`` object.

    Args:
        value: The decoded value.
        where: Its place in the body, for messages.

    Returns:
        The object.

    Raises:
        ApiError: 1004 when a field is bad or unknown, none is set, or an image title or
            subtitle comes without ``image_url``.
    """
    layout = _object(value, where, 1004)
    _only_known(layout, _LAYOUT_FIELDS, f"{where}.", 1004)
    shown = [key for key in sorted(_LAYOUT_FIELDS) if _present(layout, key)]
    for key in shown:
        _optional_text(layout, key, where)
    if not shown:
        raise _bad(1004, f"{where} needs at least one visible field")
    if not _present(layout, "image_url") and (
        _present(layout, "image_title") or _present(layout, "image_subtitle")
    ):
        raise _bad(1004, f"{where}.image_title and image_subtitle need image_url")
    return layout


def app_card_url(value: object, where: str) -> str:
    """Validate an iMessage app card's ``url``: https (<= 2048) or ``data:`` (<= 16384).

    Args:
        value: The decoded value.
        where: Its place in the body, for messages.

    Returns:
        The URL.

    Raises:
        ApiError: 1004 for anything else.
    """
    if isinstance(value, str) and value.startswith("data:") and len(value) > len("data:"):
        if len(value) > _MAX_DATA_URL:
            raise _bad(1004, f"{where} (a data: URL) must be at most {_MAX_DATA_URL} characters")
        return value
    if not is_https_url(value) or value == "https://":
        raise _bad(1004, f"{where} must be an https URL (<= 2048) or a data: URL (<= 16384)")
    return str(value)


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
