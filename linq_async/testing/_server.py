"""FakeLinqServer: lifecycle, request recording and fault injection for the two fake sites."""

from __future__ import annotations

import asyncio
import datetime as dt
import email.utils
import re
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from types import TracebackType
from typing import Any, Literal

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware
from multidict import CIMultiDict, CIMultiDictProxy

from ._api import API_PREFIX, ApiRoutes
from ._envelope import (
    ApiError,
    api_error_response,
    default_api_code,
    drop_connection,
    was_dropped,
)
from ._faults import FaultPlan
from ._routes_account import FakeAccount
from ._routes_chats import ChatsArea, FakeChatActivity, FakeLocationShare
from ._routes_messages import FakeEdit, FakePoll, FakeReaction, MessagesArea
from ._routes_payments import (
    FakeHandleConnection,
    FakePayment,
    FakePaymentRequest,
    PaymentsState,
)
from ._s3 import S3Storage
from ._sigv4 import S3Target
from ._state import (
    DEFAULT_LINES,
    FakeAttachment,
    FakeChat,
    FakeMessage,
    RecordedRequest,
    Site,
    Store,
    utcnow,
)
from ._storage import BuiltinStorage, UploadStorage
from ._webhooks import FakeWebhooks, add_inbound, inbound_chat, reaction_data

_HOST = "127.0.0.1"
_MAX_TTL = dt.timedelta(days=7)  # S3's limit for presigned URLs
# API bodies are small JSON; uploads never go through the API site.
_API_MAX_BODY = 8 * 1024 * 1024
_SHUTDOWN_TIMEOUT = 2.0
_E164 = re.compile(r"\+[0-9]{8,15}")


def _http_date(when: dt.datetime) -> str:
    return email.utils.format_datetime(when.astimezone(dt.timezone.utc), usegmt=True)


