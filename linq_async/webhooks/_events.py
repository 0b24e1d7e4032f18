"""Typed webhook events: the envelope, one class per payload shape, an open union.

Every delivery is an envelope (`WebhookEvent`: ``event_id``, ``event_type``, ``created_at``,
``api_version``, ``webhook_version``, ``partner_id``, ``trace_id``) around ``data``. The class
is chosen by ``event_type``; event types with the same payload shape share a class. A type
this release does not know loads as `UnknownEvent`, which keeps the whole payload: a new
event type from Linq is never an error.

Like every model of the package, events are frozen attrs classes loaded lazily and tolerant
of unknown keys; the payloads' enums (``reaction_type``, ``service`` ...) are plain strings.

Message events come in two payload versions, chosen by the ``?version=`` of the subscription's
URL. `MessageEvent` reads both and gives the same answers either way (`MessageEvent.direction`,
`MessageEvent.sender`, `MessageEvent.chat_id`, `MessageEvent.parts`, `MessageEvent.text`),
so a change of version cannot silently turn every message into an empty one: a payload that
fits neither raises `ResponseValidationError` when read.
"""

from __future__ import annotations

import functools
import json
import operator
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import attrs

from .._errors import ResponseValidationError, WebhookPayloadError
from .._model import WireModel, lazy, register_open_union, whole_object
from ..models import ChatHandle, Effect, HealthStatus, Part, ReplyTo, TextPart

__all__ = [
    "EVENT_TYPES",
    "V1",
    "V2",
    "AuditActor",
    "AuditData",
    "AuditEvent",
    "CallEvent",
    "ChatCreatedData",
    "ChatCreatedEvent",
    "ChatUpdateFailedData",
    "ChatUpdateFailedEvent",
    "ChatUpdatedData",
    "ChatUpdatedEvent",
    "ContactCardReceivedEvent",
    "EditedPart",
    "LocationEvent",
    "MessageEditedData",
    "MessageEditedEvent",
    "MessageEvent",
    "MessageEventChat",
    "MessageEventData",
    "MessageFailedData",
    "MessageFailedEvent",
    "MessagePayloadV1",
    "ParticipantData",
    "ParticipantEvent",
    "PaymentEvent",
    "PhoneNumberData",
    "PhoneNumberEvent",
    "PollEvent",
    "ReactionData",
    "ReactionEvent",
    "ReactionSticker",
    "TypingData",
    "TypingEvent",
    "UnknownEvent",
    "WebhookEvent",
    "event_class",
    "parse_event",
]

V1 = "2025-01-01"
"""The first payload version of message events (``is_from_me``, fields under ``message``)."""
V2 = "2026-02-03"
"""The current payload version of message events (``direction``, ``chat``, flat fields)."""


# The envelope


@attrs.frozen(kw_only=True)
class WebhookEvent(WireModel):
    """The envelope every delivery shares; each event class adds its ``data``.

    `Verifier.verify` returns the subclass for the ``event_type``; narrow it with
    ``isinstance`` (or register handlers by type with `Router.on`).

    Attributes:
        event_id: the event's id (the same on every redelivery).
        event_type: ``message.received``, ``reaction.added`` ... (see `EVENT_TYPES`).
        created_at: when the event happened.
        api_version: ``v3``.
        webhook_version: the payload version (``2025-01-01`` or ``2026-02-03``).
        partner_id: your partner id.
        trace_id: the API's trace id, to quote to Linq support.
    """

    event_id: str
    event_type: str
    created_at: datetime | None = None
    api_version: str | None = None
    webhook_version: str | None = None
    partner_id: str | None = None
    trace_id: str | None = None


@attrs.frozen(kw_only=True)
class UnknownEvent(WebhookEvent):
    """An event whose type this release does not model: nothing is lost.

    Attributes:
        data: the event's ``data`` as decoded JSON.
        payload: the whole envelope as decoded JSON.
    """

    data: Any = None
    payload: Mapping[str, Any] = attrs.field(factory=dict, metadata=whole_object())


# Message events


