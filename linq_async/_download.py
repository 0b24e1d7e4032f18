"""Streaming a file from its download URL to disk, all or nothing.

The body goes to a temporary file next to the destination, chunk by chunk (memory stays
O(chunk) whatever the file size), and is renamed over the destination only once it is
complete: a failed, interrupted or cancelled download never leaves a partial file behind.
A retried attempt starts the temporary file over.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import secrets
import stat
from pathlib import Path
from urllib.parse import unquote, urlsplit

import aiofiles
import aiofiles.os
from aiofiles.threadpool.binary import AsyncBufferedIOBase

from ._errors import DownloadError, LinqUsageError
from ._transport import SignedURL, Transport
from ._upload import ProgressCallback
from ._validation import has_space_or_control, plain_result

__all__ = ["Destination", "check_destination", "check_download_url", "download", "is_url"]

_LOOPBACK_NAMES = frozenset({"localhost"})
# Path separators, C0 and C1 control characters (a newline, a terminal escape) and the
# bidirectional controls (which make "fdp.exe" after U+202E read as "exe.pdf").
_UNSAFE_NAME_CHARS = str.maketrans(
    dict.fromkeys(
        [
            "/",
            "\\",
            *map(chr, range(0x20)),
            *map(chr, range(0x7F, 0xA0)),
            "\u061c",
            "\u200e",
            "\u200f",
            *map(chr, range(0x202A, 0x202F)),
            *map(chr, range(0x2066, 0x206A)),
        ],
        "_",
    )
)
_NAME_MAX = 255
"""The longest file name, in bytes, of the common file systems (ext4, APFS, NTFS ...)."""
_PART_SUFFIX_BYTES = len(".") + len(".01234567.part")
"""What the temporary file's name adds to the final one."""


def is_url(value: str) -> bool:
    """Whether ``value`` looks like a URL (``http://`` or ``https://``) rather than an id."""
    return value[:8].lower().startswith(("https://", "http://"))


