"""Streaming a file to a presigned upload URL.

The body is read in fixed chunks (memory stays O(chunk) whatever the file size) and sent
with an explicit ``Content-Length``, never chunked: storage services refuse chunked bodies on
presigned URLs. Reads from the page cache happen in the event loop (cheaper than a thread
hop per chunk); a file whose reads turn out slow is read in a worker thread instead. Each
attempt reopens the file, only once its connection is up (so uploads waiting for their turn
hold no file descriptor), and a file that changes size while it is sent fails the upload
rather than storing something other than what was declared.
"""

from __future__ import annotations

import asyncio
import os
import stat
import time
from typing import Any, TypeAlias, Union

import aiofiles
import attrs
from aiofiles.threadpool.binary import AsyncBufferedReader

from ._content_types import resolve_content_type
from ._errors import LinqUsageError, UploadError, UploadExpiredError
from ._transport import ProgressCallback as ProgressCallback  # re-exported for importers
from ._transport import SignedURL, Transport
from ._validation import check_callback, check_filename, check_size
from .models import UploadSlot

CHUNK_SIZE = 512 * 1024
"""Bytes read from disk and handed to the socket at a time."""

SLOW_READ = 0.002
"""Seconds a read of the file may take in the event loop before it counts as slow."""
SLOW_READS = 3
"""Slow reads after which the rest of a file is read in a worker thread."""

FileInput: TypeAlias = Union[str, "os.PathLike[str]", bytes, bytearray, memoryview]
"""A file to upload: a path (streamed from disk) or bytes-like data (sent from memory)."""


@attrs.frozen(kw_only=True)
class FileSource:
    """A checked file to upload: where its bytes are and what to declare for them."""

    path: str | None
    data: memoryview | None = attrs.field(repr=False)
    size: int
    filename: str
    content_type: str


def open_source(
    file: FileInput,
    *,
    filename: str | None,
    content_type: str | None,
    typed: bool = True,
) -> FileSource:
    """Check a file locally, before any I/O to the API, and describe it.

    Without ``typed``, the content type is not resolved: it was declared already (a slot
    from ``attachments.create``), and ``content_type`` is kept as given (or ``""``).

    A path is opened for reading once here (and closed again), so a file that cannot be
    read fails now rather than after an upload slot was made; the upload itself opens it
    again only when its bytes are about to be sent. The filename (given, or the path's base
    name) is NFC-normalised before its length is checked, so a name as macOS spells it
    (NFD) counts and travels as the same characters.

    Raises:
        LinqUsageError: the path is missing, unreadable or not a regular file, the size is
            outside 1..104,857,600 bytes, the filename is empty, too long or not valid
            text (a name of undecodable bytes: pass ``filename=``), the memoryview is not
            contiguous, or the content type is unsupported, rejected or cannot be guessed.
    """
    if isinstance(file, (bytes, bytearray, memoryview)):
        data = _byte_view(file)
        if filename is None:
            raise LinqUsageError("filename= is required when uploading bytes")
        path = None
        size = data.nbytes
    elif isinstance(file, (str, os.PathLike)):
        raw_path = os.fspath(file)
        if not isinstance(raw_path, (str, bytes)):
            raise LinqUsageError(f"file's __fspath__ returned {type(raw_path).__name__}")
        # A bytes path is opened as given; only the name shown to recipients must be text.
        path = os.fsdecode(raw_path)
        data = None
        size = _readable_size(raw_path, path)
        if filename is None:
            filename = os.path.basename(path)
            if _undecodable(filename):
                raise LinqUsageError(
                    f"the file name {filename!r} is not valid UTF-8 text (its bytes could not "
                    "be decoded), so recipients could not be shown it; pass filename= with "
                    "the name to show"
                )
    else:
        raise LinqUsageError(
            f"file must be a path (str or os.PathLike) or bytes-like, got {type(file).__name__}"
        )
    check_size(size)
    filename = check_filename(filename)
    return FileSource(
        path=path,
        data=data,
        size=size,
        filename=filename,
        content_type=resolve_content_type(content_type, filename) if typed else content_type or "",
    )