@attrs.frozen(kw_only=True)
class MessageEventChat(WireModel):
    """The ``chat`` object of a message event (``2026-02-03``)."""

    id: str
    is_group: bool | None = None
    owner_handle: ChatHandle | None = None
    health_status: HealthStatus | None = None


@attrs.frozen(kw_only=True)
class MessagePayloadV1(WireModel):
    """The ``message`` object of a message event in the ``2025-01-01`` format."""

    id: str | None = None
    parts: tuple[Part, ...] | None = None
    effect: Effect | None = None
    reply_to: ReplyTo | None = None
    is_delivered: bool | None = None
    is_read: bool | None = None
    sent_at: datetime | None = None
    delivered_at: datetime | None = None
    read_at: datetime | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


@attrs.frozen(kw_only=True)
class MessageEventData(WireModel):
    """The ``data`` of ``message.sent``, ``.received``, ``.delivered`` and ``.read``, in
    either payload version; the fields of the other version are ``None``.

    Prefer the version-independent properties of `MessageEvent` (``direction``,
    ``sender``, ``chat_id``, ``parts``, ``text``); these are the wire fields.

    ``2026-02-03``: ``id``, ``chat``, ``direction`` (``inbound``/``outbound``),
    ``sender_handle``, ``parts``, ``service``, ``sent_at``, ``delivered_at``, ``read_at``,
    ``effect``, ``reply_to``, ``preferred_service``, ``idempotency_key``, ``reconciled_at``,
    ``zero_retention`` (a zero-retention line sends empty ``parts``).

    ``2025-01-01``: ``chat_id``, ``is_group``, ``is_from_me``, ``from_handle`` (``from_``
    is deprecated), ``recipient_handle``, ``received_at``, ``message`` (the message's own
    fields), and ``message_id``, ``delivered_at``/``read_at`` on receipts.
    """

    # 2026-02-03
    id: str | None = None
    chat: MessageEventChat | None = None
    direction: str | None = None
    sender_handle: ChatHandle | None = None
    parts: tuple[Part, ...] | None = None
    service: str | None = None
    sent_at: datetime | None = None
    delivered_at: datetime | None = None
    read_at: datetime | None = None
    effect: Effect | None = None
    reply_to: ReplyTo | None = None
    preferred_service: str | None = None
    idempotency_key: str | None = None
    reconciled_at: datetime | None = None
    zero_retention: bool | None = None
    # 2025-01-01
    chat_id: str | None = None
    is_group: bool | None = None
    is_from_me: bool | None = None
    from_handle: ChatHandle | None = None
    from_: str | None = None
    recipient_handle: ChatHandle | None = None
    recipient_phone: str | None = None
    received_at: datetime | None = None
    message: MessagePayloadV1 | None = None
    message_id: str | None = None


def _unreadable(event: WebhookEvent, what: str) -> ResponseValidationError:
    return ResponseValidationError(
        f"the {event.event_type} event {event.event_id} has no {what} in either payload "
        f"version ({V1} or {V2}): the payload format may have changed"
    )


