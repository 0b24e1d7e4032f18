"""Attachment content types: what the API accepts, what it rewrites, what it refuses.

The table follows the Linq API's ``SupportedContentType`` enum (51 values). Deprecated
aliases are accepted and mapped to the type they are delivered as, so callers can see what
recipients will get.

WebP and SVG: the pre-upload documentation page contradicts itself (its summary says they are
rejected, its own enum and both official SDKs list them). We follow the enum and accept them,
because refusing locally would block a send the server may well take, while accepting at worst
costs one 400 from the server. To change that decision, move the two values from
``SUPPORTED_CONTENT_TYPES`` into ``_UNDECIDED_REJECTED`` (one line).
"""

from __future__ import annotations

import mimetypes
import os

from ._errors import LinqUsageError

_UNDECIDED_REJECTED: frozenset[str] = frozenset()

# fmt: off
SUPPORTED_CONTENT_TYPES: frozenset[str] = frozenset(
    {
        # images
        "image/jpeg", "image/png", "image/gif", "image/heic", "image/heif", "image/tiff",
        "image/bmp", "image/svg+xml", "image/webp", "image/x-icon",
        # video
        "video/mp4", "video/quicktime", "video/mpeg", "video/mpeg2", "video/x-m4v",
        "video/x-msvideo", "video/3gpp",
        # audio
        "audio/mpeg", "audio/mp3", "audio/x-m4a", "audio/mp4", "audio/x-caf", "audio/x-wav",
        "audio/x-aiff", "audio/aiff", "audio/aac", "audio/midi", "audio/amr",
        # wallet
        "application/vnd.apple.pkpass",
        # documents
        "application/pdf", "text/plain", "text/markdown", "text/vcard", "text/rtf", "text/csv",
        "text/html", "text/calendar", "text/xml", "application/json", "application/msword",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.ms-excel",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.ms-powerpoint",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "application/x-iwork-pages-sffpages", "application/x-iwork-numbers-sffnumbers",
        "application/x-iwork-keynote-sffkey", "application/epub+zip", "application/zip",
        "application/x-gzip",
    }
) - _UNDECIDED_REJECTED
# fmt: on

DELIVERED_AS: dict[str, str] = {
    "audio/x-caf": "audio/mp4",  # transcoded
    "audio/mp3": "audio/mpeg",  # deprecated alias
    "audio/mp4": "audio/x-m4a",  # deprecated alias
    "audio/aiff": "audio/x-aiff",  # deprecated alias
    "image/tiff": "image/jpeg",  # transcoded
}
"""Accepted types that recipients receive as another type."""

REJECTED_CONTENT_TYPES: dict[str, str] = {
    "audio/flac": "FLAC audio is not supported",
    "audio/x-flac": "FLAC audio is not supported",
    "audio/ogg": "OGG audio is not supported",
    "video/ogg": "OGG video is not supported",
    "application/ogg": "OGG is not supported",
    "application/x-msdownload": "executables are not supported",
    "application/x-executable": "executables are not supported",
    "application/x-msdos-program": "executables are not supported",
    "application/x-sh": "executables are not supported",
    "application/vnd.microsoft.portable-executable": "executables are not supported",
    "application/x-mach-binary": "executables are not supported",
    "application/java-archive": "executables are not supported",
    "application/vnd.android.package-archive": "executables are not supported",
    **dict.fromkeys(_UNDECIDED_REJECTED, "rejected by the attachments API"),
}
"""Types the API refuses outright, with the reason shown in the error."""

