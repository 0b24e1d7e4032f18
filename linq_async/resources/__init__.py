"""The API namespaces a ``LinqSession`` exposes (``linq.chats``, ``linq.attachments`` ...)."""

from .attachments import Attachments
from .chats import ChatMessages, Chats
from .messages import Messages

__all__ = ["Attachments", "ChatMessages", "Chats", "Messages"]