@attrs.frozen(kw_only=True)
class MessageEvent(WebhookEvent):
    """``message.sent``, ``message.received``, ``message.delivered``, ``message.read``.

    The properties read both payload versions and agree, so code written against them keeps
    working when the subscription's version changes. Each raises `ResponseValidationError`
    when the payload holds the information in neither version (never a silent ``None`` or
    empty text).

    Attributes:
        data: the wire payload (`MessageEventData`).
    """

    data: MessageEventData = attrs.field(metadata=lazy())

    @property
    def payload_version(self) -> str:
        """``2026-02-03`` or ``2025-01-01``, read from the payload's shape."""
        data = self.data
        if data.direction is not None or data.chat is not None or data.sender_handle is not None:
            return V2
        return V1

    @property
    def direction(self) -> str:
        """``"inbound"`` (someone wrote to your line) or ``"outbound"`` (your line sent it)."""
        data = self.data
        if data.direction is not None:
            return data.direction
        if data.is_from_me is not None:
            return "outbound" if data.is_from_me else "inbound"
        raise _unreadable(self, "direction (direction or is_from_me)")

    @property
    def is_inbound(self) -> bool:
        """Whether the message was written to your line (``direction == "inbound"``)."""
        return self.direction == "inbound"

    @property
    def sender_handle(self) -> ChatHandle | None:
        """The sender's handle object (``sender_handle``, or ``from_handle`` in ``2025-01-01``)."""
        return self.data.sender_handle or self.data.from_handle

    @property
    def sender(self) -> str:
        """The sender's handle: an E.164 number or an email."""
        handle = self.sender_handle
        if handle is not None:
            return handle.handle
        if self.data.from_ is not None:
            return self.data.from_
        raise _unreadable(self, "sender (sender_handle, from_handle or from)")

    @property
    def chat_id(self) -> str:
        """The chat's id (``chat.id``, or ``chat_id`` in ``2025-01-01``)."""
        data = self.data
        if data.chat is not None:
            return data.chat.id
        if data.chat_id is not None:
            return data.chat_id
        raise _unreadable(self, "chat id (chat.id or chat_id)")

    @property
    def is_group(self) -> bool | None:
        """Whether the chat is a group, when the payload says."""
        data = self.data
        if data.chat is not None and data.chat.is_group is not None:
            return data.chat.is_group
        return data.is_group

    @property
    def message_id(self) -> str:
        """The message's id (``id``, or ``message.id``/``message_id`` in ``2025-01-01``)."""
        data = self.data
        for candidate in (
            data.id,
            None if data.message is None else data.message.id,
            data.message_id,
        ):
            if candidate is not None:
                return candidate
        raise _unreadable(self, "message id (id, message.id or message_id)")

    @property
    def parts(self) -> tuple[Part, ...]:
        """The message's parts (empty for a zero-retention line)."""
        data = self.data
        if data.parts is not None:
            return data.parts
        if data.message is not None and data.message.parts is not None:
            return data.message.parts
        raise _unreadable(self, "parts (parts or message.parts)")

    @property
    def text(self) -> str:
        """The values of the text parts, joined by newlines (``""`` when there are none)."""
        return "\n".join(part.value for part in self.parts if isinstance(part, TextPart))

    @property
    def service(self) -> str | None:
        """``iMessage``, ``SMS`` or ``RCS``, when the payload says."""
        return self.data.service

    @property
    def sent_at(self) -> datetime | None:
        """When the message was sent."""
        data = self.data
        if data.sent_at is not None:
            return data.sent_at
        return None if data.message is None else data.message.sent_at

    @property
    def delivered_at(self) -> datetime | None:
        """When it was delivered (``message.delivered`` and later)."""
        data = self.data
        if data.delivered_at is not None:
            return data.delivered_at
        return None if data.message is None else data.message.delivered_at

    @property
    def read_at(self) -> datetime | None:
        """When it was read (``message.read``)."""
        data = self.data
        if data.read_at is not None:
            return data.read_at
        return None if data.message is None else data.message.read_at


@attrs.frozen(kw_only=True)
class MessageFailedData(WireModel):
    """The ``data`` of ``message.failed`` (a later ``message.delivered`` is still possible).

    ``code`` is a Linq error code (4001-4010 for delivery failures, 3007 ...);
    ``detail_code`` is opaque.
    """

    code: int
    failed_at: datetime | None = None
    chat_id: str | None = None
    message_id: str | None = None
    detail_code: Any = None
    reason: str | None = None
    service: str | None = None
    preferred_service: str | None = None


@attrs.frozen(kw_only=True)
class MessageFailedEvent(WebhookEvent):
    """``message.failed``: a message could not be delivered."""

    data: MessageFailedData = attrs.field(metadata=lazy())


@attrs.frozen(kw_only=True)
class EditedPart(WireModel):
    """The part a ``message.edited`` event changed: its index and new text."""

    index: int
    text: str


