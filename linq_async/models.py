"""Typed models of the Linq API's requests and responses.

Every class is a frozen, keyword-only attrs class whose field names are the wire's snake_case
names (``from`` is spelled ``from_``). Conversion to and from JSON lives in the package's one
cattrs converter, never in these classes. Responses tolerate unknown keys, and fields the API
documents as enums are plain strings so that a value added by Linq later never breaks parsing.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import attrs

__all__ = [
    "Attachment",
    "BroadcastReport",
    "Chat",
    "ChatHandle",
    "CreatedChat",
    "Effect",
    "HealthStatus",
    "LinkPart",
    "MediaPart",
    "Message",
    "MessageContent",
    "Part",
    "RecipientOutcome",
    "ReplyTo",
    "SendResult",
    "TextDecoration",
    "TextPart",
    "UnknownPart",
    "Upload",
    "UploadSlot",
]


def _redact_url(url: str) -> str:
    """Show a presigned URL without its query: the query is the signature."""
    parts = urlsplit(url)
    query = "<redacted>" if parts.query else ""
    return repr(urlunsplit((parts.scheme, parts.netloc, parts.path, query, "")))


@attrs.frozen(kw_only=True)
class UploadSlot:
    """A presigned upload URL for one attachment, from ``POST /v3/attachments``.

    The ``upload_url`` carries a signature in its query string, so it is left out of the repr
    and must be sent byte for byte as given. It expires at ``expires_at`` (15 minutes).
    """

    attachment_id: str
    upload_url: str = attrs.field(repr=_redact_url)
    download_url: str
    http_method: str = "PUT"
    expires_at: datetime
    required_headers: Mapping[str, str] = attrs.field(factory=dict)


@attrs.frozen(kw_only=True)
class Attachment:
    """An uploaded file's metadata, from ``GET /v3/attachments/{id}``."""

    id: str
    filename: str
    content_type: str
    size_bytes: int
    created_at: datetime
    status: str | None = None
    """``pending``, ``complete`` or ``failed`` (deprecated by the API)."""
    download_url: str | None = None


@attrs.frozen(kw_only=True)
class HealthStatus:
    """A chat's health (beta): ``HEALTHY``, ``AT_RISK``, ``CRITICAL`` or ``OPTED_OUT``."""

    status: str
    doc_url: str | None = None
    updated_at: datetime | None = None


@attrs.frozen(kw_only=True)
class ChatHandle:
    """A participant of a chat."""

    id: str
    handle: str
    joined_at: datetime | None = None
    service: str | None = None
    """``iMessage``, ``SMS`` or ``RCS``."""
    is_me: bool | None = None
    left_at: datetime | None = None
    status: str | None = None
    """``active``, ``left`` or ``removed``."""
    line_type: str | None = None


@attrs.frozen(kw_only=True)
class Effect:
    """A message effect: ``type`` is ``screen`` or ``bubble``; ``name`` e.g. ``confetti``."""

    type: str
    name: str


@attrs.frozen(kw_only=True)
class ReplyTo:
    """Makes a message a threaded reply to ``message_id`` (its part ``part_index``)."""

    message_id: str
    part_index: int | None = None


@attrs.frozen(kw_only=True)
class TextDecoration:
    """A style or animation over ``range`` = ``[start, end)`` in UTF-16 code units."""

    range: tuple[int, int]
    style: str | None = None
    animation: str | None = None


@attrs.frozen(kw_only=True)
class TextPart:
    """A text part. ``value`` is sent verbatim (no Markdown)."""

    value: str
    text_decorations: tuple[TextDecoration, ...] | None = None


@attrs.frozen(kw_only=True)
class MediaPart:
    """A media part.

    To send, give exactly one of ``attachment_id`` (a pre-uploaded file, up to 100 MB) or
    ``url`` (a public HTTPS URL, up to 10 MB). In responses the API fills ``id``,
    ``filename``, ``mime_type``, ``size_bytes`` and a short-lived ``url``.
    """

    attachment_id: str | None = None
    url: str | None = None
    sticker: bool | None = None
    id: str | None = None
    filename: str | None = None
    mime_type: str | None = None
    size_bytes: int | None = None


