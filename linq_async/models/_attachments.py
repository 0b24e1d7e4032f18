"""Attachments: upload slots and attachment metadata."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from urllib.parse import urlsplit, urlunsplit

import attrs

from .._model import WireModel

__all__ = ["Attachment", "UploadSlot"]


def url_repr(url: str | None) -> str:
    """The repr of a presigned URL field, without its query (the signature) or fragment;
    ``'None'`` for an absent one. The repr of every model's signed URL field."""
    if url is None:
        return "None"
    parts = urlsplit(url)
    query = "<redacted>" if parts.query else ""
    return repr(urlunsplit((parts.scheme, parts.netloc, parts.path, query, "")))


@attrs.frozen(kw_only=True)
class UploadSlot(WireModel):
    """A presigned upload URL for one attachment, from ``POST /v3/attachments``.

    The ``upload_url`` carries a signature in its query string, so it is left out of the repr
    and must be sent byte for byte as given. It expires at ``expires_at`` (15 minutes).
    """

    attachment_id: str
    upload_url: str = attrs.field(repr=url_repr)
    download_url: str = attrs.field(repr=url_repr)
    http_method: str = "PUT"
    expires_at: datetime
    required_headers: Mapping[str, str] = attrs.field(factory=dict)


@attrs.frozen(kw_only=True)
class Attachment(WireModel):
    """An uploaded file's metadata, from ``GET /v3/attachments/{attachmentId}``."""

    id: str
    filename: str
    content_type: str
    size_bytes: int
    created_at: datetime
    status: str | None = None
    """``pending``, ``complete`` or ``failed`` (deprecated by the API)."""
    download_url: str | None = attrs.field(default=None, repr=url_repr)
    """Where the file can be fetched; signed and short-lived on accounts with ephemeral
    attachments, so the repr leaves its query out."""
