"""What every namespace is built on: one helper that does an endpoint's whole round trip.

An endpoint is a signature, a docstring and one call::

    async def get(self, chat_id: str) -> Chat:
        \"\"\"...\"\"\"
        return await self._request("GET", "/v3/chats/{chatId}", chat_id, cast_to=Chat)

The helper fills the path (each id quoted as one segment; ``.``, ``..``, ``/`` and empty ids
refused), unstructures the request model, mints the idempotency key where the model says
one goes (once per call: every retry reuses it), sends through the transport (which alone
decides what is safe to retry) and loads the answer into the response model.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar, overload
from urllib.parse import quote

from .._errors import LinqUsageError, ResponseValidationError
from .._keys import mint_idempotency_key
from .._model import WireModel, json_kind, load_list, loader_of, loader_on, unstructure
from .._pager import AsyncPager, Page
from .._validation import check_no_lone_surrogates

if TYPE_CHECKING:
    from .._transport import Transport

__all__ = ["RequestBody", "Resource", "build_path", "mint_idempotency_key"]

M = TypeVar("M", bound=WireModel)

_PLACEHOLDER = re.compile(r"\{(\w+)\}")
_PLAIN_SEGMENT = re.compile(r"[A-Za-z0-9_-]+")
_ROUTES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {}


class RequestBody(WireModel):
    """Base of request body models: where the body carries its idempotency key, if anywhere.

    Subclasses are ``@attrs.define(kw_only=True)`` classes, built once per call and only
    read after (not frozen: a frozen attrs class sets each field through
    ``object.__setattr__``, twice the cost of a plain slot).

    Attributes:
        idempotency_key_at: the key's path in the JSON body, e.g. ``("message",
            "idempotency_key")``, or ``None``.
        idempotency_header: whether the key also goes in the ``Idempotency-Key`` header.
    """

    __slots__ = ()
    idempotency_key_at: ClassVar[tuple[str, ...] | None] = None
    idempotency_header: ClassVar[bool] = False


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()


def build_path(route: str, ids: tuple[Any, ...]) -> str:
    """Fill a route's ``{placeholders}`` with ``ids`` in order, each as one path segment.

    Raises:
        LinqUsageError: an id is not a non-empty string, is ``.``, ``..`` or holds ``/``
            (which would address another route), or holds a lone surrogate.
    """
    parsed = _ROUTES.get(route)
    if parsed is None:
        pieces = _PLACEHOLDER.split(route)
        parsed = _ROUTES[route] = (tuple(pieces[0::2]), tuple(map(_snake, pieces[1::2])))
    literals, names = parsed
    if len(ids) != len(names):
        raise TypeError(f"{route} takes {len(names)} ids, got {len(ids)}")
    if not ids:
        return route
    if len(ids) == 1:  # most routes
        value = ids[0]
        if type(value) is not str or _PLAIN_SEGMENT.fullmatch(value) is None:
            value = _segment(value, names[0])
        return literals[0] + value + literals[1]
    out = [literals[0]]
    for index, value in enumerate(ids):
        if type(value) is not str or _PLAIN_SEGMENT.fullmatch(value) is None:
            value = _segment(value, names[index])
        out.append(value)
        out.append(literals[index + 1])
    return "".join(out)


def _segment(value: Any, name: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise LinqUsageError(f"{name} must be a non-empty string, got {value!r}")
    if value in (".", "..") or "/" in value:
        raise LinqUsageError(f"{name} {value!r} is not a valid id: it would change the API path")
    return quote(check_no_lone_surrogates(value, what=name), safe="+@")


class Resource:
    """Base of the API namespaces (``linq.chats``, ``linq.messages`` ...)."""

    def __init__(self, transport: Transport) -> None:
        self._transport = transport

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._transport.base_url}>"

    @overload
    def _request(
        self,
        method: str,
        route: str,
        *ids: str,
        cast_to: type[M],
        body: RequestBody | None = ...,
        json_body: dict[str, Any] | None = ...,
        query: Mapping[str, str | Sequence[str]] | None = ...,
        idempotency_key: str | None = ...,
        key_header: bool = ...,
        safe_reason: str | None = ...,
        envelope: str | None = ...,
        carry: tuple[str, ...] = ...,
        accept: str | None = ...,
        final_codes: Collection[int] = ...,
        extra_body: Mapping[str, Any] | None = ...,
        secret: bool = ...,
    ) -> Awaitable[M]: ...

    @overload
    def _request(
        self,
        method: str,
        route: str,
        *ids: str,
        cast_to: None,
        body: RequestBody | None = ...,
        json_body: dict[str, Any] | None = ...,
        query: Mapping[str, str | Sequence[str]] | None = ...,
        idempotency_key: str | None = ...,
        key_header: bool = ...,
        safe_reason: str | None = ...,
        envelope: str | None = ...,
        carry: tuple[str, ...] = ...,
        accept: str | None = ...,
        final_codes: Collection[int] = ...,
        extra_body: Mapping[str, Any] | None = ...,
        secret: bool = ...,
    ) -> Awaitable[None]: ...

    def _request(
        self,
        method: str,
        route: str,
        *ids: str,
        cast_to: type[M] | None,
        body: RequestBody | None = None,
        json_body: dict[str, Any] | None = None,
        query: Mapping[str, str | Sequence[str]] | None = None,
        idempotency_key: str | None = None,
        key_header: bool = False,
        safe_reason: str | None = None,
        envelope: str | None = None,
        carry: tuple[str, ...] = (),
        accept: str | None = None,
        final_codes: Collection[int] = (),
        extra_body: Mapping[str, Any] | None = None,
        secret: bool = False,
    ) -> Awaitable[M | None]:
        """Do one endpoint's round trip.

        Args:
            method: the HTTP method.
            route: the path template, e.g. ``"/v3/chats/{chatId}/messages"``.
            *ids: the values of the template's placeholders, in order.
            cast_to: the response model, or ``None`` for an endpoint whose answer is
                ignored (sent with ``Accept: */*``).
            body: the request model, or ``None``.
            json_body: instead of ``body``, the JSON body as sent, built by an endpoint
                that checked every value itself (a bulk send's hot path); its
                idempotency key, if any, is in it already and passed as
                ``idempotency_key``.
            query: query parameters (already checked strings).
            idempotency_key: the caller's key for a body that carries it only in the header
                (or, with ``json_body``, the key already in that body).
            key_header: with ``json_body``, also send ``idempotency_key`` as the
                ``Idempotency-Key`` header (a request model says so itself).
            safe_reason: why repeating this POST/PATCH is harmless, when it is (and it has
                no idempotency key).
            envelope: the key of the response object to load, when it wraps the model.
            carry: keys of the wrapping object copied into the loaded one when it lacks them.
            accept: the ``Accept`` header, when neither JSON nor an empty answer.
            final_codes: Linq error codes not worth a retry on this endpoint (the transport
                retries other 5xx answers of a retry-safe request).
            extra_body: keys added to the JSON body beside the model's fields, already
                checked (`check_extra_body`): for wire fields this SDK does not model.
            secret: the answer holds secrets (card data, a signing secret): the transport
                never quotes it (see `Transport.request`), and an `APIStatusError` or
                `ResponseValidationError` is raised without a cause and without the
                frames (and locals) that held the answer. Mark the model's secret fields
                with `secret_field` so that later loading errors cannot show them either.

        Raises:
            LinqUsageError: an id is not a valid path segment, or the body holds what
                strict JSON cannot (see `check_json_body`).
            APIStatusError, LinqConnectionError, ResponseValidationError: from the call.
        """
        path = build_path(route, ids)
        payload: Any = json_body
        if body is not None:
            payload = unstructure(body)
            if extra_body:
                payload = {**extra_body, **payload}
            key_at = body.idempotency_key_at
            key_header = body.idempotency_header
            if key_at is not None:
                holder = payload
                for step in key_at[:-1]:
                    holder = holder[step]
                found = holder.get(key_at[-1])
                if found:
                    idempotency_key = found
                else:
                    if idempotency_key is None:
                        idempotency_key = mint_idempotency_key()
                    # Written into copies along the path: a nested object may be the
                    # caller's own (a message composed once and sent many times).
                    holder = payload
                    for step in key_at[:-1]:
                        inner = dict(holder[step])
                        holder[step] = inner
                        holder = inner
                    holder[key_at[-1]] = idempotency_key
            elif key_header and idempotency_key is None:
                idempotency_key = mint_idempotency_key()
        then = None
        if cast_to is not None:
            then = _THENS.get((route, method, cast_to, envelope, carry)) or _then(
                method, route, cast_to, envelope, carry
            )
        # The transport's coroutine itself is what the endpoint awaits: the call is checked
        # and its body built here, before anything is sent, at no extra coroutine layer.
        return self._transport.request(
            method,
            path,
            body=payload,
            query=query,
            idempotency_key=idempotency_key,
            key_header=key_header,
            safe_reason=safe_reason,
            accept="*/*" if cast_to is None else accept,
            final_codes=final_codes,
            secret=secret,
            then=then,
        )

    async def _request_list(
        self,
        method: str,
        route: str,
        *ids: str,
        item: type[M],
        envelope: str,
        query: Mapping[str, str | Sequence[str]] | None = None,
    ) -> list[M]:
        """Like `_request`, for an endpoint that answers ``{envelope: [items]}`` (no pages)."""
        data = await self._transport.request(method, build_path(route, ids), query=query)
        return _items(data, envelope, item, f"{method} {route}")

    def _pager(
        self,
        route: str,
        *ids: str,
        item: type[M],
        envelope: str,
        query: Mapping[str, str] | None = None,
    ) -> AsyncPager[M]:
        """A pager over a ``GET`` answered by ``{envelope: [items], next_cursor}``.

        The path is built (and its ids checked) now, so a bad id fails at the call, not at
        the first iteration.
        """
        path = build_path(route, ids)
        base_query = dict(query or {})
        label = f"GET {route}"
        transport = self._transport

        async def fetch(cursor: str | None) -> Page[M]:
            if cursor is not None:
                _check_cursor(cursor)
            params = base_query if cursor is None else {**base_query, "cursor": cursor}
            data = await transport.request("GET", path, query=params)
            items = _items(data, envelope, item, label)
            next_cursor = data.get("next_cursor")
            if next_cursor is not None and type(next_cursor) is not str:
                raise ResponseValidationError(
                    f"the response to {label} has a non-string cursor {next_cursor!r}"
                )
            return Page(items, next_cursor, fetch)

        return AsyncPager(fetch, label)

    def _offset_pager(
        self,
        route: str,
        *ids: str,
        item: type[M],
        envelope: str,
        query: Mapping[str, str] | None = None,
    ) -> AsyncPager[M]:
        """A pager over a ``GET`` that pages by ``offset`` (and ``limit``), not by cursor.

        Each answer is ``{envelope: [items], has_more?}``. A page's ``next_cursor`` is the
        offset of the next page as a decimal string (``"40"``: the offset plus the items
        received so far), so `AsyncPager.page` resumes from it like from a cursor. The
        list ends at an empty page, or at a page whose answer says ``has_more: false``;
        a short page does not end it, since the API may cap ``limit`` below what was
        asked. The first page is fetched without ``offset``.
        """
        path = build_path(route, ids)
        base_query = dict(query or {})
        label = f"GET {route}"
        transport = self._transport

        async def fetch(cursor: str | None) -> Page[M]:
            offset = 0 if cursor is None else _parse_offset(cursor)
            params = {**base_query, "offset": str(offset)} if offset else base_query
            data = await transport.request("GET", path, query=params)
            items = _items(data, envelope, item, label)
            has_more = data.get("has_more")
            if has_more is not None and type(has_more) is not bool:
                raise ResponseValidationError(
                    f"the response to {label} has a non-boolean has_more "
                    f"({type(has_more).__name__})"
                )
            done = not items or has_more is False
            return Page(items, None if done else str(offset + len(items)), fetch)

        return AsyncPager(fetch, label)


