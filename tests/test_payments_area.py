"""The payments area over real sockets: each endpoint's wire request, typed result and local checks.

Also the card data of ``payments.credentials``: never in a repr, a log record, a pickle, an
exception's text or anything reachable from an exception.
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import pickle
import traceback
from datetime import datetime
from typing import Any

import attrs
import pytest
from _support import SENDER, SleepRecorder, api_requests

from linq_async import (
    BadRequestError,
    ConflictError,
    HandleConnectAttempt,
    LinqConnectionError,
    LinqSession,
    LinqUsageError,
    NotFoundError,
    Page,
    Payment,
    PaymentConnection,
    PaymentCredentials,
    PaymentProvider,
    PaymentRequest,
    PermissionDeniedError,
    ProviderOnboarding,
    ResponseValidationError,
    Secret,
)
from linq_async._model import unknown_keys
from linq_async.testing import FakeLinqServer

CUSTOMER = "+15550001111"
EMAIL = "pal@example.com"
RETURN_URL = "https://example.com/stripe/done"
# A card number that only the injected answers below carry.
PLANTED = "4000056655665556"


async def connect_customer(linq: LinqSession, fake: FakeLinqServer, handle: str = CUSTOMER) -> None:
    attempt = await linq.payments.handles.connect(handle)
    code = fake.payment_verification_code(handle)
    await linq.payments.handles.verify(handle, code=code, connect_id=attempt.connect_id)


async def authorized_payment(linq: LinqSession, fake: FakeLinqServer) -> Payment:
    await connect_customer(linq, fake)
    return await linq.payments.create(handle=CUSTOMER, amount=2500, currency="usd")


def shown_by_frames(error: BaseException) -> str:
    """The reprs of the locals of every frame an error's traceback reaches, but the tests'."""
    shown = []
    for frame, _ in traceback.walk_tb(error.__traceback__):
        if frame.f_code.co_filename == __file__:
            continue
        for value in frame.f_locals.values():
            try:
                shown.append(repr(value))
            except Exception as exc:  # a half-loaded model may refuse; that shows nothing
                shown.append(type(exc).__name__)
    return "\n".join(shown)


# Providers


async def test_provider_get_follows_onboarding(linq: LinqSession, fake: FakeLinqServer) -> None:
    """GET /v3/payments/providers/{provider}: not_connected, then pending, then connected."""
    before = await linq.payments.providers.get("stripe")
    assert isinstance(before, PaymentProvider)
    assert (before.provider, before.status, before.connected) == ("stripe", "not_connected", False)
    await linq.payments.providers.connect("stripe", return_url=RETURN_URL)
    assert (await linq.payments.providers.get("stripe")).status == "pending"
    fake.connect_payment_provider("stripe")
    after = await linq.payments.providers.get("stripe")
    assert after.connected
    assert isinstance(after.connected_at, datetime)
    get = api_requests(fake)[0]
    assert (get.method, get.path) == ("GET", "/api/partner/v3/payments/providers/stripe")


async def test_provider_connect_posts_the_return_url(
    linq: LinqSession, fake: FakeLinqServer
) -> None:
    """POST /v3/payments/providers/{provider}/connect with {return_url}: an onboarding link."""
    onboarding = await linq.payments.providers.connect("stripe", return_url=RETURN_URL)
    assert isinstance(onboarding, ProviderOnboarding)
    assert onboarding.url.startswith("https://")
    assert onboarding.provider == "stripe"
    assert isinstance(onboarding.expires_at, datetime)
    (sent,) = api_requests(fake)
    assert (sent.method, sent.path) == ("POST", "/api/partner/v3/payments/providers/stripe/connect")
    assert sent.json() == {"return_url": RETURN_URL}


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com/done",
        "HTTPS://example.com/done",
        "https://",
        "https:///path",
        "https://exa mple.com/",
        "https://example.com/a\nb",
        "ftp://example.com",
        "example.com/done",
        "https://example.com/" + "a" * 2030,
        "",
        None,
        42,
    ],
)
async def test_provider_connect_refuses_a_return_url_that_is_not_https(
    linq: LinqSession, fake: FakeLinqServer, url: object
) -> None:
    """return_url must be an https:// URL with a host, at most 2048 characters: nothing sent."""
    with pytest.raises(LinqUsageError, match="return_url"):
        await linq.payments.providers.connect("stripe", return_url=url)  # type: ignore[arg-type]
    assert fake.requests == []


async def test_unknown_provider_is_not_found(linq: LinqSession, fake: FakeLinqServer) -> None:
    """A provider the API does not know answers 404 (the name is open, so it is sent)."""
    with pytest.raises(NotFoundError):
        await linq.payments.providers.get("paypal")
    assert len(api_requests(fake)) == 1


