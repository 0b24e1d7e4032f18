"""Message parts: a union tagged on the wire by ``type``, open to part types added later.

The same classes describe parts you send and parts the API returns. What you build is
checked when you build it (the API's rules for that part type: ranges inside the text,
exclusive fields, closed sets, URL schemes and lengths); what the API returns is loaded as
it is, never checked, so a response never fails over a rule meant for requests. The rules
across parts (how many, which may be combined) are in `check_parts`, run when a message
is composed.

Every range is ``[start, end)`` in UTF-16 code units, the way the API counts; compute them
with `linq_async.utf16_range`.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypeVar

import attrs

from .._errors import LinqUsageError
from .._model import WireModel, register_open_union, response_only, whole_object, wire_name
from .._ranges import TextUnits, check_text_range
from .._validation import (
    check_bool,
    check_handle,
    check_json_body,
    check_no_lone_surrogates,
    check_part_text,
    check_range,
    check_string,
    url_flaw,
)
from ._reactions import Reaction

__all__ = [
    "TEXT_ANIMATIONS",
    "TEXT_STYLES",
    "AppClipPart",
    "IMessageApp",
    "IMessageAppLayout",
    "IMessageAppPart",
    "InlineSticker",
    "LinkPart",
    "MediaPart",
    "Mention",
    "Part",
    "TextDecoration",
    "TextPart",
    "UnknownPart",
    "check_parts",
    "is_part",
    "not_a_part",
    "part_type",
]

T = TypeVar("T")

MAX_PARTS = 100
MAX_URL_MEDIA_PARTS = 40
MAX_URL_CHARS = 2048
MAX_DATA_URL_CHARS = 16384
MAX_INLINE_STICKERS = 100
MAX_STICKER_IMAGES = 10
_EXCLUSIVE_PARTS = frozenset({"link", "app_clip", "imessage_app"})
_TEAM_ID = re.compile(r"[A-Z0-9]{10}")

TEXT_STYLES = frozenset({"bold", "italic", "strikethrough", "underline"})
"""Values of `TextDecoration.style`."""
TEXT_ANIMATIONS = frozenset(
    {"big", "small", "shake", "nod", "explode", "ripple", "bloom", "jitter"}
)
"""Values of `TextDecoration.animation`."""


# Checks shared by several part types. Each returns what it accepted.


def _range_field(value: tuple[int, int] | Sequence[int]) -> tuple[int, int]:
    # A list is what JSON habits produce; the model keeps a tuple.
    if isinstance(value, list):
        value = tuple(value)
    return check_range(value)


def _optional_range(value: tuple[int, int] | Sequence[int] | None) -> tuple[int, int] | None:
    return None if value is None else _range_field(value)


def _items(value: Iterable[T] | None, cls: type[T], what: str) -> tuple[T, ...] | None:
    if value is None:
        return None
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Iterable):
        raise LinqUsageError(f"{what} must be a list of {cls.__name__}, got {value!r}")
    items = tuple(value)
    for index, item in enumerate(items):
        if not isinstance(item, cls):
            raise LinqUsageError(f"{what}[{index}] must be a {cls.__name__}, got {item!r}")
    return items


def _optional_string(value: object, what: str) -> None:
    if value is not None:
        check_string(value, what=what)


def _check_url(
    value: object, what: str, *, schemes: tuple[str, ...] = ("https://",), limit: int | None
) -> str:
    scheme = next((s for s in schemes if isinstance(value, str) and value.startswith(s)), None)
    if not isinstance(value, str) or scheme is None or len(value) == len(scheme):
        shown = " or ".join(s.rstrip("/:") for s in schemes)
        raise LinqUsageError(f"{what} must be an {shown} URL, got {value!r}")
    if limit is not None and len(value) > limit:
        raise LinqUsageError(f"{what} must be at most {limit} characters, got {len(value)}")
    if scheme.startswith("http"):
        flaw = url_flaw(value, scheme)
        if flaw is not None:
            raise LinqUsageError(f"{what} {flaw}, got {value!r}")
    return check_no_lone_surrogates(value, what=what)


def _overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


# Text parts and what they hold.


def _decorations(
    value: Iterable[TextDecoration] | None,
) -> tuple[TextDecoration, ...] | None:
    return None if value is None else _items(value, TextDecoration, "text_decorations")


def _stickers(value: Iterable[InlineSticker] | None) -> tuple[InlineSticker, ...] | None:
    return None if value is None else _items(value, InlineSticker, "inline_stickers")


@attrs.frozen(kw_only=True)
class TextDecoration(WireModel):
    """A style or an animation over ``range`` = ``[start, end)`` in UTF-16 code units.

    Give exactly one of ``style`` (``bold``, ``italic``, ``strikethrough``, ``underline``)
    or ``animation`` (``big``, ``small``, ``shake``, ``nod``, ``explode``, ``ripple``,
    ``bloom``, ``jitter``). Styles may overlap each other; an animation may overlap no
    other decoration (the text part checks that). iMessage renders them; SMS and RCS
    recipients get the plain text.
    """

    range: tuple[int, int] = attrs.field(converter=_range_field)
    style: str | None = None
    animation: str | None = None

    def __attrs_post_init__(self) -> None:
        if (self.style is None) == (self.animation is None):
            raise LinqUsageError(
                "a text decoration takes exactly one of style or animation, "
                f"got style={self.style!r}, animation={self.animation!r}"
            )
        if self.style is not None and self.style not in TEXT_STYLES:
            raise LinqUsageError(
                f"style must be one of {', '.join(sorted(TEXT_STYLES))}; got {self.style!r}"
            )
        if self.animation is not None and self.animation not in TEXT_ANIMATIONS:
            raise LinqUsageError(
                f"animation must be one of {', '.join(sorted(TEXT_ANIMATIONS))}; "
                f"got {self.animation!r}"
            )


@attrs.frozen(kw_only=True)
class InlineSticker(WireModel):
    """An image shown in place of ``range`` of a text part (iMessage only).

    To send, give ``range`` and exactly one of ``attachment_id`` (a pre-uploaded image) or
    ``url`` (a public HTTPS image URL). In responses the API fills ``id``, ``file_name``,
    ``mime_type`` and a short-lived ``url``.
    """

    range: tuple[int, int] = attrs.field(converter=_range_field)
    attachment_id: str | None = None
    url: str | None = None
    id: str | None = attrs.field(default=None, metadata=response_only())
    """Response only."""
    file_name: str | None = attrs.field(default=None, metadata=response_only())
    """Response only."""
    mime_type: str | None = attrs.field(default=None, metadata=response_only())
    """Response only."""

    def __attrs_post_init__(self) -> None:
        if (self.attachment_id is None) == (self.url is None):
            raise LinqUsageError("an inline sticker needs url or attachment_id, not both")
        if self.url is not None:
            _check_url(self.url, "an inline sticker's url", limit=MAX_URL_CHARS)
        else:
            check_string(self.attachment_id, what="an inline sticker's attachment_id")

    @property
    def image(self) -> str:
        """What the sticker shows: its ``attachment_id``, else its ``url``."""
        return self.attachment_id or self.url or ""


@attrs.frozen(kw_only=True)
class Mention(WireModel):
    """A mention in a text part the API returns (response only).

    Attributes:
        handle: the mentioned participant (E.164 or email).
        is_me: whether the mention is of your own line.
        range: where the mention is in the text, ``[start, end)`` in UTF-16 code units.
    """

    handle: str
    is_me: bool | None = None
    range: tuple[int, int] | None = None


@attrs.frozen(kw_only=True)
class TextPart(WireModel):
    """A text part. ``value`` is sent verbatim (no Markdown).

    Rich text (rendered by iMessage only; other services get the plain text):

    * ``text_decorations``: styles and animations over ranges of the text.
    * ``mention`` with ``mention_range``: mention a participant (group chats only: a mention
      in a direct chat is refused with HTTP 409, code 2023).
    * ``inline_stickers``: up to 100 images shown in place of ranges of the text, from at
      most 10 distinct images, not overlapping each other; not together with a mention.

    Every range must lie inside ``value`` and not cut a surrogate pair (half an emoji);
    compute them with `linq_async.utf16_range`. All of this is checked when the part is
    built, before anything is sent.

    In responses, ``mentions`` lists the mentions of the text (``mention`` and
    ``mention_range`` are deprecated there).
    """

    value: str = attrs.field(validator=lambda _, __, value: check_part_text(value))
    text_decorations: tuple[TextDecoration, ...] | None = attrs.field(
        default=None, converter=_decorations
    )
    mention: str | None = None
    mention_range: tuple[int, int] | None = attrs.field(default=None, converter=_optional_range)
    inline_stickers: tuple[InlineSticker, ...] | None = attrs.field(
        default=None, converter=_stickers
    )
    mentions: tuple[Mention, ...] | None = attrs.field(default=None, metadata=response_only())
    """Response only."""
    reactions: tuple[Reaction, ...] | None = attrs.field(default=None, metadata=response_only())
    """Tapbacks and stickers on this part (responses only)."""

    def __attrs_post_init__(self) -> None:
        if (
            self.text_decorations is None
            and self.mention is None
            and self.mention_range is None
            and self.inline_stickers is None
        ):
            return  # plain text, the common case: nothing to measure
        units = TextUnits(self.value)
        self._check_decorations(units)
        if self.mention is not None:
            check_handle(self.mention, what="mention")
        if self.mention_range is not None:
            if self.mention is None:
                raise LinqUsageError("mention_range needs a mention (the handle it points at)")
            check_text_range(units, self.mention_range, what="mention_range")
        self._check_stickers(units)

    def _check_decorations(self, units: TextUnits) -> None:
        decorations = self.text_decorations or ()
        for index, decoration in enumerate(decorations):
            check_text_range(units, decoration.range, what=f"text_decorations[{index}].range")
        for index, decoration in enumerate(decorations):
            if decoration.animation is None:
                continue
            for other_index, other in enumerate(decorations):
                if other_index != index and _overlaps(decoration.range, other.range):
                    raise LinqUsageError(
                        f"text_decorations[{index}] (animation {decoration.animation!r}) "
                        f"overlaps text_decorations[{other_index}]: an animation's range may "
                        "not overlap any other decoration"
                    )

    def _check_stickers(self, units: TextUnits) -> None:
        stickers = self.inline_stickers
        if not stickers:
            return
        if self.mention is not None:
            raise LinqUsageError("a text part cannot have both inline_stickers and a mention")
        if len(stickers) > MAX_INLINE_STICKERS:
            raise LinqUsageError(
                f"a text part takes at most {MAX_INLINE_STICKERS} inline stickers, "
                f"got {len(stickers)}"
            )
        images = {sticker.image for sticker in stickers}
        if len(images) > MAX_STICKER_IMAGES:
            raise LinqUsageError(
                f"a text part's inline stickers may use at most {MAX_STICKER_IMAGES} distinct "
                f"images, got {len(images)}"
            )
        for index, sticker in enumerate(stickers):
            check_text_range(units, sticker.range, what=f"inline_stickers[{index}].range")
        ordered = sorted(range(len(stickers)), key=lambda i: stickers[i].range)
        for before, after in itertools.pairwise(ordered):
            if _overlaps(stickers[before].range, stickers[after].range):
                raise LinqUsageError(
                    f"inline_stickers[{before}] and inline_stickers[{after}] overlap; inline "
                    "stickers may not overlap"
                )


# The other part types.


@attrs.frozen(kw_only=True)
class MediaPart(WireModel):
    """A media part.

    To send, give exactly one of ``attachment_id`` (a pre-uploaded file, up to 100 MB) or
    ``url`` (a public HTTPS URL of at most 2048 characters, file up to 10 MB; at most 40
    such parts per message). ``sticker=True`` sends an image as a peel-able iMessage
    sticker. In responses the API fills ``id``, ``filename``, ``mime_type``,
    ``size_bytes`` and a short-lived ``url``.
    """

    attachment_id: str | None = None
    url: str | None = None
    sticker: bool | None = None
    id: str | None = attrs.field(default=None, metadata=response_only())
    """Response only."""
    filename: str | None = attrs.field(default=None, metadata=response_only())
    """Response only."""
    mime_type: str | None = attrs.field(default=None, metadata=response_only())
    """Response only."""
    size_bytes: int | None = attrs.field(default=None, metadata=response_only())
    """Response only."""
    reactions: tuple[Reaction, ...] | None = attrs.field(default=None, metadata=response_only())
    """Tapbacks and stickers on this part (responses only)."""

    def __attrs_post_init__(self) -> None:
        if (self.url is None) == (self.attachment_id is None):
            raise LinqUsageError("a media part needs url or attachment_id, not both")
        if self.url is not None:
            _check_url(self.url, "a media part's url", limit=MAX_URL_CHARS)
        else:
            check_string(self.attachment_id, what="a media part's attachment_id")
        check_bool(self.sticker, what="sticker")


@attrs.frozen(kw_only=True)
class LinkPart(WireModel):
    """A link with a rich preview: an http(s) URL of at most 2048 characters.

    It must be a message's only part, and a new chat's first message may not hold one.
    """

    value: str
    reactions: tuple[Reaction, ...] | None = attrs.field(default=None, metadata=response_only())
    """Tapbacks and stickers on this part (responses only)."""

    def __attrs_post_init__(self) -> None:
        _check_url(
            self.value, "a link part's value", schemes=("https://", "http://"), limit=MAX_URL_CHARS
        )


@attrs.frozen(kw_only=True)
class AppClipPart(WireModel):
    """An App Clip card: an ``https`` App Clip URL (e.g. a payment's ``checkout_url``).

    It must be a message's only part. iMessage only: it never falls back to SMS or RCS (a
    message preferring those is refused with code 2028). ``caption`` is an optional text
    under the card. In responses the API adds the clip's ``title``, ``description`` and
    ``image_url``.
    """

    value: str
    caption: str | None = None
    title: str | None = attrs.field(default=None, metadata=response_only())
    """Response only."""
    description: str | None = attrs.field(default=None, metadata=response_only())
    """Response only."""
    image_url: str | None = attrs.field(default=None, metadata=response_only())
    """Response only."""

    def __attrs_post_init__(self) -> None:
        # The fact sheet gives no length limit for App Clip URLs, so none is applied here.
        _check_url(self.value, "an app clip part's value", limit=None)
        _optional_string(self.caption, "an app clip part's caption")


@attrs.frozen(kw_only=True)
class IMessageApp(WireModel):
    """The iMessage app that renders a card (`IMessageAppPart.app`).

    ``name`` and ``team_id`` are required to send; they default to ``None`` only so that a
    response missing them still loads.

    Attributes:
        bundle_id: the iMessage extension's bundle id (no ``:``).
        name: the app's name.
        team_id: the Apple developer team id: 10 upper-case letters or digits.
        app_store_id: the app's App Store id, if it has one.
    """

    bundle_id: str
    name: str | None = None
    team_id: str | None = None
    app_store_id: str | None = None

    def __attrs_post_init__(self) -> None:
        check_string(self.bundle_id, what="app.bundle_id")
        if ":" in self.bundle_id:
            raise LinqUsageError(f"app.bundle_id may not contain ':', got {self.bundle_id!r}")
        check_string(self.name, what="app.name")
        if not isinstance(self.team_id, str) or not _TEAM_ID.fullmatch(self.team_id):
            raise LinqUsageError(
                f"app.team_id must be 10 upper-case letters or digits, got {self.team_id!r}"
            )
        _optional_string(self.app_store_id, "app.app_store_id")


_LAYOUT_FIELDS = (
    "caption",
    "subcaption",
    "trailing_caption",
    "trailing_subcaption",
    "image_url",
    "image_title",
    "image_subtitle",
)


@attrs.frozen(kw_only=True)
class IMessageAppLayout(WireModel):
    """What an iMessage app card shows (`IMessageAppPart.layout`).

    At least one field must be set; ``image_title`` and ``image_subtitle`` are drawn over
    the image, so they need ``image_url``.
    """

    caption: str | None = None
    subcaption: str | None = None
    trailing_caption: str | None = None
    trailing_subcaption: str | None = None
    image_url: str | None = None
    image_title: str | None = None
    image_subtitle: str | None = None

    def __attrs_post_init__(self) -> None:
        values = {name: getattr(self, name) for name in _LAYOUT_FIELDS}
        for name, value in values.items():
            _optional_string(value, f"layout.{name}")
        if all(value is None for value in values.values()):
            raise LinqUsageError(
                "an app card's layout needs at least one visible field "
                f"({', '.join(_LAYOUT_FIELDS)})"
            )
        if self.image_url is None and (self.image_title or self.image_subtitle):
            raise LinqUsageError("layout.image_title and layout.image_subtitle need image_url")


def check_app_url(url: object) -> str | None:
    """An app card's ``url``: ``None``, ``https://`` (<= 2048) or ``data:`` (<= 16384)."""
    if url is None:
        return None
    if isinstance(url, str) and url.startswith("data:"):
        return _check_url(url, "an app card's url", schemes=("data:",), limit=MAX_DATA_URL_CHARS)
    return _check_url(url, "an app card's url (https or data:)", limit=MAX_URL_CHARS)


