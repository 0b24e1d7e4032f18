"""Local checks of arguments, run before any I/O so a bad call never half-sends."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from ._errors import LinqUsageError
from .models import LinkPart, MediaPart, Part, TextPart, UnknownPart

MAX_ATTACHMENT_BYTES = 104_857_600
"""The largest pre-uploaded attachment, 100 MiB."""
MAX_FILENAME_CHARS = 255
MAX_PARTS = 100
MAX_URL_MEDIA_PARTS = 40

_E164 = re.compile(r"\+[1-9]\d{7,14}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_EXCLUSIVE_PARTS = frozenset({"link", "app_clip", "imessage_app"})


def check_phone(handle: object, *, what: str) -> str:
    """Return ``handle`` if it is an E.164 phone number (``+`` and 8-15 digits)."""
    if not isinstance(handle, str) or not _E164.fullmatch(handle):
        raise LinqUsageError(
            f"{what} must be an E.164 phone number such as '+12223334444', got {handle!r}"
        )
    return handle


def check_handle(handle: object, *, what: str) -> str:
    """Return ``handle`` if it is an E.164 phone number or an email address (Apple ID)."""
    if isinstance(handle, str) and (_E164.fullmatch(handle) or _EMAIL.fullmatch(handle)):
        return handle
    raise LinqUsageError(
        f"{what} must be an E.164 phone number such as '+12223334444' or an email address, "
        f"got {handle!r}"
    )


def check_recipients(to: str | Iterable[str]) -> tuple[str, ...]:
    """Normalise ``to`` (one handle or several) to a non-empty tuple of valid handles."""
    handles = (to,) if isinstance(to, str) else tuple(to)
    if not handles:
        raise LinqUsageError("to must name at least one recipient")
    for handle in handles:
        check_handle(handle, what="each recipient in to")
    if len(set(handles)) != len(handles):
        raise LinqUsageError(f"to lists a recipient more than once: {list(handles)!r}")
    return handles


def check_text(text: object) -> str | None:
    """Return ``text`` if it is ``None`` or a non-empty string."""
    if text is not None and not (isinstance(text, str) and text):
        raise LinqUsageError(f"text must be a non-empty string, got {text!r}")
    return text


def check_filename(filename: object) -> str:
    """Return ``filename`` if it is 1 to 255 characters long."""
    if not isinstance(filename, str) or not 1 <= len(filename) <= MAX_FILENAME_CHARS:
        shown = filename if not isinstance(filename, str) else f"{len(filename)} characters"
        raise LinqUsageError(
            f"filename must be 1 to {MAX_FILENAME_CHARS} characters, got {shown!r}"
        )
    return filename


def check_size(size: int) -> int:
    """Return ``size`` if an attachment of that many bytes is allowed (1 to 100 MiB)."""
    if not 1 <= size <= MAX_ATTACHMENT_BYTES:
        raise LinqUsageError(
            f"an attachment must be 1 to {MAX_ATTACHMENT_BYTES:,} bytes (100 MiB), got {size:,}"
        )
    return size


def _part_type(part: Part) -> str:
    if isinstance(part, UnknownPart):
        return part.type
    return {TextPart: "text", MediaPart: "media", LinkPart: "link"}[type(part)]


def check_parts(parts: Sequence[Part]) -> tuple[Part, ...]:
    """Enforce the API's part rules locally, so a malformed message fails before sending."""
    parts = tuple(parts)
    if not parts:
        raise LinqUsageError("a message needs at least one part")
    if len(parts) > MAX_PARTS:
        raise LinqUsageError(f"a message has at most {MAX_PARTS} parts, got {len(parts)}")
    for index, part in enumerate(parts):
        if not isinstance(part, (TextPart, MediaPart, LinkPart, UnknownPart)):
            raise LinqUsageError(f"parts[{index}] is not a message part: {part!r}")
    kinds = [_part_type(part) for part in parts]
    for index, part in enumerate(parts):
        where = f"parts[{index}]"
        if kinds[index] in _EXCLUSIVE_PARTS and len(parts) > 1:
            raise LinqUsageError(f"{where}: a {kinds[index]} part must be the only part")
        if kinds[index] == "text" and index and kinds[index - 1] == "text":
            raise LinqUsageError(f"{where}: two text parts may not follow each other")
        if isinstance(part, MediaPart) and (part.url is None) == (part.attachment_id is None):
            raise LinqUsageError(f"{where}: a media part needs url or attachment_id, not both")
        if isinstance(part, TextPart) and not part.value:
            raise LinqUsageError(f"{where}: a text part needs a non-empty value")
    url_media = sum(1 for part in parts if isinstance(part, MediaPart) and part.url is not None)
    if url_media > MAX_URL_MEDIA_PARTS:
        raise LinqUsageError(
            f"a message has at most {MAX_URL_MEDIA_PARTS} media parts by url, got {url_media}"
        )
    return parts
