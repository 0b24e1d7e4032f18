"""``LinqSession``: configuration, the ClientSession's lifetime, and the API namespaces."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Mapping
from functools import cached_property
from types import TracebackType
from typing import TYPE_CHECKING, Any

import aiohttp
from yarl import URL

from ._errors import LinqUsageError
from ._retry import RetryPolicy
from ._secret import Secret
from ._transport import Pool, Timeouts, Transport
from ._validation import check_callback, has_space_or_control

# The namespaces, the models and the headline workflows are imported when first used: a
# session is often made at import time of an application, and ``import linq_async`` stays
# as light as the transport (see ``docs/performance.md``).
if TYPE_CHECKING:
    from typing_extensions import Unpack

    from ._compose import MessageOptions
    from ._upload import FileInput, ProgressCallback
    from .models import BroadcastReport, RecipientOutcome, SendResult, Upload
    from .resources import (
        Attachments,
        BlockedHandles,
        Capability,
        Chats,
        ContactCard,
        Experiences,
        Messages,
        PaymentRequests,
        Payments,
        PhoneNumbers,
        WebhookSubscriptions,
    )

__all__ = ["DEFAULT_BASE_URL", "LinqSession"]

if TYPE_CHECKING:
    from . import _sending
else:
    _sending = None  # the headline workflows: imported on first use, by _import_sending


def _import_sending() -> None:
    """Import ``_sending`` into this module's globals (a function-level ``from . import``
    would cost an import-system call on every send)."""
    global _sending
    from . import _sending as module

    _sending = module


DEFAULT_BASE_URL = "https://api.linqapp.com/api/partner"
"""The production API root; paths such as ``/v3/chats`` are appended to it."""

_KEY_VARS = ("LINQ_API_KEY", "LINQ_API_V3_API_KEY")
_AIOHTTP_VERSION = tuple(int(part) for part in aiohttp.__version__.split(".")[:2] if part.isdigit())
_BASE_URL_VARS = ("LINQ_BASE_URL", "LINQ_API_V3_BASE_URL")


def _check_base_url(base_url: str) -> str:
    """``base_url`` without a trailing ``/``, if requests can be sent to it; checked in full
    here, so that no malformed URL waits for the first call to fail."""
    problem = _base_url_problem(base_url)
    if problem is not None:
        shown = _USERINFO.sub("//<redacted>@", base_url) if isinstance(base_url, str) else base_url
        raise LinqUsageError(
            f"base_url must be an http(s) URL such as {DEFAULT_BASE_URL!r}; got {shown!r}: "
            f"{problem}"
        )
    return base_url.rstrip("/")


_USERINFO = re.compile(r"//[^/@]*@")


def _base_url_problem(base_url: object) -> str | None:
    if not isinstance(base_url, str):
        return "not a string"
    if has_space_or_control(base_url):
        return "it holds whitespace or control characters"
    try:
        url = URL(base_url)
        host = url.raw_host
        url.port  # noqa: B018  (reading it checks it)
        if host:
            host.encode("idna")  # as the resolver will: a label over 63 characters fails
    except (ValueError, UnicodeError) as exc:
        return str(exc) or type(exc).__name__
    if url.scheme not in ("http", "https"):
        return "the scheme must be http or https"
    if not host:
        return "it has no host"
    if url.user is not None or url.password is not None:
        return "it holds a user or password (the API key goes in api_key, never in the URL)"
    if url.query_string or url.fragment:
        return "it has a query or a fragment"
    return None


def _check_option(value: Any, cls: type[Any], name: str) -> Any:
    if value is not None and not isinstance(value, cls):
        example = {"timeout": "Timeouts(total=5)", "retry": "RetryPolicy(attempts=3)"}
        raise LinqUsageError(
            f"{name} must be a {cls.__name__} (such as {example.get(name, cls.__name__)}) "
            f"or None, got {value!r}"
        )
    return value


def _key_ok(value: object) -> bool:
    # A bearer token: printable ASCII without spaces. A control character (a newline
    # pasted in) would make every request fail as an invalid header.
    return (
        isinstance(value, str)
        and bool(value)
        and value.isascii()
        and value.isprintable()
        and " " not in value
    )


def _check_key(key: Secret[str]) -> None:
    # The key is never a local of a frame that raises: a traceback printed with its locals
    # would show it.
    if not _key_ok(key.reveal()):
        raise LinqUsageError(
            "an API key is required: pass LinqSession(api_key) or use "
            "LinqSession.from_env(), which reads LINQ_API_KEY "
            "(the key must be a non-empty string of printable ASCII without spaces)"
        )


def _check_session(session: object) -> None:
    """Refuse a caller's ClientSession whose defaults would break or leak API calls."""
    if session is None:
        return
    if not isinstance(session, aiohttp.ClientSession):
        raise LinqUsageError(f"session must be an aiohttp.ClientSession or None, got {session!r}")
    if session.closed:
        raise LinqUsageError("the aiohttp ClientSession passed as session= is closed")
    if "Authorization" in session.headers or session.auth:
        # aiohttp refuses an Authorization header next to auth=, and the key is LinqSession's
        # to send: a second credential on every API call is a mistake either way.
        raise LinqUsageError(
            "the ClientSession passed as session= sends credentials on every request "
            "(a default Authorization header or auth=); pass one without them: "
            "LinqSession adds the API key to API requests itself"
        )
    if getattr(session, "_base_url", None) is not None and _AIOHTTP_VERSION < (3, 12):
        # Before aiohttp 3.12 a session with a base_url fails on every absolute URL.
        raise LinqUsageError(
            "the ClientSession passed as session= has a base_url, which this aiohttp "
            f"({aiohttp.__version__}) cannot combine with absolute URLs; pass one without it "
            "(LinqSession(base_url=...) sets the API root)"
        )
    if session.auto_decompress is False:
        raise LinqUsageError(
            "the ClientSession passed as session= has auto_decompress=False, which would "
            "hand compressed API answers to the JSON decoder; pass one with the default"
        )


