"""The fake's webhooks: subscriptions, and signed deliveries POSTed to their target URLs.

Every state change the fake announces (``Store.emit``: a message sent, an inbound message
injected, a participant added ...) becomes one delivery per active subscription that asked
for the event type (and, with a ``phone_numbers`` filter, whose line it concerns). A
delivery is a JSON envelope ``{event_id, event_type, created_at, api_version,
webhook_version, partner_id, trace_id, data}`` POSTed to the ``target_url`` with both header
sets Linq sends:

* Standard Webhooks: ``webhook-id``, ``webhook-timestamp`` and ``webhook-signature:
  v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>", keyed with the base64-decoded
  secret>``;
* the legacy set: ``X-Webhook-Event``, ``X-Webhook-Subscription-ID``,
  ``X-Webhook-Timestamp`` and ``X-Webhook-Signature: <hex HMAC-SHA256 of
  "<timestamp>.<body>", keyed with the secret string>``.

Message events (``message.sent/received/delivered/read``) are rendered in the payload
version the ``?version=`` query of the target URL names: ``2025-01-01`` (``is_from_me``,
fields nested under ``message``) or ``2026-02-03`` (``direction``, ``chat``,
``sender_handle``, flat fields). Without it (or with another value) the fake uses
``2026-02-03``: its subscriptions are all created after that date.

A non-2xx answer of 5xx or 429, or a network error, is retried after each delay of the
retry schedule (the sleep is injectable, so tests wait for nothing); another 4xx is final.
Each attempt is signed afresh with the current time, under the same ``webhook-id``.

The fake never sends anything off the machine: only targets on a loopback address
(``127.0.0.0/8``, ``::1``, ``localhost``) are POSTed to; the others are recorded as
``"skipped"``.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hashlib
import hmac
import io
import ipaddress
import json
import secrets
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

import aiohttp
import attrs

from . import _render as render
from ._state import FakeChat, FakeMessage, Store

__all__ = [
    "EVENT_TYPES",
    "DeliveryAttempt",
    "FakeSubscription",
    "FakeWebhooks",
    "WebhookDelivery",
    "WebhookState",
    "add_inbound",
    "inbound_chat",
    "message_v1",
    "message_v2",
    "new_secret",
    "reaction_data",
]

EVENT_TYPES: tuple[str, ...] = (
    # message
    "message.sent", "message.received", "message.read", "message.delivered",
    "message.failed", "message.edited",
    # reaction
    "reaction.added", "reaction.removed",
    # poll
    "poll.received", "poll.failed", "poll.sent", "poll.delivered", "poll.read",
    "poll.updated", "poll.vote.added", "poll.vote.removed", "poll.reaction.added",
    # chat
    "participant.added", "participant.removed", "chat.created", "chat.group_name_updated",
    "chat.group_icon_updated", "chat.group_name_update_failed",
    "chat.group_icon_update_failed", "chat.background_updated",
    "chat.background_update_failed", "chat.typing_indicator.started",
    "chat.typing_indicator.stopped",
    # line
    "phone_number.status_updated", "phone_number.assigned", "phone_number.released",
    "phone_number.forwarding_updated",
    # contact card
    "contact_card.received", "contact_card.created", "contact_card.updated",
    "contact_card.deleted",
    # call
    "call.initiated", "call.ringing", "call.answered", "call.ended", "call.failed",
    "call.declined", "call.no_answer",
    # location
    "location.sharing.started", "location.sharing.stopped",
    # payment
    "payment.succeeded", "payment.canceled", "payment.expired", "payment.declined",
    "payment.authorized", "connection.created", "connection.revoked",
    # account
    "zero_day_retention.updated", "environment.line_moved", "environment.created",
    "environment.renamed", "environment.deleted", "api_token.created", "api_token.renamed",
    "api_token.expiry_scheduled", "api_token.expired", "api_token.activated",
    "api_token.deleted", "team_member.added", "team_member.signed_in",
    "team_member.signed_out",
    # subscription
    "webhook_subscription.created", "webhook_subscription.deleted",
    "webhook_subscription.target_url_changed", "webhook_subscription.enabled",
    "webhook_subscription.disabled", "webhook_subscription.events.updated",
    "webhook_subscription.phone_numbers.updated",
    "webhook_subscription.routing_headers_set",
    "webhook_subscription.routing_headers_cleared",
)  # fmt: skip
"""The 75 event types the API documents."""

V1 = "2025-01-01"
V2 = "2026-02-03"
_MESSAGE_EVENTS = frozenset(
    {"message.sent", "message.received", "message.delivered", "message.read"}
)
_PARTNER_ID = "fake-partner"
_USER_AGENT = "linq-async-FakeLinqServer-webhooks"
_ATTEMPT_TIMEOUT = 10.0  # the API's documented response timeout


def default_retry_delays() -> tuple[float, ...]:
    """Doubling delays from 2 s, capped at 5 min, adding up to at most 30 min (the API's)."""
    delays: list[float] = []
    delay = 2.0
    while sum(delays) + delay <= 30 * 60:
        delays.append(delay)
        delay = min(delay * 2, 300.0)
    return tuple(delays)


FaultKind = Literal["duplicate", "stale", "bad_signature", "strip_headers"]
DeliveryState = Literal["pending", "delivered", "failed", "skipped"]


@attrs.define(kw_only=True, eq=False)
class FakeSubscription:
    """A webhook subscription the fake keeps (made through the API or `FakeWebhooks.subscribe`).

    Attributes:
        id: The subscription id.
        target_url: Where deliveries go.
        subscribed_events: The event types delivered.
        signing_secret: The ``whsec_`` secret that signs the deliveries (not in the repr).
        is_active: Whether deliveries are on.
        phone_numbers: Deliver only the events of these lines (empty: all).
        routing_key_header: The per-chat affinity token header, if set.
        routing_id_header: The chat id header, if set.
        created_at: When it was made.
        updated_at: When it last changed.
    """

    id: str
    target_url: str
    subscribed_events: list[str]
    signing_secret: str = attrs.field(repr=False)
    is_active: bool = True
    phone_numbers: list[str] = attrs.field(factory=list)
    routing_key_header: str | None = None
    routing_id_header: str | None = None
    created_at: dt.datetime
    updated_at: dt.datetime

    @property
    def payload_version(self) -> str:
        """The payload version of message events: the target URL's ``?version=``, else V2."""
        versions = parse_qs(urlsplit(self.target_url).query).get("version", [])
        return V1 if versions and versions[-1] == V1 else V2


@attrs.define(kw_only=True, eq=False)
class WebhookState:
    """The webhooks area's state: subscriptions by id, oldest first."""

    subscriptions: dict[str, FakeSubscription] = attrs.field(factory=dict)


@attrs.define(kw_only=True, eq=False)
class DeliveryAttempt:
    """One POST of a delivery.

    Attributes:
        headers: The headers sent (signatures included: test data).
        status: The receiver's HTTP status, or ``None`` when the POST failed.
        error: What went wrong when there was no status (refused, timed out ...).
    """

    headers: dict[str, str]
    status: int | None = None
    error: str | None = None


@attrs.define(kw_only=True, eq=False)
class WebhookDelivery:
    """One event delivered (or being delivered) to one subscription.

    Attributes:
        subscription_id: The subscription.
        url: The target URL.
        event_type: The event type.
        event_id: The envelope's ``event_id``.
        webhook_id: The ``webhook-id`` header (the same on every attempt and duplicate).
        version: The payload version of the body (``2025-01-01`` or ``2026-02-03``).
        body: The exact bytes POSTed.
        faults: The faults injected into this delivery (``"stale"``, ``"duplicate"`` ...).
        timestamp_skew: Seconds the signed timestamps are set back (a ``"stale"`` fault).
        attempts: Every POST, in order.
        state: ``"pending"`` while attempts remain, then ``"delivered"`` (a 2xx),
            ``"failed"`` (a final refusal or no retries left) or ``"skipped"`` (a target
            off the loopback, never POSTed to).
    """

    subscription_id: str
    url: str
    event_type: str
    event_id: str
    webhook_id: str
    version: str
    body: bytes
    faults: tuple[str, ...] = ()
    timestamp_skew: float = 0.0
    attempts: list[DeliveryAttempt] = attrs.field(factory=list)
    state: DeliveryState = "pending"

    def json(self) -> Any:
        """The decoded body."""
        return json.loads(self.body)


@attrs.define(kw_only=True)
class _Fault:
    kind: FaultKind
    left: int
    skew: float


def new_secret() -> str:
    """A fresh ``whsec_`` signing secret (base64 of 24 random bytes)."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def sign_standard(secret: str, webhook_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value: ``v1,`` and base64 HMAC-SHA256 (Standard Webhooks)."""
    encoded = secret.removeprefix("whsec_")
    key = base64.b64decode(encoded + "=" * (-len(encoded) % 4))
    digest = hmac.new(key, f"{webhook_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def sign_legacy(secret: str, timestamp: int, body: bytes) -> str:
    """The legacy ``X-Webhook-Signature``: hex HMAC-SHA256 keyed with the secret string."""
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def _is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


Sleep = Callable[[float], Awaitable[Any]]


class FakeWebhooks:
    """The fake's webhook side: ``fake.webhooks``.

    Holds the subscriptions, renders and signs each delivery, POSTs it through an
    ``aiohttp.ClientSession`` the fake owns (closed with the fake) and records it in
    `deliveries`. See the module docstring of ``linq_async.testing`` for the wire format.
    """

    def __init__(
        self,
        store: Store,
        *,
        retry_delays: Sequence[float] | None = None,
        sleep: Sleep = asyncio.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        delays = default_retry_delays() if retry_delays is None else tuple(retry_delays)
        if any(not isinstance(d, (int, float)) or isinstance(d, bool) or d < 0 for d in delays):
            raise ValueError(f"retry delays must be non-negative numbers, got {retry_delays!r}")
        self._store = store
        self._delays = delays
        self._sleep = sleep
        self._clock = clock
        self._http: aiohttp.ClientSession | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._locks: dict[str, asyncio.Lock] = {}
        self._faults: list[_Fault] = []
        self.deliveries: list[WebhookDelivery] = []
        """Every delivery, in the order the events happened (``.clear()`` is fine)."""
        store.listeners.append(self._on_event)

    # Lifecycle (driven by FakeLinqServer)

    async def start(self) -> None:
        """Open the ClientSession deliveries go through."""
        self._http = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=_ATTEMPT_TIMEOUT),
            headers={"User-Agent": _USER_AGENT},
        )

    async def close(self) -> None:
        """Cancel deliveries still pending (retries included) and close the ClientSession."""
        http, self._http = self._http, None
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if http is not None:
            await http.close()

    # Public API

    @property
    def subscriptions(self) -> dict[str, FakeSubscription]:
        """Subscriptions by id, oldest first. Live: do not mutate the dict."""
        return self._store.area(WebhookState).subscriptions

    def subscribe(
        self,
        target_url: str,
        *,
        events: Sequence[str] | None = None,
        phone_numbers: Sequence[str] = (),
    ) -> FakeSubscription:
        """Add a subscription without going through the API (for tests and the CLI).

        Args:
            target_url: Where to deliver; any URL (only loopback ones are POSTed to).
            events: The event types; all of them when omitted.
            phone_numbers: Deliver only the events of these lines.

        Returns:
            The subscription, with its `FakeSubscription.signing_secret`.
        """
        now = dt.datetime.now(dt.timezone.utc)
        sub = FakeSubscription(
            id=str(uuid.uuid4()),
            target_url=target_url,
            subscribed_events=list(EVENT_TYPES if events is None else events),
            signing_secret=new_secret(),
            phone_numbers=list(phone_numbers),
            created_at=now,
            updated_at=now,
        )
        self.subscriptions[sub.id] = sub
        return sub

    def emit(self, event_type: str, data: Mapping[str, Any]) -> None:
        """Deliver an event of any type with this ``data`` (its envelope is added)."""
        self._store.emit(event_type, data)

    def inject_fault(self, kind: FaultKind, *, times: int = 1, skew: float = 600.0) -> None:
        """Make the next ``times`` deliveries misbehave, as a proxy or an attacker would.

        Args:
            kind: ``"duplicate"`` (delivered a second time, same ``webhook-id``, body and
                faults, after the first got a 2xx), ``"stale"`` (signed correctly with a timestamp
                ``skew`` seconds in the past), ``"bad_signature"`` (both signatures wrong),
                or ``"strip_headers"`` (the ``webhook-*`` headers removed, as a proxy that
                drops unknown headers does; the legacy ``X-Webhook-*`` ones stay).
            times: How many deliveries.
            skew: For ``"stale"``: how old the timestamp is, in seconds.

        Raises:
            ValueError: an unknown ``kind`` or a ``times`` below 1.
        """
        if kind not in ("duplicate", "stale", "bad_signature", "strip_headers"):
            raise ValueError(f"unknown webhook fault {kind!r}")
        if isinstance(times, bool) or not isinstance(times, int) or times < 1:
            raise ValueError(f"times must be an int >= 1, got {times!r}")
        self._faults.append(_Fault(kind=kind, left=times, skew=skew))

    async def wait(self) -> None:
        """Wait until every delivery so far is finished (retries included)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    # Deliveries

    def _on_event(self, event_type: str, data: Mapping[str, Any]) -> None:
        if self._http is None:
            return
        line, chat_id = self._line_of(data)
        event_id = str(uuid.uuid4())
        created_at = render.iso(dt.datetime.now(dt.timezone.utc))
        for sub in list(self.subscriptions.values()):
            if not sub.is_active or event_type not in sub.subscribed_events:
                continue
            if sub.phone_numbers and line is not None and line not in sub.phone_numbers:
                continue
            version = sub.payload_version
            envelope = {
                "event_id": event_id,
                "event_type": event_type,
                "created_at": created_at,
                "api_version": "v3",
                "webhook_version": version,
                "partner_id": _PARTNER_ID,
                "trace_id": secrets.token_hex(16),
                "data": self._payload(event_type, data, version),
            }
            faults, skew = self._take_faults()
            delivery = WebhookDelivery(
                subscription_id=sub.id,
                url=sub.target_url,
                event_type=event_type,
                event_id=event_id,
                webhook_id=f"msg_{uuid.uuid4().hex}",
                version=version,
                body=json.dumps(envelope, separators=(",", ":")).encode(),
                faults=faults,
                timestamp_skew=skew,
            )
            self.deliveries.append(delivery)
            if not _is_loopback(sub.target_url):
                delivery.state = "skipped"
                continue
            task = asyncio.get_running_loop().create_task(self._deliver(sub, delivery, chat_id))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def _take_faults(self) -> tuple[tuple[str, ...], float]:
        taken: list[str] = []
        skew = 0.0
        for fault in self._faults:
            if fault.kind not in taken:
                taken.append(fault.kind)
                fault.left -= 1
                if fault.kind == "stale":
                    skew = fault.skew
        self._faults = [fault for fault in self._faults if fault.left > 0]
        return tuple(taken), skew

    def _line_of(self, data: Mapping[str, Any]) -> tuple[str | None, str | None]:
        chat_id = data.get("chat_id")
        chat = self._store.chats.get(chat_id) if isinstance(chat_id, str) else None
        if chat is None:
            return None, chat_id if isinstance(chat_id, str) else None
        return chat.from_handle, chat.id

    async def _deliver(
        self, sub: FakeSubscription, delivery: WebhookDelivery, chat: str | None
    ) -> None:
        lock = self._locks.setdefault(sub.id, asyncio.Lock())
        async with lock:  # one delivery at a time per subscription keeps events in order
            await self._attempts(sub, delivery, chat)
            if delivery.state == "delivered" and "duplicate" in delivery.faults:
                again = attrs.evolve(delivery, attempts=[], state="pending")
                self.deliveries.append(again)
                await self._attempts(sub, again, chat)

    async def _attempts(
        self, sub: FakeSubscription, delivery: WebhookDelivery, chat_id: str | None
    ) -> None:
        delays = iter(self._delays)
        while True:
            attempt = DeliveryAttempt(headers=self._headers(sub, delivery, chat_id))
            delivery.attempts.append(attempt)
            await self._post(delivery, attempt)
            status = attempt.status
            if status is not None and 200 <= status < 300:
                delivery.state = "delivered"
                return
            retry = status is None or status == 429 or status >= 500
            delay = next(delays, None) if retry else None
            if delay is None:
                delivery.state = "failed"
                return
            await self._sleep(delay)

    async def _post(self, delivery: WebhookDelivery, attempt: DeliveryAttempt) -> None:
        http = self._http
        if http is None:
            attempt.error = "the fake is closed"
            return
        try:
            # A file-like body: aiohttp warns about (and blocks on) large bytes bodies.
            async with http.post(
                delivery.url,
                data=io.BytesIO(delivery.body),
                headers=attempt.headers,
                allow_redirects=False,
            ) as response:
                await response.read()
                attempt.status = response.status
        except Exception as exc:  # whatever went wrong, the receiver did not answer
            attempt.error = f"{type(exc).__name__}: {exc}"

    def _headers(
        self, sub: FakeSubscription, delivery: WebhookDelivery, chat_id: str | None
    ) -> dict[str, str]:
        timestamp = int(self._clock() - delivery.timestamp_skew)
        secret = sub.signing_secret
        if "bad_signature" in delivery.faults:
            secret = "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()
        headers = {"Content-Type": "application/json"}
        if "strip_headers" not in delivery.faults:
            headers["webhook-id"] = delivery.webhook_id
            headers["webhook-timestamp"] = str(timestamp)
            headers["webhook-signature"] = sign_standard(
                secret, delivery.webhook_id, timestamp, delivery.body
            )
        headers["X-Webhook-Event"] = delivery.event_type
        headers["X-Webhook-Subscription-ID"] = sub.id
        headers["X-Webhook-Timestamp"] = str(timestamp)
        headers["X-Webhook-Signature"] = sign_legacy(secret, timestamp, delivery.body)
        if chat_id is not None and sub.routing_key_header:
            headers[sub.routing_id_header or "Linq-Chat-Id"] = chat_id
            token = hashlib.sha256(f"{sub.id}:{chat_id}".encode()).hexdigest()[:16]
            headers[sub.routing_key_header] = token
        return headers

    # Payloads

    def _payload(self, event_type: str, data: Mapping[str, Any], version: str) -> Any:
        message_id = data.get("message_id")
        if event_type in _MESSAGE_EVENTS and isinstance(message_id, str):
            message = self._store.messages.get(message_id)
            if message is not None:
                chat = self._store.chats[message.chat_id]
                if version == V1:
                    return message_v1(event_type, message, chat)
                return message_v2(message, chat)
        return dict(data)


def _sender(message: FakeMessage, chat: FakeChat) -> str:
    return message.sender or chat.from_handle


def message_v2(message: FakeMessage, chat: FakeChat) -> dict[str, Any]:
    """A message event's ``data`` in the ``2026-02-03`` format."""
    sent_at = render.iso(message.created_at)
    return {
        "id": message.id,
        "chat": {
            "id": chat.id,
            "is_group": chat.is_group,
            "owner_handle": render.chat_handle(chat, chat.from_handle),
            "health_status": render.health_status(chat),
        },
        "direction": "inbound" if message.sender else "outbound",
        "sender_handle": render.chat_handle(chat, _sender(message, chat)),
        "parts": message.response_parts,
        "service": chat.service,
        "sent_at": sent_at,
        "delivered_at": None,
        "read_at": None,
        "effect": message.effect,
        "reply_to": message.reply_to,
        "preferred_service": message.preferred_service,
        "idempotency_key": message.idempotency_key,
    }


def message_v1(event_type: str, message: FakeMessage, chat: FakeChat) -> dict[str, Any]:
    """A message event's ``data`` in the ``2025-01-01`` format."""
    sent_at = render.iso(message.created_at)
    sender = _sender(message, chat)
    data: dict[str, Any] = {
        "chat_id": chat.id,
        "is_group": chat.is_group,
        "from": sender,
        "from_handle": render.chat_handle(chat, sender),
        "is_from_me": message.sender is None,
        "received_at": sent_at if message.sender else None,
        "service": chat.service,
        "preferred_service": message.preferred_service,
        "idempotency_key": message.idempotency_key,
        "message": {
            "id": message.id,
            "parts": message.response_parts,
            "effect": message.effect,
            "reply_to": message.reply_to,
            "is_delivered": False,
            "is_read": False,
            "sent_at": sent_at,
            "delivered_at": None,
            "read_at": None,
            "created_at": sent_at,
            "updated_at": sent_at,
        },
    }
    if event_type in ("message.delivered", "message.read"):
        data["message_id"] = message.id
    return data


def inbound_chat(store: Store, line: str, sender: str) -> FakeChat:
    """The direct chat between ``line`` and ``sender``, made if there is none yet."""
    key = (line, frozenset([sender]))
    chat_id = store.chat_keys.get(key)
    if chat_id is not None:
        return store.chats[chat_id]
    now = dt.datetime.now(dt.timezone.utc)
    chat = FakeChat(
        id=str(uuid.uuid4()),
        from_handle=line,
        handles=[sender],
        is_group=False,
        created_at=now,
        updated_at=now,
        handle_ids={handle: str(uuid.uuid4()) for handle in (line, sender)},
    )
    store.chats[chat.id] = chat
    store.chat_keys[key] = chat.id
    return chat


def add_inbound(
    store: Store, chat: FakeChat, sender: str, parts: list[dict[str, Any]]
) -> FakeMessage:
    """Record a message ``sender`` sent into ``chat`` and announce ``message.received``."""
    now = dt.datetime.now(dt.timezone.utc)
    if sender not in chat.handle_ids:
        chat.handle_ids[sender] = str(uuid.uuid4())
    response_parts = [
        {**part, "reactions": None} if part.get("type") == "text" else dict(part) for part in parts
    ]
    message = FakeMessage(
        id=str(uuid.uuid4()),
        chat_id=chat.id,
        parts=parts,
        response_parts=response_parts,
        sender=sender,
        created_at=now,
    )
    store.messages[message.id] = message
    chat.message_ids.append(message.id)
    chat.updated_at = now
    store.emit("message.received", {"chat_id": chat.id, "message_id": message.id})
    return message


def reaction_data(
    store: Store,
    message: FakeMessage,
    *,
    sender: str,
    reaction_type: str,
    custom_emoji: str | None,
    part_index: int,
) -> dict[str, Any]:
    """The ``data`` of a ``reaction.added``/``reaction.removed`` event by ``sender``."""
    chat = store.chats[message.chat_id]
    if sender not in chat.handle_ids:
        chat.handle_ids[sender] = str(uuid.uuid4())
    return {
        "reaction_type": reaction_type,
        "is_from_me": False,
        "chat_id": chat.id,
        "message_id": message.id,
        "part_index": part_index,
        "reaction_id": str(uuid.uuid4()),
        "custom_emoji": custom_emoji,
        "sticker": None,
        "from_handle": render.chat_handle(chat, sender),
        "reacted_at": render.iso(dt.datetime.now(dt.timezone.utc)),
        "service": chat.service,
    }
