"""``linq.attachments``: presigned upload slots, attachment metadata and downloads."""

from __future__ import annotations

import os
from pathlib import Path

import attrs

from .. import _download
from .._content_types import resolve_content_type
from .._errors import DownloadError, LinqUsageError
from .._upload import FileInput, ProgressCallback, open_source, put_file
from .._validation import check_callback, check_filename, check_int, check_size
from ..models import Attachment, UploadSlot
from ._base import RequestBody, Resource

__all__ = ["Attachments"]


@attrs.define(kw_only=True)
class _CreateAttachment(RequestBody):
    filename: str
    content_type: str
    size_bytes: int


class Attachments(Resource):
    """Pre-uploaded files (up to 100 MiB) that media parts reference: ``linq.attachments``."""

    async def create(self, *, filename: str, content_type: str, size_bytes: int) -> UploadSlot:
        """Ask for a presigned upload URL (``POST /v3/attachments``).

        The returned slot's ``upload_url`` takes exactly ``size_bytes`` bytes within 15
        minutes. Most callers want `LinqSession.upload`, which also streams the file.

        Args:
            filename: the name recipients see, 1 to 255 characters.
            content_type: a supported MIME type (see ``SUPPORTED_CONTENT_TYPES``).
            size_bytes: the exact size of the file to upload, 1 to 104,857,600.

        Raises:
            LinqUsageError: an argument is invalid (before anything is sent).
        """
        body = _CreateAttachment(
            filename=check_filename(filename),
            content_type=resolve_content_type(content_type, filename),
            size_bytes=check_size(check_int(size_bytes, what="size_bytes", low=1)),
        )
        return await self._request(
            "POST",
            "/v3/attachments",
            body=body,
            cast_to=UploadSlot,
            safe_reason="a repeat at worst leaves an unused upload slot behind",
        )

    async def get(self, attachment_id: str) -> Attachment:
        """Fetch an attachment's metadata (``GET /v3/attachments/{attachmentId}``).

        Raises:
            NotFoundError: no such attachment, or another partner's (the API hides which).
        """
        return await self._request(
            "GET", "/v3/attachments/{attachmentId}", attachment_id, cast_to=Attachment
        )

    async def delete(self, attachment_id: str) -> None:
        """Delete an attachment for good (``DELETE /v3/attachments/{attachmentId}``).

        Messages that used it stay but lose the file; its URLs start answering 404.

        Raises:
            NotFoundError: no such attachment, or another partner's.
        """
        await self._request("DELETE", "/v3/attachments/{attachmentId}", attachment_id, cast_to=None)

    async def upload(
        self,
        slot: UploadSlot,
        file: FileInput,
        *,
        on_progress: ProgressCallback | None = None,
    ) -> None:
        """Stream ``file`` to a slot from `create` (the presigned PUT alone).

        The file is read in fixed chunks and sent with the slot's method and required
        headers plus an explicit ``Content-Length``; 5xx answers and dropped connections
        are retried per the session's policy, reopening the file each time.

        Args:
            slot: the slot to fill; its signed length must equal the file's size.
            file: a path (streamed from disk) or bytes-like data.
            on_progress: called as ``on_progress(sent_bytes, total_bytes)``.

        Raises:
            LinqUsageError: the file is missing, empty, too big or of another size than the
                slot was issued for, or ``on_progress`` is not callable.
            UploadExpiredError: the slot expired; ask `create` for a new one.
            UploadError: storage refused the upload or the file changed while it was read.
        """
        if not isinstance(slot, UploadSlot):
            raise LinqUsageError(f"slot must be an UploadSlot from create(), got {slot!r}")
        check_callback(on_progress, what="on_progress")
        declared = {key.lower(): value for key, value in slot.required_headers.items()}
        if isinstance(file, (str, os.PathLike)):
            filename = os.path.basename(os.fspath(file)) or slot.attachment_id
        else:
            filename = slot.attachment_id
        # The slot was made for a content type already: no need to guess one from a name.
        source = open_source(
            file, filename=filename, content_type=declared.get("content-type"), typed=False
        )
        await put_file(self._transport, slot, source, on_progress=on_progress)

    async def download(
        self,
        attachment_id_or_url: str,
        destination: str | os.PathLike[str],
        *,
        on_progress: ProgressCallback | None = None,
    ) -> Path:
        """Stream an attachment's file to disk (``GET`` of its ``download_url``).

        Given an attachment id, first fetches its metadata
        (``GET /v3/attachments/{attachmentId}``) for a fresh ``download_url`` (ephemeral
        attachments have short-lived URLs, so a fresh one is asked for each time); given a
        URL (a ``download_url``, or a media part's ``url``), downloads it directly. The file
        host is not the API: the API key is never sent to it.

        The file is written to a temporary file next to the destination in fixed chunks
        (memory stays O(chunk)) and renamed into place only when complete, so a failed or
        cancelled download leaves no partial file. Dropped connections and 5xx answers are
        retried per the session's policy, starting the file over.

        Args:
            attachment_id_or_url: an attachment id, or an ``https://`` URL (plain
                ``http://`` only to 127.0.0.1, e.g. a test server).
            destination: the file to write (replaced if it exists; its directory must
                exist), or an existing directory to write into under the attachment's
                ``filename`` (for a URL: its last path segment). That name is whoever sent
                the file's choice, so it is made safe first: path separators, control and
                bidirectional characters become ``_``, leading dots go, and a name over
                255 bytes is shortened, keeping its extension.
            on_progress: called as ``on_progress(received_bytes, total_bytes)`` per chunk;
                ``total_bytes`` is 0 when the host does not say. A plain function, not
                ``async``.

        Returns:
            The path written.

        Raises:
            LinqUsageError: not an id or an acceptable URL, the destination's directory
                does not exist, or ``on_progress`` is not a plain function (before anything
                is sent).
            NotFoundError: no such attachment (given an id).
            DownloadError: the attachment has no download URL yet, the file host refused
                (``status`` says how) or kept failing, or the file could not be written.
        """
        check_callback(on_progress, what="on_progress")
        target = _download.check_destination(destination)
        if not isinstance(attachment_id_or_url, str) or not attachment_id_or_url:
            raise LinqUsageError(
                f"attachment_id_or_url must be an attachment id or a URL, "
                f"got {attachment_id_or_url!r}"
            )
        if _download.is_url(attachment_id_or_url):
            url = _download.check_download_url(attachment_id_or_url, what="attachment_id_or_url")
            del attachment_id_or_url  # a signed URL: no frame of a failed download shows it
            return await _download.download(
                self._transport,
                url,
                target,
                suggested_name=_download.name_from_url(url),
                on_progress=on_progress,
            )
        attachment = await self.get(attachment_id_or_url)
        if attachment.download_url is None:
            raise DownloadError(
                "the attachment has no download URL (is its upload complete?)",
                attachment_id=attachment.id,
            )
        try:
            url = _download.check_download_url(attachment.download_url)
        except LinqUsageError as exc:
            raise DownloadError(
                f"the API gave an unusable download URL: {exc}", attachment_id=attachment.id
            ) from None
        return await _download.download(
            self._transport,
            url,
            target,
            suggested_name=attachment.filename or attachment.id,
            attachment_id=attachment.id,
            size=attachment.size_bytes,
            on_progress=on_progress,
        )
