"""Declared endpoints of the payments area: providers, payment requests, payer handles, payments.

The fact sheet gives these routes, the ``Idempotency-Key`` header on both creates, the 403 on
``POST /v3/payment_requests`` until Stripe is connected, ``limit``/``offset``/``status`` on
the list, and the 409 on canceling a paid request; it gives no body or answer fields beyond
``return_url``, ``code`` and ``connect_id``. The rest is the fake's own reading, kept small:

* Providers: only ``stripe``; ``not_connected`` until a connect starts onboarding
  (``pending``) and `FakeLinqServer.connect_payment_provider` finishes it (``connected``).
* Payment requests: ``{amount >= 1, currency (3 letters), description?, chat_id?}``; statuses
  ``pending``, ``paid`` (`FakeLinqServer.pay_payment_request`), ``canceled``, ``expired``;
  listed newest first, ``{payment_requests, has_more}``. Canceling a canceled request
  answers it again; a paid or expired one is 409.
* Handles: connect sends a 6-digit code (`FakeLinqServer.payment_verification_code`);
  verify with that code and the ``connect_id`` makes the connection ``active``; revoke
  makes it ``revoked`` (204, again on a repeat).
* Payments: ``{handle, amount >= 1, currency, description?}``, the handle needs an active
  connection (else 403, code 2005); ``authorized`` with a virtual card, ``succeeded``
  (`FakeLinqServer.settle_payment`), ``canceled``. Credentials only while ``authorized``.

Codes the fact sheet does not give: a 409 here uses the fake's default 409 code (1006),
an unknown id 404 with 2001.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from typing import Any

import attrs

from ._declare import (
    Call,
    Endpoint,
    bad,
    email_or_phone,
    https_url,
    integer,
    obj,
    one_of,
    opt,
    query_int,
    req,
    string,
)
from ._envelope import ApiError, default_api_code
from ._render import iso

__all__ = [
    "ENDPOINTS",
    "FakeHandleConnection",
    "FakePayment",
    "FakePaymentRequest",
    "PaymentsState",
]

PROVIDERS = ("stripe",)
REQUEST_STATUSES = ("pending", "paid", "canceled", "expired")
_CURRENCY = re.compile(r"[A-Za-z]{3}")
_CONFLICT = default_api_code(409)
CREDENTIALS_TTL = dt.timedelta(minutes=5)
CODE_TTL = dt.timedelta(minutes=10)


@attrs.define(kw_only=True, eq=False)
class FakePaymentRequest:
    """A payment request made by ``POST /v3/payment_requests``.

    Attributes:
        id: The payment request id (a UUID string).
        status: ``pending``, ``paid``, ``canceled`` or ``expired``.
        amount: The amount in minor units, as sent.
        currency: The currency, as sent.
        description: ``description`` as sent, or ``None``.
        chat_id: ``chat_id`` as sent, or ``None``.
        url: The checkout URL the fake made up.
        idempotency_key: The ``Idempotency-Key`` header it was created with.
        created_at: When it was made (aware UTC).
        paid_at: When it was paid, or ``None``.
        canceled_at: When it was canceled, or ``None``.
    """

    id: str
    status: str
    amount: int
    currency: str
    description: str | None
    chat_id: str | None
    url: str
    idempotency_key: str | None
    created_at: dt.datetime
    paid_at: dt.datetime | None = None
    canceled_at: dt.datetime | None = None

    def wire(self) -> dict[str, Any]:
        """The answer's JSON object."""
        return _present(
            id=self.id,
            status=self.status,
            amount=self.amount,
            currency=self.currency,
            description=self.description,
            chat_id=self.chat_id,
            url=self.url,
            created_at=iso(self.created_at),
            paid_at=self.paid_at and iso(self.paid_at),
            canceled_at=self.canceled_at and iso(self.canceled_at),
        )


