"""Typed models of the Linq API's requests and responses.

Every class is a frozen, keyword-only attrs class whose field names are the wire's snake_case
names (``from`` is spelled ``from_``). Conversion to and from JSON is decided once for all of
them by the package's wire rules, never in these classes. Responses are loaded lazily (a
field is converted when first read), tolerate unknown keys, and keep fields the API documents
as enums as plain strings, so a value added by Linq later never breaks parsing. Values you
build to send (effects, parts, ranges) are checked when you build them.
"""

import typing as _typing

if (
    _typing.TYPE_CHECKING
):  # what type checkers see; at run time each name is imported when first used
    from .._secret import Secret
    from ._account import (
        AvailableNumber,
        BlockedHandle,
        CapabilityCheck,
        ContactCardInfo,
        ExperienceAction,
        ExperienceField,
        ExperienceInfo,
        LineReputation,
        PhoneNumber,
        ReputationActionItem,
        ReputationAudit,
        ReputationChat,
        ReputationDriver,
        ReputationEvidence,
        ReputationReport,
    )
    from ._attachments import Attachment, UploadSlot
    from ._auto_send import AutoSendResult, LineSelection
    from ._chats import (
        Chat,
        ChatHandle,
        ChatUpdate,
        HealthStatus,
        LocationCollection,
        LocationFeature,
        LocationPoint,
        LocationProperties,
        VoiceMemo,
        VoiceMemoFile,
    )
    from ._common import OperationResult
    from ._messages import CreatedChat, Effect, Experience, Message, MessageContent, ReplyTo
    from ._parts import (
        AppClipPart,
        IMessageApp,
        IMessageAppLayout,
        IMessageAppPart,
        InlineSticker,
        LinkPart,
        MediaPart,
        Mention,
        Part,
        TextDecoration,
        TextPart,
        UnknownPart,
    )
    from ._payments import (
        HandleConnectAttempt,
        Payment,
        PaymentConnection,
        PaymentCredentials,
        PaymentProvider,
        PaymentRequest,
        ProviderOnboarding,
    )
    from ._polls import Poll, PollMessage, PollOption, PollVoter
    from ._reactions import Reaction, Sticker, StickerImage, StickerPlacement
    from ._results import BroadcastReport, RecipientOutcome, SendResult, Upload
    from ._webhooks import CreatedWebhookSubscription, WebhookEventTypes, WebhookSubscription

# Each module, and the names this package takes from it.
_HOMES = {
    ".._secret": ("Secret",),
    "._account": (
        "AvailableNumber",
        "BlockedHandle",
        "CapabilityCheck",
        "ContactCardInfo",
        "ExperienceAction",
        "ExperienceField",
        "ExperienceInfo",
        "LineReputation",
        "PhoneNumber",
        "ReputationActionItem",
        "ReputationAudit",
        "ReputationChat",
        "ReputationDriver",
        "ReputationEvidence",
        "ReputationReport",
    ),
    "._attachments": (
        "Attachment",
        "UploadSlot",
    ),
    "._auto_send": (
        "AutoSendResult",
        "LineSelection",
    ),
    "._chats": (
        "Chat",
        "ChatHandle",
        "ChatUpdate",
        "HealthStatus",
        "LocationCollection",
        "LocationFeature",
        "LocationPoint",
        "LocationProperties",
        "VoiceMemo",
        "VoiceMemoFile",
    ),
    "._common": ("OperationResult",),
    "._messages": (
        "CreatedChat",
        "Effect",
        "Experience",
        "Message",
        "MessageContent",
        "ReplyTo",
    ),
    "._parts": (
        "AppClipPart",
        "IMessageApp",
        "IMessageAppLayout",
        "IMessageAppPart",
        "InlineSticker",
        "LinkPart",
        "MediaPart",
        "Mention",
        "Part",
        "TextDecoration",
        "TextPart",
        "UnknownPart",
    ),
    "._payments": (
        "HandleConnectAttempt",
        "Payment",
        "PaymentConnection",
        "PaymentCredentials",
        "PaymentProvider",
        "PaymentRequest",
        "ProviderOnboarding",
    ),
    "._polls": (
        "Poll",
        "PollMessage",
        "PollOption",
        "PollVoter",
    ),
    "._reactions": (
        "Reaction",
        "Sticker",
        "StickerImage",
        "StickerPlacement",
    ),
    "._results": (
        "BroadcastReport",
        "RecipientOutcome",
        "SendResult",
        "Upload",
    ),
    "._webhooks": (
        "CreatedWebhookSubscription",
        "WebhookEventTypes",
        "WebhookSubscription",
    ),
}

__all__ = [
    "AppClipPart",
    "Attachment",
    "AutoSendResult",
    "AvailableNumber",
    "BlockedHandle",
    "BroadcastReport",
    "CapabilityCheck",
    "Chat",
    "ChatHandle",
    "ChatUpdate",
    "ContactCardInfo",
    "CreatedChat",
    "CreatedWebhookSubscription",
    "Effect",
    "Experience",
    "ExperienceAction",
    "ExperienceField",
    "ExperienceInfo",
    "HandleConnectAttempt",
    "HealthStatus",
    "IMessageApp",
    "IMessageAppLayout",
    "IMessageAppPart",
    "InlineSticker",
    "LineReputation",
    "LineSelection",
    "LinkPart",
    "LocationCollection",
    "LocationFeature",
    "LocationPoint",
    "LocationProperties",
    "MediaPart",
    "Mention",
    "Message",
    "MessageContent",
    "OperationResult",
    "Part",
    "Payment",
    "PaymentConnection",
    "PaymentCredentials",
    "PaymentProvider",
    "PaymentRequest",
    "PhoneNumber",
    "Poll",
    "PollMessage",
    "PollOption",
    "PollVoter",
    "ProviderOnboarding",
    "Reaction",
    "RecipientOutcome",
    "ReplyTo",
    "ReputationActionItem",
    "ReputationAudit",
    "ReputationChat",
    "ReputationDriver",
    "ReputationEvidence",
    "ReputationReport",
    "Secret",
    "SendResult",
    "Sticker",
    "StickerImage",
    "StickerPlacement",
    "TextDecoration",
    "TextPart",
    "UnknownPart",
    "Upload",
    "UploadSlot",
    "VoiceMemo",
    "VoiceMemoFile",
    "WebhookEventTypes",
    "WebhookSubscription",
]

if not _typing.TYPE_CHECKING:  # (type checkers see the imports above, and so catch misspellings)
    from .._lazy import lazy_exports as _lazy_exports

    __getattr__, __dir__ = _lazy_exports(__name__, _HOMES)