@pytest.mark.parametrize("provider", ["", "  ", "a/b", ".."])
async def test_provider_must_be_one_path_segment(
    linq: LinqSession, fake: FakeLinqServer, provider: str
) -> None:
    """A provider name that would change the path is refused with nothing sent."""
    with pytest.raises(LinqUsageError, match="provider"):
        await linq.payments.providers.get(provider)
    assert fake.requests == []


# Payment requests


async def test_payment_request_before_stripe_is_connected_is_403(
    linq: LinqSession, fake: FakeLinqServer
) -> None:
    """POST /v3/payment_requests answers 403 (code 2005) until Stripe is connected."""
    with pytest.raises(PermissionDeniedError) as info:
        await linq.payment_requests.create(amount=100, currency="usd")
    assert info.value.code == 2005
    assert fake.payment_requests == {}


async def test_payment_request_create_sends_fields_and_a_minted_key_header(
    linq: LinqSession, fake: FakeLinqServer
) -> None:
    """POST /v3/payment_requests: the named wire fields in the body, the key in a header."""
    fake.connect_payment_provider()
    created = await linq.payment_requests.create(amount=1500, currency="usd", description="Haircut")
    assert isinstance(created, PaymentRequest)
    assert (created.status, created.amount, created.currency) == ("pending", 1500, "usd")
    assert created.description == "Haircut"
    assert created.url is not None
    assert created.url.startswith("https://")
    assert isinstance(created.created_at, datetime)
    (sent,) = api_requests(fake)
    assert (sent.method, sent.path) == ("POST", "/api/partner/v3/payment_requests")
    assert sent.json() == {"amount": 1500, "currency": "usd", "description": "Haircut"}
    key = sent.headers["Idempotency-Key"]
    assert len(key) == 32
    assert int(key, 16) >= 0
    assert fake.payment_requests[created.id].idempotency_key == key


async def test_payment_request_into_a_chat(linq: LinqSession, fake: FakeLinqServer) -> None:
    """chat_id goes in the body; a chat the API does not know is 404."""
    fake.connect_payment_provider()
    chat = await linq.chats.create(from_=SENDER, to=CUSTOMER, text="hi")
    fake.requests.clear()
    created = await linq.payment_requests.create(amount=700, currency="EUR", chat_id=chat.chat.id)
    assert created.chat_id == chat.chat.id
    assert api_requests(fake)[0].json() == {
        "amount": 700,
        "currency": "EUR",
        "chat_id": chat.chat.id,
    }
    with pytest.raises(NotFoundError):
        await linq.payment_requests.create(amount=700, currency="eur", chat_id="no-such-chat")


async def test_payment_request_key_from_the_caller_replays(
    linq: LinqSession, fake: FakeLinqServer
) -> None:
    """The caller's idempotency_key is the header; repeating the call answers the first one."""
    fake.connect_payment_provider()
    first = await linq.payment_requests.create(
        amount=900, currency="usd", idempotency_key="order-42"
    )
    again = await linq.payment_requests.create(
        amount=900, currency="usd", idempotency_key="order-42"
    )
    assert again.id == first.id
    assert [r.headers["Idempotency-Key"] for r in api_requests(fake)] == ["order-42"] * 2
    assert list(fake.payment_requests) == [first.id]


async def test_payment_request_retried_after_a_lost_answer_is_created_once(
    linq: LinqSession, fake: FakeLinqServer, sleeps: SleepRecorder
) -> None:
    """A lost answer is retried with the same Idempotency-Key: exactly one payment request."""
    fake.connect_payment_provider()
    fake.drop_next_response(method="POST", path="/v3/payment_requests")
    created = await linq.payment_requests.create(amount=500, currency="usd")
    first, second = api_requests(fake)
    assert first.dropped
    assert second.status == 201
    assert first.headers["Idempotency-Key"] == second.headers["Idempotency-Key"]
    assert first.body == second.body
    assert list(fake.payment_requests) == [created.id]
    assert len(sleeps.delays) == 1