@attrs.define(kw_only=True, eq=False)
class FakePayment:
    """An agent payment made by ``POST /v3/payments``, with its virtual card.

    The card fields are test data, left out of the repr all the same.

    Attributes:
        id: The payment id (a UUID string).
        status: ``authorized``, ``succeeded`` or ``canceled``.
        handle: The connected customer it draws on.
        amount: The amount in minor units, as sent.
        currency: The currency, as sent.
        description: ``description`` as sent, or ``None``.
        idempotency_key: The ``Idempotency-Key`` header it was created with.
        created_at: When it was made (aware UTC).
        canceled_at: When it was canceled, or ``None``.
        card_number: The virtual card's number (16 digits, Luhn-valid).
        card_cvc: Its CVC (3 digits).
        card_exp_month: Its expiry month.
        card_exp_year: Its expiry year.
    """

    id: str
    status: str
    handle: str
    amount: int
    currency: str
    description: str | None
    idempotency_key: str | None
    created_at: dt.datetime
    canceled_at: dt.datetime | None = None
    card_number: str = attrs.field(repr=False)
    card_cvc: str = attrs.field(repr=False)
    card_exp_month: int = attrs.field(repr=False)
    card_exp_year: int = attrs.field(repr=False)

    def wire(self) -> dict[str, Any]:
        """The answer's JSON object (no card data)."""
        return _present(
            id=self.id,
            status=self.status,
            amount=self.amount,
            currency=self.currency,
            handle=self.handle,
            description=self.description,
            created_at=iso(self.created_at),
            canceled_at=self.canceled_at and iso(self.canceled_at),
        )


@attrs.define(kw_only=True, eq=False)
class FakeHandleConnection:
    """A customer's payment consent, from connect to verify (and revoke).

    Attributes:
        handle: The customer's phone number or email.
        status: ``pending_verification``, ``active`` or ``revoked``.
        connect_id: The id of the latest connect attempt.
        code: The code the latest attempt "sent" (``None`` once used).
        code_expires_at: When that code stops working.
        connected_at: When the customer verified, or ``None``.
        revoked_at: When the connection was revoked, or ``None``.
    """

    handle: str
    status: str
    connect_id: str
    code: str | None
    code_expires_at: dt.datetime
    connected_at: dt.datetime | None = None
    revoked_at: dt.datetime | None = None

    def wire(self) -> dict[str, Any]:
        """The connection's JSON object."""
        return _present(
            handle=self.handle,
            status=self.status,
            connected_at=self.connected_at and iso(self.connected_at),
            revoked_at=self.revoked_at and iso(self.revoked_at),
        )


def _initial_providers() -> dict[str, str]:
    return dict.fromkeys(PROVIDERS, "not_connected")


@attrs.define(kw_only=True, eq=False)
class PaymentsState:
    """The payments area's state (one per fake)."""

    providers: dict[str, str] = attrs.field(factory=_initial_providers)
    connected_at: dict[str, dt.datetime] = attrs.field(factory=dict)
    requests: dict[str, FakePaymentRequest] = attrs.field(factory=dict)
    payments: dict[str, FakePayment] = attrs.field(factory=dict)
    connections: dict[str, FakeHandleConnection] = attrs.field(factory=dict)

    def provider(self, name: str) -> str:
        """The status of provider ``name``; 404 when the fake does not know it."""
        status = self.providers.get(name)
        if status is None:
            raise ApiError(404, 2001, f"Payment provider {name!r} not found")
        return status

    def request(self, request_id: str) -> FakePaymentRequest:
        """The payment request ``request_id``; 404 when there is none."""
        found = self.requests.get(request_id)
        if found is None:
            raise ApiError(404, 2001, f"Payment request {request_id} not found")
        return found

    def payment(self, payment_id: str) -> FakePayment:
        """The payment ``payment_id``; 404 when there is none."""
        found = self.payments.get(payment_id)
        if found is None:
            raise ApiError(404, 2001, f"Payment {payment_id} not found")
        return found

    def connection(self, handle: str) -> FakeHandleConnection:
        """The verified (active or revoked) connection of ``handle``; 404 otherwise."""
        found = self.connections.get(handle)
        if found is None or found.connected_at is None:
            raise ApiError(404, 2001, f"No payment connection for {handle}")
        return found

    def mark_paid(self, request_id: str, now: dt.datetime) -> FakePaymentRequest:
        """The customer pays a pending request (the fake's stand-in for Stripe checkout)."""
        found = self.request(request_id)
        if found.status != "pending":
            raise ValueError(f"payment request {request_id} is {found.status}, not pending")
        found.status = "paid"
        found.paid_at = now
        return found


