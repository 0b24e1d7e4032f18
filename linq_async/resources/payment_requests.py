"""``linq.payment_requests``."""

from __future__ import annotations

from ._base import Resource

__all__ = ["PaymentRequests"]


class PaymentRequests(Resource):
    """Stripe checkout requests: ``linq.payment_requests``."""
