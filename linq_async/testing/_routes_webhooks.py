"""Declared endpoints of the webhooks area: the subscriptions the fake delivers to.

The rules, from the API's documentation: ``target_url`` is an ``https://`` URL unique among
the account's subscriptions, ``subscribed_events`` names at least one known event type,
``phone_numbers`` filters on E.164 lines, and ``null`` (or ``[]``, ``""``) clears
``phone_numbers`` and the routing headers on update. The secret is shown once, by create.

The fake's one exception: a ``target_url`` on ``http://127.0.0.1`` (or ``localhost``,
``[::1]``; any port) is accepted too, so tests can subscribe a receiver listening on the
loopback without TLS. Whatever the scheme, the fake only ever delivers to loopback
addresses (see ``_webhooks.py``).
"""

from __future__ import annotations

import re
from typing import Any

from ._declare import (
    Call,
    Check,
    Endpoint,
    array,
    bad,
    boolean,
    https_url,
    obj,
    one_of,
    opt,
    phone,
    req,
    string,
)
from ._envelope import ApiError
from ._render import iso
from ._webhooks import EVENT_TYPES, FakeSubscription, WebhookState, new_secret

__all__ = ["ENDPOINTS"]

_DOC_URL = "https://apidocs.linqapp.com/documentation/webhook-events"
_LOOPBACK_HTTP = re.compile(r"http://(127\.0\.0\.1|localhost|\[::1\])(:[0-9]{1,5})?(/|$)")


def _target_url(value: Any, where: str) -> str:
    if isinstance(value, str) and _LOOPBACK_HTTP.match(value):
        return value
    checked: str = https_url()(value, where)
    return checked


def _header_name(*, clearable: bool) -> Check:
    def check(value: Any, where: str) -> str:
        if clearable and value == "":
            return ""
        name = str(string(max_len=256)(value, where))
        if any(
            not (char.isascii() and (char.isalnum() or char in "!#$%&'*+.^_`|~-")) for char in name
        ):
            raise bad(1005, f"{where} must be an HTTP header name")
        return name

    return check


_EVENTS = array(one_of(*EVENT_TYPES), min_items=1)
_CREATE = obj(
    {
        "target_url": req(_target_url),
        "subscribed_events": req(_EVENTS),
        "phone_numbers": opt(array(phone)),
        "routing_key_header": opt(_header_name(clearable=False)),
        "routing_id_header": opt(_header_name(clearable=False)),
    }
)
_UPDATE = obj(
    {
        "target_url": opt(_target_url),
        "subscribed_events": opt(_EVENTS),
        "is_active": opt(boolean),
        "phone_numbers": opt(array(phone), nullable=True),
        "routing_key_header": opt(_header_name(clearable=True), nullable=True),
        "routing_id_header": opt(_header_name(clearable=True), nullable=True),
    }
)


def _render(sub: FakeSubscription) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": sub.id,
        "target_url": sub.target_url,
        "subscribed_events": list(sub.subscribed_events),
        "is_active": sub.is_active,
        "created_at": iso(sub.created_at),
        "updated_at": iso(sub.updated_at),
    }
    if sub.phone_numbers:
        data["phone_numbers"] = list(sub.phone_numbers)
    if sub.routing_key_header:
        data["routing_key_header"] = sub.routing_key_header
    if sub.routing_id_header:
        data["routing_id_header"] = sub.routing_id_header
    return data


def _subscription(call: Call) -> FakeSubscription:
    sub_id = call.params["subscriptionId"]
    sub = call.area(WebhookState).subscriptions.get(sub_id)
    if sub is None:
        raise ApiError(404, 2001, f"Webhook subscription {sub_id} not found")
    return sub


def _check_unique(state: WebhookState, url: str, own_id: str | None = None) -> None:
    for other in state.subscriptions.values():
        if other.target_url == url and other.id != own_id:
            # The documentation says "unique per account" without a code; 409 is the fake's
            # choice, with the generic invalid-value code.
            raise ApiError(409, 1005, f"target_url is already used by subscription {other.id}")