@attrs.frozen(kw_only=True)
class MessageEditedData(WireModel):
    """The ``data`` of ``message.edited`` (``2026-02-03`` payloads only)."""

    id: str
    chat: MessageEventChat | None = None
    direction: str | None = None
    edited_at: datetime | None = None
    part: EditedPart | None = None
    sender_handle: ChatHandle | None = None


@attrs.frozen(kw_only=True)
class MessageEditedEvent(WebhookEvent):
    """``message.edited``: a message's text was changed."""

    data: MessageEditedData = attrs.field(metadata=lazy())


# Reactions, chats, typing, lines


@attrs.frozen(kw_only=True)
class ReactionSticker(WireModel):
    """The sticker of a ``sticker`` reaction; ``url`` is short-lived."""

    url: str | None = None
    mime_type: str | None = None
    width: int | None = None
    height: int | None = None
    file_name: str | None = None


@attrs.frozen(kw_only=True)
class ReactionData(WireModel):
    """The ``data`` of ``reaction.added`` and ``reaction.removed``.

    ``reaction_type`` is ``love``, ``like``, ``dislike``, ``laugh``, ``emphasize``,
    ``question``, ``custom`` (see ``custom_emoji``) or ``sticker`` (see ``sticker``).
    """

    reaction_type: str
    is_from_me: bool
    chat_id: str | None = None
    message_id: str | None = None
    part_index: int | None = None
    reaction_id: str | None = None
    custom_emoji: str | None = None
    sticker: ReactionSticker | None = None
    from_handle: ChatHandle | None = None
    from_: str | None = None
    reacted_at: datetime | None = None
    service: str | None = None


@attrs.frozen(kw_only=True)
class ReactionEvent(WebhookEvent):
    """``reaction.added`` and ``reaction.removed`` (a tapback on a message part)."""

    data: ReactionData = attrs.field(metadata=lazy())


@attrs.frozen(kw_only=True)
class ParticipantData(WireModel):
    """The ``data`` of ``participant.added`` and ``participant.removed``."""

    chat_id: str | None = None
    handle: str | None = None
    participant: ChatHandle | None = None
    added_at: datetime | None = None
    removed_at: datetime | None = None


@attrs.frozen(kw_only=True)
class ParticipantEvent(WebhookEvent):
    """``participant.added`` and ``participant.removed`` (group membership)."""

    data: ParticipantData = attrs.field(metadata=lazy())


@attrs.frozen(kw_only=True)
class ChatCreatedData(WireModel):
    """The ``data`` of ``chat.created``."""

    id: str
    display_name: str | None = None
    service: str | None = None
    handles: tuple[ChatHandle, ...] = ()
    is_group: bool = False
    created_at: datetime | None = None
    updated_at: datetime | None = None


@attrs.frozen(kw_only=True)
class ChatCreatedEvent(WebhookEvent):
    """``chat.created``."""

    data: ChatCreatedData = attrs.field(metadata=lazy())


@attrs.frozen(kw_only=True)
class ChatUpdatedData(WireModel):
    """The ``data`` of ``chat.group_name_updated``, ``chat.group_icon_updated`` and
    ``chat.background_updated`` (whose payload is undocumented: read ``raw``)."""

    chat_id: str | None = None
    old_value: str | None = None
    new_value: str | None = None
    changed_by_handle: ChatHandle | None = None
    updated_at: datetime | None = None
    raw: Mapping[str, Any] = attrs.field(factory=dict, metadata=whole_object())


@attrs.frozen(kw_only=True)
class ChatUpdatedEvent(WebhookEvent):
    """``chat.group_name_updated``, ``chat.group_icon_updated``, ``chat.background_updated``."""

    data: ChatUpdatedData = attrs.field(metadata=lazy())


@attrs.frozen(kw_only=True)
class ChatUpdateFailedData(WireModel):
    """The ``data`` of the ``chat.*_update_failed`` events; ``error_code`` is a Linq code."""

    chat_id: str
    error_code: int | None = None
    failed_at: datetime | None = None


