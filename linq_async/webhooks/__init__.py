"""Receiving webhooks: verify deliveries, decode typed events, route them to handlers.

```python
from linq_async.webhooks import MessageEvent, Router, Verifier, setup_aiohttp

router = Router(Verifier.from_env())        # LINQ_WEBHOOK_SECRET=whsec_...

@router.on("message.received")
async def on_message(event: MessageEvent) -> None:
    print(event.sender, event.text)

setup_aiohttp(app, router, "/linq/webhooks")
```

* `Verifier` checks a delivery's Standard Webhooks signature and timestamp and returns the
  typed event, or raises a `WebhookVerificationError` subclass. It is pure: bytes and
  headers in, usable from any framework.
* The events are frozen models, one class per payload shape (`MessageEvent`,
  `ReactionEvent` ...), `UnknownEvent` for types newer than this release. `MessageEvent`
  reads both payload versions (``2025-01-01`` and ``2026-02-03``) the same way.
* `Router` verifies, deduplicates, answers at once and runs the handlers in tracked
  tasks; `aiohttp_handler` and `setup_aiohttp` plug it into aiohttp, and its
  ``handle(body, headers)`` into anything else.
* `poll_inbound` is the development fallback when Linq cannot reach this machine.

This subpackage is not imported by ``import linq_async``.
"""

from .._errors import (
    WebhookHeaderError,
    WebhookPayloadError,
    WebhookSignatureError,
    WebhookTimestampError,
    WebhookVerificationError,
)
from ._aiohttp import aiohttp_handler, setup_aiohttp
from ._events import (
    EVENT_TYPES,
    V1,
    V2,
    AuditActor,
    AuditData,
    AuditEvent,
    CallEvent,
    ChatCreatedData,
    ChatCreatedEvent,
    ChatUpdatedData,
    ChatUpdatedEvent,
    ChatUpdateFailedData,
    ChatUpdateFailedEvent,
    ContactCardReceivedEvent,
    EditedPart,
    LocationEvent,
    MessageEditedData,
    MessageEditedEvent,
    MessageEvent,
    MessageEventChat,
    MessageEventData,
    MessageFailedData,
    MessageFailedEvent,
    MessagePayloadV1,
    ParticipantData,
    ParticipantEvent,
    PaymentEvent,
    PhoneNumberData,
    PhoneNumberEvent,
    PollEvent,
    ReactionData,
    ReactionEvent,
    ReactionSticker,
    TypingData,
    TypingEvent,
    UnknownEvent,
    WebhookEvent,
    event_class,
    parse_event,
)
from ._poll import poll_inbound
from ._router import (
    DEFAULT_DEDUPE_TTL,
    MAX_BODY,
    Answer,
    DedupeStore,
    ErrorHook,
    Handler,
    MemoryDedupe,
    Router,
)
from ._verify import SECRET_ENV, Headers, Verifier

__all__ = [
    "DEFAULT_DEDUPE_TTL",
    "EVENT_TYPES",
    "MAX_BODY",
    "SECRET_ENV",
    "V1",
    "V2",
    "Answer",
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
    "DedupeStore",
    "EditedPart",
    "ErrorHook",
    "Handler",
    "Headers",
    "LocationEvent",
    "MemoryDedupe",
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
    "Router",
    "TypingData",
    "TypingEvent",
    "UnknownEvent",
    "Verifier",
    "WebhookEvent",
    "WebhookHeaderError",
    "WebhookPayloadError",
    "WebhookSignatureError",
    "WebhookTimestampError",
    "WebhookVerificationError",
    "aiohttp_handler",
    "event_class",
    "parse_event",
    "poll_inbound",
    "setup_aiohttp",
]