@pytest.mark.parametrize(
    ("arguments", "match"),
    [
        ({"amount": 0}, "amount"),
        ({"amount": -100}, "amount"),
        ({"amount": 12.5}, "amount"),
        ({"amount": True}, "amount"),
        ({"amount": "100"}, "amount"),
        ({"amount": None}, "amount"),
        ({"currency": "us"}, "currency"),
        ({"currency": "usdd"}, "currency"),
        ({"currency": "u$d"}, "currency"),
        ({"currency": "\uff55sd"}, "currency"),
        ({"currency": ""}, "currency"),
        ({"currency": 840}, "currency"),
        ({"description": ""}, "description"),
        ({"description": "bad \ud800"}, "description"),
        ({"chat_id": ""}, "chat_id"),
        ({"idempotency_key": ""}, "idempotency_key"),
        ({"idempotency_key": "k" * 256}, "idempotency_key"),
    ],
)
async def test_payment_request_create_checks_fields_before_sending(
    linq: LinqSession, fake: FakeLinqServer, arguments: dict[str, Any], match: str
) -> None:
    """amount (int >= 1), currency (3 letters) and the optional strings are checked locally."""
    fake.connect_payment_provider()
    with pytest.raises(LinqUsageError, match=match):
        await linq.payment_requests.create(**{"amount": 100, "currency": "usd", **arguments})
    assert fake.requests == []


async def test_payment_request_extra_body_goes_on_the_wire(
    linq: LinqSession, fake: FakeLinqServer
) -> None:
    """extra_body keys are sent beside the named fields (the fake, knowing none, refuses them)."""
    fake.connect_payment_provider()
    with pytest.raises(BadRequestError, match="metadata") as info:
        await linq.payment_requests.create(
            amount=100, currency="usd", extra_body={"metadata": {"order": "42"}}
        )
    assert info.value.code == 1005
    (sent,) = api_requests(fake)
    assert sent.json() == {"amount": 100, "currency": "usd", "metadata": {"order": "42"}}
    assert "Idempotency-Key" in sent.headers


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        ({"amount": 5}, "amount="),
        ({"currency": "usd"}, "currency="),
        ({"description": "x"}, "description="),
        ({"chat_id": "x"}, "chat_id="),
        ({1: "x"}, "keys"),
        ({"": "x"}, "keys"),
        ({"when": datetime(2026, 1, 1)}, r"extra_body\.when .*datetime"),
        ({"ratio": float("nan")}, r"extra_body\.ratio .*finite"),
        (["metadata"], "mapping"),
    ],
)
async def test_extra_body_is_checked_before_sending(
    linq: LinqSession, fake: FakeLinqServer, extra: Any, match: str
) -> None:
    """extra_body: string keys, JSON values, and no named field smuggled past its check."""
    fake.connect_payment_provider()
    with pytest.raises(LinqUsageError, match=match):
        await linq.payment_requests.create(amount=100, currency="usd", extra_body=extra)
    with pytest.raises(LinqUsageError):
        await linq.payments.create(
            handle=CUSTOMER, amount=100, currency="usd", extra_body={"handle": CUSTOMER}
        )
    assert fake.requests == []


async def test_payment_request_list_pages_by_offset(
    linq: LinqSession, fake: FakeLinqServer
) -> None:
    """GET /v3/payment_requests: limit, then offset = items so far, until has_more is false."""
    fake.connect_payment_provider()
    ids = [(await linq.payment_requests.create(amount=n, currency="usd")).id for n in range(1, 6)]
    fake.requests.clear()
    listed = [request async for request in linq.payment_requests.list(limit=2)]
    assert [request.id for request in listed] == ids[::-1]  # the fake lists newest first
    assert all(isinstance(request, PaymentRequest) for request in listed)
    sent = api_requests(fake)
    assert [(r.method, r.path) for r in sent] == [("GET", "/api/partner/v3/payment_requests")] * 3
    assert [r.query_string for r in sent] == ["limit=2", "limit=2&offset=2", "limit=2&offset=4"]


async def test_payment_request_list_page_by_page(linq: LinqSession, fake: FakeLinqServer) -> None:
    """Awaiting the list gives the first Page; its next_cursor (an offset) resumes the list."""
    fake.connect_payment_provider()
    for amount in (1, 2, 3):
        await linq.payment_requests.create(amount=amount, currency="usd")
    first = await linq.payment_requests.list(limit=2)
    assert isinstance(first, Page)
    assert [r.amount for r in first.items] == [3, 2]
    assert first.next_cursor == "2"
    rest = await linq.payment_requests.list(limit=2).page(first.next_cursor)
    assert [r.amount for r in rest.items] == [1]
    assert rest.next_cursor is None
    assert await rest.next_page() is None