def _undecodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _byte_view(file: bytes | bytearray | memoryview) -> memoryview:
    try:
        view = memoryview(file)
        if not view.c_contiguous:
            raise LinqUsageError(
                "a memoryview that is not contiguous (a slice with a step, a transposed "
                "array) cannot be streamed; pass bytes(view) instead"
            )
        return view.cast("B")
    except (TypeError, ValueError) as exc:  # a released view, an odd format
        raise LinqUsageError(f"the bytes to upload cannot be read: {exc}") from None


def _readable_size(raw_path: str | bytes, shown: str) -> int:
    """The size of the regular file at ``raw_path``, after opening it for reading."""
    # Opening is the only check that holds for every reader, root included (a mode-000
    # file stats fine). O_NONBLOCK: opening a FIFO must not wait for a writer.
    try:
        fd = os.open(raw_path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise LinqUsageError(f"no such file: {shown!r}") from None
    except OSError as exc:
        raise LinqUsageError(f"cannot read {shown!r}: {exc.strerror}") from None
    try:
        info = os.fstat(fd)
    finally:
        os.close(fd)
    if not stat.S_ISREG(info.st_mode):
        raise LinqUsageError(f"not a regular file: {shown!r}")
    return info.st_size


class _Body:
    """The request body: yields the file's chunks, checking the size as it goes.

    The file is opened by `open`, which the transport calls once the connection is up and
    the bytes are about to go out (so an upload waiting for its turn holds no descriptor),
    and closed as soon as the last chunk is read. `open` starts over, so a body can be sent
    again.
    """

    def __init__(self, source: FileSource, attachment_id: str) -> None:
        self._source = source
        self._attachment_id = attachment_id
        self._handle: AsyncBufferedReader | None = None
        self._slow_reads = 0  # reads that took longer than SLOW_READ (see `_read`)
        self.size = source.size
        self.sent = 0
        self.failure: UploadError | None = None

    async def open(self) -> None:
        # From the start every time: aiohttp may replay a body itself (once, when a reused
        # connection turns out to be closed).
        await self.close()
        self.sent = 0
        self.failure = None
        if self._source.path is not None:
            self._handle = await _reopen(self._source, self._attachment_id, self)

    async def read(self) -> bytes:
        size = self._source.size
        if self.sent >= size:
            return b""
        want = min(CHUNK_SIZE, size - self.sent)
        handle = self._handle
        if handle is None:
            assert self._source.data is not None
            chunk = bytes(self._source.data[self.sent : self.sent + want])
        else:
            chunk = await self._read(handle, want)
            if len(chunk) < want:
                self._fail(f"the file shrank while it was uploaded ({self.sent + len(chunk):,}")
            # Before the last bytes go out, make sure the file did not grow: once they are
            # sent, storage would hold a truncated copy of a different file.
            if self.sent + want == size:
                if await self._read(handle, 1):
                    self._fail(f"the file grew while it was uploaded (more than {size:,}")
                await self.close()
        self.sent += len(chunk)
        return chunk

    async def _read(self, handle: AsyncBufferedReader, want: int) -> bytes:
        """Up to ``want`` bytes of the file, from where the last read stopped.

        A read from the page cache (a file just written or read, the common case) takes
        tens of microseconds: it is done right here, as a hand-written client would, since
        handing it to a worker thread costs more CPU than the read itself. Once
        `SLOW_READS` reads have taken longer than `SLOW_READ` (a cold disk, a network file
        system), the rest of this file's reads go to a worker thread, so the event loop is
        blocked by slow reads only a few times per upload attempt.
        """
        raw = handle.raw  # unbuffered: either way, reads continue where the last one stopped
        if self._slow_reads >= SLOW_READS:
            return await asyncio.get_running_loop().run_in_executor(None, _read_full, raw, want)
        started = time.perf_counter()
        chunk = _read_full(raw, want)
        # Wall time: a read waiting on the disk uses no CPU. A busy machine can also pause
        # the process mid-read, so one slow read is not enough to leave the loop.
        if time.perf_counter() - started > SLOW_READ:
            self._slow_reads += 1
        return chunk

    async def close(self) -> None:
        handle, self._handle = self._handle, None
        if handle is not None:
            _close_now(handle)

    def _fail(self, what: str) -> None:
        self.failure = UploadError(
            f"{what} of {self._source.size:,} bytes declared)",
            attachment_id=self._attachment_id,
        )
        raise self.failure


async def put_file(
    transport: Transport,
    slot: UploadSlot,
    source: FileSource,
    *,
    on_progress: ProgressCallback | None = None,
) -> None:
    """PUT ``source`` to ``slot.upload_url``, retrying 5xx and dropped connections.

    The slot's ``http_method`` and ``required_headers`` are sent verbatim, plus an explicit
    ``Content-Length``; never the API key, and no ``Content-Type`` the slot does not ask
    for. The URL is sent byte for byte: re-quoting its query would break the signature.
    Whether the slot has expired is judged on the API's clock (its ``Date`` header), not
    the local one; storage has the last word.

    Raises:
        UploadExpiredError: the slot expired before or during the upload.
        UploadError: storage refused the upload, the connection kept failing, or the file
            changed size while it was read.
        LinqUsageError: the slot is not an `UploadSlot`, or does not fit the file (its
            signed length differs).
    """
    if not isinstance(slot, UploadSlot):
        raise LinqUsageError(f"slot must be an UploadSlot from attachments.create, got {slot!r}")
    check_callback(on_progress, what="on_progress")
    headers = dict(slot.required_headers)
    length_key = next((key for key in headers if key.lower() == "content-length"), None)
    if length_key is not None and headers.pop(length_key) != str(source.size):
        raise LinqUsageError(
            f"the upload slot was issued for {slot.required_headers[length_key]} bytes, "
            f"but the file has {source.size:,}"
        )
    headers["Content-Length"] = str(source.size)
    attachment_id = slot.attachment_id
    url = SignedURL(slot.upload_url)
    pool = transport.pool

    async def attempt() -> None:
        if slot.expires_at.timestamp() <= pool.server_time():
            raise UploadExpiredError(
                "the upload URL expired before the upload started", attachment_id=attachment_id
            )
        await transport.upload(
            slot.http_method,
            url,
            headers=headers,
            body=_Body(source, attachment_id),
            attachment_id=attachment_id,
            on_progress=on_progress,
        )

    async with transport.upload_lane():
        await transport.retrying(slot.http_method, f"upload of attachment {attachment_id}", attempt)


async def _reopen(source: FileSource, attachment_id: str, body: _Body) -> AsyncBufferedReader:
    assert source.path is not None
    # O_NONBLOCK: a path swapped for a FIFO since it was checked must not leave a worker
    # thread waiting in open() for a writer (it does not change reads of a regular file).
    opening = asyncio.ensure_future(aiofiles.open(source.path, "rb", opener=_open_nonblocking))
    try:
        # Shielded: a cancellation while the worker thread opens the file must not leave
        # the descriptor it opens behind, unowned.
        handle = await asyncio.shield(opening)
    except asyncio.CancelledError:
        opening.add_done_callback(_close_when_opened)
        raise
    except OSError as exc:
        body.failure = UploadError(
            f"cannot reopen {source.path!r} for upload: {exc.strerror}",
            attachment_id=attachment_id,
        )
        raise body.failure from None
    info = os.fstat(handle.fileno())
    if not stat.S_ISREG(info.st_mode):
        _close_now(handle)
        body.failure = UploadError(
            f"{source.path!r} is not a regular file any more (it was replaced since it was "
            "checked)",
            attachment_id=attachment_id,
        )
        raise body.failure
    if info.st_size != source.size:
        _close_now(handle)
        body.failure = UploadError(
            f"{source.path!r} changed size since it was checked "
            f"({source.size:,} bytes declared, {info.st_size:,} now)",
            attachment_id=attachment_id,
        )
        raise body.failure
    return handle


def _read_full(raw: Any, want: int) -> bytes:
    """Read ``want`` bytes, or fewer only at the end of the file."""
    chunk: bytes = raw.read(want) or b""
    while 0 < len(chunk) < want:
        more = raw.read(want - len(chunk))
        if not more:
            break
        chunk += more
    return chunk


def _open_nonblocking(path: str, flags: int) -> int:
    return os.open(path, flags | getattr(os, "O_NONBLOCK", 0))


def _close_when_opened(opening: asyncio.Future[AsyncBufferedReader]) -> None:
    if not opening.cancelled() and opening.exception() is None:
        _close_now(opening.result())


def _close_now(handle: AsyncBufferedReader) -> None:
    # Closed here, not in a worker thread: a cancelled upload (or a loop shutting down)
    # can cancel a close job queued for a thread before it runs, leaving the descriptor
    # open. Closing a file opened for reading does not block.
    handle.raw.close()
