"""What the resource namespaces share: the transport, message building, pagination."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any, TypeVar

from .._converter import structure, unstructure
from .._errors import LinqUsageError, ResponseValidationError
from .._transport import Transport
from .._validation import check_parts
from ..models import Effect, MessageContent, Part, ReplyTo, TextPart

T = TypeVar("T")

MAX_PAGE_SIZE = 100


class Resource:
    """Base of the namespaces: holds the session's transport."""

    def __init__(self, transport: Transport) -> None:
        self._transport = transport

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._transport.base_url}>"


def send_body(
    *,
    parts: Sequence[Part] | None,
    text: str | None,
    effect: Effect | None,
    reply_to: ReplyTo | None,
    preferred_service: str | None,
    idempotency_key: str | None,
    override_optout: bool | None,
) -> dict[str, Any]:
    """Validate a message and return the JSON body that sends it.

    The message gets an idempotency key (minted if absent). The key is what makes a retried
    send safe: the API answers a repeated key with the first result instead of sending again.
    """
    all_parts = ([TextPart(value=text)] if text is not None else []) + list(parts or ())
    if idempotency_key is not None and (
        not isinstance(idempotency_key, str) or not idempotency_key
    ):
        raise LinqUsageError(f"idempotency_key must be a non-empty string, got {idempotency_key!r}")
    content = MessageContent(
        parts=check_parts(all_parts),
        effect=effect,
        reply_to=reply_to,
        preferred_service=preferred_service,
        idempotency_key=idempotency_key or str(uuid.uuid4()),
    )
    body: dict[str, Any] = {"message": unstructure(content)}
    if override_optout is not None:
        body["override_optout"] = override_optout
    return body


def page_params(value: int | None) -> dict[str, str]:
    """Query parameters for a page size, checked against the API's maximum of 100."""
    if value is None:
        return {}
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_PAGE_SIZE:
        raise LinqUsageError(f"page_size must be 1 to {MAX_PAGE_SIZE}, got {value!r}")
    return {"limit": str(value)}


async def paginate(
    transport: Transport, api_path: str, params: Mapping[str, str], key: str, cls: type[T]
) -> AsyncIterator[T]:
    """Yield every item of a cursor-paginated list, fetching pages as the caller iterates."""
    query = dict(params)
    seen: set[str] = set()
    what = f"GET {api_path}"
    while True:
        page = await transport.request("GET", api_path, params=query, idempotent=True)
        if not isinstance(page, Mapping) or not isinstance(page.get(key), list):
            raise ResponseValidationError(f"the response to {what} has no {key!r} list")
        for item in page[key]:
            yield structure(item, cls, what=what)
        cursor = page.get("next_cursor")
        if not cursor:  # null or "" both end the list
            return
        if not isinstance(cursor, str) or cursor in seen:
            raise ResponseValidationError(f"the response to {what} repeated cursor {cursor!r}")
        seen.add(cursor)
        query["cursor"] = cursor
