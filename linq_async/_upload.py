"""Streaming a file to a presigned upload URL.

The body is read in fixed chunks (memory stays O(chunk) whatever the file size) and sent
with an explicit ``Content-Length``, never chunked: storage services refuse chunked bodies on
presigned URLs. Each attempt reopens the file, and a file that changes size while it is sent
fails the upload rather than storing something other than what was declared.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any, TypeAlias, Union

import aiofiles
import attrs
from aiofiles.threadpool.binary import AsyncBufferedReader

from ._content_types import resolve_content_type
from ._errors import LinqUsageError, UploadError, UploadExpiredError
from ._transport import Transport
from ._validation import check_filename, check_size
from .models import UploadSlot

CHUNK_SIZE = 512 * 1024
"""Bytes read from disk and handed to the socket at a time."""

ProgressCallback: TypeAlias = Callable[[int, int], Any]
"""Called as ``on_progress(sent_bytes, total_bytes)`` while an upload runs.

``total_bytes`` is the file's size; ``sent_bytes`` grows to it, and starts again from 0 when
a failed upload is retried. The return value is ignored.
"""

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


def open_source(file: FileInput, *, filename: str | None, content_type: str | None) -> FileSource:
    """Check a file locally, before any I/O to the API, and describe it.

    Raises:
        LinqUsageError: the path is missing or not a regular file, the size is outside
            1..104,857,600 bytes, the filename is empty or too long, or the content type is
            unsupported, rejected or cannot be guessed.
    """
    if isinstance(file, (bytes, bytearray, memoryview)):
        data = memoryview(file).cast("B")
        if filename is None:
            raise LinqUsageError("filename= is required when uploading bytes")
        path = None
        size = data.nbytes
    elif isinstance(file, (str, os.PathLike)):
        path = os.fspath(file)
        data = None
        try:
            info = os.stat(path)
        except FileNotFoundError:
            raise LinqUsageError(f"no such file: {path!r}") from None
        except OSError as exc:
            raise LinqUsageError(f"cannot read {path!r}: {exc.strerror}") from None
        if not stat.S_ISREG(info.st_mode):
            raise LinqUsageError(f"not a regular file: {path!r}")
        size = info.st_size
        filename = os.path.basename(path) if filename is None else filename
    else:
        raise LinqUsageError(
            f"file must be a path (str or os.PathLike) or bytes-like, got {type(file).__name__}"
        )
    check_size(size)
    check_filename(filename)
    return FileSource(
        path=path,
        data=data,
        size=size,
        filename=filename,
        content_type=resolve_content_type(content_type, filename),
    )


class _Body:
    """The request body: yields the file's chunks, checking the size as it goes.

    It is a plain async iterator over a handle the caller owns (not an async generator), so
    nothing is left to finalise when a cancelled upload abandons it.
    """

    def __init__(
        self,
        source: FileSource,
        handle: AsyncBufferedReader | None,
        on_progress: ProgressCallback | None,
        attachment_id: str,
    ) -> None:
        self._source = source
        self._attachment_id = attachment_id
        self._handle = handle
        self._on_progress = on_progress
        self.sent = 0
        self.failure: UploadError | None = None

    def __aiter__(self) -> _Body:
        return self

    async def __anext__(self) -> bytes:
        size = self._source.size
        if self.sent >= size:
            raise StopAsyncIteration
        want = min(CHUNK_SIZE, size - self.sent)
        if self._handle is None:
            assert self._source.data is not None
            chunk = bytes(self._source.data[self.sent : self.sent + want])
        else:
            chunk = await self._handle.read(want)
            if len(chunk) < want:
                self._fail(f"the file shrank while it was uploaded ({self.sent + len(chunk):,}")
            # Before the last bytes go out, make sure the file did not grow: once they are
            # sent, storage would hold a truncated copy of a different file.
            if self.sent + want == size and await self._handle.read(1):
                self._fail(f"the file grew while it was uploaded (more than {size:,}")
        self.sent += len(chunk)
        if self._on_progress is not None:
            self._on_progress(self.sent, size)
        return chunk

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
    ``Content-Length``; never the API key. The URL is sent byte for byte: re-quoting its
    query would break the signature.

    Raises:
        UploadExpiredError: the slot expired before or during the upload.
        UploadError: storage refused the upload, the connection kept failing, or the file
            changed size while it was read.
        LinqUsageError: the slot does not fit the file (its signed length differs).
    """
    headers = dict(slot.required_headers)
    length_key = next((key for key in headers if key.lower() == "content-length"), None)
    if length_key is not None and headers.pop(length_key) != str(source.size):
        raise LinqUsageError(
            f"the upload slot was issued for {slot.required_headers[length_key]} bytes, "
            f"but the file has {source.size:,}"
        )
    headers["Content-Length"] = str(source.size)
    attachment_id = slot.attachment_id

    async def attempt() -> None:
        if slot.expires_at <= datetime.now(timezone.utc):
            raise UploadExpiredError(
                "the upload URL expired before the upload started", attachment_id=attachment_id
            )
        handle = None
        try:
            if source.path is not None:
                handle = await _reopen(source, attachment_id)
            body = _Body(source, handle, on_progress, attachment_id)
            await transport.upload(
                slot.http_method,
                slot.upload_url,
                headers=headers,
                body=body,
                attachment_id=attachment_id,
            )
        finally:
            if handle is not None:
                await handle.close()

    await transport.retrying(slot.http_method, f"upload of attachment {attachment_id}", attempt)


async def _reopen(source: FileSource, attachment_id: str) -> AsyncBufferedReader:
    assert source.path is not None
    try:
        handle = await aiofiles.open(source.path, "rb")
    except OSError as exc:
        raise UploadError(
            f"cannot reopen {source.path!r} for upload: {exc.strerror}",
            attachment_id=attachment_id,
        ) from None
    size = os.fstat(handle.fileno()).st_size
    if size != source.size:
        await handle.close()
        raise UploadError(
            f"{source.path!r} changed size since it was checked "
            f"({source.size:,} bytes declared, {size:,} now)",
            attachment_id=attachment_id,
        )
    return handle