def _loopback(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_download_url(url: object, *, what: str = "the download URL") -> SignedURL:
    """Return ``url``, wrapped, if it may be downloaded from: ``https://``, or ``http://`` on
    loopback.

    Plain http is allowed only to this machine (a local test server such as the fake's
    storage host): anywhere else the file could be read or altered on the way. The URL comes
    back as a `SignedURL`, and no frame here holds it as text: a download URL may be signed
    (ephemeral attachments), and a traceback printed with its locals must not show that.

    Raises:
        LinqUsageError: not such a URL, or it holds whitespace or control characters.
    """
    if not isinstance(url, str) or not is_url(url):
        raise LinqUsageError(f"{what} must be an https URL, got {url!r}")
    signed = SignedURL(url)
    del url
    problem = _url_problem(signed)
    if problem is not None:
        raise LinqUsageError(f"{what} {problem}")
    return signed


def _url_problem(url: SignedURL) -> str | None:
    """What makes ``url`` unfit to download from, if anything (returned, never raised)."""
    text = url.reveal()
    if has_space_or_control(text):
        return "holds whitespace or control characters"
    try:
        parts = urlsplit(text)
        scheme, host = parts.scheme, parts.hostname
    except ValueError as exc:
        return f"is not a valid URL: {url.redact(str(exc))}"
    if not host:
        return "has no host"
    if scheme.lower() != "https" and not _loopback(host):
        return f"must be https (plain http only to 127.0.0.1), got {host!r}"
    return None


class Destination:
    """Where a download goes: a directory and, unless only the directory was given, a name."""

    __slots__ = ("directory", "name")

    def __init__(self, directory: Path, name: str | None) -> None:
        self.directory = directory
        self.name = name

    def target(self, suggested: str) -> Path:
        """The final path: the given file name, else ``suggested`` (made safe) in the directory."""
        return self.directory / (self.name or _safe_name(suggested))


def check_destination(destination: str | os.PathLike[str]) -> Destination:
    """Check a download destination before any I/O to the API.

    An existing directory means "in this directory, under the file's own name"; anything
    else is the file to write (replaced if it exists), whose directory must exist.

    Raises:
        LinqUsageError: not a path, or its directory does not exist.
    """
    if not isinstance(destination, (str, os.PathLike)) or not os.fspath(destination):
        raise LinqUsageError(f"destination must be a path, got {destination!r}")
    path = Path(destination)
    try:
        info = path.stat()
    except FileNotFoundError:
        info = None
    except OSError as exc:
        raise LinqUsageError(f"cannot use {str(path)!r} as a destination: {exc.strerror}") from None
    if info is not None and stat.S_ISDIR(info.st_mode):
        return Destination(path, None)
    parent = path.parent
    if not parent.is_dir():
        raise LinqUsageError(f"the directory of {str(path)!r} does not exist")
    return Destination(parent, path.name)


def _safe_name(suggested: str) -> str:
    # A name from the API or a URL (chosen by whoever sent the file) must not climb out of
    # the directory, hide as a dotfile, carry control characters, or exceed what the file
    # system takes (the API allows 255 characters, which can be 765 bytes).
    name = suggested.translate(_UNSAFE_NAME_CHARS).strip().lstrip(".")
    return _fit(name or "download", _NAME_MAX)


def _fit(name: str, limit: int) -> str:
    """``name`` shortened to at most ``limit`` bytes on disk, keeping a short extension."""
    if len(os.fsencode(name)) <= limit:
        return name
    stem, dot, extension = name.rpartition(".")
    suffix = dot + extension if stem and len(os.fsencode(dot + extension)) <= 16 else ""
    stem = name[: len(name) - len(suffix)]
    room = limit - len(os.fsencode(suffix))
    while len(os.fsencode(stem)) > room:
        stem = stem[:-1]
    return stem.rstrip() + suffix


def _temporary(target: Path) -> Path:
    """A new name beside ``target`` for the file being written, short enough to exist."""
    name = _fit(target.name, _NAME_MAX - _PART_SUFFIX_BYTES)
    return target.with_name(f".{name}.{secrets.token_hex(4)}.part")


def name_from_url(url: SignedURL) -> str:
    """The file name a URL suggests: its last path segment, unquoted."""
    return unquote(urlsplit(url.where).path.rsplit("/", 1)[-1])


class _FileSink:
    """Writes one attempt's chunks to the temporary file and reports progress."""

    def __init__(
        self, handle: AsyncBufferedIOBase, on_progress: ProgressCallback | None, size: int | None
    ) -> None:
        self._handle = handle
        self._on_progress = on_progress
        self._size = size
        self.received = 0
        self.total = 0

    async def begin(self, total: int | None) -> None:
        # A retry starts over: what an earlier attempt wrote is dropped.
        await self._handle.seek(0)
        await self._handle.truncate()
        self.received = 0
        self.total = total if total is not None else (self._size or 0)

    async def write(self, chunk: bytes) -> None:
        await self._handle.write(chunk)
        self.received += len(chunk)
        if self._on_progress is not None:
            plain_result(self._on_progress(self.received, self.total), what="on_progress")


async def download(
    transport: Transport,
    url: SignedURL,
    destination: Destination,
    *,
    suggested_name: str,
    attachment_id: str | None = None,
    size: int | None = None,
    on_progress: ProgressCallback | None = None,
) -> Path:
    """Stream ``url`` to ``destination``, retrying 5xx and dropped connections.

    Args:
        transport: the session's transport (its retry policy and connection pool).
        url: the file's URL, from `check_download_url`.
        destination: from `check_destination`.
        suggested_name: the file name to use when ``destination`` is a directory.
        attachment_id: the attachment, to name in errors.
        size: the expected size, reported as the total when the host sends no length.
        on_progress: called as ``on_progress(received_bytes, total_bytes)``; the total is
            0 when unknown.

    Returns:
        The path written.

    Raises:
        DownloadError: the host refused the download, the connection kept failing, or the
            file could not be written.
    """
    target = destination.target(suggested_name)
    temporary = _temporary(target)
    label = f"download of {attachment_id or url.where.partition('://')[2]}"
    done = False
    try:
        # "x": a new file, never an existing one; mode 0o666 less the umask, like any file
        # the user's programs create.
        handle = await aiofiles.open(temporary, "xb")
        try:
            sink = _FileSink(handle, on_progress, size)

            async def attempt() -> None:
                await transport.download(url, sink, attachment_id=attachment_id)

            await transport.retrying("GET", label, attempt)
            await handle.flush()
        finally:
            await handle.close()
        await aiofiles.os.replace(temporary, target)
        done = True
    except OSError as exc:
        raise DownloadError(
            f"cannot write {str(target)!r}: {exc.strerror or exc}", attachment_id=attachment_id
        ) from None
    finally:
        if not done:
            # Synchronous on purpose: this also runs while the task is being cancelled.
            with contextlib.suppress(OSError):
                os.unlink(temporary)
    return target