def _present(**fields: Any) -> dict[str, Any]:
    return {key: value for key, value in fields.items() if value is not None}


def _currency(value: Any, where: str) -> str:
    if not isinstance(value, str) or not _CURRENCY.fullmatch(value):
        raise bad(1005, f"{where} must be a three-letter ISO 4217 code")
    return value


def _handle(call: Call) -> str:
    return email_or_phone(call.params["handle"], "handle")


def _card_number() -> str:
    digits = [4] + [secrets.randbelow(10) for _ in range(14)]
    total = 0
    for index, digit in enumerate(reversed(digits)):
        if index % 2 == 0:  # doubled: the check digit will sit to the right of it
            digit *= 2
            digit -= 9 if digit > 9 else 0
        total += digit
    return "".join(map(str, digits)) + str((10 - total % 10) % 10)


# Providers


def get_provider(call: Call) -> dict[str, Any]:
    """``GET /v3/payments/providers/{provider}``."""
    state = call.area(PaymentsState)
    name = call.params["provider"]
    connected_at = state.connected_at.get(name)
    return _present(
        provider=name,
        status=state.provider(name),
        connected_at=connected_at and iso(connected_at),
    )


def connect_provider(call: Call) -> dict[str, Any]:
    """``POST /v3/payments/providers/{provider}/connect``: an onboarding link."""
    state = call.area(PaymentsState)
    name = call.params["provider"]
    if state.provider(name) == "not_connected":
        state.providers[name] = "pending"
    return {
        "provider": name,
        "url": f"https://connect.stripe.example/setup/{secrets.token_hex(8)}",
        "expires_at": iso(call.now() + dt.timedelta(minutes=5)),
    }


# Payment requests


def create_payment_request(call: Call) -> dict[str, Any]:
    """``POST /v3/payment_requests``: 403 until Stripe is connected."""
    state = call.area(PaymentsState)
    if state.providers["stripe"] != "connected":
        raise ApiError(403, 2005, "Connect Stripe before creating payment requests")
    chat_id = call.body.get("chat_id")
    if chat_id is not None:
        call.chat(chat_id)
    request_id = call.new_id()
    created = FakePaymentRequest(
        id=request_id,
        status="pending",
        amount=call.body["amount"],
        currency=call.body["currency"],
        description=call.body.get("description"),
        chat_id=chat_id,
        url=f"https://checkout.stripe.example/c/pay/{request_id}",
        idempotency_key=call.idempotency_key,
        created_at=call.now(),
    )
    state.requests[request_id] = created
    return created.wire()


def list_payment_requests(call: Call) -> dict[str, Any]:
    """``GET /v3/payment_requests``: newest first, by ``offset`` and ``limit`` (default 20)."""
    state = call.area(PaymentsState)
    status = call.query.get("status")
    items = [r for r in reversed(state.requests.values()) if status in (None, r.status)]
    offset = call.query.get("offset", 0)
    end = offset + call.query.get("limit", 20)
    return {
        "payment_requests": [r.wire() for r in items[offset:end]],
        "has_more": end < len(items),
    }


def get_payment_request(call: Call) -> dict[str, Any]:
    """``GET /v3/payment_requests/{paymentRequestId}``."""
    return call.area(PaymentsState).request(call.params["paymentRequestId"]).wire()


