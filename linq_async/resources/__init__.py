"""The API namespaces a ``LinqSession`` exposes (``linq.chats``, ``linq.attachments`` ...)."""

import typing as _typing

if (
    _typing.TYPE_CHECKING
):  # what type checkers see; at run time each name is imported when first used
    from .attachments import Attachments
    from .blocked_handles import BlockedHandles
    from .capability import Capability
    from .chats import (
        ChatBackground,
        ChatLocation,
        ChatMessages,
        ChatParticipants,
        Chats,
        ChatTyping,
    )
    from .contact_card import ContactCard
    from .experiences import Experiences
    from .messages import Messages
    from .payment_requests import PaymentRequests
    from .payments import PaymentHandles, PaymentProviders, Payments
    from .phone_numbers import PhoneNumbers
    from .polls import ChatPolls, MessagePoll
    from .webhook_subscriptions import WebhookSubscriptions

# Each module, and the names this package takes from it.
_HOMES = {
    ".attachments": ("Attachments",),
    ".blocked_handles": ("BlockedHandles",),
    ".capability": ("Capability",),
    ".chats": (
        "ChatBackground",
        "ChatLocation",
        "ChatMessages",
        "ChatParticipants",
        "Chats",
        "ChatTyping",
    ),
    ".contact_card": ("ContactCard",),
    ".experiences": ("Experiences",),
    ".messages": ("Messages",),
    ".payment_requests": ("PaymentRequests",),
    ".payments": (
        "PaymentHandles",
        "PaymentProviders",
        "Payments",
    ),
    ".phone_numbers": ("PhoneNumbers",),
    ".polls": (
        "ChatPolls",
        "MessagePoll",
    ),
    ".webhook_subscriptions": ("WebhookSubscriptions",),
}

__all__ = [
    "Attachments",
    "BlockedHandles",
    "Capability",
    "ChatBackground",
    "ChatLocation",
    "ChatMessages",
    "ChatParticipants",
    "ChatPolls",
    "ChatTyping",
    "Chats",
    "ContactCard",
    "Experiences",
    "MessagePoll",
    "Messages",
    "PaymentHandles",
    "PaymentProviders",
    "PaymentRequests",
    "Payments",
    "PhoneNumbers",
    "WebhookSubscriptions",
]

if not _typing.TYPE_CHECKING:  # (type checkers see the imports above, and so catch misspellings)
    from .._lazy import lazy_exports as _lazy_exports

    __getattr__, __dir__ = _lazy_exports(__name__, _HOMES)