async def test_payment_request_list_filters_by_status(
    linq: LinqSession, fake: FakeLinqServer
) -> None:
    """status goes in the query."""
    fake.connect_payment_provider()
    kept = await linq.payment_requests.create(amount=1, currency="usd")
    dropped = await linq.payment_requests.create(amount=2, currency="usd")
    await linq.payment_requests.cancel(dropped.id)
    fake.requests.clear()
    canceled = [r.id async for r in linq.payment_requests.list(status="canceled")]
    pending = [r.id async for r in linq.payment_requests.list(status="pending")]
    assert (canceled, pending) == ([dropped.id], [kept.id])
    assert api_requests(fake)[0].query_string == "status=canceled"


async def test_payment_request_list_ends_at_an_empty_page(
    linq: LinqSession, fake: FakeLinqServer
) -> None:
    """Without has_more in the answers, the list ends at the first empty page."""
    item = {"id": "pr_1", "status": "pending", "amount": 1, "currency": "usd"}
    for page in ([item, {**item, "id": "pr_2"}], [{**item, "id": "pr_3"}], []):
        fake.fail_next(
            200,
            method="GET",
            path="/v3/payment_requests",
            body=json.dumps({"payment_requests": page}),
            content_type="application/json",
        )
    listed = [r.id async for r in linq.payment_requests.list(limit=2)]
    assert listed == ["pr_1", "pr_2", "pr_3"]
    sent = api_requests(fake)
    assert [r.query_string for r in sent] == ["limit=2", "limit=2&offset=2", "limit=2&offset=3"]


async def test_payment_request_list_refuses_a_non_boolean_has_more(
    linq: LinqSession, fake: FakeLinqServer
) -> None:
    """has_more must be a boolean when present."""
    fake.fail_next(
        200,
        path="/v3/payment_requests",
        body=json.dumps({"payment_requests": [], "has_more": "no"}),
        content_type="application/json",
    )
    with pytest.raises(ResponseValidationError, match="has_more"):
        await linq.payment_requests.list()


@pytest.mark.parametrize("cursor", ["abc", "-1", "1.5", "", "\u0661"])
async def test_payment_request_list_cursor_is_an_offset(
    linq: LinqSession, fake: FakeLinqServer, cursor: str
) -> None:
    """A cursor that is not a decimal offset is refused with nothing sent."""
    with pytest.raises(LinqUsageError, match="offset"):
        await linq.payment_requests.list().page(cursor)
    assert fake.requests == []


@pytest.mark.parametrize(
    ("arguments", "match"),
    [
        ({"status": ""}, "status"),
        ({"status": 3}, "status"),
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"limit": True}, "limit"),
    ],
)
async def test_payment_request_list_checks_before_sending(
    linq: LinqSession, fake: FakeLinqServer, arguments: dict[str, Any], match: str
) -> None:
    """status must be a non-empty string and limit 1-100, checked at the call."""
    with pytest.raises(LinqUsageError, match=match):
        linq.payment_requests.list(**arguments)
    assert fake.requests == []


async def test_payment_request_get(linq: LinqSession, fake: FakeLinqServer) -> None:
    """GET /v3/payment_requests/{paymentRequestId}; an unknown id is 404."""
    fake.connect_payment_provider()
    created = await linq.payment_requests.create(amount=300, currency="usd")
    fake.requests.clear()
    got = await linq.payment_requests.get(created.id)
    assert (got.id, got.status, got.amount) == (created.id, "pending", 300)
    (sent,) = api_requests(fake)
    assert (sent.method, sent.path) == ("GET", f"/api/partner/v3/payment_requests/{created.id}")
    with pytest.raises(NotFoundError):
        await linq.payment_requests.get("pr_missing")


async def test_payment_request_cancel(linq: LinqSession, fake: FakeLinqServer) -> None:
    """POST .../cancel with no body: canceled; canceling again answers it again."""
    fake.connect_payment_provider()
    created = await linq.payment_requests.create(amount=300, currency="usd")
    fake.requests.clear()
    canceled = await linq.payment_requests.cancel(created.id)
    assert canceled.status == "canceled"
    assert isinstance(canceled.canceled_at, datetime)
    assert (await linq.payment_requests.cancel(created.id)).status == "canceled"
    sent = api_requests(fake)[0]
    path = f"/api/partner/v3/payment_requests/{created.id}/cancel"
    assert (sent.method, sent.path, sent.body) == ("POST", path, b"")
    assert fake.payment_requests[created.id].status == "canceled"


async def test_payment_request_cancel_after_payment_is_a_conflict(
    linq: LinqSession, fake: FakeLinqServer
) -> None:
    """A paid request cannot be canceled: 409."""
    fake.connect_payment_provider()
    created = await linq.payment_requests.create(amount=300, currency="usd")
    fake.pay_payment_request(created.id)
    with pytest.raises(ConflictError):
        await linq.payment_requests.cancel(created.id)
    got = await linq.payment_requests.get(created.id)
    assert got.status == "paid"
    assert isinstance(got.paid_at, datetime)