_THENS: dict[tuple[Any, ...], Callable[[Any], Any]] = {}


def _then(
    method: str, route: str, cast_to: type[M], envelope: str | None, carry: tuple[str, ...]
) -> Callable[[Any], M]:
    """What loads an endpoint's answer: made once per endpoint (and kept in ``_THENS``).

    An answer loaded as it comes is loaded by the model's generated loader itself, with
    the route bound (`loader_on`): no frame between the transport and the loader. An
    answer wrapped in an ``envelope`` is unwrapped first, in one frame.
    """
    label = f"{method} {route}"
    then: Callable[[Any], M]
    if envelope is None:
        then = loader_on(cast_to, label)
    else:
        loader = loader_of(cast_to)

        def then(data: Any) -> M:
            # Unwrapped from ``envelope``, with the ``carry`` keys of the wrapping object
            # copied in when the inner one lacks them.
            inner = _unwrap(data, envelope, label)
            if carry and type(inner) is dict:
                for key in carry:
                    if key not in inner and key in data:
                        inner[key] = data[key]
            return loader(inner, label)

    _THENS[route, method, cast_to, envelope, carry] = then
    return then


def _unwrap(data: Any, envelope: str, label: str) -> Any:
    """The value under ``envelope`` of an answer that must be an object holding it."""
    if type(data) is not dict:
        raise ResponseValidationError(
            f"the response to {label} did not fit: expected an object with {envelope!r}, "
            f"got {json_kind(data)}"
        )
    if envelope not in data:
        raise ResponseValidationError(
            f"the response to {label} did not fit: the answer has no {envelope!r}"
        )
    return data[envelope]


def _items(data: Any, envelope: str, item: type[M], label: str) -> list[M]:
    """Load ``{envelope: [items]}``, saying what came instead when the shape is wrong."""
    items = _unwrap(data, envelope, label)
    if type(items) is not list:
        raise ResponseValidationError(
            f"the response to {label} did not fit: {envelope!r} is {json_kind(items)}, not "
            f"an array of {item.__name__}"
        )
    return load_list(items, item, label)


def _check_cursor(cursor: object) -> None:
    # From AsyncPager.page(cursor): yarl would send a lone surrogate mangled, and an empty
    # cursor as "cursor=".
    if not isinstance(cursor, str) or not cursor:
        raise LinqUsageError(
            f"cursor must be None (the first page) or a page's next_cursor, got {cursor!r}"
        )
    check_no_lone_surrogates(cursor, what="cursor")


def _parse_offset(cursor: str) -> int:
    if type(cursor) is not str or not cursor.isascii() or not cursor.isdigit():
        raise LinqUsageError(
            f"this list pages by offset: its cursor is a decimal offset such as '40', "
            f"got {cursor!r}"
        )
    return int(cursor)
