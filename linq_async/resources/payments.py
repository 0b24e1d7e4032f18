"""``linq.payments``: agent payments with virtual cards, payment providers, payer handles."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property
from typing import Any

import attrs

from .._errors import APIStatusError, ResponseValidationError
from .._model import materialize
from .._validation import (
    check_amount,
    check_currency,
    check_extra_body,
    check_handle,
    check_https_url,
    check_idempotency_key,
    check_optional_string,
    check_string,
)
from ..models import (
    HandleConnectAttempt,
    Payment,
    PaymentConnection,
    PaymentCredentials,
    PaymentProvider,
    ProviderOnboarding,
)
from ._base import RequestBody, Resource

__all__ = ["PaymentHandles", "PaymentProviders", "Payments"]


@attrs.define(kw_only=True)
class _CreatePayment(RequestBody):
    idempotency_header = True
    handle: str
    amount: int
    currency: str
    description: str | None = None


# extra_body may not repeat a named field (its local check would be bypassed).
_NAMED = tuple(field.name for field in attrs.fields(_CreatePayment))


@attrs.define(kw_only=True)
class _ReturnUrl(RequestBody):
    return_url: str


@attrs.define(kw_only=True)
class _Verify(RequestBody):
    code: str
    connect_id: str


class PaymentProviders(Resource):
    """Payment providers (Stripe) your account collects through: ``linq.payments.providers``.

    Providers are named as the API names them (``"stripe"``); the name is not checked
    locally beyond being a valid path segment, as Linq may add providers.
    """

    async def get(self, provider: str) -> PaymentProvider:
        """A provider's onboarding status (``GET /v3/payments/providers/{provider}``).

        Args:
            provider: e.g. ``"stripe"``.

        Raises:
            NotFoundError: no such provider.
        """
        return await self._request(
            "GET", "/v3/payments/providers/{provider}", provider, cast_to=PaymentProvider
        )

    async def connect(self, provider: str, *, return_url: str) -> ProviderOnboarding:
        """Start connecting a provider (``POST /v3/payments/providers/{provider}/connect``).

        Send the user to the returned ``url``; the provider sends them back to
        ``return_url`` when they are done. `get` then says ``connected``. Retried like a
        read when the answer is lost: another onboarding link is harmless.

        Args:
            provider: e.g. ``"stripe"``.
            return_url: where the provider sends the user back: an ``https://`` URL (at
                most 2048 characters).

        Raises:
            LinqUsageError: ``return_url`` is not an https URL (nothing is sent).
            NotFoundError: no such provider.
        """
        body = _ReturnUrl(return_url=check_https_url(return_url, what="return_url"))
        return await self._request(
            "POST",
            "/v3/payments/providers/{provider}/connect",
            provider,
            body=body,
            cast_to=ProviderOnboarding,
            safe_reason="another onboarding link is harmless; the user follows one of them",
        )


class PaymentHandles(Resource):
    """Customers' consent to fund agent payments: ``linq.payments.handles``.

    A handle (E.164 phone number or email) goes in the path as is, ``+`` and ``@``
    included. The flow: `connect` sends the customer a code, `verify` completes the
    connection with it, `get_connection` reads it, `revoke` ends it.
    """

    async def connect(self, handle: str) -> HandleConnectAttempt:
        """Start a customer's consent (``POST /v3/payments/handles/{handle}/connect``).

        The API sends the customer a verification code. Not retried once it may have
        reached the API: a repeat would send the customer another code.

        Args:
            handle: the customer, E.164 or email.

        Returns:
            The attempt; its ``connect_id`` goes to `verify` with the customer's code.

        Raises:
            LinqUsageError: ``handle`` is not E.164 or an email (nothing is sent).
        """
        return await self._request(
            "POST",
            "/v3/payments/handles/{handle}/connect",
            check_handle(handle, what="handle"),
            cast_to=HandleConnectAttempt,
        )

    async def verify(self, handle: str, *, code: str, connect_id: str) -> PaymentConnection:
        """Finish a customer's consent (``POST /v3/payments/handles/{handle}/verify``).

        Not retried once it may have reached the API: a code works once, so a repeat of
        a verify that succeeded would fail.

        Args:
            handle: the customer, E.164 or email, as given to `connect`.
            code: the code the customer received (its format is not documented, so it
                is only checked to be a non-empty string).
            connect_id: from `connect`'s answer.

        Returns:
            The connection, ``status`` ``active``.

        Raises:
            LinqUsageError: an argument is invalid (nothing is sent).
            BadRequestError: the code is wrong or expired.
            NotFoundError: no such connect attempt for this handle.
        """
        body = _Verify(
            code=check_string(code, what="code"),
            connect_id=check_string(connect_id, what="connect_id"),
        )
        return await self._request(
            "POST",
            "/v3/payments/handles/{handle}/verify",
            check_handle(handle, what="handle"),
            body=body,
            cast_to=PaymentConnection,
        )

    async def get_connection(self, handle: str) -> PaymentConnection:
        """A customer's connection (``GET /v3/payments/handles/{handle}/connection``).

        Raises:
            LinqUsageError: ``handle`` is not E.164 or an email (nothing is sent).
            NotFoundError: the customer never completed a connection.
        """
        return await self._request(
            "GET",
            "/v3/payments/handles/{handle}/connection",
            check_handle(handle, what="handle"),
            cast_to=PaymentConnection,
        )

    async def revoke(self, handle: str) -> None:
        """End a customer's connection (``DELETE /v3/payments/handles/{handle}/connection``).

        Raises:
            LinqUsageError: ``handle`` is not E.164 or an email (nothing is sent).
            NotFoundError: the customer never completed a connection.
        """
        await self._request(
            "DELETE",
            "/v3/payments/handles/{handle}/connection",
            check_handle(handle, what="handle"),
            cast_to=None,
        )


class Payments(Resource):
    """Agent virtual-card payments: ``linq.payments``. Sub-namespaces: ``providers``, ``handles``.

    An agent pays a merchant for a customer: the customer consents once
    (``linq.payments.handles``), then each `create` authorizes an amount on a short-lived
    virtual card, whose details `credentials` hands over.
    """

    @cached_property
    def providers(self) -> PaymentProviders:
        """Payment providers (Stripe) and their onboarding."""
        return PaymentProviders(self._transport)

    @cached_property
    def handles(self) -> PaymentHandles:
        """Customers' consent to fund payments."""
        return PaymentHandles(self._transport)

    async def create(
        self,
        *,
        handle: str,
        amount: int,
        currency: str,
        description: str | None = None,
        extra_body: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> Payment:
        """Authorize an agent payment on a virtual card (``POST /v3/payments``).

        Linq does not document this route's body fields. The named arguments are this
        SDK's reading of it, sent under these wire names: ``handle``, ``amount``,
        ``currency``, ``description``. Pass any other field the API takes in
        ``extra_body``.

        The request carries an ``Idempotency-Key`` header: yours, or one minted for this
        call. Every retry of the call reuses it, so a lost answer never authorizes twice.

        Args:
            handle: the customer whose connection funds it, E.164 or email.
            amount: the amount in minor units (cents for ``usd``): an int of at least 1.
            currency: an ISO 4217 code, three letters (``"usd"``), sent as given.
            description: what the payment is for.
            extra_body: more body fields, for wire fields this SDK does not name (JSON
                values; the named fields above may not be repeated here).
            idempotency_key: your key (1-255 printable ASCII characters), to make repeating the call
                itself safe, e.g. across a restart.

        Returns:
            The payment, ``status`` ``authorized`` when its card is ready.

        Raises:
            LinqUsageError: an argument is invalid (nothing is sent).
            PermissionDeniedError: the handle has no active connection (403).
        """
        body = _CreatePayment(
            handle=check_handle(handle, what="handle"),
            amount=check_amount(amount),
            currency=check_currency(currency),
            description=check_optional_string(description, what="description"),
        )
        return await self._request(
            "POST",
            "/v3/payments",
            body=body,
            cast_to=Payment,
            idempotency_key=check_idempotency_key(idempotency_key),
            extra_body=check_extra_body(extra_body, named=_NAMED),
        )

    async def get(self, payment_id: str) -> Payment:
        """Fetch one payment (``GET /v3/payments/{paymentId}``).

        Raises:
            NotFoundError: no such payment.
        """
        return await self._request("GET", "/v3/payments/{paymentId}", payment_id, cast_to=Payment)

    async def cancel(self, payment_id: str) -> Payment:
        """Cancel a payment before its card is charged (``POST /v3/payments/{paymentId}/cancel``).

        Retried like a read when the answer is lost: canceling twice leaves it canceled.

        Returns:
            The payment, ``status`` ``canceled``.

        Raises:
            ConflictError: the payment can no longer be canceled (it succeeded): 409.
            NotFoundError: no such payment.
        """
        return await self._request(
            "POST",
            "/v3/payments/{paymentId}/cancel",
            payment_id,
            cast_to=Payment,
            safe_reason="canceling a payment twice leaves it canceled",
        )

    async def credentials(self, payment_id: str) -> PaymentCredentials:
        """A payment's virtual card (``GET /v3/payments/{paymentId}/credentials``).

        The card data is secret and short-lived: ``number``, ``cvc``, ``exp_month`` and
        ``exp_year`` are `Secret` values; read them with ``.reveal()`` where the card is
        used. Nothing this call raises quotes or holds the answer: a malformed answer
        raises `ResponseValidationError` naming the field only, an error status keeps only
        the documented error fields as its ``body``, and the error is raised afresh here,
        without the frames (and locals) of the code that read the answer.

        Raises:
            ConflictError: the payment has no usable card (canceled, succeeded): 409.
            NotFoundError: no such payment.
            ResponseValidationError: the answer did not fit `PaymentCredentials`.
        """
        try:
            card = await self._request(
                "GET",
                "/v3/payments/{paymentId}/credentials",
                payment_id,
                cast_to=PaymentCredentials,
                secret=True,
            )
            return materialize(card)
        except (APIStatusError, ResponseValidationError) as exc:
            failure = exc
        # Outside the handler, so nothing is chained: the frames below held the answer.
        failure.__cause__ = failure.__context__ = None
        raise failure.with_traceback(None)
