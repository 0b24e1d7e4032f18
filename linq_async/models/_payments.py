"""Payments: payment requests (Stripe checkout), agent card payments, providers, payer handles.

Linq documents these routes but not their answers' fields. The fields below are this SDK's
reading of what the routes do, named as the wire would plausibly name them; every field but
the few a result cannot do without is optional, and unknown keys are ignored, so an answer
with more (or differently named optional) fields still loads.
"""

from __future__ import annotations

from datetime import datetime

import attrs

from .._model import WireModel
from .._secret import Secret

__all__ = [
    "HandleConnectAttempt",
    "Payment",
    "PaymentConnection",
    "PaymentCredentials",
    "PaymentProvider",
    "PaymentRequest",
    "ProviderOnboarding",
]


@attrs.frozen(kw_only=True)
class PaymentRequest(WireModel):
    """A request for money sent to a customer, paid through Stripe checkout.

    From ``POST /v3/payment_requests``, ``GET /v3/payment_requests[/{paymentRequestId}]``
    and ``POST /v3/payment_requests/{paymentRequestId}/cancel``.

    Attributes:
        id: the payment request's id.
        status: e.g. ``pending`` (unpaid), ``paid``, ``canceled``, ``expired`` (open: other
            values load as they come).
        amount: the amount in minor units (cents).
        currency: the ISO 4217 code, as the API spells it.
        description: what the payment is for, when given.
        chat_id: the chat the request was sent into, when given.
        url: the checkout page the customer pays on.
        created_at: when it was made.
        paid_at: when it was paid.
        canceled_at: when it was canceled.
    """

    id: str
    status: str
    amount: int | None = None
    currency: str | None = None
    description: str | None = None
    chat_id: str | None = None
    url: str | None = None
    created_at: datetime | None = None
    paid_at: datetime | None = None
    canceled_at: datetime | None = None


@attrs.frozen(kw_only=True)
class Payment(WireModel):
    """An agent payment with a short-lived virtual card, funded by a connected handle.

    From ``POST /v3/payments``, ``GET /v3/payments/{paymentId}`` and ``POST
    /v3/payments/{paymentId}/cancel``. The card itself comes from
    `Payments.credentials`, never in this object.

    Attributes:
        id: the payment's id.
        status: e.g. ``authorized`` (the card is ready), ``succeeded``, ``canceled``,
            ``declined``, ``expired`` (open).
        amount: the authorized amount in minor units (cents).
        currency: the ISO 4217 code, as the API spells it.
        handle: the customer whose connection funds the payment.
        description: what the payment is for, when given.
        created_at: when it was made.
        canceled_at: when it was canceled.
    """

    id: str
    status: str
    amount: int | None = None
    currency: str | None = None
    handle: str | None = None
    description: str | None = None
    created_at: datetime | None = None
    canceled_at: datetime | None = None


@attrs.frozen(kw_only=True)
class PaymentCredentials(WireModel):
    """A payment's virtual card, from ``GET /v3/payments/{paymentId}/credentials``.

    Card data is secret: ``number``, ``cvc``, ``exp_month`` and ``exp_year`` are `Secret`
    values, shown as ``<secret>`` by ``repr``, ``str``, logging and `attrs.asdict`, and
    refused by pickle. Read them with ``.reveal()`` where the card is used, and nowhere
    else. ``last4`` and ``brand`` are not secret (they are printed on receipts).

    Attributes:
        number: the card number (PAN).
        cvc: the card verification code.
        exp_month: the card's expiry month, 1-12.
        exp_year: the card's expiry year (four digits).
        payment_id: the payment the card belongs to.
        last4: the number's last four digits.
        brand: the card network, e.g. ``visa``.
        expires_at: when these credentials stop working (they are short-lived).
    """

    number: Secret[str]
    cvc: Secret[str]
    exp_month: Secret[int]
    exp_year: Secret[int]
    payment_id: str | None = None
    last4: str | None = None
    brand: str | None = None
    expires_at: datetime | None = None


@attrs.frozen(kw_only=True)
class PaymentProvider(WireModel):
    """A payment provider's onboarding status, from ``GET /v3/payments/providers/{provider}``.

    Attributes:
        provider: the provider, e.g. ``stripe``.
        status: e.g. ``not_connected``, ``pending`` (onboarding started), ``connected``
            (open).
        connected_at: when onboarding finished.
    """

    provider: str
    status: str
    connected_at: datetime | None = None

    @property
    def connected(self) -> bool:
        """Whether the provider is connected (payment requests need a connected Stripe)."""
        return self.status == "connected"


@attrs.frozen(kw_only=True)
class ProviderOnboarding(WireModel):
    """Where to finish connecting a provider: ``POST /v3/payments/providers/{provider}/connect``.

    Open ``url`` in a browser; the provider sends the user back to the ``return_url`` given.

    Attributes:
        url: the provider's onboarding page (single use: ask again when it expires).
        provider: the provider, e.g. ``stripe``.
        expires_at: when ``url`` stops working.
    """

    url: str
    provider: str | None = None
    expires_at: datetime | None = None


@attrs.frozen(kw_only=True)
class HandleConnectAttempt(WireModel):
    """A started customer consent, from ``POST /v3/payments/handles/{handle}/connect``.

    The customer receives a code; pass it with ``connect_id`` to `PaymentHandles.verify`.

    Attributes:
        connect_id: identifies this attempt in `PaymentHandles.verify`.
        handle: the customer's phone number or email.
        status: e.g. ``pending_verification`` (open).
        expires_at: when the code stops working.
    """

    connect_id: str
    handle: str | None = None
    status: str | None = None
    expires_at: datetime | None = None


@attrs.frozen(kw_only=True)
class PaymentConnection(WireModel):
    """A customer's consent to fund payments, from the ``/v3/payments/handles`` routes.

    Attributes:
        handle: the customer's phone number or email.
        status: e.g. ``active`` or ``revoked`` (open).
        connected_at: when the customer verified.
        revoked_at: when the connection was revoked.
    """

    handle: str
    status: str
    connected_at: datetime | None = None
    revoked_at: datetime | None = None

    @property
    def active(self) -> bool:
        """Whether payments may draw on this connection."""
        return self.status == "active"