def cancel_payment_request(call: Call) -> dict[str, Any]:
    """``POST /v3/payment_requests/{paymentRequestId}/cancel``: unpaid only, else 409."""
    found = call.area(PaymentsState).request(call.params["paymentRequestId"])
    if found.status == "pending":
        found.status = "canceled"
        found.canceled_at = call.now()
        call.emit("payment.canceled", found.wire())
    elif found.status != "canceled":
        raise ApiError(409, _CONFLICT, f"Payment request {found.id} is {found.status}")
    return found.wire()


# Handles


def connect_handle(call: Call) -> dict[str, Any]:
    """``POST /v3/payments/handles/{handle}/connect``: "sends" a code to the customer."""
    state = call.area(PaymentsState)
    handle = _handle(call)
    expires = call.now() + CODE_TTL
    code = f"{secrets.randbelow(10**6):06d}"
    connect_id = call.new_id()
    existing = state.connections.get(handle)
    if existing is None:
        existing = state.connections[handle] = FakeHandleConnection(
            handle=handle,
            status="pending_verification",
            connect_id=connect_id,
            code=code,
            code_expires_at=expires,
        )
    else:  # a new attempt replaces the last one; an active connection stays active
        existing.connect_id, existing.code, existing.code_expires_at = connect_id, code, expires
    return {
        "connect_id": connect_id,
        "handle": handle,
        "status": "pending_verification",
        "expires_at": iso(expires),
    }


def verify_handle(call: Call) -> dict[str, Any]:
    """``POST /v3/payments/handles/{handle}/verify``: the code and ``connect_id``."""
    state = call.area(PaymentsState)
    handle = _handle(call)
    found = state.connections.get(handle)
    if found is None or found.connect_id != call.body["connect_id"]:
        raise ApiError(404, 2001, f"No connect attempt {call.body['connect_id']} for {handle}")
    if found.code is None or call.now() > found.code_expires_at:
        raise bad(1005, "the verification code has expired or was used; connect again")
    if not secrets.compare_digest(found.code, call.body["code"]):
        raise bad(1005, "the verification code is wrong")
    found.code = None
    found.status = "active"
    found.connected_at = call.now()
    found.revoked_at = None
    call.emit("connection.created", found.wire())
    return found.wire()


def get_connection(call: Call) -> dict[str, Any]:
    """``GET /v3/payments/handles/{handle}/connection``."""
    return call.area(PaymentsState).connection(_handle(call)).wire()


def revoke_connection(call: Call) -> None:
    """``DELETE /v3/payments/handles/{handle}/connection``: 204, again on a repeat."""
    found = call.area(PaymentsState).connection(_handle(call))
    if found.status == "active":
        found.status = "revoked"
        found.revoked_at = call.now()
        call.emit("connection.revoked", found.wire())


# Payments


def create_payment(call: Call) -> dict[str, Any]:
    """``POST /v3/payments``: the handle needs an active connection (else 403)."""
    state = call.area(PaymentsState)
    handle = call.body["handle"]
    connection = state.connections.get(handle)
    if connection is None or connection.status != "active":
        raise ApiError(403, 2005, f"{handle} has no active payment connection")
    now = call.now()
    payment = FakePayment(
        id=call.new_id(),
        status="authorized",
        handle=handle,
        amount=call.body["amount"],
        currency=call.body["currency"],
        description=call.body.get("description"),
        idempotency_key=call.idempotency_key,
        created_at=now,
        card_number=_card_number(),
        card_cvc=f"{secrets.randbelow(1000):03d}",
        card_exp_month=1 + secrets.randbelow(12),
        card_exp_year=now.year + 2,
    )
    state.payments[payment.id] = payment
    call.emit("payment.authorized", payment.wire())
    return payment.wire()


def get_payment(call: Call) -> dict[str, Any]:
    """``GET /v3/payments/{paymentId}``."""
    return call.area(PaymentsState).payment(call.params["paymentId"]).wire()


