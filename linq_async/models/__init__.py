"""Typed models of the Linq API's requests and responses.

Every class is a frozen, keyword-only attrs class whose field names are the wire's snake_case
names (``from`` is spelled ``from_``). Conversion to and from JSON is decided once for all of
them in the package's converter, never in these classes. Responses are loaded lazily (a
field is converted when first read), tolerate unknown keys, and keep fields the API documents
as enums as plain strings, so a value added by Linq later never breaks parsing. Values you
build to send (effects, parts, ranges) are checked when you build them.
"""

from .._secret import Secret
from ._attachments import Attachment, UploadSlot
from ._chats import Chat, ChatHandle, HealthStatus
from ._common import OperationResult
from ._messages import CreatedChat, Effect, Message, MessageContent, ReplyTo
from ._parts import LinkPart, MediaPart, Part, TextDecoration, TextPart, UnknownPart
from ._payments import (
    HandleConnectAttempt,
    Payment,
    PaymentConnection,
    PaymentCredentials,
    PaymentProvider,
    PaymentRequest,
    ProviderOnboarding,
)
from ._results import BroadcastReport, RecipientOutcome, SendResult, Upload

__all__ = [
    "Attachment",
    "BroadcastReport",
    "Chat",
    "ChatHandle",
    "CreatedChat",
    "Effect",
    "HandleConnectAttempt",
    "HealthStatus",
    "LinkPart",
    "MediaPart",
    "Message",
    "MessageContent",
    "OperationResult",
    "Part",
    "Payment",
    "PaymentConnection",
    "PaymentCredentials",
    "PaymentProvider",
    "PaymentRequest",
    "ProviderOnboarding",
    "RecipientOutcome",
    "ReplyTo",
    "Secret",
    "SendResult",
    "TextDecoration",
    "TextPart",
    "UnknownPart",
    "Upload",
    "UploadSlot",
]
