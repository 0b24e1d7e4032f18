"""The API namespaces a ``LinqSession`` exposes (``linq.chats``, ``linq.attachments`` ...)."""

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