async def test_payment_request_cancel_is_retried_after_a_lost_answer(
    linq: LinqSession, fake: FakeLinqServer
) -> None:
    """Canceling twice is harmless, so a lost answer is retried."""
    fake.connect_payment_provider()
    created = await linq.payment_requests.create(amount=300, currency="usd")
    fake.requests.clear()
    fake.drop_next_response(path="/v3/payment_requests/*/cancel")
    assert (await linq.payment_requests.cancel(created.id)).status == "canceled"
    assert [r.dropped for r in api_requests(fake)] == [True, False]


# Handles


async def test_handle_consent_flow_with_a_phone_number(
    linq: LinqSession, fake: FakeLinqServer
) -> None:
    """connect, verify, get_connection, revoke: the + of the handle stays as is in the path."""
    handles = linq.payments.handles
    attempt = await handles.connect(CUSTOMER)
    assert isinstance(attempt, HandleConnectAttempt)
    assert (attempt.handle, attempt.status) == (CUSTOMER, "pending_verification")
    code = fake.payment_verification_code(CUSTOMER)
    connection = await handles.verify(CUSTOMER, code=code, connect_id=attempt.connect_id)
    assert isinstance(connection, PaymentConnection)
    assert connection.active
    assert isinstance(connection.connected_at, datetime)
    assert (await handles.get_connection(CUSTOMER)).status == "active"
    assert await handles.revoke(CUSTOMER) is None
    revoked = await handles.get_connection(CUSTOMER)
    assert (revoked.status, revoked.active) == ("revoked", False)
    base = f"/api/partner/v3/payments/handles/{CUSTOMER}"
    connect, verify, get, revoke, _ = api_requests(fake)
    assert (connect.method, connect.path, connect.body) == ("POST", f"{base}/connect", b"")
    assert (verify.method, verify.path) == ("POST", f"{base}/verify")
    assert verify.json() == {"code": code, "connect_id": attempt.connect_id}
    assert (get.method, get.path) == ("GET", f"{base}/connection")
    assert (revoke.method, revoke.path) == ("DELETE", f"{base}/connection")
    assert revoke.headers["Accept"] == "*/*"


async def test_handle_email_keeps_its_at_sign_in_the_path(
    linq: LinqSession, fake: FakeLinqServer
) -> None:
    """An email handle goes in the path with its @."""
    await connect_customer(linq, fake, EMAIL)
    assert api_requests(fake)[0].path == f"/api/partner/v3/payments/handles/{EMAIL}/connect"
    assert fake.payment_connections[EMAIL].status == "active"


async def test_handle_verify_with_a_wrong_code_or_attempt(
    linq: LinqSession, fake: FakeLinqServer
) -> None:
    """A wrong code is 400 (1005); a connect_id the API did not issue is 404."""
    attempt = await linq.payments.handles.connect(CUSTOMER)
    right = fake.payment_verification_code(CUSTOMER)
    wrong = "000000" if right != "000000" else "111111"
    with pytest.raises(BadRequestError) as info:
        await linq.payments.handles.verify(CUSTOMER, code=wrong, connect_id=attempt.connect_id)
    assert info.value.code == 1005
    with pytest.raises(NotFoundError):
        await linq.payments.handles.verify(CUSTOMER, code=right, connect_id="not-issued")
    assert fake.payment_connections[CUSTOMER].status == "pending_verification"


async def test_handle_without_a_connection_is_not_found(
    linq: LinqSession, fake: FakeLinqServer
) -> None:
    """get_connection and revoke of a handle that never verified: 404."""
    with pytest.raises(NotFoundError):
        await linq.payments.handles.get_connection(CUSTOMER)
    with pytest.raises(NotFoundError):
        await linq.payments.handles.revoke(EMAIL)


async def test_handle_connect_is_not_retried_after_a_lost_answer(
    linq: LinqSession, fake: FakeLinqServer
) -> None:
    """A repeated connect would text the customer again: a lost answer is not retried."""
    fake.drop_next_response(path="/v3/payments/handles/*/connect")
    with pytest.raises(LinqConnectionError):
        await linq.payments.handles.connect(CUSTOMER)
    assert len(api_requests(fake)) == 1


