"""``linq.attachments``: presigned upload slots and attachment metadata."""

from __future__ import annotations

from .._content_types import resolve_content_type
from .._converter import structure
from .._errors import LinqUsageError
from .._transport import path
from .._validation import check_filename, check_size
from ..models import Attachment, UploadSlot
from ._base import Resource


class Attachments(Resource):
    """Pre-uploaded files (up to 100 MiB) that media parts reference by ``attachment_id``."""

    async def create(self, *, filename: str, content_type: str, size_bytes: int) -> UploadSlot:
        """Ask for a presigned upload URL (``POST /v3/attachments``).

        The returned slot's ``upload_url`` takes exactly ``size_bytes`` bytes within 15
        minutes. Most callers want :meth:`LinqSession.upload`, which also streams the file.

        Args:
            filename: the name recipients see, 1 to 255 characters.
            content_type: a supported MIME type (see ``SUPPORTED_CONTENT_TYPES``).
            size_bytes: the exact size of the file to upload, 1 to 104,857,600.

        Raises:
            LinqUsageError: an argument is invalid (before anything is sent).
        """
        if isinstance(size_bytes, bool) or not isinstance(size_bytes, int):
            raise LinqUsageError(f"size_bytes must be an int, got {size_bytes!r}")
        body = {
            "filename": check_filename(filename),
            "content_type": resolve_content_type(content_type, filename),
            "size_bytes": check_size(size_bytes),
        }
        # Repeating this request can at worst leave an unused slot behind, so it is retried.
        data = await self._transport.request(
            "POST", "/v3/attachments", json_body=body, idempotent=True
        )
        return structure(data, UploadSlot, what="POST /v3/attachments")

    async def get(self, attachment_id: str) -> Attachment:
        """Fetch an attachment's metadata (``GET /v3/attachments/{attachmentId}``).

        Raises:
            NotFoundError: no such attachment, or another partner's (the API hides which).
        """
        api_path = path("/v3/attachments/{}", attachment_id)
        data = await self._transport.request("GET", api_path, idempotent=True)
        return structure(data, Attachment, what=f"GET {api_path}")

    async def delete(self, attachment_id: str) -> None:
        """Delete an attachment for good (``DELETE /v3/attachments/{attachmentId}``).

        Messages that used it stay but lose the file; its URLs start answering 404.
        """
        api_path = path("/v3/attachments/{}", attachment_id)
        await self._transport.request("DELETE", api_path, idempotent=True)
