"""Declaring the fake's endpoints compactly: a route, its request rules, and its behaviour.

Most of the API is simple: check a body, change a little state, answer a small object. Each
such endpoint is one `Endpoint` in an area module (``_routes_*.py``): the method and route,
a schema for the body and the query built from the checks below (each raising the API's
documented error code), and a handler that gets a `Call` and returns the JSON answer (or
``None`` for an empty one). The handful of endpoints with rich behaviour (sending messages,
uploads) stay hand-written in ``_api.py``.

The schema language is the fake's own, written from the fact sheet, on purpose independent
of the client's models and checks: the fake grades the client.

Codes: a missing required field is 1001, a handle that is not E.164 (or an email, where
allowed) 1002, any other bad or unknown field 1005, unless a check says otherwise.
"""

from __future__ import annotations

import inspect
import re
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

import attrs
from aiohttp import web

from . import _render as render
from . import _rules as rules
from ._envelope import ApiError
from ._state import FakeAttachment, FakeChat, FakeMessage, Store, utcnow
from ._storage import UploadStorage

__all__ = [
    "Call",
    "Check",
    "Endpoint",
    "Field",
    "add_message",
    "array",
    "boolean",
    "email_or_phone",
    "https_url",
    "integer",
    "new_chat",
    "number",
    "obj",
    "one_of",
    "opt",
    "phone",
    "query_int",
    "repeated",
    "req",
    "string",
    "uploaded_attachment",
]

T = TypeVar("T")

Check = Callable[[Any, str], Any]
"""Checks one decoded JSON value at a place (``"body.handle"``); returns it or raises."""

_PHONE = re.compile(r"\+[0-9]{8,15}")
# The host right after "https://": not a path, query, fragment or userinfo.
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")


def bad(code: int, message: str, status: int = 400) -> ApiError:
    """The error for a refused request (400 unless ``status`` says otherwise)."""
    return ApiError(status, code, message)


def string(*, min_len: int = 1, max_len: int | None = None, code: int = 1005) -> Check:
    """A string of ``min_len`` to ``max_len`` characters."""

    def check(value: Any, where: str) -> str:
        if not isinstance(value, str) or len(value) < min_len:
            raise bad(code, f"{where} must be a string of at least {min_len} characters")
        if max_len is not None and len(value) > max_len:
            raise bad(code, f"{where} must be at most {max_len} characters")
        return value

    return check


def boolean(value: Any, where: str) -> bool:
    """A JSON boolean."""
    if not isinstance(value, bool):
        raise bad(1005, f"{where} must be a boolean")
    return value