@pytest.mark.parametrize(
    "handle", ["5550001111", "+1555000111a", "+1\uff15\uff15\uff150001111", "no-at", "", None]
)
async def test_handles_are_checked_before_sending(
    linq: LinqSession, fake: FakeLinqServer, handle: Any
) -> None:
    """Every handles method and payments.create refuse a handle not E.164 or an email."""
    handles = linq.payments.handles
    with pytest.raises(LinqUsageError, match="handle"):
        await handles.connect(handle)
    with pytest.raises(LinqUsageError, match="handle"):
        await handles.verify(handle, code="123456", connect_id="c")
    with pytest.raises(LinqUsageError, match="handle"):
        await handles.get_connection(handle)
    with pytest.raises(LinqUsageError, match="handle"):
        await handles.revoke(handle)
    with pytest.raises(LinqUsageError, match="handle"):
        await linq.payments.create(handle=handle, amount=100, currency="usd")
    assert fake.requests == []


@pytest.mark.parametrize(("code", "connect_id"), [("", "c"), (None, "c"), ("1", ""), ("1", 7)])
async def test_handle_verify_checks_code_and_connect_id(
    linq: LinqSession, fake: FakeLinqServer, code: Any, connect_id: Any
) -> None:
    """code and connect_id must be non-empty strings."""
    with pytest.raises(LinqUsageError, match=r"code|connect_id"):
        await linq.payments.handles.verify(CUSTOMER, code=code, connect_id=connect_id)
    assert fake.requests == []


# Payments


async def test_payment_create_sends_fields_and_key_header(
    linq: LinqSession, fake: FakeLinqServer
) -> None:
    """POST /v3/payments: handle, amount, currency, description; Idempotency-Key header."""
    await connect_customer(linq, fake)
    fake.requests.clear()
    payment = await linq.payments.create(
        handle=CUSTOMER, amount=4200, currency="usd", description="Concert tickets"
    )
    assert isinstance(payment, Payment)
    assert (payment.status, payment.amount, payment.handle) == ("authorized", 4200, CUSTOMER)
    assert payment.description == "Concert tickets"
    (sent,) = api_requests(fake)
    assert (sent.method, sent.path) == ("POST", "/api/partner/v3/payments")
    assert sent.json() == {
        "handle": CUSTOMER,
        "amount": 4200,
        "currency": "usd",
        "description": "Concert tickets",
    }
    assert fake.payments[payment.id].idempotency_key == sent.headers["Idempotency-Key"]


async def test_payment_create_needs_an_active_connection(
    linq: LinqSession, fake: FakeLinqServer
) -> None:
    """A handle that has not connected (or revoked) cannot fund a payment: 403."""
    with pytest.raises(PermissionDeniedError):
        await linq.payments.create(handle=CUSTOMER, amount=100, currency="usd")
    await connect_customer(linq, fake)
    await linq.payments.handles.revoke(CUSTOMER)
    with pytest.raises(PermissionDeniedError):
        await linq.payments.create(handle=CUSTOMER, amount=100, currency="usd")
    assert fake.payments == {}


async def test_payment_create_honours_the_idempotency_key(
    linq: LinqSession, fake: FakeLinqServer
) -> None:
    """A lost answer is retried with the same key, and the caller's key replays: one payment."""
    await connect_customer(linq, fake)
    fake.requests.clear()
    fake.drop_next_response(path="/v3/payments")
    payment = await linq.payments.create(handle=CUSTOMER, amount=100, currency="usd")
    first, second = api_requests(fake)
    assert first.dropped
    assert first.headers["Idempotency-Key"] == second.headers["Idempotency-Key"]
    mine = await linq.payments.create(
        handle=CUSTOMER, amount=100, currency="usd", idempotency_key="cart-7"
    )
    again = await linq.payments.create(
        handle=CUSTOMER, amount=100, currency="usd", idempotency_key="cart-7"
    )
    assert again.id == mine.id != payment.id
    assert list(fake.payments) == [payment.id, mine.id]


@pytest.mark.parametrize(
    ("arguments", "match"),
    [
        ({"amount": 0}, "amount"),
        ({"amount": 1.0}, "amount"),
        ({"currency": "dollars"}, "currency"),
        ({"currency": None}, "currency"),
        ({"description": ""}, "description"),
        ({"idempotency_key": ""}, "idempotency_key"),
    ],
)
async def test_payment_create_checks_fields_before_sending(
    linq: LinqSession, fake: FakeLinqServer, arguments: dict[str, Any], match: str
) -> None:
    """amount (int >= 1), currency (3 letters), description and key are checked locally."""
    with pytest.raises(LinqUsageError, match=match):
        await linq.payments.create(
            **{"handle": CUSTOMER, "amount": 1, "currency": "usd"} | arguments
        )
    assert fake.requests == []


