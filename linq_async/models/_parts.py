"""Message parts: a union tagged on the wire by ``type``, open to part types added later."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from .._errors import LinqUsageError
from .._model import WireModel, register_open_union, whole_object, wire_name
from .._validation import check_part_text, check_range
from ._reactions import Reaction

__all__ = [
    "LinkPart",
    "MediaPart",
    "Part",
    "TextDecoration",
    "TextPart",
    "UnknownPart",
    "check_parts",
    "part_type",
]

MAX_PARTS = 100
MAX_URL_MEDIA_PARTS = 40
_EXCLUSIVE_PARTS = frozenset({"link", "app_clip", "imessage_app"})


@attrs.frozen(kw_only=True)
class TextDecoration(WireModel):
    """A style or animation over ``range`` = ``[start, end)`` in UTF-16 code units.

    ``style`` is one of ``bold``, ``italic``, ``strikethrough``, ``underline``; ``animation``
    one of ``big``, ``small``, ``shake``, ``nod``, ``explode``, ``ripple``, ``bloom``,
    ``jitter``. Give exactly one of the two.
    """

    range: tuple[int, int] = attrs.field(validator=lambda _, __, value: check_range(value))
    style: str | None = None
    animation: str | None = None


@attrs.frozen(kw_only=True)
class TextPart(WireModel):
    """A text part. ``value`` is sent verbatim (no Markdown)."""

    value: str = attrs.field(validator=lambda _, __, value: check_part_text(value))
    text_decorations: tuple[TextDecoration, ...] | None = None
    reactions: tuple[Reaction, ...] | None = None
    """Tapbacks and stickers on this part (responses only)."""


@attrs.frozen(kw_only=True)
class MediaPart(WireModel):
    """A media part.

    To send, give exactly one of ``attachment_id`` (a pre-uploaded file, up to 100 MB) or
    ``url`` (a public HTTPS URL, up to 10 MB). In responses the API fills ``id``,
    ``filename``, ``mime_type``, ``size_bytes`` and a short-lived ``url``.
    """

    attachment_id: str | None = None
    url: str | None = None
    sticker: bool | None = None
    id: str | None = None
    filename: str | None = None
    mime_type: str | None = None
    size_bytes: int | None = None
    reactions: tuple[Reaction, ...] | None = None
    """Tapbacks and stickers on this part (responses only)."""


@attrs.frozen(kw_only=True)
class LinkPart(WireModel):
    """A link with a rich preview. It must be a message's only part."""

    value: str
    reactions: tuple[Reaction, ...] | None = None
    """Tapbacks and stickers on this part (responses only)."""


@attrs.frozen(kw_only=True)
class UnknownPart(WireModel):
    """A part whose ``type`` this SDK does not model; ``data`` is the part as sent on the wire.

    Responses use it for part types added after this release. It can be sent too: ``data``
    goes on the wire as it is, with ``type`` set.
    """

    type: str = attrs.field(metadata=wire_name("type"))
    data: Mapping[str, Any] = attrs.field(factory=dict, metadata=whole_object())


Part = TextPart | MediaPart | LinkPart | UnknownPart
"""A message part, tagged on the wire by its ``type`` key."""

PART_TYPES = register_open_union(
    Part,
    tag="type",
    members={"text": TextPart, "media": MediaPart, "link": LinkPart},
    fallback=UnknownPart,
)
_PART_CLASSES = (*PART_TYPES.members.values(), UnknownPart)
_TAG_OF = {cls: tag for tag, cls in PART_TYPES.members.items()}


def part_type(part: Part) -> str:
    """The wire ``type`` of a part."""
    if isinstance(part, UnknownPart):
        return part.type
    return _TAG_OF[type(part)]


def check_parts(parts: Sequence[Part]) -> tuple[Part, ...]:
    """Enforce the API's part rules locally, so a malformed message fails before sending."""
    if isinstance(parts, (str, bytes, Mapping)) or not isinstance(parts, Sequence):
        raise LinqUsageError(f"parts must be a list of message parts, got {parts!r}")
    parts = tuple(parts)
    if not parts:
        raise LinqUsageError("a message needs at least one part (parts= or text=)")
    if len(parts) > MAX_PARTS:
        raise LinqUsageError(f"a message has at most {MAX_PARTS} parts, got {len(parts)}")
    previous = ""
    url_media = 0
    for index, part in enumerate(parts):
        if not isinstance(part, _PART_CLASSES):
            raise LinqUsageError(f"parts[{index}] is not a message part: {part!r}")
        kind = part_type(part)
        where = f"parts[{index}]"
        if kind in _EXCLUSIVE_PARTS and len(parts) > 1:
            raise LinqUsageError(f"{where}: a {kind} part must be the only part")
        if kind == "text" and previous == "text":
            raise LinqUsageError(f"{where}: two text parts may not follow each other")
        if isinstance(part, MediaPart):
            if (part.url is None) == (part.attachment_id is None):
                raise LinqUsageError(f"{where}: a media part needs url or attachment_id, not both")
            url_media += part.url is not None
        previous = kind
    if url_media > MAX_URL_MEDIA_PARTS:
        raise LinqUsageError(
            f"a message has at most {MAX_URL_MEDIA_PARTS} media parts by url, got {url_media}"
        )
    return parts
