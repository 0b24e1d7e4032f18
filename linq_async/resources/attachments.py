"""``linq.attachments``: presigned upload slots and attachment metadata."""

from __future__ import annotations

import os

import attrs

from .._content_types import resolve_content_type
from .._errors import LinqUsageError
from .._upload import FileInput, ProgressCallback, open_source, put_file
from .._validation import check_filename, check_int, check_size
from ..models import Attachment, UploadSlot
from ._base import RequestBody, Resource

__all__ = ["Attachments"]


@attrs.frozen(kw_only=True)
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
                slot was issued for.
            UploadExpiredError: the slot expired; ask `create` for a new one.
            UploadError: storage refused the upload or the file changed while it was read.
        """
        if not isinstance(slot, UploadSlot):
            raise LinqUsageError(f"slot must be an UploadSlot from create(), got {slot!r}")
        declared = {key.lower(): value for key, value in slot.required_headers.items()}
        if isinstance(file, (str, os.PathLike)):
            filename = os.path.basename(os.fspath(file)) or slot.attachment_id
        else:
            filename = slot.attachment_id
        source = open_source(file, filename=filename, content_type=declared.get("content-type"))
        await put_file(self._transport, slot, source, on_progress=on_progress)