@attrs.frozen(kw_only=True)
class IMessageAppPart(WireModel):
    """A card rendered by an iMessage app (the message's only part; iMessage only).

    Attributes:
        app: the app that renders the card.
        layout: what the card shows.
        url: the URL the app opens with the card: ``https://`` (at most 2048 characters) or
            a ``data:`` URL (at most 16384).
        fallback_text: what recipients without the app see.
        interactive: whether the card opens the app when tapped (the API's default is
            true).
    """

    app: IMessageApp
    layout: IMessageAppLayout
    url: str | None = None
    fallback_text: str | None = None
    interactive: bool | None = None

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.app, IMessageApp):
            raise LinqUsageError(f"app must be an IMessageApp, got {self.app!r}")
        if not isinstance(self.layout, IMessageAppLayout):
            raise LinqUsageError(f"layout must be an IMessageAppLayout, got {self.layout!r}")
        check_app_url(self.url)
        _optional_string(self.fallback_text, "fallback_text")
        check_bool(self.interactive, what="interactive")


@attrs.frozen(kw_only=True)
class UnknownPart(WireModel):
    """A part whose ``type`` this SDK does not model; ``data`` is the part as sent on the wire.

    Responses use it for part types added after this release. It can be sent too: ``data``
    goes on the wire as it is, with ``type`` set.
    """

    type: str = attrs.field(metadata=wire_name("type"))
    data: Mapping[str, Any] = attrs.field(factory=dict, metadata=whole_object())

    def __attrs_post_init__(self) -> None:
        # Built to be sent: ``data`` goes out as given, so it must be strict JSON.
        check_string(self.type, what="an unknown part's type")
        check_json_body(self.data, where=f"an unknown {self.type!r} part's data")


