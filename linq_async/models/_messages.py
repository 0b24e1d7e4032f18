"""Messages: what is sent (`MessageContent`) and what comes back (`Message`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import attrs

from .._errors import LinqUsageError
from .._model import WireModel, wire_path
from .._validation import (
    check_effect,
    check_json_body,
    check_reply_index,
    check_service,
    check_string,
)
from ._chats import Chat, ChatHandle
from ._parts import Part, check_parts

__all__ = ["CreatedChat", "Effect", "Experience", "Message", "MessageContent", "ReplyTo"]


@attrs.frozen(kw_only=True)
class Effect(WireModel):
    """A message effect.

    ``type`` is ``screen`` (``name``: confetti, fireworks, lasers, sparkles, celebration,
    hearts, love, balloons, happy_birthday, echo, spotlight) or ``bubble`` (``name``: slam,
    loud, gentle, invisible). Other values are refused when the effect is built.
    """

    type: str
    name: str

    def __attrs_post_init__(self) -> None:
        check_effect(self.type, self.name)


@attrs.frozen(kw_only=True)
class ReplyTo(WireModel):
    """Makes a message a threaded reply to ``message_id`` (its part ``part_index``, 0 first)."""

    message_id: str = attrs.field(
        validator=lambda _, __, value: check_string(value, what="ReplyTo.message_id")
    )
    part_index: int | None = attrs.field(
        default=None, validator=lambda _, __, value: check_reply_index(value)
    )


@attrs.frozen(kw_only=True)
class Experience(WireModel):
    """A Linq app-card experience, sent instead of parts (e.g. ``agentpay``).

    ``GET /v3/experiences`` lists the experiences and their actions; the API refuses
    ``params`` the experience does not take.

    Attributes:
        name: the experience, e.g. ``"agentpay"``.
        action: what it does, e.g. ``"request_payment"``.
        params: the action's parameters (JSON values), if any.
    """

    name: str
    action: str
    params: Mapping[str, Any] | None = None

    def __attrs_post_init__(self) -> None:
        check_string(self.name, what="experience name")
        check_string(self.action, what="experience action")
        if self.params is not None:
            if not isinstance(self.params, Mapping):
                raise LinqUsageError(f"experience params must be a mapping, got {self.params!r}")
            check_json_body(self.params, where="experience params")


def _parts_or_none(parts: Sequence[Part] | None) -> tuple[Part, ...] | None:
    return None if parts is None else check_parts(parts)


@attrs.frozen(kw_only=True)
class MessageContent(WireModel):
    """The content of a message to send: parts (or an experience) plus delivery options.

    Give ``parts`` or ``experience``, not both. The parts are checked against the API's
    rules when it is built: 1 to 100 parts, at most 40 media parts by ``url``, no two text
    parts in a row, and a link (or app clip, or iMessage app card) alone.
    """

    parts: tuple[Part, ...] | None = attrs.field(default=None, converter=_parts_or_none)
    experience: Experience | None = None
    effect: Effect | None = None
    reply_to: ReplyTo | None = None
    preferred_service: str | None = attrs.field(
        default=None, validator=lambda _, __, value: check_service(value)
    )
    idempotency_key: str | None = None

    def __attrs_post_init__(self) -> None:
        if self.experience is not None and not isinstance(self.experience, Experience):
            raise LinqUsageError(f"experience must be an Experience, got {self.experience!r}")
        if (self.parts is None) == (self.experience is None):
            raise LinqUsageError(
                "a message takes parts (or text=) or an experience, not both"
                if self.parts is not None
                else "a message needs parts (or text=) or an experience"
            )


@attrs.frozen(kw_only=True)
class Message(WireModel):
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
class CreatedChat(WireModel):
    """The result of ``POST /v3/chats``: the chat (new or reused) and the message sent.

    On the wire the message is nested in the chat object (``{"chat": {..., "message"}}``).
    """

    chat: Chat
    message: Message = attrs.field(metadata=wire_path("chat", "message"))
