"""The webhook_subscriptions area over real sockets: wire requests, typed results, local checks."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest
from _support import api_requests

from linq_async import (
    BadRequestError,
    ConflictError,
    CreatedWebhookSubscription,
    LinqSession,
    LinqUsageError,
    NotFoundError,
    WebhookEventTypes,
    WebhookSubscription,
)
from linq_async.testing import FakeLinqServer

URL = "https://example.com/linq/webhooks?version=2026-02-03"
LINE = "+12223334444"


async def make(linq: LinqSession, url: str = URL, **options: Any) -> CreatedWebhookSubscription:
    options.setdefault("events", ["message.received", "message.sent"])
    return await linq.webhook_subscriptions.create(target_url=url, **options)


async def test_create_posts_the_fields_and_returns_the_secret_once(
    linq: LinqSession, fake: FakeLinqServer
) -> None:
    """POST /v3/webhook-subscriptions: 201 with the subscription and its signing secret."""
    sub = await make(
        linq,
        events=["message.received", "reaction.added", "message.received"],
        phone_numbers=[LINE],
        routing_key_header="X-Affinity",
    )
    (sent,) = api_requests(fake)
    assert (sent.method, sent.path) == ("POST", "/api/partner/v3/webhook-subscriptions")
    assert sent.json() == {
        "target_url": URL,
        "subscribed_events": ["message.received", "reaction.added"],
        "phone_numbers": [LINE],
        "routing_key_header": "X-Affinity",
    }
    assert sent.status == 201
    assert isinstance(sub, CreatedWebhookSubscription)
    assert sub.signing_secret.startswith("whsec_")
    assert sub.signing_secret == fake.webhooks.subscriptions[sub.id].signing_secret
    assert sub.subscribed_events == ("message.received", "reaction.added")
    assert sub.phone_numbers == (LINE,)
    assert sub.is_active is True
    assert sub.routing_key_header == "X-Affinity"
    assert sub.created_at is not None


async def test_the_signing_secret_stays_out_of_reprs(linq: LinqSession) -> None:
    """repr() of the created subscription (and of the fake's record) never shows the secret."""
    sub = await make(linq)
    assert sub.signing_secret not in repr(sub)
    assert "signing_secret" not in repr(sub)
    assert sub.id in repr(sub)


async def test_list_get_and_delete(linq: LinqSession, fake: FakeLinqServer) -> None:
    """GET the list and one subscription (no secrets), then DELETE it (204 -> None)."""
    first = await make(linq)
    second = await make(linq, "https://example.com/other", events=["reaction.added"])
    fake.requests.clear()
    listed = await linq.webhook_subscriptions.list()
    got = await linq.webhook_subscriptions.get(second.id)
    assert await linq.webhook_subscriptions.delete(first.id) is None
    list_req, get_req, delete_req = api_requests(fake)
    assert (list_req.method, list_req.path) == ("GET", "/api/partner/v3/webhook-subscriptions")
    assert (get_req.method, get_req.path) == (
        "GET",
        f"/api/partner/v3/webhook-subscriptions/{second.id}",
    )
    assert (delete_req.method, delete_req.status) == ("DELETE", 204)
    assert delete_req.headers["Accept"] == "*/*"
    assert [sub.id for sub in listed] == [first.id, second.id]
    assert all(type(sub) is WebhookSubscription for sub in listed)
    assert b"signing_secret" not in (list_req.body or b"")
    assert got.target_url == "https://example.com/other"
    assert got.subscribed_events == ("reaction.added",)
    assert list(fake.webhooks.subscriptions) == [second.id]
    with pytest.raises(NotFoundError):
        await linq.webhook_subscriptions.get(first.id)


async def test_update_sends_only_given_fields_and_none_as_null(
    linq: LinqSession, fake: FakeLinqServer
) -> None:
    """PUT: omitted arguments stay off the wire; an explicit None goes as JSON null and clears."""
    sub = await make(linq, phone_numbers=[LINE], routing_key_header="X-Affinity")
    fake.requests.clear()
    updated = await linq.webhook_subscriptions.update(
        sub.id, is_active=False, phone_numbers=None, routing_key_header=None
    )
    (sent,) = api_requests(fake)
    assert (sent.method, sent.path) == ("PUT", f"/api/partner/v3/webhook-subscriptions/{sub.id}")
    assert sent.json() == {"is_active": False, "phone_numbers": None, "routing_key_header": None}
    assert updated.is_active is False
    assert updated.phone_numbers is None
    assert updated.routing_key_header is None
    assert updated.subscribed_events == sub.subscribed_events
    again = await linq.webhook_subscriptions.update(
        sub.id, events=["message.failed"], target_url="https://example.com/new"
    )
    assert api_requests(fake)[-1].json() == {
        "target_url": "https://example.com/new",
        "subscribed_events": ["message.failed"],
    }
    assert again.subscribed_events == ("message.failed",)
    assert again.is_active is False


async def test_event_types(linq: LinqSession, fake: FakeLinqServer) -> None:
    """GET /v3/webhook-events -> the 75 documented names and the doc URL."""
    types = await linq.webhook_subscriptions.event_types()
    (sent,) = api_requests(fake)
    assert (sent.method, sent.path) == ("GET", "/api/partner/v3/webhook-events")
    assert isinstance(types, WebhookEventTypes)
    assert len(types.events) == 75
    assert "message.received" in types.events
    assert types.doc_url is not None


async def test_the_fake_refuses_a_second_subscription_to_the_same_url(linq: LinqSession) -> None:
    """target_url is unique per account: a second subscription to it is a conflict."""
    await make(linq)
    with pytest.raises(ConflictError):
        await make(linq)


async def test_the_fake_refuses_unknown_event_types(linq: LinqSession) -> None:
    """An event name the API does not document is refused by the API (code 1005)."""
    with pytest.raises(BadRequestError) as info:
        await make(linq, events=["message.recieved"])
    assert info.value.code == 1005


async def test_the_fake_accepts_loopback_http_only(fake: FakeLinqServer) -> None:
    """The fake's documented exception: http://127.0.0.1 targets pass, other http ones do not."""
    url = f"{fake.base_url}/v3/webhook-subscriptions"
    headers = {"Authorization": f"Bearer {fake.api_key}"}
    async with aiohttp.ClientSession(headers=headers) as http:
        for target, status in (("http://127.0.0.1:9/hook", 201), ("http://example.com/", 400)):
            body = {"target_url": target, "subscribed_events": ["message.sent"]}
            async with http.post(url, json=body) as response:
                assert response.status == status


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"target_url": "http://example.com/hook"}, "target_url"),
        ({"target_url": "http://127.0.0.1.example.com/hook"}, "target_url"),
        ({"target_url": "https://x/" + "a" * 2048}, "target_url"),
        ({"events": []}, "at least one"),
        ({"events": "message.sent"}, "events"),
        ({"events": ["message.sent", ""]}, "events"),
        ({"phone_numbers": ["5550001111"]}, "phone_numbers"),
        ({"phone_numbers": "+12223334444"}, "phone_numbers"),
        ({"routing_key_header": "Bad Header"}, "routing_key_header"),
        ({"routing_id_header": ""}, "routing_id_header"),
    ],
)
async def test_create_checks_before_sending(
    linq: LinqSession, fake: FakeLinqServer, options: dict[str, Any], match: str
) -> None:
    """Each closed field of create is checked locally: nothing is sent."""
    arguments: dict[str, Any] = {"target_url": URL, "events": ["message.sent"], **options}
    with pytest.raises(LinqUsageError, match=match):
        await linq.webhook_subscriptions.create(**arguments)
    assert fake.requests == []


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"target_url": None}, "target_url"),
        ({"target_url": "ftp://example.com"}, "target_url"),
        ({"events": None}, "events"),
        ({"events": []}, "at least one"),
        ({"is_active": None}, "is_active"),
        ({"is_active": "yes"}, "is_active"),
        ({"phone_numbers": ["+1"]}, "phone_numbers"),
        ({"routing_id_header": "a:b"}, "routing_id_header"),
    ],
)
async def test_update_checks_before_sending(
    linq: LinqSession, fake: FakeLinqServer, options: dict[str, Any], match: str
) -> None:
    """Each closed field of update is checked locally (None only where it clears)."""
    with pytest.raises(LinqUsageError, match=match):
        await linq.webhook_subscriptions.update("sub", **options)
    assert fake.requests == []
