"""``linq.webhook_subscriptions``: where Linq delivers webhooks, and which events."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import attrs

from .._errors import LinqUsageError
from .._model import UNSET
from .._validation import check_bool, check_phone, url_flaw
from ..models import CreatedWebhookSubscription, WebhookEventTypes, WebhookSubscription
from ._base import RequestBody, Resource

__all__ = ["WebhookSubscriptions"]

# An HTTP header name (RFC 9110 token).
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_MAX_URL = 2048
_LOOPBACK_HTTP = re.compile(r"http://(127\.0\.0\.1|localhost|\[::1\])(:[0-9]{1,5})?(/|$)")


@attrs.define(kw_only=True)
class _CreateSubscription(RequestBody):
    target_url: str
    subscribed_events: tuple[str, ...]
    phone_numbers: tuple[str, ...] | None = None
    routing_key_header: str | None = None
    routing_id_header: str | None = None


@attrs.define(kw_only=True)
class _UpdateSubscription(RequestBody):
    # UNSET stays off the wire; None goes out as JSON null (which clears the setting).
    target_url: Any = UNSET
    subscribed_events: Any = UNSET
    is_active: Any = UNSET
    phone_numbers: Any = UNSET
    routing_key_header: Any = UNSET
    routing_id_header: Any = UNSET


def _check_url(url: object) -> str:
    # http:// only on the loopback: for local fakes of the API (the real one requires https).
    if (
        not isinstance(url, str)
        or len(url) > _MAX_URL
        or not (url.startswith("https://") or _LOOPBACK_HTTP.match(url))
        or url_flaw(url, url[: url.index("//") + 2]) is not None
    ):
        raise LinqUsageError(
            f"target_url must be an https:// URL of at most {_MAX_URL} characters, with a "
            f"host and no whitespace or control characters; got {url!r}"
        )
    return url


def _check_events(events: object) -> tuple[str, ...]:
    if isinstance(events, str) or not isinstance(events, Iterable):
        raise LinqUsageError(f"events must be a list of event type names, got {events!r}")
    names = tuple(events)
    if not names:
        raise LinqUsageError("events must name at least one event type")
    for name in names:
        if not isinstance(name, str) or not name:
            raise LinqUsageError(f"events must hold non-empty strings, got {name!r}")
    # Order kept, repeats dropped: the API keeps a set.
    return tuple(dict.fromkeys(names))


def _check_lines(phone_numbers: object) -> tuple[str, ...]:
    if isinstance(phone_numbers, str) or not isinstance(phone_numbers, Iterable):
        raise LinqUsageError(f"phone_numbers must be a list of E.164 lines, got {phone_numbers!r}")
    return tuple(check_phone(line, what="phone_numbers") for line in phone_numbers)


def _check_header(name: object, what: str) -> str:
    if not isinstance(name, str) or _HEADER_NAME.fullmatch(name) is None:
        raise LinqUsageError(f"{what} must be an HTTP header name, got {name!r}")
    return name


class WebhookSubscriptions(Resource):
    """Where Linq delivers webhooks: ``linq.webhook_subscriptions``.

    To receive and verify the deliveries, see `linq_async.webhooks`.
    """

    async def create(
        self,
        *,
        target_url: str,
        events: Iterable[str],
        phone_numbers: Iterable[str] | None = None,
        routing_key_header: str | None = None,
        routing_id_header: str | None = None,
    ) -> CreatedWebhookSubscription:
        """Subscribe a URL to events (``POST /v3/webhook-subscriptions``).

        The answer carries `CreatedWebhookSubscription.signing_secret`, **shown this once
        only**: store it, you need it to verify every delivery.

        ```python
        sub = await linq.webhook_subscriptions.create(
            target_url="https://example.com/linq/webhooks?version=2026-02-03",
            events=["message.received", "message.delivered"],
        )
        save_secret(sub.signing_secret)  # not retrievable later
        ```

        Args:
            target_url: an ``https://`` URL (at most 2048 characters), unique among your
                subscriptions. ``http://`` is accepted for loopback addresses only, for a
                local fake of the API (``FakeLinqServer``); the real API refuses it. Add
                ``?version=2026-02-03`` (or ``2025-01-01``) to fix the payload version of
                message events; without it the version depends on the subscription's
                creation date.
            events: the event types to deliver, at least one (see `event_types`).
            phone_numbers: deliver only the events of these lines (E.164); all when omitted.
            routing_key_header: a header in which Linq sends a per-chat affinity token.
            routing_id_header: the header carrying the chat id (the API's default is
                ``Linq-Chat-Id``).

        Returns:
            The subscription and its signing secret.

        Raises:
            LinqUsageError: an argument is invalid (nothing is sent).
            BadRequestError: the API refused a field (an unknown event type ...).
            ConflictError: another subscription already uses ``target_url``.
        """
        body = _CreateSubscription(
            target_url=_check_url(target_url),
            subscribed_events=_check_events(events),
            phone_numbers=None if phone_numbers is None else _check_lines(phone_numbers),
            routing_key_header=(
                None
                if routing_key_header is None
                else _check_header(routing_key_header, "routing_key_header")
            ),
            routing_id_header=(
                None
                if routing_id_header is None
                else _check_header(routing_id_header, "routing_id_header")
            ),
        )
        return await self._request(
            "POST",
            "/v3/webhook-subscriptions",
            body=body,
            cast_to=CreatedWebhookSubscription,
            secret=True,
        )

    async def list(self) -> list[WebhookSubscription]:
        """Every subscription of the account (``GET /v3/webhook-subscriptions``).

        The signing secrets are not included (they are shown only by `create`).
        """
        return await self._request_list(
            "GET", "/v3/webhook-subscriptions", item=WebhookSubscription, envelope="subscriptions"
        )

    async def get(self, subscription_id: str) -> WebhookSubscription:
        """One subscription (``GET /v3/webhook-subscriptions/{subscriptionId}``).

        Raises:
            NotFoundError: no such subscription.
        """
        return await self._request(
            "GET",
            "/v3/webhook-subscriptions/{subscriptionId}",
            subscription_id,
            cast_to=WebhookSubscription,
        )

    async def update(
        self,
        subscription_id: str,
        *,
        target_url: str = UNSET,
        events: Iterable[str] = UNSET,
        is_active: bool = UNSET,
        phone_numbers: Iterable[str] | None = UNSET,
        routing_key_header: str | None = UNSET,
        routing_id_header: str | None = UNSET,
    ) -> WebhookSubscription:
        """Change a subscription (``PUT /v3/webhook-subscriptions/{subscriptionId}``).

        Only the arguments given are sent: an omitted one is left as it is, and ``None``
        clears a setting (``phone_numbers=None`` delivers the events of every line again,
        ``routing_key_header=None`` turns affinity off). The signing secret cannot be
        rotated: create a new subscription for a new secret.

        Args:
            subscription_id: the subscription.
            target_url: a new ``https://`` URL (cannot be cleared).
            events: the new event types, at least one (cannot be cleared).
            is_active: ``False`` pauses deliveries, ``True`` resumes them.
            phone_numbers: the lines to filter on (E.164), or ``None`` for all lines.
            routing_key_header: the affinity header, or ``None`` to clear it.
            routing_id_header: the chat id header, or ``None`` to clear it.

        Returns:
            The subscription as it now is.

        Raises:
            LinqUsageError: an argument is invalid, none is given, or ``None`` given for a
                setting that cannot be cleared (nothing is sent).
            NotFoundError: no such subscription.
        """
        fields: dict[str, Any] = {}
        if target_url is not UNSET:
            fields["target_url"] = _check_url(target_url)
        if events is not UNSET:
            fields["subscribed_events"] = _check_events(events)
        if is_active is not UNSET:
            if check_bool(is_active, what="is_active") is None:
                raise LinqUsageError("is_active must be True or False, not None")
            fields["is_active"] = is_active
        if phone_numbers is not UNSET:
            fields["phone_numbers"] = None if phone_numbers is None else _check_lines(phone_numbers)
        for name, value in (
            ("routing_key_header", routing_key_header),
            ("routing_id_header", routing_id_header),
        ):
            if value is not UNSET:
                fields[name] = None if value is None else _check_header(value, name)
        if not fields:
            raise LinqUsageError(
                "update needs at least one of target_url, events, is_active, phone_numbers, "
                "routing_key_header or routing_id_header"
            )
        return await self._request(
            "PUT",
            "/v3/webhook-subscriptions/{subscriptionId}",
            subscription_id,
            body=_UpdateSubscription(**fields),
            cast_to=WebhookSubscription,
        )

    async def delete(self, subscription_id: str) -> None:
        """Delete a subscription (``DELETE /v3/webhook-subscriptions/{subscriptionId}``).

        Deliveries to its URL stop; its secret is no longer used.

        Raises:
            NotFoundError: no such subscription.
        """
        await self._request(
            "DELETE",
            "/v3/webhook-subscriptions/{subscriptionId}",
            subscription_id,
            cast_to=None,
        )

    async def event_types(self) -> WebhookEventTypes:
        """The event types a subscription can ask for (``GET /v3/webhook-events``)."""
        return await self._request("GET", "/v3/webhook-events", cast_to=WebhookEventTypes)