def integer(*, low: int | None = None, high: int | None = None, code: int = 1005) -> Check:
    """A JSON integer (not a boolean) in ``[low, high]``."""

    def check(value: Any, where: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad(code, f"{where} must be an integer")
        if (low is not None and value < low) or (high is not None and value > high):
            raise bad(code, f"{where} must be from {low} to {high}")
        return value

    return check


def number(*, low: float | None = None, high: float | None = None, code: int = 1005) -> Check:
    """A JSON number in ``[low, high]``."""

    def check(value: Any, where: str) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise bad(code, f"{where} must be a number")
        if (low is not None and value < low) or (high is not None and value > high):
            raise bad(code, f"{where} must be from {low} to {high}")
        return float(value)

    return check


def one_of(*values: str, code: int = 1005) -> Check:
    """One of a closed set of strings."""
    allowed = frozenset(values)

    def check(value: Any, where: str) -> str:
        if value not in allowed:
            raise bad(code, f"{where} must be one of {sorted(allowed)}")
        return str(value)

    return check


def phone(value: Any, where: str) -> str:
    """An E.164 phone number (a line or a recipient)."""
    if not isinstance(value, str):
        raise bad(1005, f"{where} must be a string")
    if _PHONE.fullmatch(value) is None:
        raise bad(1002, f"{where} must be an E.164 phone number, got {value!r}")
    return value


def email_or_phone(value: Any, where: str) -> str:
    """An E.164 phone number or an email address (Apple ID)."""
    if not isinstance(value, str):
        raise bad(1005, f"{where} must be a string")
    if _PHONE.fullmatch(value) is None and _EMAIL.fullmatch(value) is None:
        raise bad(1002, f"{where} must be an E.164 phone number or an email, got {value!r}")
    return value


def https_url(*, max_len: int = 2048, code: int = 1005) -> Check:
    """An ``https://`` URL of at most ``max_len`` characters."""

    def check(value: Any, where: str) -> str:
        if not rules.is_https_url(value, max_len):
            raise bad(
                code,
                f"{where} must be an https URL of at most {max_len} characters, with a host "
                "and no whitespace or control characters",
            )
        return value

    return check


def array(item: Check, *, min_items: int = 0, max_items: int | None = None) -> Check:
    """A JSON array whose items pass ``item``."""

    def check(value: Any, where: str) -> list[Any]:
        if not isinstance(value, list) or len(value) < min_items:
            raise bad(1005, f"{where} must be an array of at least {min_items} items")
        if max_items is not None and len(value) > max_items:
            raise bad(1005, f"{where} takes at most {max_items} items")
        return [item(element, f"{where}[{index}]") for index, element in enumerate(value)]

    return check


@attrs.frozen
class Field:
    """One field of an object schema: its check and whether it must be present."""

    check: Check
    required: bool
    nullable: bool = False
    repeated: bool = False


def req(check: Check) -> Field:
    """A required field (absent or ``null``: 1001)."""
    return Field(check, required=True)


def opt(check: Check, *, nullable: bool = False) -> Field:
    """An optional field; ``null`` counts as absent unless ``nullable`` (then it is kept)."""
    return Field(check, required=False, nullable=nullable)


def repeated(item: Check) -> Field:
    """An optional query parameter that may be given several times (``to=a&to=b``).

    A value may also hold several items joined by commas (``to=a,b``), as the official SDK
    sends arrays. The handler gets the list of checked items.
    """

    def check(values: Any, where: str) -> list[Any]:
        items = [piece for value in values for piece in value.split(",")]
        return [item(piece, f"{where}[{index}]") for index, piece in enumerate(items)]

    return Field(check, required=False, repeated=True)


def obj(fields: Mapping[str, Field], *, unknown_code: int = 1005) -> Check:
    """A JSON object with exactly these fields (unknown ones are refused)."""

    def check(value: Any, where: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise bad(1005, f"{where} must be an object")
        unknown = sorted(set(value) - set(fields))
        if unknown:
            raise bad(unknown_code, f"unknown field {where + '.' if where else ''}{unknown[0]}")
        out: dict[str, Any] = {}
        for name, field in fields.items():
            item = value.get(name)
            place = f"{where}.{name}" if where else name
            if item is None:
                if field.required:
                    raise bad(1001, f"{place} is required")
                if field.nullable and name in value:
                    out[name] = None
                continue
            out[name] = field.check(item, place)
        return out

    return check


Handler = Callable[["Call"], Any]
"""Returns the JSON answer, ``None`` for an empty answer, or an awaitable of either."""


@attrs.frozen(kw_only=True)
class Endpoint:
    """One API endpoint of the fake.

    Attributes:
        method: the HTTP method.
        route: the path under ``/v3``, with ``{placeholders}`` (``/v3/chats/{chatId}/read``).
        handler: the behaviour.
        body: the body schema (an `obj` check), or ``None`` when the endpoint takes no body
            (a body sent anyway is refused with 1005).
        query: the query parameters' schema, or ``None`` when it takes none.
        status: the status of a JSON answer.
        empty_status: the status when the handler returns ``None``.
        idempotency_header: whether an ``Idempotency-Key`` header makes repeats replay the
            first answer.
        content_type: the media type of a JSON answer.
    """

    method: str
    route: str
    handler: Handler
    body: Check | None = None
    query: Mapping[str, Field] | None = None
    status: int = 200
    empty_status: int = 204
    idempotency_header: bool = False
    content_type: str = "application/json"


@attrs.define(kw_only=True, eq=False)
class Call:
    """What a handler gets: the request, its checked parts, and the fake's state."""

    request: web.Request
    params: dict[str, str]
    body: dict[str, Any]
    query: dict[str, Any]
    store: Store
    idempotency_key: str | None = None
    storage: UploadStorage | None = None

    def chat(self, chat_id: str | None = None) -> FakeChat:
        """The chat named by ``chat_id`` (default: the ``{chatId}`` of the path); 404 2001."""
        chat_id = self.params["chatId"] if chat_id is None else chat_id
        chat = self.store.chats.get(chat_id)
        if chat is None:
            raise ApiError(404, 2001, f"Chat {chat_id} not found")
        return chat

    def message(self, message_id: str | None = None) -> FakeMessage:
        """The message named by ``message_id`` (default: ``{messageId}``); 404 2002."""
        message_id = self.params["messageId"] if message_id is None else message_id
        message = self.store.messages.get(message_id)
        if message is None:
            raise ApiError(404, 2002, f"Message {message_id} not found")
        return message

    async def uploaded_attachment(self, attachment_id: str) -> FakeAttachment:
        """The attachment, which must be fully uploaded (404 2003; 400 1004 when not yet)."""
        return await uploaded_attachment(self.store, self.storage, attachment_id)

    def new_chat(self, from_handle: str, to: list[str]) -> FakeChat:
        """Make a chat from a line to recipients (see `new_chat`)."""
        return new_chat(self.store, from_handle, to)

    def add_message(
        self, chat: FakeChat, spec: rules.MessageRequest, override_optout: bool | None
    ) -> FakeMessage:
        """Send a checked message into a chat (see `add_message`)."""
        return add_message(self.store, chat, spec, override_optout)

    def area(self, cls: type[T]) -> T:
        """The state of one area of the API (one instance of ``cls`` per fake)."""
        return self.store.area(cls)

    def emit(self, event_type: str, data: Mapping[str, Any]) -> None:
        """Announce a state change (for the fake's webhook deliveries)."""
        self.store.emit(event_type, data)

    @staticmethod
    def new_id() -> str:
        """A fresh resource id (a UUID string)."""
        return str(uuid.uuid4())

    @staticmethod
    def now() -> Any:
        """The current time (aware UTC)."""
        return utcnow()


async def uploaded_attachment(
    store: Store, storage: UploadStorage | None, attachment_id: str
) -> FakeAttachment:
    """The attachment ``attachment_id``, brought up to date and fully uploaded.

    Raises:
        ApiError: 404 2003 when there is no such attachment; 400 1004 when its upload has
            not completed.
    """
    record = store.attachments.get(attachment_id)
    if record is None or not rules.is_uuid(attachment_id):
        raise ApiError(404, 2003, f"Attachment {attachment_id} not found")
    if storage is not None:
        await storage.refresh(record)
    if record.status != "complete":
        raise ApiError(
            400, 1004, f"Attachment {attachment_id} has not been uploaded (status {record.status})"
        )
    return record


def new_chat(store: Store, from_handle: str, to: list[str]) -> FakeChat:
    """Make and keep a chat from ``from_handle`` to the recipients ``to``."""
    now = utcnow()
    chat = FakeChat(
        id=str(uuid.uuid4()),
        from_handle=from_handle,
        handles=list(to),
        is_group=len(to) > 1,
        created_at=now,
        updated_at=now,
        handle_ids={handle: str(uuid.uuid4()) for handle in [from_handle, *to]},
    )
    store.chats[chat.id] = chat
    return chat


def add_message(
    store: Store, chat: FakeChat, spec: rules.MessageRequest, override_optout: bool | None
) -> FakeMessage:
    """Keep a checked message as sent into ``chat`` (attachments already checked)."""
    now = utcnow()
    message = FakeMessage(
        id=str(uuid.uuid4()),
        chat_id=chat.id,
        parts=spec.parts,
        response_parts=[
            render.response_part(part, store.attachments, str(uuid.uuid4()), me=chat.from_handle)
            for part in spec.parts
        ],
        experience=spec.experience,
        idempotency_key=spec.idempotency_key,
        effect=spec.effect,
        reply_to=spec.reply_to,
        preferred_service=spec.preferred_service,
        override_optout=override_optout,
        created_at=now,
    )
    store.messages[message.id] = message
    chat.message_ids.append(message.id)
    chat.updated_at = now
    store.emit("message.sent", {"chat_id": chat.id, "message_id": message.id})
    return message


async def run_handler(endpoint: Endpoint, call: Call) -> Any:
    """Call ``endpoint.handler`` and await its result when it is a coroutine."""
    result = endpoint.handler(call)
    if inspect.isawaitable(result):
        result = await result
    return result


AsyncHandler = Callable[[Call], Awaitable[Any]]


def query_int(*, low: int, high: int) -> Check:
    """A query parameter holding a decimal integer in ``[low, high]``."""

    def check(value: Any, where: str) -> int:
        if not isinstance(value, str) or not value.isascii() or not value.isdigit():
            raise bad(1005, f"{where} must be an integer")
        number = int(value)
        if not low <= number <= high:
            raise bad(1005, f"{where} must be from {low} to {high}")
        return number

    return check