Part = TextPart | MediaPart | LinkPart | AppClipPart | IMessageAppPart | UnknownPart
"""A message part, tagged on the wire by its ``type`` key."""

PART_TYPES = register_open_union(
    Part,
    tag="type",
    members={
        "text": TextPart,
        "media": MediaPart,
        "link": LinkPart,
        "app_clip": AppClipPart,
        "imessage_app": IMessageAppPart,
    },
    fallback=UnknownPart,
)
_PART_CLASSES = (*PART_TYPES.members.values(), UnknownPart)
_TAG_OF = {cls: tag for tag, cls in PART_TYPES.members.items()}
_PART_NAMES = ", ".join(cls.__name__ for cls in _PART_CLASSES)


def is_part(value: object) -> bool:
    """Whether ``value`` is a message part (an instance of one of the `Part` classes)."""
    return isinstance(value, _PART_CLASSES)


def not_a_part(index: int, value: object) -> LinqUsageError:
    """The error for ``parts[index]`` that is not a message part."""
    return LinqUsageError(
        f"parts[{index}] is not a message part: {value!r}; each part is one of {_PART_NAMES}"
    )


def part_type(part: Part) -> str:
    """The wire ``type`` of a part."""
    if isinstance(part, UnknownPart):
        return part.type
    return _TAG_OF[type(part)]


