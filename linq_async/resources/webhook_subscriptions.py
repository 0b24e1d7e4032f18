"""``linq.webhook_subscriptions``."""

from __future__ import annotations

from ._base import Resource

__all__ = ["WebhookSubscriptions"]


class WebhookSubscriptions(Resource):
    """Where Linq delivers webhooks: ``linq.webhook_subscriptions``."""
