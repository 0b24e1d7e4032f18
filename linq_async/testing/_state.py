"""What the fake remembers: the records it created and every request it was sent.

The record classes are public (re-exported from `linq_async.testing`) so tests can assert
on them; the `Store` that holds them is private to the fake.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import Callable, Mapping
from typing import Any, Literal, TypeVar

import attrs
from multidict import CIMultiDictProxy

T = TypeVar("T")

Site = Literal["api", "storage"]
"""Which of the fake's two sites a request reached."""

AttachmentStatus = Literal["pending", "complete"]

DEFAULT_LINES = ("+12223334444", "+12223335555")
"""The partner's sending lines in a `FakeLinqServer` made without ``lines=``."""


def utcnow() -> dt.datetime:
    """Return the current time as an aware UTC datetime."""
    return dt.datetime.now(dt.timezone.utc)


@attrs.define(kw_only=True, eq=False)
class FakeAttachment:
    """An attachment slot made by ``POST /v3/attachments``.

    Attributes:
        id: The attachment id (a UUID string).
        filename: The filename the client declared.
        content_type: The content type the client declared.
        size_bytes: The size the client declared; the upload must be exactly this long.
        created_at: When the slot was made (aware UTC).
        status: ``"pending"`` until a PUT to the upload URL succeeds, then ``"complete"``.
        received_bytes: Body bytes the storage host read during the latest upload attempt.
        sha256: Hex SHA-256 of the uploaded body; ``None`` until the upload is complete.
        upload_attempts: PUT requests that reached this attachment's key, refused ones
            included.
        upload_url: The upload URL issued for the slot (test data: it carries a signature).
        upload_expires_at: When ``upload_url`` expires, by the storage clock.
        download_url: Where the fake serves the file once uploaded (on its storage site).
    """

    id: str
    filename: str
    content_type: str
    size_bytes: int
    created_at: dt.datetime
    status: AttachmentStatus = "pending"
    received_bytes: int = 0
    sha256: str | None = None
    upload_attempts: int = 0
    upload_url: str | None = None
    upload_expires_at: dt.datetime | None = None
    download_url: str | None = None


@attrs.define(kw_only=True, eq=False)
class FakeChat:
    """A chat made by ``POST /v3/chats``.

    Attributes:
        id: The chat id (a UUID string).
        from_handle: The sending line (E.164).
        handles: The recipients, in the order of the creating request's ``to``.
        is_group: True when there is more than one recipient.
        created_at: When the chat was made (aware UTC).
        updated_at: When the latest message was sent into it.
        message_ids: Ids of the messages sent into the chat, oldest first.
        handle_ids: The id of each participant's ``ChatHandle`` object, keyed by handle
            (the sender's own line included).
        read_at: When the chat was last marked read, or ``None``.
        service: ``"iMessage"`` (every chat the fake makes) unless a test changed it with
            `FakeLinqServer.set_chat_service`.
        display_name: The group's name set by ``PUT /v3/chats/{id}``, or ``None``.
        group_chat_icon: The group's icon URL set by ``PUT /v3/chats/{id}``, or ``None``.
        left_at: When your line left the group (``POST /v3/chats/{id}/leave``), or ``None``.
            A left chat refuses further actions with 409.
    """

    id: str
    from_handle: str
    handles: list[str]
    is_group: bool
    created_at: dt.datetime
    updated_at: dt.datetime
    message_ids: list[str] = attrs.field(factory=list)
    handle_ids: dict[str, str] = attrs.field(factory=dict)
    read_at: dt.datetime | None = None
    service: str = "iMessage"
    display_name: str | None = None
    group_chat_icon: str | None = None
    left_at: dt.datetime | None = None