def check_parts(parts: Sequence[Part], *, after_text: bool = False) -> tuple[Part, ...]:
    """Enforce the API's rules across a message's parts locally, before sending.

    1 to 100 parts; at most 40 media parts by ``url``; no two text parts in a row; a link,
    app clip or iMessage app part must be the only part. The rules of each part were
    checked when it was built (parts loaded from a response are not re-checked, but the
    media rule is, since it counts toward the 40).

    ``after_text``: the message has a text part (``text=``) before ``parts``, which counts
    in the rules and in the indices errors give.

    Raises:
        LinqUsageError: ``parts`` is not a list of parts, or breaks a rule.
    """
    if (
        type(parts) is not tuple
        and type(parts) is not list
        and (isinstance(parts, (str, bytes, bytearray, Mapping)) or not isinstance(parts, Sequence))
    ):
        raise LinqUsageError(
            f"parts must be a list of message parts ({_PART_NAMES}), got {parts!r}"
        )
    parts = tuple(parts)
    count = len(parts) + after_text
    if not count:
        raise LinqUsageError("a message needs at least one part (parts= or text=)")
    if count > MAX_PARTS:
        raise LinqUsageError(f"a message has at most {MAX_PARTS} parts, got {count}")
    previous = "text" if after_text else ""
    url_media = 0
    for index, part in enumerate(parts, start=after_text):
        kind = _TAG_OF.get(type(part))
        if kind is None:
            if not isinstance(part, _PART_CLASSES):
                raise not_a_part(index, part)
            kind = part_type(part)
        if kind in _EXCLUSIVE_PARTS and count > 1:
            raise LinqUsageError(f"parts[{index}]: a part of type {kind!r} must be the only part")
        if kind == "text" and previous == "text":
            raise LinqUsageError(f"parts[{index}]: two text parts may not follow each other")
        if kind == "media" and isinstance(part, MediaPart):
            if (part.url is None) == (part.attachment_id is None):
                raise LinqUsageError(
                    f"parts[{index}]: a media part needs url or attachment_id, not both"
                )
            url_media += part.url is not None
        previous = kind
    if url_media > MAX_URL_MEDIA_PARTS:
        raise LinqUsageError(
            f"a message has at most {MAX_URL_MEDIA_PARTS} media parts by url, got {url_media}"
        )
    return parts