async def test_payment_get_and_cancel(linq: LinqSession, fake: FakeLinqServer) -> None:
    """GET /v3/payments/{paymentId}; POST .../cancel (again: still canceled); unknown: 404."""
    payment = await authorized_payment(linq, fake)
    fake.requests.clear()
    got = await linq.payments.get(payment.id)
    assert (got.id, got.status) == (payment.id, "authorized")
    canceled = await linq.payments.cancel(payment.id)
    assert canceled.status == "canceled"
    assert isinstance(canceled.canceled_at, datetime)
    assert (await linq.payments.cancel(payment.id)).status == "canceled"
    get, cancel, _ = api_requests(fake)
    assert (get.method, get.path) == ("GET", f"/api/partner/v3/payments/{payment.id}")
    assert (cancel.method, cancel.path) == ("POST", f"/api/partner/v3/payments/{payment.id}/cancel")
    assert cancel.body == b""
    with pytest.raises(NotFoundError):
        await linq.payments.get("pay_missing")


async def test_payment_cancel_after_it_succeeded_is_a_conflict(
    linq: LinqSession, fake: FakeLinqServer
) -> None:
    """A settled payment cannot be canceled (409), and has no card any more (409)."""
    payment = await authorized_payment(linq, fake)
    fake.settle_payment(payment.id)
    with pytest.raises(ConflictError):
        await linq.payments.cancel(payment.id)
    with pytest.raises(ConflictError):
        await linq.payments.credentials(payment.id)
    assert (await linq.payments.get(payment.id)).status == "succeeded"


async def test_payment_credentials(linq: LinqSession, fake: FakeLinqServer) -> None:
    """GET /v3/payments/{paymentId}/credentials: the card, as Secret values to reveal."""
    payment = await authorized_payment(linq, fake)
    fake.requests.clear()
    card = await linq.payments.credentials(payment.id)
    assert isinstance(card, PaymentCredentials)
    record = fake.payments[payment.id]
    assert isinstance(card.number, Secret)
    assert card.number.reveal() == record.card_number
    assert card.cvc.reveal() == record.card_cvc
    assert (card.exp_month.reveal(), card.exp_year.reveal()) == (
        record.card_exp_month,
        record.card_exp_year,
    )
    assert (card.payment_id, card.last4, card.brand) == (
        payment.id,
        record.card_number[-4:],
        "visa",
    )
    assert isinstance(card.expires_at, datetime)
    (sent,) = api_requests(fake)
    path = f"/api/partner/v3/payments/{payment.id}/credentials"
    assert (sent.method, sent.path) == ("GET", path)


async def test_payment_credentials_never_show_the_card(
    linq: LinqSession, fake: FakeLinqServer, caplog: pytest.LogCaptureFixture
) -> None:
    """repr, str, logging, attrs.asdict, copies and JSON show no card data; pickle refuses."""
    payment = await authorized_payment(linq, fake)
    fake.fail_next(503, path="/v3/payments/*/credentials")  # a retry is logged too
    with caplog.at_level(logging.DEBUG):
        card = await linq.payments.credentials(payment.id)
        logging.getLogger("tests").warning("card %s %r", card, card)
    record = fake.payments[payment.id]
    secrets_ = [record.card_number, f"cvc={record.card_cvc!r}"]
    secrets_ += [f"exp_month={record.card_exp_month}", f"exp_year={record.card_exp_year}"]
    shown = [repr(card), str(card), f"{card}", caplog.text, repr(attrs.asdict(card))]
    shown += [repr(copy.deepcopy(card)), repr(copy.copy(card)), repr(fake.payments)]
    for text in shown:
        for secret in secrets_:
            assert secret not in text
    assert "number=<secret>, cvc=<secret>, exp_month=<secret>, exp_year=<secret>" in repr(card)
    assert copy.deepcopy(card) == card
    with pytest.raises(TypeError, match="cannot be pickled") as refused:
        pickle.dumps(card)
    assert record.card_number not in str(refused.value)
    with pytest.raises(TypeError) as not_json:
        json.dumps(attrs.asdict(card))
    assert record.card_number not in str(not_json.value)


def credentials_answer(**changes: Any) -> str:
    answer = {"number": PLANTED, "cvc": "731", "exp_month": 9, "exp_year": 2031}
    answer.update(changes)
    return json.dumps({key: value for key, value in answer.items() if value is not None})