@attrs.frozen(kw_only=True)
class LinkPart:
    """A link with a rich preview. It must be a message's only part."""

    value: str


@attrs.frozen(kw_only=True)
class UnknownPart:
    """A part whose ``type`` this SDK does not model; ``data`` is the part as sent on the wire.

    Responses use it for part types added after this release. It can be sent too: ``data``
    goes on the wire as it is, with ``type`` set.
    """

    type: str
    data: Mapping[str, Any] = attrs.field(factory=dict)


Part = TextPart | MediaPart | LinkPart | UnknownPart
"""A message part, tagged on the wire by its ``type`` key."""


@attrs.frozen(kw_only=True)
class MessageContent:
    """The content of a message to send: parts plus optional delivery options."""

    parts: tuple[Part, ...]
    effect: Effect | None = None
    reply_to: ReplyTo | None = None
    preferred_service: str | None = None
    idempotency_key: str | None = None


@attrs.frozen(kw_only=True)
class Message:
    """A message, as returned when it is sent, fetched or listed.

    Only ``id`` is guaranteed; the API fills different fields in different responses.
    """

    id: str
    parts: tuple[Part, ...] = ()
    delivery_status: str | None = None
    """``pending``, ``queued``, ``sent``, ``delivered``, ``received``, ``read`` or ``failed``."""
    chat_id: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    sent_at: datetime | None = None
    delivered_at: datetime | None = None
    read_at: datetime | None = None
    is_from_me: bool | None = None
    is_read: bool | None = None
    is_delivered: bool | None = None
    effect: Effect | None = None
    reply_to: ReplyTo | None = None
    from_handle: ChatHandle | None = None
    from_: str | None = None
    """Deprecated by the API in favour of ``from_handle``."""
    service: str | None = None
    preferred_service: str | None = None
    reconciled_at: datetime | None = None


@attrs.frozen(kw_only=True)
class Chat:
    """A chat: a direct conversation (one other handle) or a group."""

    id: str
    handles: tuple[ChatHandle, ...] = ()
    is_group: bool = False
    display_name: str | None = None
    service: str | None = None
    health_status: HealthStatus | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    is_archived: bool | None = None
    group_chat_icon: str | None = None


@attrs.frozen(kw_only=True)
class CreatedChat:
    """The result of ``POST /v3/chats``: the chat (new or reused) and the message sent."""

    chat: Chat
    message: Message


@attrs.frozen(kw_only=True)
class Upload:
    """A file uploaded with `LinqSession.upload`, ready to send any number of times.

    Pass it to `LinqSession.upload_and_send` or `LinqSession.broadcast` in place
    of a file to send the same attachment again without uploading it again.
    """

    attachment_id: str
    filename: str
    content_type: str
    size_bytes: int
    download_url: str


@attrs.frozen(kw_only=True)
class SendResult:
    """The result of `LinqSession.upload_and_send`."""

    upload: Upload
    chat: Chat
    message: Message


@attrs.frozen(kw_only=True)
class RecipientOutcome:
    """What happened to one recipient of a broadcast: a chat and message, or an error."""

    recipient: str
    chat_id: str | None = None
    message_id: str | None = None
    error: Exception | None = attrs.field(default=None, eq=False)

    @property
    def ok(self) -> bool:
        """Whether the message was sent (or had been sent by an earlier run)."""
        return self.error is None


@attrs.frozen(kw_only=True)
class BroadcastReport:
    """The result of `LinqSession.broadcast`: one outcome per recipient, in order.

    ``broadcast_id`` identifies the run: passing it again re-runs the broadcast safely, as
    every recipient who already got the message is answered from the first send.
    """

    broadcast_id: str
    upload: Upload | None
    """The file sent, or ``None`` for a text-only broadcast."""
    outcomes: tuple[RecipientOutcome, ...]

    @property
    def sent(self) -> int:
        """How many recipients got the message."""
        return sum(1 for outcome in self.outcomes if outcome.ok)

    @property
    def failed(self) -> int:
        """How many recipients did not."""
        return len(self.outcomes) - self.sent

    @property
    def failures(self) -> tuple[RecipientOutcome, ...]:
        """The outcomes that carry an error."""
        return tuple(outcome for outcome in self.outcomes if not outcome.ok)