def _read_environ(env: Mapping[str, str]) -> tuple[Secret[str], str | None]:
    key = next((Secret(env[name].strip()) for name in _KEY_VARS if env.get(name)), None)
    if key is None:
        raise LinqUsageError(f"no API key in the environment: set {' or '.join(_KEY_VARS)}")
    # Stripped, as the key is: a value read from a file often ends with a newline.
    base_url = next((env[name].strip() for name in _BASE_URL_VARS if env.get(name)), None)
    return key, base_url or None


class LinqSession:
    """An async client of the Linq Partner API v3. Use it as an async context manager.

    One ``LinqSession`` owns one aiohttp ``ClientSession`` (created inside the running event
    loop on ``async with`` or on first use) and shares its connection pool across every call,
    so make one per application, not one per request.

    For example:

    ```python
    async with LinqSession(api_key) as linq:
        result = await linq.upload_and_send(
            "report.pdf", from_="+12223334444", to="+15556667777", text="Your report"
        )
    ```

    Args:
        api_key: your Linq API key (bearer token). Required; `from_env` reads it from
            the environment instead.
        base_url: the API root, ``https://api.linqapp.com/api/partner`` by default. Its path
            is kept: ``/v3/chats`` is appended to it.
        timeout: timeouts for API calls and uploads.
        retry: which failures are retried and how long to wait.
        session: an aiohttp ``ClientSession`` of yours to send API calls through. It is
            used as given and never closed by this object; its ``raise_for_status`` is
            ignored (errors still come as `APIStatusError`). Uploads never go through it but
            through a connection pool of the SDK's own (following its ``trust_env``), so
            none of its default headers, cookies or auth reaches storage. Its connector's
            limit is its own: a call waiting for one of its connections waits within
            ``Timeouts.total``. It must not carry
            a default ``Authorization`` header, ``auth=`` or ``auto_decompress=False`` (nor,
            before aiohttp 3.12, a ``base_url``).

    The session belongs to the event loop it is opened in (``async with``, or its first
    call): using it from another loop (a second ``asyncio.run``) raises `LinqLoopError`.

    Raises:
        LinqUsageError: the API key is missing or empty, ``base_url`` is not an http(s) URL,
            ``timeout`` or ``retry`` is not a `Timeouts` or `RetryPolicy`, or ``session``
            is not an open ClientSession fit for API calls (see above).
    """

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        timeout: Timeouts | None = None,
        retry: RetryPolicy | None = None,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        # From here on no frame holds the key as a plain string: a traceback printed with
        # its locals (pytest --showlocals, error trackers) must not show it.
        # Checked just below: the wrapper holds whatever was passed until then.
        key: Secret[str] = (
            api_key if isinstance(api_key, Secret) else Secret(api_key)  # type: ignore[arg-type]
        )
        del api_key
        _check_key(key)
        _check_session(session)
        self._transport = Transport(
            Pool(
                api_key=key,
                base_url=_check_base_url(base_url or DEFAULT_BASE_URL),
                session=session,
            ),
            timeouts=_check_option(timeout, Timeouts, "timeout") or Timeouts(),
            retry=_check_option(retry, RetryPolicy, "retry") or RetryPolicy(),
        )
        self._owns_pool = True

    def with_options(
        self, *, timeout: Timeouts | None = None, retry: RetryPolicy | None = None
    ) -> LinqSession:
        """A copy of this session with other timeouts or retries, sharing its connections.

        For one slow call or one batch that must not retry:
        ``await linq.with_options(retry=RetryPolicy.never()).chats.get(chat_id)``.
        Copies are cheap. Closing a copy does nothing; closing the original closes the
        connection pool of every copy.

        Args:
            timeout: the copy's timeouts (this session's when omitted).
            retry: the copy's retry policy (this session's when omitted).

        Raises:
            LinqUsageError: ``timeout`` or ``retry`` is not a `Timeouts` or `RetryPolicy`.
        """
        copy = object.__new__(LinqSession)
        copy._transport = self._transport.with_options(
            timeouts=_check_option(timeout, Timeouts, "timeout"),
            retry=_check_option(retry, RetryPolicy, "retry"),
        )
        copy._owns_pool = False
        return copy

    @cached_property
    def attachments(self) -> Attachments:
        """Presigned upload slots and attachment metadata."""
        from .resources import Attachments

        return Attachments(self._transport)

    @cached_property
    def chats(self) -> Chats:
        """Chats, and ``chats.messages`` for messages inside one chat."""
        from .resources import Chats

        return Chats(self._transport)

    @cached_property
    def messages(self) -> Messages:
        """Messages by id, and sends on a line the API picks."""
        from .resources import Messages

        return Messages(self._transport)

    @cached_property
    def phone_numbers(self) -> PhoneNumbers:
        """Your lines, their forwarding and reputation audits."""
        from .resources import PhoneNumbers

        return PhoneNumbers(self._transport)

    @cached_property
    def contact_card(self) -> ContactCard:
        """The contact card (Name and Photo) your lines share."""
        from .resources import ContactCard

        return ContactCard(self._transport)

    @cached_property
    def blocked_handles(self) -> BlockedHandles:
        """Handles your lines never message."""
        from .resources import BlockedHandles

        return BlockedHandles(self._transport)

    @cached_property
    def capability(self) -> Capability:
        """iMessage and RCS capability checks."""
        from .resources import Capability

        return Capability(self._transport)

    @cached_property
    def payment_requests(self) -> PaymentRequests:
        """Stripe checkout requests."""
        from .resources import PaymentRequests

        return PaymentRequests(self._transport)

    @cached_property
    def payments(self) -> Payments:
        """Agent virtual-card payments, payment providers and payer handles."""
        from .resources import Payments

        return Payments(self._transport)

    @cached_property
    def experiences(self) -> Experiences:
        """Linq app-card experiences."""
        from .resources import Experiences

        return Experiences(self._transport)

    @cached_property
    def webhook_subscriptions(self) -> WebhookSubscriptions:
        """Where and what Linq delivers as webhooks."""
        from .resources import WebhookSubscriptions

        return WebhookSubscriptions(self._transport)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **options: Any) -> LinqSession:
        """Build a session from environment variables.

        Reads the key from ``LINQ_API_KEY`` (or the official SDK's ``LINQ_API_V3_API_KEY``)
        and the API root from ``LINQ_BASE_URL`` (or ``LINQ_API_V3_BASE_URL``), if set.

        Args:
            environ: the mapping to read instead of ``os.environ``.
            **options: passed on to `LinqSession` (``timeout``, ``retry`` ...).

        Raises:
            LinqUsageError: no API key variable is set.
        """
        key, base_url = _read_environ(os.environ if environ is None else environ)
        del environ  # the caller's mapping holds the key: keep it out of this frame's locals
        options.setdefault("base_url", base_url)
        return cls(key, **options)  # type: ignore[arg-type]  # the key stays wrapped

    @property
    def base_url(self) -> str:
        """The API root requests go to."""
        return self._transport.base_url

    @property
    def closed(self) -> bool:
        """Whether `close` was called. A closed session cannot be reopened."""
        return self._transport.pool.state == "closed"

    async def open(self) -> None:
        """Create the connection pool now rather than on first use.

        Raises:
            LinqClosedError: the session was closed.
        """
        await self._transport.pool.open()

    async def close(self) -> None:
        """Close the connection pool (unless it is the caller's). Safe to call twice.

        Calls still in flight end with `LinqClosedError` (none is left half-sent: a request
        either went out whole or not at all, and an upload cut short is refused by
        storage); `close` returns once they have ended. An API call on a caller's
        ``session=``, which stays open, finishes its current attempt first.

        On a copy made by `with_options` this does nothing: the original owns the pool.
        """
        if self._owns_pool:
            await self._transport.pool.close()

    async def __aenter__(self) -> LinqSession:
        await self.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def __repr__(self) -> str:
        transport = getattr(self, "_transport", None)
        if transport is None:  # __init__ refused its arguments (a traceback shows this)
            return "<LinqSession (not constructed)>"
        return f"<LinqSession {transport.base_url} {transport.pool.state}>"

    async def upload(
        self,
        file: FileInput,
        *,
        content_type: str | None = None,
        filename: str | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> Upload:
        """Upload a file once, to send it any number of times.

        Checks the file locally, asks for a presigned slot (``POST /v3/attachments``) and
        streams the file to it in fixed chunks, so memory stays small whatever its size. A
        slot that expires before the upload finishes is replaced once.

        Args:
            file: a path (streamed from disk) or bytes-like data (then ``filename`` is
                required).
            content_type: the MIME type; guessed from the file name when omitted.
            filename: the name recipients see; the path's base name by default.
            on_progress: called as ``on_progress(sent_bytes, total_bytes)`` as the storage
                takes the bytes (see `Timeouts`); a plain function, not ``async`` (it is
                called where nothing can be awaited). An exception it raises ends the
                upload, unretried, and is raised as itself.

        Returns:
            An `Upload` to pass to `upload_and_send` or `broadcast`.

        Raises:
            LinqUsageError: the file is missing, unreadable, not a regular file, empty or
                over 100 MiB, its name is not valid text, its type is unsupported, or
                ``on_progress`` is not a plain function (before anything is sent).
            UploadError: storage refused the upload, or the file changed while being read.
            APIStatusError: the API refused the slot request.
        """
        if _sending is None:
            _import_sending()
        source = _sending.open_source(file, filename=filename, content_type=content_type)
        return await _sending.upload(
            self._transport, self.attachments, source, on_progress=on_progress
        )

    async def upload_and_send(
        self,
        file: FileInput | Upload,
        *,
        from_: str,
        to: str | Iterable[str],
        content_type: str | None = None,
        filename: str | None = None,
        on_progress: ProgressCallback | None = None,
        **options: Unpack[MessageOptions],
    ) -> SendResult:
        """Send a file (and optional text) in one call: check, upload, then send.

        Every argument is checked before any request. The file is uploaded as by
        `upload` (pass an `Upload` to reuse one), then ``POST /v3/chats``
        sends a message whose parts are the text (if any), the other ``parts`` (if any) and
        the media. If the upload fails, no message is sent. The send carries an idempotency
        key (generated when not given), so its retries can never send twice.

        Run again with the same ``idempotency_key``, the call is answered with the first
        call's message, which references the first call's upload: the new upload is then
        deleted, and the result names the attachment the message references. (To skip the
        second upload, pass the first result's ``upload`` as ``file``.)

        Args:
            file: a path, bytes-like data, or an `Upload` from `upload`.
            from_: your sending line, E.164.
            to: one handle (a direct chat) or several (a group chat); E.164 or email.
            content_type: the MIME type; guessed from the file name when omitted.
            filename: the name recipients see; the path's base name by default.
            on_progress: called as ``on_progress(sent_bytes, total_bytes)`` during upload
                (as in `upload`).
            **options: the message options of `MessageOptions` (``text``, ``effect``,
                ``preferred_service``, ``idempotency_key`` ...).

        Returns:
            The upload, the chat (new or reused) and the message sent.

        Raises:
            LinqUsageError: an argument or the file is invalid (nothing was sent).
            UploadError: the upload failed (no message was sent).
            APIStatusError: the API refused the slot or the message.
        """
        if _sending is None:
            _import_sending()
        if isinstance(file, _sending.Upload):
            # Bulk loops send one Upload many times: this path is kept to the send itself
            # (chats.create checks every argument before it sends).
            _sending.check_reuse(content_type, filename)
            if on_progress is not None:
                check_callback(on_progress, what="on_progress")
            message, override = _sending.compose(
                options, media=_sending.media_part(file.attachment_id), mint_key=True
            )
            created = await self.chats.create_with(
                from_=from_, to=to, message=message, override_optout=override
            )
            return _sending.make_send_result(file, created.chat, created.message)
        return await _sending.upload_and_send(
            self._transport,
            self.attachments,
            self.chats,
            file,
            from_=from_,
            to=to,
            content_type=content_type,
            filename=filename,
            on_progress=on_progress,
            options=options,
        )

    async def broadcast(
        self,
        file: FileInput | Upload | None = None,
        *,
        from_: str,
        recipients: Iterable[str],
        text: str | None = None,
        concurrency: int = 16,
        broadcast_id: str | None = None,
        content_type: str | None = None,
        filename: str | None = None,
        on_upload_progress: ProgressCallback | None = None,
        on_recipient: Callable[[RecipientOutcome], Any] | None = None,
    ) -> BroadcastReport:
        """Send a file (uploaded once) and/or a text to each recipient in their own direct chat.

        At most ``concurrency`` sends are in flight. A recipient's failure is recorded in
        the report and does not stop the others; a failure that would fail every recipient
        (the key refused, the API unreachable or silent after retries, a rate limit still in
        force after a send's retries, the session closed)
        stops the broadcast instead: no new send starts, those in flight
        finish, and `BroadcastInterruptedError` is raised.

        Each message's idempotency key is derived from ``(broadcast_id, recipient)``: run
        the same broadcast again with the same ``broadcast_id`` after a crash or an
        interruption, and recipients already served get nothing twice. The id is chosen
        before the first send; to know it whatever happens (even when the broadcast is
        cancelled, which cannot carry it), pass your own, e.g. ``str(uuid.uuid4())``. An
        exception passing through (a cancellation, your callback's) also gets a note
        naming it, on Python 3.11+.

        Recipients are sent to once each: emails compare without regard to case (the
        first spelling given is used), phone numbers by their E.164 form.

        Args:
            file: a path, bytes-like data, an `Upload` to reuse, or ``None`` for a
                text-only broadcast.
            from_: your sending line, E.164.
            recipients: handles (E.164 or email); duplicates are sent to once.
            text: a text part sent before the file.
            concurrency: the most sends in flight at once (1 to 256).
            broadcast_id: identifies this broadcast for safe re-runs; random when omitted.
            content_type: the MIME type; guessed from the file name when omitted.
            filename: the name recipients see; the path's base name by default.
            on_upload_progress: called as ``(sent_bytes, total_bytes)`` during the upload (a
                plain function, as `upload`'s ``on_progress``).
            on_recipient: called with each `RecipientOutcome` as it completes; an ``async``
                one is awaited (its worker starts its next send after it). If it raises,
                the broadcast stops as on a fatal error (no new send; those in flight
                finish, without further calls) and its exception is raised as itself.

        Returns:
            One outcome per recipient, in the order given, with counts.

        Raises:
            LinqUsageError: an argument, a recipient or the file is invalid (nothing sent).
            UploadError: the upload failed (nothing sent).
            BroadcastInterruptedError: the broadcast stopped on an error that is not about
                one recipient (in ``__cause__``); it carries the ``broadcast_id``, the
                outcomes so far and the recipients never tried.
        """
        if _sending is None:
            _import_sending()
        return await _sending.broadcast(
            self._transport,
            self.attachments,
            self.chats,
            file,
            from_=from_,
            recipients=recipients,
            text=text,
            concurrency=concurrency,
            broadcast_id=broadcast_id,
            content_type=content_type,
            filename=filename,
            on_upload_progress=on_upload_progress,
            on_recipient=on_recipient,
        )