class FakeLinqServer:
    """A strict, in-process fake of the Linq Partner API v3, for testing code that uses it.

    It serves two sites on ``127.0.0.1``, each on a free port unless ``port`` is given: the API
    (`base_url`, routes under ``/api/partner/v3/...``) and the storage host that upload
    URLs point to (`storage_url`), so a client that sends its API key to the upload URL
    is caught. Requests that break a documented rule are refused with the documented error,
    and everything is recorded (`requests`, `attachments`, `chats`,
    `messages`) before the answer is sent, so a test can assert right after its call.

    Use it as an async context manager:

    ```python
    async with FakeLinqServer() as fake:
        client = MyClient(api_key=fake.api_key, base_url=fake.base_url)
        ...
    ```

    or call `start` and `close` yourself.

    Attachments' ``download_url`` point at the storage site too, which serves the uploaded
    bytes (and refuses a request that carries the API key).

    Routes: every endpoint of the API (the 69 of the client's namespaces), each with its
    documented status, answer shape and request rules, and the state tests need (chats,
    participants, edits, reactions, typing, polls, subscriptions, blocked handles, payments
    ...). Area state is reachable through properties such as `account`, `webhooks` and
    `chat_activity`. Unknown routes answer 404 (code 2001), a wrong method 405 (code 1005).

    Args:
        api_key: The only API key accepted; a random one when omitted.
        upload_ttl: How long upload URLs stay valid (whole seconds, 1 s to 7 days).
        storage: The strategy that presigns upload URLs; by default the fake's own storage
            site, which checks each PUT the way S3 checks a presigned PUT.
        s3: Shorthand for ``storage=S3Storage(s3)``: upload URLs are presigned PUTs to this
            real S3 endpoint (see `S3Storage`).
        port: The API site's TCP port; 0 (the default) picks a free one. The storage site
            always takes a free port (upload URLs carry it).
        lines: Your sending lines (E.164), best first: ``POST /v3/messages`` picks from
            them. By default ``+12223334444`` and ``+12223335555``.
        webhook_retry_delays: The waits, in seconds, before each retry of a webhook
            delivery that got a 5xx, a 429 or no answer; by default doubling from 2 s up to
            30 minutes in all, as the API does. ``()`` never retries.
        webhook_sleep: How the retry waits are slept (``asyncio.sleep``); pass a recorder
            so tests wait for nothing.
        webhook_clock: The Unix time deliveries are signed with (``time.time``).
        sign_content_type: Whether upload slots require and sign a ``Content-Type`` (the
            default). With ``False`` their ``required_headers`` hold only
            ``Content-Length``, and the built-in storage refuses a PUT that carries any
            ``Content-Type``, as a URL signed over an empty content type does.

    Webhooks: subscriptions made through the API (or `FakeWebhooks.subscribe`) get signed
    deliveries POSTed to their target URL whenever the fake's state changes (``message.sent``
    on every send, ``message.received`` from `receive_message` ...); see `webhooks`.

    Raises:
        ValueError: ``api_key`` is empty, ``upload_ttl`` is out of range, both
            ``storage`` and ``s3`` are given, ``port`` is not 0 to 65535, or a line is not
            E.164 or is given twice.

    """

    def __init__(
        self,
        *,
        api_key: str | None = None,
        upload_ttl: dt.timedelta = dt.timedelta(minutes=15),
        storage: UploadStorage | None = None,
        s3: S3Target | None = None,
        port: int = 0,
        lines: Sequence[str] = DEFAULT_LINES,
        webhook_retry_delays: Sequence[float] | None = None,
        webhook_sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        webhook_clock: Callable[[], float] = time.time,
        sign_content_type: bool = True,
    ) -> None:
        if isinstance(lines, str) or any(
            not isinstance(line, str) or not _E164.fullmatch(line) for line in lines
        ):
            raise ValueError(f"lines must be a list of E.164 numbers, got {lines!r}")
        if len(set(lines)) != len(lines):
            raise ValueError(f"lines lists a number twice: {list(lines)!r}")
        if api_key is not None and not api_key:
            raise ValueError("api_key must not be empty")
        if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
            raise ValueError(f"port must be an int from 0 to 65535, got {port!r}")
        if s3 is not None:
            if storage is not None:
                raise ValueError("pass storage= or s3=, not both")
            storage = S3Storage(s3)
        seconds = upload_ttl.total_seconds()
        if seconds != int(seconds) or not 1 <= seconds <= _MAX_TTL.total_seconds():
            raise ValueError(f"upload_ttl must be whole seconds from 1 s to 7 days: {upload_ttl}")
        self._api_key = api_key if api_key is not None else f"fake_{secrets.token_urlsafe(24)}"
        self._upload_ttl = upload_ttl
        self._store = Store()
        for line in lines:
            self._store.area(FakeAccount).add_line(line)
        self._faults = FaultPlan()
        self._builtin = BuiltinStorage(
            store=self._store,
            take_upload_drop=self._faults.take_upload_drop,
            take_download_cut=self._faults.take_download_cut,
            sign_content_type=sign_content_type,
        )
        self._skew = dt.timedelta(0)
        self._storage: UploadStorage = storage if storage is not None else self._builtin
        self._builtin.remote = storage
        self._store.download_url = self._builtin.download_url
        self._api_port = port
        self._runners: list[web.AppRunner] = []
        self._ports: dict[Site, int] = {}
        self._state: Literal["new", "starting", "running", "closed"] = "new"
        self._in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._webhooks = FakeWebhooks(
            self._store, retry_delays=webhook_retry_delays, sleep=webhook_sleep, clock=webhook_clock
        )

    # Lifecycle

    async def start(self) -> None:
        """Start both sites.

        Raises:
            RuntimeError: The server was already started.
            OSError: The API ``port`` is taken.
        """
        if self._state != "new":
            raise RuntimeError(f"FakeLinqServer is {self._state}; it can be started once")
        self._state = "starting"
        api = web.Application(middlewares=[self._recorder("api")], client_max_size=_API_MAX_BODY)
        ApiRoutes(
            store=self._store,
            storage=self._storage,
            api_key=self._api_key,
            upload_ttl=self._upload_ttl,
        ).install(api)
        storage = web.Application(middlewares=[self._recorder("storage")])
        # [\s\S], not ".": a key may hold any character, a newline included, as in S3.
        storage.router.add_route("*", r"/{tail:[\s\S]*}", self._builtin.handle)
        try:
            self._ports["api"] = await self._serve(api, self._api_port)
            self._ports["storage"] = await self._serve(storage, 0)
            self._builtin.host = f"{_HOST}:{self._ports['storage']}"
            await self._webhooks.start()
            self._state = "running"
        finally:
            if self._state != "running":
                await self.close()

    async def close(self) -> None:
        """Stop both sites and close their connections. Calling it again does nothing."""
        self._state = "closed"
        await self._webhooks.close()
        while self._runners:
            await self._runners.pop().cleanup()
        self._builtin.close()

    async def __aenter__(self) -> FakeLinqServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def _serve(self, app: web.Application, port: int) -> int:
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=_SHUTDOWN_TIMEOUT)
        await runner.setup()
        self._runners.append(runner)
        await web.TCPSite(runner, _HOST, port).start()
        bound: int = runner.addresses[0][1]
        return bound

    def _port(self, site: Site) -> int:
        if self._state != "running":
            raise RuntimeError(f"FakeLinqServer is {self._state}, not running")
        return self._ports[site]

    # Addresses and records

    @property
    def base_url(self) -> str:
        """The API base URL, ``http://127.0.0.1:<port>/api/partner`` (keep the path).

        Raises:
            RuntimeError: The server is not running.
        """
        return f"http://{_HOST}:{self._port('api')}{API_PREFIX}"

    @property
    def storage_url(self) -> str:
        """The origin of the storage site upload URLs point to, ``http://127.0.0.1:<port>``.

        Raises:
            RuntimeError: The server is not running.
        """
        return f"http://{_HOST}:{self._port('storage')}"

    @property
    def api_key(self) -> str:
        """The API key the fake accepts (``Authorization: Bearer <api_key>``)."""
        return self._api_key

    @property
    def upload_ttl(self) -> dt.timedelta:
        """How long new upload URLs stay valid."""
        return self._upload_ttl

    @property
    def attachments(self) -> dict[str, FakeAttachment]:
        """Attachment slots by id (deleted ones removed). Live: do not mutate."""
        return self._store.attachments

    @property
    def chats(self) -> dict[str, FakeChat]:
        """Chats by id, oldest first. Live: do not mutate."""
        return self._store.chats

    @property
    def messages(self) -> dict[str, FakeMessage]:
        """Messages by id, oldest first. Live: do not mutate."""
        return self._store.messages

    @property
    def account(self) -> FakeAccount:
        """The account area (lines, cards, blocks, audits, capabilities, experiences).

        Its records are live; configure it through its methods (`FakeAccount.add_line` ...).
        """
        return self._store.area(FakeAccount)

    @property
    def lines(self) -> tuple[str, ...]:
        """Your sending lines, best first (``lines=``)."""
        return tuple(self._store.area(FakeAccount).lines)

    @property
    def reactions(self) -> dict[str, FakeReaction]:
        """Reactions held on messages, by reaction id, oldest first. Live: do not mutate."""
        return self._store.area(MessagesArea).reactions

    @property
    def edits(self) -> list[FakeEdit]:
        """Every accepted message edit, in order. Live: do not mutate."""
        return self._store.area(MessagesArea).edits

    @property
    def polls(self) -> dict[str, FakePoll]:
        """Polls by their message id, oldest first. Live: do not mutate."""
        return self._store.area(MessagesArea).polls

    def flag_line(self, line: str, *, flagged: bool = True) -> None:
        """Make one of your lines unable to send (or able again, with ``flagged=False``).

        ``POST /v3/messages`` then skips chats on it: a recipient whose chats are all on
        flagged lines gets a new chat on a fresh line (``failover_flagged``), and when no
        line can send the answer is 409.

        Raises:
            ValueError: ``line`` is not one of `lines`.
        """
        if line not in self._store.area(FakeAccount).lines:
            raise ValueError(f"{line!r} is not one of this fake's lines {self.lines!r}")
        flagged_lines = self._store.area(MessagesArea).flagged_lines
        if flagged:
            flagged_lines.add(line)
        else:
            flagged_lines.discard(line)

    def age_message(self, message_id: str, *, by: dt.timedelta) -> None:
        """Make a message look ``by`` older (its ``created_at`` moves back).

        For rules that depend on a message's age, such as the 15 minutes an edit is allowed.

        Raises:
            KeyError: no such message.
        """
        message = self._store.messages[message_id]
        message.created_at -= by

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request either site received, in arrival order (``.clear()`` is fine).

        Requests that aiohttp refuses before routing (malformed HTTP) are not recorded.
        """
        return self._store.requests

    def chat_activity(self, chat_id: str) -> FakeChatActivity:
        """What the chat-level endpoints did in a chat: typing, location, background ...

        Live: it changes as requests arrive (do not mutate it).

        Raises:
            KeyError: The fake has no such chat.
        """
        chat = self._store.chats[chat_id]
        return self._store.area(ChatsArea).of(chat.id)

    # Scenarios of the chats area

    def share_location(
        self,
        chat_id: str,
        handle: str,
        *,
        longitude: float,
        latitude: float,
        altitude: float | None = None,
        address: str | None = None,
        locality: str | None = None,
    ) -> FakeLocationShare:
        """Make a participant share (or move) their location in a chat.

        ``GET /v3/chats/{id}/location`` then lists it, until a ``DELETE`` of the location
        ends it. A new share announces ``location.sharing.started``.

        Args:
            chat_id: The chat.
            handle: A participant of the chat (not your own line).
            longitude: Degrees east, -180 to 180.
            latitude: Degrees north, -90 to 90.
            altitude: Metres, or ``None``.
            address: The street address to report, or ``None``.
            locality: The city to report, or ``None``.

        Returns:
            The share record (live).

        Raises:
            KeyError: The fake has no such chat.
            ValueError: ``handle`` is not a participant, or a coordinate is out of range.
        """
        chat = self._store.chats[chat_id]
        if handle not in chat.handles:
            raise ValueError(f"{handle!r} is not a participant of chat {chat_id}")
        if not -180 <= longitude <= 180 or not -90 <= latitude <= 90:
            raise ValueError(f"no such place: longitude {longitude}, latitude {latitude}")
        shares = self._store.area(ChatsArea).of(chat.id).location_shares
        new = handle not in shares
        share = shares[handle] = FakeLocationShare(
            handle=handle,
            longitude=float(longitude),
            latitude=float(latitude),
            altitude=None if altitude is None else float(altitude),
            address=address,
            locality=locality,
            updated_at=utcnow(),
        )
        if new:
            self._store.emit("location.sharing.started", {"chat_id": chat.id, "handle": handle})
        return share

    def set_chat_service(self, chat_id: str, service: str) -> None:
        """Make a chat an ``SMS`` or ``RCS`` chat (the fake makes ``iMessage`` chats).

        Endpoints the API limits to iMessage then answer 409 (code 2017).

        Raises:
            KeyError: The fake has no such chat.
            ValueError: ``service`` is not ``iMessage``, ``SMS`` or ``RCS``.
        """
        if service not in ("iMessage", "SMS", "RCS"):
            raise ValueError(f"service must be iMessage, SMS or RCS, got {service!r}")
        self._store.chats[chat_id].service = service

    def set_cooldowns(
        self,
        *,
        share_contact_card: dt.timedelta | None = None,
        location_request: dt.timedelta | None = None,
    ) -> None:
        """Change how long the per-chat rate limits of the chats area last.

        A second request in the same chat within the window answers 429 (code 1007) with
        ``Retry-After``. Defaults: 5 minutes between contact-card shares (the API's rule),
        60 seconds between location requests (the fake's choice). A zero window turns a
        limit off. Windows run on the monotonic clock from the latest accepted request.

        Args:
            share_contact_card: The window of ``POST /v3/chats/{id}/share_contact_card``.
            location_request: The window of ``POST /v3/chats/{id}/location/request``.

        Raises:
            ValueError: A window is negative.
        """
        windows = self._store.area(ChatsArea).windows
        for name, window in (
            ("share_contact_card", share_contact_card),
            ("location_request", location_request),
        ):
            if window is None:
                continue
            if window < dt.timedelta(0):
                raise ValueError(f"{name} must not be negative, got {window}")
            windows[name] = window.total_seconds()

    # Payments area

    @property
    def payment_requests(self) -> dict[str, FakePaymentRequest]:
        """Payment requests by id, oldest first. Live: do not mutate."""
        return self._store.area(PaymentsState).requests

    @property
    def payments(self) -> dict[str, FakePayment]:
        """Agent payments by id, oldest first. Live: do not mutate."""
        return self._store.area(PaymentsState).payments

    @property
    def payment_connections(self) -> dict[str, FakeHandleConnection]:
        """Customers' payment consents by handle, pending ones included. Live."""
        return self._store.area(PaymentsState).connections

    def payment_verification_code(self, handle: str) -> str:
        """The code the latest ``POST /v3/payments/handles/{handle}/connect`` "sent".

        Raises:
            KeyError: no unused code was sent to ``handle``.
        """
        connection = self._store.area(PaymentsState).connections.get(handle)
        if connection is None or connection.code is None:
            raise KeyError(f"no verification code was sent to {handle}")
        return connection.code

    def connect_payment_provider(self, provider: str = "stripe") -> None:
        """Finish a provider's onboarding, as the user would on the provider's site.

        Payment requests are refused (403) until Stripe is connected.

        Raises:
            KeyError: the fake knows no such provider (it knows ``stripe``).
        """
        state = self._store.area(PaymentsState)
        if provider not in state.providers:
            raise KeyError(f"the fake knows no payment provider {provider!r}")
        state.providers[provider] = "connected"
        state.connected_at[provider] = utcnow()

    def pay_payment_request(self, payment_request_id: str) -> None:
        """The customer pays a pending payment request (emits ``payment.succeeded``).

        Raises:
            KeyError: no such payment request.
            ValueError: it is not pending.
        """
        state = self._store.area(PaymentsState)
        if payment_request_id not in state.requests:
            raise KeyError(f"no payment request {payment_request_id}")
        paid = state.mark_paid(payment_request_id, utcnow())
        self._store.emit("payment.succeeded", paid.wire())

    def settle_payment(self, payment_id: str) -> None:
        """The merchant charges an authorized payment's card (emits ``payment.succeeded``).

        Raises:
            KeyError: no such payment.
            ValueError: it is not authorized.
        """
        payment = self._store.area(PaymentsState).payments[payment_id]
        if payment.status != "authorized":
            raise ValueError(f"payment {payment_id} is {payment.status}, not authorized")
        payment.status = "succeeded"
        self._store.emit("payment.succeeded", payment.wire())

    @property
    def webhooks(self) -> FakeWebhooks:
        """The webhook side: subscriptions, deliveries, delivery faults (`FakeWebhooks`)."""
        return self._webhooks

    # The world acting on the fake

    def receive_message(
        self,
        *,
        sender: str,
        line: str,
        text: str | None = None,
        parts: Sequence[Mapping[str, Any]] | None = None,
        chat_id: str | None = None,
    ) -> FakeMessage:
        """Make ``sender`` send a message to your ``line``: an inbound message.

        It is recorded in `messages` (listed by ``GET /v3/chats/{id}/messages`` with
        ``is_from_me: false``) and announced as ``message.received`` to the webhook
        subscriptions.

        Args:
            sender: The handle writing in (E.164 or email).
            line: Your line it is written to; the direct chat between the two is used, or
                made.
            text: The text (a single text part).
            parts: The parts as the API shows them (instead of ``text``).
            chat_id: Write into this chat (a group) instead of the direct chat.

        Returns:
            The message.

        Raises:
            ValueError: neither or both of ``text`` and ``parts``, or an unknown chat.
        """
        if (text is None) == (parts is None):
            raise ValueError("give text or parts")
        body = (
            [{"type": "text", "value": text}]
            if text is not None
            else [dict(p) for p in parts or ()]
        )
        if chat_id is not None:
            chat = self._store.chats.get(chat_id)
            if chat is None:
                raise ValueError(f"no chat {chat_id}")
        else:
            chat = inbound_chat(self._store, line, sender)
        return add_inbound(self._store, chat, sender, body)

    def receive_reaction(
        self,
        message_id: str,
        *,
        sender: str,
        type: str = "love",
        removed: bool = False,
        custom_emoji: str | None = None,
        part_index: int = 0,
    ) -> None:
        """Make ``sender`` react to a message: announces ``reaction.added`` (or ``.removed``).

        Raises:
            ValueError: no such message.
        """
        message = self._store.messages.get(message_id)
        if message is None:
            raise ValueError(f"no message {message_id}")
        data = reaction_data(
            self._store,
            message,
            sender=sender,
            reaction_type=type,
            custom_emoji=custom_emoji,
            part_index=part_index,
        )
        self._store.emit("reaction.removed" if removed else "reaction.added", data)

    def receive_typing(
        self, chat_id: str, *, sender: str | None = None, stopped: bool = False
    ) -> None:
        """Announce ``chat.typing_indicator.started`` (or ``.stopped``) in a chat.

        Raises:
            ValueError: no such chat.
        """
        if chat_id not in self._store.chats:
            raise ValueError(f"no chat {chat_id}")
        data: dict[str, Any] = {"chat_id": chat_id}
        if sender is not None:
            data["actor_handle"] = sender
        kind = "stopped" if stopped else "started"
        self._store.emit(f"chat.typing_indicator.{kind}", data)

    async def wait_idle(self) -> None:
        """Wait until no request is being handled.

        Records are updated before each answer is sent, so this is only needed when the
        client gave up first (e.g. it closed an upload mid-body) and the fake is still
        finishing that request.
        """
        await self._idle.wait()

    # Fault injection

    def fail_next(
        self,
        status: int,
        *,
        times: int = 1,
        code: int | None = None,
        message: str | None = None,
        method: str | None = None,
        path: str | None = None,
        site: Site | None = None,
        body: bytes | str | None = None,
        content_type: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """Answer the next ``times`` matching requests with ``status``, without processing them.

        The default body is the API's error envelope (``{"success": false, "error": {status,
        code, message, doc_url}, "trace_id"}``) on the API site and S3's XML error on the
        storage site.

        Args:
            status: The HTTP status to answer with, 200 to 599 (a 1xx is no final answer).
            times: How many matching requests fail.
            code: The envelope's ``error.code``; by default the documented code for the
                status (400: 1005, 401: 2004, 403: 2005, 404: 2001, 409: 1006, 429: 1007,
                5xx: 3006).
            message: The error message; by default the status's reason phrase.
            method: Match only this HTTP method.
            path: Match only paths matching this ``fnmatch`` glob (case-sensitive; ``*`` also
                matches ``/``), applied to the path as sent (percent-encoded, no query). API
                paths are matched without the ``/api/partner`` prefix (``"/v3/chats"``,
                ``"/v3/chats/*/messages"``); storage paths look like
                ``"/linq-uploads/<attachment_id>/<url-quoted filename>"``.
            site: Match only ``"api"`` or ``"storage"`` requests; both by default.
            body: Replace the default body (e.g. a proxy's HTML page, or ``b""``).
            content_type: The Content-Type of ``body`` (default
                ``application/octet-stream``).
            headers: Extra response headers.

        Raises:
            ValueError: ``status`` or ``times`` is invalid, ``site`` is not ``"api"``,
                ``"storage"`` or None, or another argument has the wrong type (an empty
                string included).
        """
        self._faults.add_failure(
            status,
            times=times,
            site=site,
            method=method,
            path=path,
            code=code,
            message=message,
            body=body,
            content_type=content_type,
            headers=headers,
        )

    def rate_limit(
        self,
        *,
        times: int = 1,
        retry_after: int = 1,
        path: str | None = None,
        method: str | None = None,
    ) -> None:
        """Answer the next ``times`` matching API requests with 429, code 1007.

        The answer carries a ``Retry-After`` header and ``error.retry_after``.

        Args:
            times: How many matching requests are limited.
            retry_after: The seconds to announce.
            path: Match only API paths matching this glob (see `fail_next`).
            method: Match only this HTTP method.

        Raises:
            ValueError: ``retry_after`` is negative or ``times`` is invalid.
        """
        if isinstance(retry_after, bool) or not isinstance(retry_after, int) or retry_after < 0:
            raise ValueError(f"retry_after must be a non-negative integer, got {retry_after!r}")
        self._faults.add_failure(
            429,
            times=times,
            site="api",
            method=method,
            path=path,
            code=1007,
            message="Rate limit exceeded",
            headers={"Retry-After": str(retry_after)},
            extra={"retry_after": retry_after},
        )

    def drop_next_response(
        self,
        *,
        method: str | None = None,
        path: str | None = None,
        site: Site | None = None,
        times: int = 1,
    ) -> None:
        """Process the next ``times`` matching requests fully, then drop the connection.

        The records change (the chat is made, the message sent) but the client sees a
        disconnect instead of an answer: the "response lost" case for idempotency tests.

        Args:
            method: Match only this HTTP method.
            path: Match only paths matching this glob (see `fail_next`).
            site: Match only ``"api"`` or ``"storage"`` requests; both by default.
            times: How many matching requests lose their answer.

        Raises:
            ValueError: ``times`` is invalid, ``site`` is not ``"api"``, ``"storage"`` or
                None, or ``method`` or ``path`` is not a non-empty string or None.
        """
        self._faults.add_drop(times=times, site=site, method=method, path=path)

    def drop_upload(self, *, after_bytes: int, times: int = 1) -> None:
        """Cut the next ``times`` uploads after ``after_bytes`` bytes of their body.

        Applies to PUTs that pass every check and start sending their body; the connection
        is aborted once at least ``after_bytes`` bytes were read (or at the end of a shorter
        body), and the attachment stays ``"pending"``.

        Args:
            after_bytes: Body bytes to read before aborting (0 aborts at the first read).
            times: How many uploads are cut.

        Raises:
            ValueError: ``after_bytes`` or ``times`` is invalid.
        """
        self._faults.add_upload_drop(after_bytes=after_bytes, times=times)

    def cut_download(self, *, after_bytes: int, times: int = 1) -> None:
        """Cut the next ``times`` downloads from the storage site after ``after_bytes`` bytes.

        The answer announces the whole file's ``Content-Length``, sends its first
        ``after_bytes`` bytes (all of it, for a shorter file), then the connection is aborted.

        Args:
            after_bytes: Bytes of the file to send before cutting.
            times: How many downloads are cut.

        Raises:
            ValueError: ``after_bytes`` or ``times`` is invalid.
        """
        self._faults.add_download_cut(after_bytes=after_bytes, times=times)

    def expire_upload_urls(self) -> None:
        """Expire every upload URL issued so far; URLs issued later get the full TTL.

        The storage clock jumps forward, so ``expires_at`` of later URLs is later than the
        wall clock plus `upload_ttl`.

        Raises:
            NotImplementedError: A custom ``storage`` cannot revoke its URLs.
        """
        self._storage.expire_issued_urls()

    def shift_clock(self, delta: dt.timedelta) -> None:
        """Run the fake's clock ``delta`` away from this machine's (negative: behind).

        The API's ``Date`` headers, the issue and expiry times of new upload URLs and the
        storage's expiry checks all follow the shifted clock, as a server whose clock
        differs from the client's would: a client clock that runs fast is a fake clock that
        runs behind.

        Raises:
            NotImplementedError: A custom ``storage`` keeps its own clock.
        """
        if self._storage is not self._builtin:
            raise NotImplementedError("a custom storage keeps its own clock")
        self._skew += delta
        self._builtin.clock_offset += delta

    def reset_faults(self) -> None:
        """Forget every queued fault (failures, rate limits, drops and download cuts)."""
        self._faults.reset()

    # Recording middleware

    def _recorder(self, site: Site) -> Middleware:
        @web.middleware
        async def record(request: web.Request, handler: Handler) -> web.StreamResponse:
            raw_path, _, raw_query = request.raw_path.partition("?")
            entry = RecordedRequest(
                site=site,
                method=request.method,
                path=raw_path,
                query_string=raw_query,
                headers=CIMultiDictProxy(CIMultiDict(request.headers)),
            )
            self._store.requests.append(entry)
            self._enter()
            try:
                response = await self._process(site, request, handler, entry)
                if self._skew and site == "api" and not response.prepared:
                    response.headers["Date"] = _http_date(
                        dt.datetime.now(dt.timezone.utc) + self._skew
                    )
                if was_dropped(request):
                    entry.dropped = True
                else:  # answered (even if the client hung up before reading it)
                    entry.status = response.status
                return response
            except web.HTTPException as exc:
                entry.status = exc.status
                raise
            except Exception:
                entry.status = 500
                raise
            finally:
                self._leave()

        return record

    async def _process(
        self, site: Site, request: web.Request, handler: Handler, entry: RecordedRequest
    ) -> web.StreamResponse:
        path = entry.path
        if site == "api" and path.startswith(f"{API_PREFIX}/"):
            path = path[len(API_PREFIX) :]
        failure = self._faults.take_failure(site, request.method, path)
        if failure is not None:
            return failure.response(site)
        if site == "api":
            try:
                entry.body = await request.read()
            except web.HTTPException as exc:
                code = default_api_code(exc.status)
                return api_error_response(ApiError(exc.status, code, exc.reason))
        drop = self._faults.take_drop(site, request.method, path)
        response = await handler(request)
        if drop:
            drop_connection(request)  # everything is recorded; now lose the answer
        return response

    def _enter(self) -> None:
        self._in_flight += 1
        self._idle.clear()

    def _leave(self) -> None:
        self._in_flight -= 1
        if not self._in_flight:
            self._idle.set()