# Extensions Python's ``mimetypes`` does not know (or maps to a type the API does not take).
# fmt: off
_EXTENSIONS: dict[str, str] = {
    ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png", ".gif": "image/gif",
    ".heic": "image/heic", ".heif": "image/heif", ".tif": "image/tiff", ".tiff": "image/tiff",
    ".bmp": "image/bmp", ".svg": "image/svg+xml", ".webp": "image/webp", ".ico": "image/x-icon",
    ".mp4": "video/mp4", ".mov": "video/quicktime", ".qt": "video/quicktime",
    ".mpg": "video/mpeg", ".mpeg": "video/mpeg", ".m2v": "video/mpeg2", ".m4v": "video/x-m4v",
    ".avi": "video/x-msvideo", ".3gp": "video/3gpp",
    ".mp3": "audio/mpeg", ".m4a": "audio/x-m4a", ".caf": "audio/x-caf", ".wav": "audio/x-wav",
    ".aif": "audio/x-aiff", ".aiff": "audio/x-aiff", ".aac": "audio/aac", ".mid": "audio/midi",
    ".midi": "audio/midi", ".amr": "audio/amr",
    ".pkpass": "application/vnd.apple.pkpass",
    ".pdf": "application/pdf", ".txt": "text/plain", ".md": "text/markdown",
    ".markdown": "text/markdown", ".vcf": "text/vcard", ".vcard": "text/vcard",
    ".rtf": "text/rtf", ".csv": "text/csv", ".html": "text/html", ".htm": "text/html",
    ".ics": "text/calendar", ".xml": "text/xml", ".json": "application/json",
    ".doc": "application/msword",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xls": "application/vnd.ms-excel",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".ppt": "application/vnd.ms-powerpoint",
    ".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    ".pages": "application/x-iwork-pages-sffpages",
    ".numbers": "application/x-iwork-numbers-sffnumbers",
    ".key": "application/x-iwork-keynote-sffkey",
    ".epub": "application/epub+zip", ".zip": "application/zip", ".gz": "application/x-gzip",
    ".tgz": "application/x-gzip",
    ".flac": "audio/flac", ".ogg": "audio/ogg", ".oga": "audio/ogg", ".ogv": "video/ogg",
    ".exe": "application/x-msdownload", ".dll": "application/x-msdownload",
    ".msi": "application/x-msdownload", ".apk": "application/vnd.android.package-archive",
    ".jar": "application/java-archive", ".sh": "application/x-sh",
}
# fmt: on


# Other spellings of accepted types (registered names, platform variants): the error for
# one of them names the spelling the API takes.
_LINQ_SPELLING: dict[str, str] = {
    "image/jpg": "image/jpeg",
    "image/pjpeg": "image/jpeg",
    "image/x-ms-bmp": "image/bmp",
    "image/vnd.microsoft.icon": "image/x-icon",
    "image/heic-sequence": "image/heic",
    "image/heif-sequence": "image/heif",
    "video/avi": "video/x-msvideo",
    "video/msvideo": "video/x-msvideo",
    "video/3gp": "video/3gpp",
    "audio/wav": "audio/x-wav",
    "audio/wave": "audio/x-wav",
    "audio/vnd.wave": "audio/x-wav",
    "audio/m4a": "audio/x-m4a",
    "audio/x-mp3": "audio/mpeg",
    "audio/mpeg3": "audio/mpeg",
    "audio/x-mpeg": "audio/mpeg",
    "audio/x-aac": "audio/aac",
    "audio/mid": "audio/midi",
    "audio/x-midi": "audio/midi",
    "audio/amr-wb": "audio/amr",
    "text/x-vcard": "text/vcard",
    "text/x-markdown": "text/markdown",
    "application/rtf": "text/rtf",
    "application/xml": "text/xml",
    "application/gzip": "application/x-gzip",
    "application/x-zip-compressed": "application/zip",
    "application/x-zip": "application/zip",
}


def guess_content_type(filename: str) -> str | None:
    """Guess a content type from a file name's extension, or ``None`` if it is unknown.

    Our own table wins over `mimetypes`, whose answers vary by platform and miss Apple
    formats (``.heic``, ``.caf``, ``.pages`` ...).
    """
    ext = os.path.splitext(filename)[1].lower()
    return _EXTENSIONS.get(ext) or mimetypes.guess_type(filename, strict=False)[0]


def resolve_content_type(content_type: str | None, filename: str) -> str:
    """Return the content type to declare for ``filename``, or raise ``LinqUsageError``.

    ``content_type`` wins when given; parameters such as ``; charset=utf-8`` are dropped and
    the case is folded. Otherwise it is guessed from the file name.
    """
    if content_type is None:
        guessed = guess_content_type(filename)
        if guessed is None:
            raise LinqUsageError(
                f"cannot guess a content type for {filename!r}: pass content_type= "
                "(for example 'application/pdf')"
            )
        content_type = guessed
    elif not isinstance(content_type, str):
        raise LinqUsageError(f"content_type must be a MIME type string, got {content_type!r}")
    normalized = content_type.split(";", 1)[0].strip().lower()
    reason = REJECTED_CONTENT_TYPES.get(normalized)
    if reason is not None:
        raise LinqUsageError(f"content type {normalized!r} is rejected by Linq: {reason}")
    if normalized not in SUPPORTED_CONTENT_TYPES:
        spelling = _LINQ_SPELLING.get(normalized)
        if spelling in SUPPORTED_CONTENT_TYPES:
            raise LinqUsageError(
                f"content type {normalized!r} is not one Linq attachments take under that "
                f"name: Linq spells it {spelling!r}; pass content_type={spelling!r}"
            )
        raise LinqUsageError(
            f"content type {normalized!r} is not supported by Linq attachments; "
            "see linq_async.SUPPORTED_CONTENT_TYPES for the accepted types"
        )
    return normalized
