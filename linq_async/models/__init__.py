"""Typed models of the Linq API's requests and responses.

Every class is a frozen, keyword-only attrs class whose field names are the wire's snake_case
names (``from`` is spelled ``from_``). Conversion to and from JSON is decided once for all of
them in the package's converter, never in these classes. Responses are loaded lazily (a
field is converted when first read), tolerate unknown keys, and keep fields the API documents
as enums as plain strings, so a value added by Linq later never breaks parsing. Values you
build to send (effects, parts, ranges) are checked when you build them.
"""

from ._attachments import Attachment, UploadSlot
from ._chats import Chat, ChatHandle, HealthStatus
from ._common import OperationResult
from ._messages import CreatedChat, Effect, Message, MessageContent, ReplyTo
from ._parts import LinkPart, MediaPart, Part, TextDecoration, TextPart, UnknownPart
from ._results import BroadcastReport, RecipientOutcome, SendResult, Upload
from ._webhooks import CreatedWebhookSubscription, WebhookEventTypes, WebhookSubscription

__all__ = [
    "Attachment",
    "BroadcastReport",
    "Chat",
    "ChatHandle",
    "CreatedChat",
    "CreatedWebhookSubscription",
    "Effect",
    "HealthStatus",
    "LinkPart",
    "MediaPart",
    "Message",
    "MessageContent",
    "OperationResult",
    "Part",
    "RecipientOutcome",
    "ReplyTo",
    "SendResult",
    "TextDecoration",
    "TextPart",
    "UnknownPart",
    "Upload",
    "UploadSlot",
    "WebhookEventTypes",
    "WebhookSubscription",
]