@pytest.mark.parametrize(
    "body",
    [
        credentials_answer(number=int(PLANTED)),  # wrong type: the value is the card number
        credentials_answer(cvc=None),  # a required key is missing, the number is there
        credentials_answer(exp_month="09"),
        credentials_answer(expires_at=PLANTED),  # a bad timestamp is usually quoted
        credentials_answer(number=[PLANTED]),
        json.dumps([PLANTED]),  # not an object
        f'{{"number": "{PLANTED}", "cvc": 731',  # not JSON: the decode error keeps the text
    ],
)
async def test_malformed_credentials_raise_without_the_card(
    linq: LinqSession, fake: FakeLinqServer, body: str
) -> None:
    """A malformed answer raises ResponseValidationError that quotes, chains and holds no card."""
    fake.fail_next(
        200, path="/v3/payments/*/credentials", body=body, content_type="application/json"
    )
    with pytest.raises(ResponseValidationError) as info:
        await linq.payments.credentials("pay_1")
    error = info.value
    assert PLANTED not in str(error)
    assert PLANTED not in repr(error)
    assert error.__cause__ is None
    assert error.__context__ is None
    assert PLANTED not in shown_by_frames(error)
    assert "credentials" in str(error)


async def test_error_answers_of_credentials_keep_no_card(
    linq: LinqSession, fake: FakeLinqServer
) -> None:
    """An error answer's body keeps only the documented error fields; text is never quoted."""
    leaky = {
        "success": False,
        "error": {"status": 409, "code": 1006, "message": "no card", "card": PLANTED},
        "card": {"number": PLANTED},
        "trace_id": "t-1",
    }
    fake.fail_next(
        409,
        path="/v3/payments/*/credentials",
        body=json.dumps(leaky),
        content_type="application/json",
    )
    with pytest.raises(ConflictError) as conflict:
        await linq.payments.credentials("pay_1")
    assert conflict.value.body == {
        "success": False,
        "error": {"status": 409, "code": 1006, "message": "no card"},
        "trace_id": "t-1",
    }
    assert (conflict.value.code, conflict.value.trace_id) == (1006, "t-1")
    fake.fail_next(400, path="/v3/payments/*/credentials", body=f"card {PLANTED} refused")
    with pytest.raises(BadRequestError) as text:
        await linq.payments.credentials("pay_1")
    for error in (conflict.value, text.value):
        assert PLANTED not in str(error)
        assert PLANTED not in repr(error.body)
        assert PLANTED not in repr(pickle.loads(pickle.dumps(error)).body)
        assert error.__cause__ is None
        assert error.__context__ is None
        assert PLANTED not in shown_by_frames(error)


async def test_other_routes_still_quote_error_text(linq: LinqSession, fake: FakeLinqServer) -> None:
    """Only the secret route withholds bodies: elsewhere a text error stays in the message."""
    fake.fail_next(400, path="/v3/payments/*", body="proxy says no")
    with pytest.raises(BadRequestError, match="proxy says no") as info:
        await linq.payments.get("pay_1")
    assert info.value.body == "proxy says no"


def test_secret_values() -> None:
    """Secret: reveal gives the value; equal by value; hidden in str and format; immutable."""
    secret = Secret("4242")
    assert secret.reveal() == "4242"
    assert secret == Secret("4242") != Secret("4243")
    assert Secret(12) != Secret("12")
    assert len({secret, Secret("4242")}) == 1
    assert (repr(secret), str(secret), f"{secret}", f"{[secret]}") == ("<secret>",) * 2 + (
        "<secret>",
        "[<secret>]",
    )
    with pytest.raises(AttributeError):
        secret._value = "x"  # type: ignore[misc]


async def test_fake_answers_fit_the_models(linq: LinqSession, fake: FakeLinqServer) -> None:
    """The fake's payment answers hold no key the models miss (drift check)."""
    fake.connect_payment_provider()
    request = await linq.payment_requests.create(amount=1, currency="usd", description="d")
    await linq.payment_requests.cancel(request.id)
    payment = await authorized_payment(linq, fake)
    await linq.payments.cancel(payment.id)
    await linq.payments.handles.revoke(CUSTOMER)
    assert unknown_keys(fake.payment_requests[request.id].wire(), PaymentRequest) == []
    assert unknown_keys(fake.payments[payment.id].wire(), Payment) == []
    assert unknown_keys(fake.payment_connections[CUSTOMER].wire(), PaymentConnection) == []


async def test_concurrent_repeats_of_one_key_create_one_payment_request(
    linq: LinqSession, fake: FakeLinqServer
) -> None:
    """Ten concurrent creates with one Idempotency-Key make one request and one answer."""
    fake.connect_payment_provider()
    results = await asyncio.gather(
        *(
            linq.payment_requests.create(amount=100, currency="usd", idempotency_key="same-key")
            for _ in range(10)
        )
    )
    assert len({result.id for result in results}) == 1
    assert len(fake.payment_requests) == 1
