"""Chats and their participants."""

from __future__ import annotations

from datetime import datetime

import attrs

from .._model import WireModel

__all__ = ["Chat", "ChatHandle", "HealthStatus"]


@attrs.frozen(kw_only=True)
class HealthStatus(WireModel):
    """A chat's health (beta): ``HEALTHY``, ``AT_RISK``, ``CRITICAL`` or ``OPTED_OUT``."""

    status: str
    doc_url: str | None = None
    updated_at: datetime | None = None


@attrs.frozen(kw_only=True)
class ChatHandle(WireModel):
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
class Chat(WireModel):
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
