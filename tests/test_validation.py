"""Local validation: content types, handles, sizes, part rules. No I/O involved."""

from __future__ import annotations

import pytest

import linq_async
from linq_async import (
    DELIVERED_AS,
    SUPPORTED_CONTENT_TYPES,
    LinkPart,
    LinqUsageError,
    MediaPart,
    TextPart,
    guess_content_type,
)
from linq_async._content_types import resolve_content_type
from linq_async._validation import (
    check_filename,
    check_handle,
    check_phone,
    check_recipients,
    check_size,
)
from linq_async.models._parts import check_parts


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("IMG_0001.HEIC", "image/heic"),
        ("x.heif", "image/heif"),
        ("memo.m4a", "audio/x-m4a"),
        ("ring.caf", "audio/x-caf"),
        ("voice.amr", "audio/amr"),
        ("card.vcf", "text/vcard"),
        ("invite.ics", "text/calendar"),
        ("doc.pages", "application/x-iwork-pages-sffpages"),
        ("sheet.numbers", "application/x-iwork-numbers-sffnumbers"),
        ("deck.key", "application/x-iwork-keynote-sffkey"),
        ("report.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
        ("pass.pkpass", "application/vnd.apple.pkpass"),
        ("clip.mov", "video/quicktime"),
        ("a.jpg", "image/jpeg"),
    ],
)
def test_guess_content_type_knows_apple_and_office_formats(name: str, expected: str) -> None:
    """Extensions that mimetypes misses or maps differently are guessed right."""
    assert guess_content_type(name) == expected


def test_every_supported_type_is_guessable_from_some_extension() -> None:
    """Each supported type is guessed from some extension, but for deprecated aliases,
    whose files are guessed as the type the alias is delivered as."""
    from linq_async._content_types import _EXTENSIONS

    assert len(SUPPORTED_CONTENT_TYPES) == 51
    missing = SUPPORTED_CONTENT_TYPES - set(_EXTENSIONS.values())
    assert missing == {"audio/mp3", "audio/mp4", "audio/aiff"}
    assert {DELIVERED_AS[alias] for alias in missing} <= set(_EXTENSIONS.values())


def test_deprecated_aliases_map_to_supported_types() -> None:
    """Every 'delivered as' target is itself a supported type."""
    assert set(DELIVERED_AS) <= SUPPORTED_CONTENT_TYPES
    assert set(DELIVERED_AS.values()) <= SUPPORTED_CONTENT_TYPES


@pytest.mark.parametrize(
    ("given", "name", "match"),
    [
        (None, "song.flac", "FLAC"),
        (None, "song.ogg", "OGG"),
        (None, "setup.exe", "executables"),
        ("application/x-msdownload", "setup.bin", "executables"),
        ("application/octet-stream", "blob.bin", "not supported"),
        (None, "mystery.qqq", "cannot guess"),
    ],
)
def test_rejected_and_unknown_types_raise_usage_errors(
    given: str | None, name: str, match: str
) -> None:
    """Rejected or unguessable types fail locally with a message saying why."""
    with pytest.raises(LinqUsageError, match=match):
        resolve_content_type(given, name)


def test_explicit_content_type_is_normalised() -> None:
    """Case and parameters are dropped: 'Text/Plain; charset=utf-8' -> 'text/plain'."""
    assert resolve_content_type("Text/Plain; charset=utf-8", "x.bin") == "text/plain"


def test_webp_and_svg_are_accepted() -> None:
    """The documented WebP/SVG conflict is decided for acceptance (see _content_types)."""
    assert resolve_content_type(None, "a.webp") == "image/webp"
    assert resolve_content_type(None, "a.svg") == "image/svg+xml"


@pytest.mark.parametrize("handle", ["+12223334444", "+442071838750", "someone@icloud.com"])
def test_valid_handles(handle: str) -> None:
    """E.164 numbers and emails are valid recipients."""
    assert check_handle(handle, what="to") == handle


@pytest.mark.parametrize(
    "handle", ["12223334444", "+1 222 333 4444", "+0123456789", "+1234567", "not-an-email", ""]
)
def test_invalid_handles_are_refused(handle: str) -> None:
    """Anything but E.164 or an email fails, naming the value."""
    with pytest.raises(LinqUsageError, match=r"E\.164"):
        check_handle(handle, what="to")


def test_from_must_be_a_phone_not_an_email() -> None:
    """A sending line is a phone number; an Apple ID cannot send."""
    with pytest.raises(LinqUsageError, match="from_"):
        check_phone("me@icloud.com", what="from_")


def test_recipients_are_normalised_and_deduplicated() -> None:
    """One handle becomes a 1-tuple; empty or repeated recipients fail."""
    assert check_recipients("+12223334444") == ("+12223334444",)
    with pytest.raises(LinqUsageError, match="at least one"):
        check_recipients([])
    with pytest.raises(LinqUsageError, match="more than once"):
        check_recipients(["+12223334444", "+12223334444"])


def test_size_and_filename_bounds() -> None:
    """Sizes run 1..104,857,600 bytes and filenames 1..255 characters."""
    assert check_size(1) == 1
    assert check_size(104_857_600) == 104_857_600
    for bad in (0, 104_857_601):
        with pytest.raises(LinqUsageError, match="100 MiB"):
            check_size(bad)
    assert check_filename("a" * 255)
    for bad_name in ("", "a" * 256):
        with pytest.raises(LinqUsageError, match="filename"):
            check_filename(bad_name)


@pytest.mark.parametrize(
    ("parts", "match"),
    [
        ([], "at least one part"),
        ([TextPart(value="a"), TextPart(value="b")], "text parts may not follow"),
        ([LinkPart(value="https://x.example"), TextPart(value="b")], "only part"),
        ([MediaPart(url="https://x.example/a.png")] * 41, "at most 40"),
        ([TextPart(value="a"), MediaPart(attachment_id="a")] * 51, "at most 100"),
        (["just a string"], "not a message part"),
        ("hello", "list of message parts"),
    ],
)
def test_part_rules(parts: list[object], match: str) -> None:
    """Each of the API's part rules is enforced before sending."""
    with pytest.raises(LinqUsageError, match=match):
        check_parts(parts)  # type: ignore[arg-type]


@pytest.mark.parametrize("value", ["", "half a pair \ud83d", 5, None])
def test_text_parts_refuse_empty_non_string_and_lone_surrogate_values(value: object) -> None:
    """A text part's value is checked when the part is built."""
    with pytest.raises(LinqUsageError, match="text part"):
        TextPart(value=value)  # type: ignore[arg-type]


def test_usage_errors_are_value_errors() -> None:
    """LinqUsageError is also a ValueError, so generic handlers catch it."""
    assert issubclass(linq_async.LinqUsageError, ValueError)


def test_an_object_posing_as_a_str_is_refused_as_an_idempotency_key() -> None:
    """An object whose __class__ claims str (a mock, a proxy) is a LinqUsageError, not
    a TypeError from deep inside."""
    from unittest.mock import MagicMock

    from linq_async._validation import check_idempotency_key

    with pytest.raises(LinqUsageError, match="idempotency_key must be a string"):
        check_idempotency_key(MagicMock(spec=str))
