"""``linq.payment_requests``: ask a customer for money through a Stripe checkout page."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from .._pager import AsyncPager
from .._validation import (
    check_amount,
    check_currency,
    check_extra_body,
    check_idempotency_key,
    check_limit,
    check_optional_string,
    check_string,
)
from ..models import PaymentRequest
from ._base import RequestBody, Resource

__all__ = ["PaymentRequests"]


@attrs.define(kw_only=True)
class _CreatePaymentRequest(RequestBody):
    idempotency_header = True
    amount: int
    currency: str
    description: str | None = None
    chat_id: str | None = None


# extra_body may not repeat a named field (its local check would be bypassed).
_NAMED = tuple(field.name for field in attrs.fields(_CreatePaymentRequest))


class PaymentRequests(Resource):
    """Stripe checkout requests: ``linq.payment_requests``.

    Payment requests need a connected Stripe account (`PaymentProviders.connect`); until
    then the API answers 403.
    """

    async def create(
        self,
        *,
        amount: int,
        currency: str,
        description: str | None = None,
        chat_id: str | None = None,
        extra_body: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> PaymentRequest:
        """Create a payment request (``POST /v3/payment_requests``).

        Linq does not document this route's body fields. The named arguments are this
        SDK's reading of it, sent under these wire names: ``amount``, ``currency``,
        ``description``, ``chat_id``. Pass any other field the API takes in
        ``extra_body``.

        The request carries an ``Idempotency-Key`` header: yours, or one minted for this
        call. Every retry of the call reuses it, so a retry after a lost answer gets the
        first answer back instead of a second request.

        Args:
            amount: the amount in minor units (cents for ``usd``): an int of at least 1.
            currency: an ISO 4217 code, three letters (``"usd"``), sent as given.
            description: what the payment is for, shown to the customer.
            chat_id: the chat to send the request into.
            extra_body: more body fields, for wire fields this SDK does not name (JSON
                values; the named fields above may not be repeated here).
            idempotency_key: your key (1-255 printable ASCII characters), to make repeating the call
                itself safe, e.g. across a restart.

        Returns:
            The payment request, ``status`` ``pending`` until paid.

        Raises:
            LinqUsageError: an argument is invalid (nothing is sent).
            PermissionDeniedError: Stripe is not connected yet (403).
            NotFoundError: no such chat.
        """
        body = _CreatePaymentRequest(
            amount=check_amount(amount),
            currency=check_currency(currency),
            description=check_optional_string(description, what="description"),
            chat_id=check_optional_string(chat_id, what="chat_id"),
        )
        return await self._request(
            "POST",
            "/v3/payment_requests",
            body=body,
            cast_to=PaymentRequest,
            idempotency_key=check_idempotency_key(idempotency_key),
            extra_body=check_extra_body(extra_body, named=_NAMED),
        )

    def list(
        self, *, status: str | None = None, limit: int | None = None
    ) -> AsyncPager[PaymentRequest]:
        """Payment requests, across pages (``GET /v3/payment_requests``).

        ``async for request in linq.payment_requests.list(status="pending"): ...``, or
        await it for the first `Page`.

        This list pages by offset (``limit``, ``offset``), not by cursor: a page's
        ``next_cursor`` is the next offset as a string (``"40"``), and
        ``.page("40")`` resumes there. The list ends at an empty page or when the answer
        says ``has_more: false``. Requests created while you iterate shift the offsets, so
        an item may repeat or be skipped across pages.

        Args:
            status: only requests with this status (``pending``, ``paid``, ``canceled``,
                ``expired`` ...; not checked locally beyond being a non-empty string,
                since Linq does not document the set).
            limit: requests per page (1-100; the API's default when omitted).

        Raises:
            LinqUsageError: ``status`` or ``limit`` is invalid (nothing is sent).
        """
        query: dict[str, str] = {}
        if status is not None:
            query["status"] = check_string(status, what="status")
        if limit is not None:
            query["limit"] = str(check_limit(limit))
        return self._offset_pager(
            "/v3/payment_requests", item=PaymentRequest, envelope="payment_requests", query=query
        )

    async def get(self, payment_request_id: str) -> PaymentRequest:
        """Fetch one payment request (``GET /v3/payment_requests/{paymentRequestId}``).

        Raises:
            NotFoundError: no such payment request.
        """
        return await self._request(
            "GET",
            "/v3/payment_requests/{paymentRequestId}",
            payment_request_id,
            cast_to=PaymentRequest,
        )

    async def cancel(self, payment_request_id: str) -> PaymentRequest:
        """Cancel an unpaid payment request.

        ``POST /v3/payment_requests/{paymentRequestId}/cancel``.

        Retried like a read when the answer is lost: canceling twice leaves the request
        canceled. (Linq does not say what a repeated cancel answers; the fake answers the
        canceled request again. Should the API answer a repeat with 409, the first attempt
        did cancel it: `get` tells.)

        Returns:
            The payment request, ``status`` ``canceled``.

        Raises:
            ConflictError: the request is no longer unpaid (paid, expired): 409.
            NotFoundError: no such payment request.
        """
        return await self._request(
            "POST",
            "/v3/payment_requests/{paymentRequestId}/cancel",
            payment_request_id,
            cast_to=PaymentRequest,
            safe_reason="canceling a payment request twice leaves it canceled",
        )