@attrs.define(kw_only=True, eq=False)
class FakeMessage:
    """A message sent through the API: a new chat's, a send into a chat or by line, a poll.

    Attributes:
        id: The message id (a UUID string).
        chat_id: The chat it was sent into.
        parts: The parts exactly as the client sent them (decoded JSON objects); empty when
            the message carried an ``experience`` instead.
        response_parts: The parts as the API returns them (``reactions``, media metadata).
        experience: The ``experience`` object as sent, or ``None``.
        idempotency_key: ``message.idempotency_key`` as sent, or ``None``.
        effect: ``message.effect`` as sent, or ``None``.
        reply_to: ``message.reply_to`` as sent, or ``None``.
        preferred_service: ``message.preferred_service`` as sent, or ``None``.
        override_optout: The request's ``override_optout``, or ``None`` when absent.
        sender: The handle that sent an inbound message (injected with
            `FakeLinqServer.receive_message`); ``None`` for the messages the client sent.
        created_at: When the fake accepted it (aware UTC).
    """

    id: str
    chat_id: str
    parts: list[dict[str, Any]]
    response_parts: list[dict[str, Any]]
    experience: dict[str, Any] | None = None
    idempotency_key: str | None = None
    effect: dict[str, Any] | None = None
    reply_to: dict[str, Any] | None = None
    preferred_service: str | None = None
    override_optout: bool | None = None
    sender: str | None = None
    created_at: dt.datetime


@attrs.define(kw_only=True, eq=False)
class RecordedRequest:
    """One request either site received, in arrival order.

    The headers are a verbatim copy, ``Authorization`` included: they are test data, kept so
    tests can check that the API key went to the API and never to the upload URL. Do not log
    them outside tests.

    Attributes:
        site: ``"api"`` or ``"storage"`` (the upload host).
        method: The HTTP method.
        path: The path exactly as sent, still percent-encoded, without the query (for the
            API it starts with ``/api/partner``).
        query_string: The query string exactly as sent, still percent-encoded.
        headers: A case-insensitive copy of the request headers.
        body: The raw body of an API request (``b""`` when empty); ``None`` for the storage
            site (uploads are streamed, never kept) and for requests answered by an injected
            fault before the body was read.
        status: The status the fake answered with (also when the client hung up before
            reading it); ``None`` while the request is in flight or when the fake dropped the
            connection instead of answering.
        dropped: True when the fake dropped the connection instead of answering (an
            injected fault: `drop_next_response`, `drop_upload`, `cut_download`); a client
            hanging up is not a drop.
    """

    site: Site
    method: str
    path: str
    query_string: str
    headers: CIMultiDictProxy[str]
    body: bytes | None = None
    status: int | None = None
    dropped: bool = False

    def json(self) -> Any:
        """Decode the recorded body as JSON.

        Returns:
            The decoded value.

        Raises:
            ValueError: The body is missing or not JSON.
        """
        if self.body is None:
            raise ValueError("no body was recorded for this request")
        return json.loads(self.body)


@attrs.define(kw_only=True, eq=False)
class Replay:
    """A successful response kept for an idempotency key."""

    status: int
    body: bytes


@attrs.define(kw_only=True, eq=False)
class Store:
    """Everything the fake knows, shared by its API and storage routes."""

    attachments: dict[str, FakeAttachment] = attrs.field(factory=dict)
    chats: dict[str, FakeChat] = attrs.field(factory=dict)
    messages: dict[str, FakeMessage] = attrs.field(factory=dict)
    requests: list[RecordedRequest] = attrs.field(factory=list)
    # (api key, idempotency key) -> the first successful response.
    replays: dict[tuple[str, str], Replay] = attrs.field(factory=dict)
    # (from, recipients) -> chat id: how POST /v3/chats finds an existing chat.
    chat_keys: dict[tuple[str, frozenset[str]], str] = attrs.field(factory=dict)
    # Serialises the mutating routes, which await storage checks mid-way.
    write_lock: asyncio.Lock = attrs.field(factory=asyncio.Lock)
    # Per-area state of the declared endpoints, one instance per class.
    areas: dict[type[Any], Any] = attrs.field(factory=dict)
    # Called with (event_type, data) on every state change a webhook would report.
    listeners: list[Callable[[str, Mapping[str, Any]], None]] = attrs.field(factory=list)
    # Makes an attachment's download URL on the storage site (set once it is started).
    download_url: Callable[[FakeAttachment], str] | None = None

    def area(self, cls: type[T]) -> T:
        """The one instance of ``cls`` this store keeps (created on first use)."""
        state = self.areas.get(cls)
        if state is None:
            state = self.areas[cls] = cls()
        return state

    def emit(self, event_type: str, data: Mapping[str, Any]) -> None:
        """Tell every listener about a state change."""
        for listener in list(self.listeners):
            listener(event_type, data)