def create(call: Call) -> dict[str, Any]:
    """``POST /v3/webhook-subscriptions``: 201, the subscription and its secret."""
    state = call.area(WebhookState)
    body = call.body
    _check_unique(state, body["target_url"])
    now = call.now()
    sub = FakeSubscription(
        id=call.new_id(),
        target_url=body["target_url"],
        subscribed_events=list(dict.fromkeys(body["subscribed_events"])),
        signing_secret=new_secret(),
        phone_numbers=list(body.get("phone_numbers") or []),
        routing_key_header=body.get("routing_key_header"),
        routing_id_header=body.get("routing_id_header"),
        created_at=now,
        updated_at=now,
    )
    state.subscriptions[sub.id] = sub
    call.emit("webhook_subscription.created", _audit(sub, "created"))
    return {**_render(sub), "signing_secret": sub.signing_secret}


def list_subscriptions(call: Call) -> dict[str, Any]:
    """``GET /v3/webhook-subscriptions``: every subscription, secrets left out."""
    subs = call.area(WebhookState).subscriptions.values()
    return {"subscriptions": [_render(sub) for sub in subs]}


def get(call: Call) -> dict[str, Any]:
    """``GET /v3/webhook-subscriptions/{subscriptionId}``."""
    return _render(_subscription(call))


def update(call: Call) -> dict[str, Any]:
    """``PUT /v3/webhook-subscriptions/{subscriptionId}``: given fields change; null clears."""
    sub = _subscription(call)
    body = call.body
    if "target_url" in body:
        _check_unique(call.area(WebhookState), body["target_url"], sub.id)
        sub.target_url = body["target_url"]
    if "subscribed_events" in body:
        sub.subscribed_events = list(dict.fromkeys(body["subscribed_events"]))
    if "is_active" in body:
        sub.is_active = body["is_active"]
    if "phone_numbers" in body:
        sub.phone_numbers = list(body["phone_numbers"] or [])
    if "routing_key_header" in body:
        sub.routing_key_header = body["routing_key_header"] or None
    if "routing_id_header" in body:
        sub.routing_id_header = body["routing_id_header"] or None
    sub.updated_at = call.now()
    return _render(sub)


def delete(call: Call) -> None:
    """``DELETE /v3/webhook-subscriptions/{subscriptionId}``: 204."""
    sub = _subscription(call)
    del call.area(WebhookState).subscriptions[sub.id]
    call.emit("webhook_subscription.deleted", _audit(sub, "deleted"))


def event_types(call: Call) -> dict[str, Any]:
    """``GET /v3/webhook-events``: every event type a subscription can name."""
    return {"events": list(EVENT_TYPES), "doc_url": _DOC_URL}


def _audit(sub: FakeSubscription, verb: str) -> dict[str, Any]:
    return {
        "summary": f"Webhook subscription {verb}",
        "occurred_at": iso(sub.updated_at),
        "actor": {"type": "api_token"},
        "origin": "api",
        "webhook_subscription": {"id": sub.id, "target_url": sub.target_url},
    }


ENDPOINTS = [
    Endpoint(
        method="POST",
        route="/v3/webhook-subscriptions",
        handler=create,
        body=_CREATE,
        status=201,
    ),
    Endpoint(method="GET", route="/v3/webhook-subscriptions", handler=list_subscriptions),
    Endpoint(method="GET", route="/v3/webhook-subscriptions/{subscriptionId}", handler=get),
    Endpoint(
        method="PUT",
        route="/v3/webhook-subscriptions/{subscriptionId}",
        handler=update,
        body=_UPDATE,
    ),
    Endpoint(method="DELETE", route="/v3/webhook-subscriptions/{subscriptionId}", handler=delete),
    Endpoint(method="GET", route="/v3/webhook-events", handler=event_types),
]