@attrs.frozen(kw_only=True)
class ChatUpdateFailedEvent(WebhookEvent):
    """``chat.group_name_update_failed``, ``chat.group_icon_update_failed``,
    ``chat.background_update_failed``: a queued chat change did not happen."""

    data: ChatUpdateFailedData = attrs.field(metadata=lazy())


@attrs.frozen(kw_only=True)
class TypingData(WireModel):
    """The ``data`` of the typing indicator events."""

    chat_id: str
    actor_handle: Any = None


@attrs.frozen(kw_only=True)
class TypingEvent(WebhookEvent):
    """``chat.typing_indicator.started`` and ``.stopped``."""

    data: TypingData = attrs.field(metadata=lazy())


@attrs.frozen(kw_only=True)
class PhoneNumberData(WireModel):
    """The ``data`` of the ``phone_number.*`` events.

    ``phone_number.status_updated`` fills the status fields (``ACTIVE``, ``FLAGGED``);
    the other payloads are undocumented: read ``raw``.
    """

    phone_number: str | None = None
    previous_status: str | None = None
    new_status: str | None = None
    changed_at: datetime | None = None
    raw: Mapping[str, Any] = attrs.field(factory=dict, metadata=whole_object())


@attrs.frozen(kw_only=True)
class PhoneNumberEvent(WebhookEvent):
    """``phone_number.status_updated``, ``.assigned``, ``.released``, ``.forwarding_updated``."""

    data: PhoneNumberData = attrs.field(metadata=lazy())


# Account audit events


@attrs.frozen(kw_only=True)
class AuditActor(WireModel):
    """Who made an audited change (``type``: a token, a team member ...)."""

    type: str | None = None
    raw: Mapping[str, Any] = attrs.field(factory=dict, metadata=whole_object())


@attrs.frozen(kw_only=True)
class AuditData(WireModel):
    """The ``data`` of the account audit events.

    The changed object sits under a key named after it (``api_token``,
    ``webhook_subscription`` ...): read it from ``raw``.
    """

    summary: str | None = None
    occurred_at: datetime | None = None
    actor: AuditActor | None = None
    origin: str | None = None
    change: Any = None
    raw: Mapping[str, Any] = attrs.field(factory=dict, metadata=whole_object())


@attrs.frozen(kw_only=True)
class AuditEvent(WebhookEvent):
    """A change to the account: ``api_token.*``, ``environment.*``, ``team_member.*``,
    ``webhook_subscription.*``, ``contact_card.created/updated/deleted`` and
    ``zero_day_retention.updated``."""

    data: AuditData = attrs.field(metadata=lazy())


# Events whose payload the API does not document: data as decoded JSON.


@attrs.frozen(kw_only=True)
class PollEvent(WebhookEvent):
    """``poll.*``: polls sent, received, voted on. The payload is undocumented."""

    data: Mapping[str, Any] = attrs.field(factory=dict)


@attrs.frozen(kw_only=True)
class CallEvent(WebhookEvent):
    """``call.*``: the API documents no payload for calls."""

    data: Mapping[str, Any] = attrs.field(factory=dict)


@attrs.frozen(kw_only=True)
class LocationEvent(WebhookEvent):
    """``location.sharing.started`` and ``.stopped``. The payload is undocumented."""

    data: Mapping[str, Any] = attrs.field(factory=dict)


@attrs.frozen(kw_only=True)
class PaymentEvent(WebhookEvent):
    """``payment.*``, ``connection.created`` and ``connection.revoked``. The payload is
    undocumented."""

    data: Mapping[str, Any] = attrs.field(factory=dict)


@attrs.frozen(kw_only=True)
class ContactCardReceivedEvent(WebhookEvent):
    """``contact_card.received``: a contact shared their card. The payload is undocumented."""

    data: Mapping[str, Any] = attrs.field(factory=dict)


def _group(cls: type[WebhookEvent], *names: str) -> dict[str, type[WebhookEvent]]:
    return dict.fromkeys(names, cls)


