"""Reactions: what a message part carries (`Reaction`) and the sticker you place (`Sticker`)."""

from __future__ import annotations

from typing import Any

import attrs

from .._errors import LinqUsageError
from .._model import WireModel
from .._validation import check_number, check_string, url_flaw
from ._attachments import url_repr
from ._chats import ChatHandle

__all__ = ["Reaction", "Sticker", "StickerImage", "StickerPlacement"]

MIN_STICKER_SCALE = 0.05
MAX_STICKER_SCALE = 2.5


@attrs.frozen(kw_only=True)
class StickerImage(WireModel):
    """The image of a sticker reaction, as the API describes it.

    ``url`` is a presigned download URL (it expires after about an hour); its query, the
    signature, is left out of the repr.
    """

    file_name: str | None = None
    mime_type: str | None = None
    url: str | None = attrs.field(default=None, repr=url_repr)
    width: int | None = None
    height: int | None = None


@attrs.frozen(kw_only=True)
class Reaction(WireModel):
    """A reaction on a message part: a tapback, a custom emoji or a sticker.

    Attributes:
        handle: who reacted.
        is_me: whether the reaction came from your line.
        type: ``love``, ``like``, ``dislike``, ``laugh``, ``emphasize``, ``question``,
            ``custom`` or ``sticker`` (kept as sent: a later addition still loads).
        id: the reaction's id (what `Messages.move_sticker` takes), when the API gives one.
        custom_emoji: the emoji of a ``custom`` reaction.
        sticker: the image of a ``sticker`` reaction.
    """

    handle: ChatHandle
    is_me: bool
    type: str
    id: str | None = None
    custom_emoji: str | None = None
    sticker: StickerImage | None = None


def _placement_number(low: float | None, high: float | None) -> Any:
    def check(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if value is not None:
            check_number(value, what=f"StickerPlacement.{attribute.name}", low=low, high=high)

    return check


@attrs.frozen(kw_only=True)
class StickerPlacement(WireModel):
    """Where a sticker sits on the bubble it is placed on. Every field is optional.

    Omitted fields keep the API's default (centred, default size, unrotated). Values are
    checked when the placement is built.

    Attributes:
        x: horizontal position, from -1 (far left) to 1 (far right); 0 is centred.
        y: vertical position, from -1 (top) to 1 (bottom); 0 is centred.
        scale: size relative to the default, 0.05 to 2.5 (linear). The API would clamp a
            value outside that range; it is refused here instead, so a typo such as
            ``25`` for ``2.5`` does not silently become the largest size.
        rotation: clockwise rotation in degrees (any finite number).
    """

    x: float | None = attrs.field(default=None, validator=_placement_number(-1.0, 1.0))
    y: float | None = attrs.field(default=None, validator=_placement_number(-1.0, 1.0))
    scale: float | None = attrs.field(
        default=None, validator=_placement_number(MIN_STICKER_SCALE, MAX_STICKER_SCALE)
    )
    rotation: float | None = attrs.field(default=None, validator=_placement_number(None, None))


@attrs.frozen(kw_only=True)
class Sticker(WireModel):
    """A sticker to place on a message (`Messages.react` with type ``"sticker"``).

    Give exactly one source: ``emoji`` (one emoji peeled onto the bubble), ``url`` (the
    ``download_url`` of an attachment uploaded to Linq: the API does not fetch other hosts
    for reactions) or ``attachment_id`` (an uploaded attachment). Stickers are iMessage-only
    and cannot be removed, only moved (`Messages.move_sticker`).

    On the wire the source and ``placement`` are fields of the reaction request itself.
    """

    emoji: str | None = None
    url: str | None = None
    attachment_id: str | None = None
    placement: StickerPlacement | None = None

    def __attrs_post_init__(self) -> None:
        sources = ("emoji", "url", "attachment_id")
        given = [name for name in sources if getattr(self, name) is not None]
        if len(given) != 1:
            raise LinqUsageError(
                "a Sticker needs exactly one of emoji, url or attachment_id, "
                f"got {', '.join(given) or 'none'}"
            )
        source = given[0]
        check_string(getattr(self, source), what=f"Sticker.{source}")
        if self.url is not None and (
            not self.url.startswith("https://") or url_flaw(self.url, "https://") is not None
        ):
            raise LinqUsageError(f"Sticker.url must be an https URL, got {self.url!r}")
        if self.placement is not None and not isinstance(self.placement, StickerPlacement):
            raise LinqUsageError(
                f"Sticker.placement must be a StickerPlacement, got {self.placement!r}"
            )