def cancel_payment(call: Call) -> dict[str, Any]:
    """``POST /v3/payments/{paymentId}/cancel``: authorized only, else 409."""
    payment = call.area(PaymentsState).payment(call.params["paymentId"])
    if payment.status == "authorized":
        payment.status = "canceled"
        payment.canceled_at = call.now()
        call.emit("payment.canceled", payment.wire())
    elif payment.status != "canceled":
        raise ApiError(409, _CONFLICT, f"Payment {payment.id} is {payment.status}")
    return payment.wire()


def payment_credentials(call: Call) -> dict[str, Any]:
    """``GET /v3/payments/{paymentId}/credentials``: the card, while authorized (else 409)."""
    payment = call.area(PaymentsState).payment(call.params["paymentId"])
    if payment.status != "authorized":
        raise ApiError(409, _CONFLICT, f"Payment {payment.id} is {payment.status}: no card")
    return {
        "payment_id": payment.id,
        "number": payment.card_number,
        "cvc": payment.card_cvc,
        "exp_month": payment.card_exp_month,
        "exp_year": payment.card_exp_year,
        "last4": payment.card_number[-4:],
        "brand": "visa",
        "expires_at": iso(call.now() + CREDENTIALS_TTL),
    }


_AMOUNT = req(integer(low=1))
_CURRENCY_FIELD = req(_currency)
_DESCRIPTION = opt(string())

ENDPOINTS = [
    Endpoint(method="GET", route="/v3/payments/providers/{provider}", handler=get_provider),
    Endpoint(
        method="POST",
        route="/v3/payments/providers/{provider}/connect",
        handler=connect_provider,
        body=obj({"return_url": req(https_url())}),
    ),
    Endpoint(
        method="POST",
        route="/v3/payment_requests",
        handler=create_payment_request,
        body=obj(
            {
                "amount": _AMOUNT,
                "currency": _CURRENCY_FIELD,
                "description": _DESCRIPTION,
                "chat_id": opt(string()),
            }
        ),
        status=201,
        idempotency_header=True,
    ),
    Endpoint(
        method="GET",
        route="/v3/payment_requests",
        handler=list_payment_requests,
        query={
            "status": opt(one_of(*REQUEST_STATUSES)),
            "limit": opt(query_int(low=1, high=100)),
            "offset": opt(query_int(low=0, high=10**9)),
        },
    ),
    Endpoint(
        method="GET",
        route="/v3/payment_requests/{paymentRequestId}",
        handler=get_payment_request,
    ),
    Endpoint(
        method="POST",
        route="/v3/payment_requests/{paymentRequestId}/cancel",
        handler=cancel_payment_request,
    ),
    Endpoint(method="POST", route="/v3/payments/handles/{handle}/connect", handler=connect_handle),
    Endpoint(
        method="POST",
        route="/v3/payments/handles/{handle}/verify",
        handler=verify_handle,
        body=obj({"code": req(string()), "connect_id": req(string())}),
    ),
    Endpoint(
        method="GET", route="/v3/payments/handles/{handle}/connection", handler=get_connection
    ),
    Endpoint(
        method="DELETE",
        route="/v3/payments/handles/{handle}/connection",
        handler=revoke_connection,
    ),
    Endpoint(
        method="POST",
        route="/v3/payments",
        handler=create_payment,
        body=obj(
            {
                "handle": req(email_or_phone),
                "amount": _AMOUNT,
                "currency": _CURRENCY_FIELD,
                "description": _DESCRIPTION,
            }
        ),
        status=201,
        idempotency_header=True,
    ),
    Endpoint(method="GET", route="/v3/payments/{paymentId}", handler=get_payment),
    Endpoint(method="POST", route="/v3/payments/{paymentId}/cancel", handler=cancel_payment),
    Endpoint(
        method="GET", route="/v3/payments/{paymentId}/credentials", handler=payment_credentials
    ),
]