_MEMBERS: dict[str, type[WebhookEvent]] = {
    **_group(MessageEvent, "message.sent", "message.received", "message.read", "message.delivered"),
    **_group(MessageFailedEvent, "message.failed"),
    **_group(MessageEditedEvent, "message.edited"),
    **_group(ReactionEvent, "reaction.added", "reaction.removed"),
    **_group(
        PollEvent,
        "poll.received", "poll.failed", "poll.sent", "poll.delivered", "poll.read",
        "poll.updated", "poll.vote.added", "poll.vote.removed", "poll.reaction.added",
    ),
    **_group(ParticipantEvent, "participant.added", "participant.removed"),
    **_group(ChatCreatedEvent, "chat.created"),
    **_group(
        ChatUpdatedEvent,
        "chat.group_name_updated", "chat.group_icon_updated", "chat.background_updated",
    ),
    **_group(
        ChatUpdateFailedEvent,
        "chat.group_name_update_failed", "chat.group_icon_update_failed",
        "chat.background_update_failed",
    ),
    **_group(TypingEvent, "chat.typing_indicator.started", "chat.typing_indicator.stopped"),
    **_group(
        PhoneNumberEvent,
        "phone_number.status_updated", "phone_number.assigned", "phone_number.released",
        "phone_number.forwarding_updated",
    ),
    **_group(ContactCardReceivedEvent, "contact_card.received"),
    **_group(
        CallEvent,
        "call.initiated", "call.ringing", "call.answered", "call.ended", "call.failed",
        "call.declined", "call.no_answer",
    ),
    **_group(LocationEvent, "location.sharing.started", "location.sharing.stopped"),
    **_group(
        PaymentEvent,
        "payment.succeeded", "payment.canceled", "payment.expired", "payment.declined",
        "payment.authorized", "connection.created", "connection.revoked",
    ),
    **_group(
        AuditEvent,
        "contact_card.created", "contact_card.updated", "contact_card.deleted",
        "zero_day_retention.updated", "environment.line_moved", "environment.created",
        "environment.renamed", "environment.deleted", "api_token.created", "api_token.renamed",
        "api_token.expiry_scheduled", "api_token.expired", "api_token.activated",
        "api_token.deleted", "team_member.added", "team_member.signed_in",
        "team_member.signed_out", "webhook_subscription.created",
        "webhook_subscription.deleted", "webhook_subscription.target_url_changed",
        "webhook_subscription.enabled", "webhook_subscription.disabled",
        "webhook_subscription.events.updated", "webhook_subscription.phone_numbers.updated",
        "webhook_subscription.routing_headers_set",
        "webhook_subscription.routing_headers_cleared",
    ),
}  # fmt: skip

EVENT_TYPES: frozenset[str] = frozenset(_MEMBERS)
"""Every event type this release models (the 75 the API documents). Others load as
`UnknownEvent`."""

_EVENT_UNION = functools.reduce(operator.or_, [*dict.fromkeys(_MEMBERS.values()), UnknownEvent])
_EVENTS = register_open_union(
    _EVENT_UNION, tag="event_type", members=_MEMBERS, fallback=UnknownEvent
)


def event_class(event_type: str) -> type[WebhookEvent]:
    """The class events of ``event_type`` load as (`UnknownEvent` for an unknown type)."""
    return _MEMBERS.get(event_type, UnknownEvent)


def parse_event(body: bytes) -> WebhookEvent:
    """Decode a delivery's body (already verified) into its event.

    Raises:
        WebhookPayloadError: not JSON, not an object, or without a string ``event_id`` and
            ``event_type`` and an object ``data``.
    """
    try:
        value = json.loads(body)
    except (ValueError, RecursionError):
        raise WebhookPayloadError("the delivery's body is not JSON") from None
    if type(value) is not dict:
        raise WebhookPayloadError("the delivery's body is not a JSON object")
    for key, kind in (("event_id", str), ("event_type", str), ("data", dict)):
        if type(value.get(key)) is not kind:
            what = "an object" if kind is dict else "a string"
            raise WebhookPayloadError(f"the delivery's {key!r} is missing or not {what}")
    event: WebhookEvent = _EVENTS.load(value, f"webhook {value['event_type']}")
    return event
