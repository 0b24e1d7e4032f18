"""Webhook subscriptions: where Linq delivers events, and which ones."""

from __future__ import annotations

from datetime import datetime

import attrs

from .._model import WireModel, secret_field

__all__ = ["CreatedWebhookSubscription", "WebhookEventTypes", "WebhookSubscription"]


@attrs.frozen(kw_only=True)
class WebhookSubscription(WireModel):
    """A webhook subscription.

    Attributes:
        id: the subscription id.
        target_url: where events are POSTed. A ``?version=2025-01-01`` or
            ``?version=2026-02-03`` query in it chooses the payload version of message events.
        subscribed_events: the event types delivered (``message.received`` ...).
        is_active: whether deliveries are on.
        created_at: when it was created.
        updated_at: when it last changed.
        phone_numbers: only events of these lines (E.164) are delivered; ``None`` for all.
        routing_key_header: the header carrying a per-chat affinity token, if set.
        routing_id_header: the header carrying the chat id (the API's default is
            ``Linq-Chat-Id``).
    """

    id: str
    target_url: str
    subscribed_events: tuple[str, ...] = ()
    is_active: bool = True
    created_at: datetime | None = None
    updated_at: datetime | None = None
    phone_numbers: tuple[str, ...] | None = None
    routing_key_header: str | None = None
    routing_id_header: str | None = None


@attrs.frozen(kw_only=True)
class CreatedWebhookSubscription(WebhookSubscription):
    """A new subscription, with the secret that signs its deliveries.

    Attributes:
        signing_secret: the ``whsec_...`` secret to verify deliveries with (pass it to
            `linq_async.webhooks.Verifier`). **The API shows it in this answer only**: store
            it now (a secret manager, or ``LINQ_WEBHOOK_SECRET``). It is left out of
            ``repr()`` so it does not end up in logs.
    """

    signing_secret: str = attrs.field(repr=False, metadata=secret_field())


@attrs.frozen(kw_only=True)
class WebhookEventTypes(WireModel):
    """The event types a subscription can ask for (``GET /v3/webhook-events``).

    Attributes:
        events: the event type names.
        doc_url: the documentation page of the events.
    """

    events: tuple[str, ...]
    doc_url: str | None = None
