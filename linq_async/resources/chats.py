"""``linq.chats`` and its sub-namespaces: chats, their messages, members and extras."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from functools import cached_property
from types import TracebackType
from typing import TYPE_CHECKING, Any

import attrs

from .._compose import compose
from .._errors import APIStatusError, LinqError, LinqUsageError
from .._model import JSONObject
from .._pager import AsyncPager
from .._retry import RETRY_STATUSES
from .._validation import (
    check_bool,
    check_handle,
    check_https_url,
    check_limit,
    check_phone,
    check_recipients,
    check_string,
)
from ..models import (
    Chat,
    ChatUpdate,
    CreatedChat,
    LocationCollection,
    Message,
    OperationResult,
    VoiceMemo,
)
from ._base import RequestBody, Resource, mint_idempotency_key

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from .._compose import MessageOptions
    from .polls import ChatPolls

__all__ = [
    "ChatBackground",
    "ChatLocation",
    "ChatMessages",
    "ChatParticipants",
    "ChatTyping",
    "Chats",
]

logger = logging.getLogger("linq_async")

BACKGROUND_TYPES = frozenset({"color", "dynamic", "photo"})
"""Values of ``type`` for `ChatBackground.set`."""
TYPING_LIFETIME = 85.0
"""Seconds a started typing indicator lasts (the API says about 85 to 90)."""


@attrs.define(kw_only=True)
class _Handle(RequestBody):
    handle: str


@attrs.define(kw_only=True)
class _UpdateChat(RequestBody):
    display_name: str | None = None
    group_chat_icon: str | None = None


@attrs.define(kw_only=True)
class _VoiceMemo(RequestBody):
    attachment_id: str | None = None
    voice_memo_url: str | None = None
    override_optout: bool | None = None


@attrs.define(kw_only=True)
class _Background(RequestBody):
    type: str
    variant: str | None = None
    shades: tuple[str, ...] | None = None
    style: str | None = None
    image_url: str | None = None


class ChatMessages(Resource):
    """Messages inside one chat: ``linq.chats.messages``."""

    async def send(self, chat_id: str, **options: Unpack[MessageOptions]) -> Message:
        """Send a message into an existing chat (``POST /v3/chats/{chatId}/messages``).

        Args:
            chat_id: the chat to send into.
            **options: the message: ``parts``, ``text``, ``effect``, ``reply_to``,
                ``preferred_service``, ``idempotency_key``, ``override_optout`` (see
                `MessageOptions`).

        Returns:
            The sent message, with ``chat_id`` set.

        Raises:
            LinqUsageError: the options break the API's rules (before anything is sent).
            NotFoundError: no such chat.
            APIStatusError: the API refused the message.
        """
        content, override = compose(options, mint_key=True)
        body: dict[str, Any] = {"message": content}
        if override is not None:
            body["override_optout"] = override
        return await self._request(
            "POST",
            "/v3/chats/{chatId}/messages",
            chat_id,
            json_body=body,
            idempotency_key=content["idempotency_key"],
            cast_to=Message,
            envelope="message",
            carry=("chat_id",),
        )

    def list(self, chat_id: str, *, limit: int | None = None) -> AsyncPager[Message]:
        """A chat's messages, newest first, across pages (``GET /v3/chats/{chatId}/messages``).

        ``async for message in linq.chats.messages.list(chat_id): ...``, or await it for
        the first `Page`.

        Args:
            chat_id: the chat.
            limit: messages per page (1-100; the API's default when omitted).
        """
        query = {} if limit is None else {"limit": str(check_limit(limit))}
        return self._pager(
            "/v3/chats/{chatId}/messages", chat_id, item=Message, envelope="messages", query=query
        )


class ChatParticipants(Resource):
    """The members of a group chat: ``linq.chats.participants``."""

    async def add(self, chat_id: str, handle: str) -> OperationResult:
        """Add a member to a group chat (``POST /v3/chats/{chatId}/participants``).

        The change is queued (``status="accepted"``); ``participant.added`` follows as a
        webhook. The new member must use the group's service (no RCS member in an iMessage
        group: create a new chat instead).

        Args:
            chat_id: a group chat.
            handle: the member to add, E.164 or email.

        Raises:
            LinqUsageError: ``handle`` is not E.164 or an email (nothing is sent).
            ConflictError: the chat is a direct chat (code 1006).
            NotFoundError: no such chat.
        """
        body = _Handle(handle=check_handle(handle, what="handle"))
        return await self._request(
            "POST",
            "/v3/chats/{chatId}/participants",
            chat_id,
            body=body,
            cast_to=OperationResult,
        )

    async def remove(self, chat_id: str, handle: str) -> OperationResult:
        """Remove a member from a group chat (``DELETE /v3/chats/{chatId}/participants``).

        The handle goes in a JSON body. At least 3 participants (your line included) must
        remain. The change is queued; ``participant.removed`` follows as a webhook.

        Args:
            chat_id: a group chat.
            handle: the member to remove, E.164 or email.

        Raises:
            LinqUsageError: ``handle`` is not E.164 or an email (nothing is sent).
            BadRequestError: fewer than 3 participants would remain.
            ConflictError: the chat is a direct chat (code 1006).
            NotFoundError: no such chat.
        """
        body = _Handle(handle=check_handle(handle, what="handle"))
        return await self._request(
            "DELETE",
            "/v3/chats/{chatId}/participants",
            chat_id,
            body=body,
            cast_to=OperationResult,
        )


class ChatTyping(Resource):
    """The typing indicator ("..." bubble) in a chat: ``linq.chats.typing``. iMessage only."""

    async def start(self, chat_id: str) -> None:
        """Show the typing indicator (``POST /v3/chats/{chatId}/typing``).

        It lasts about 85 to 90 seconds, or until you send a message. To keep it up while
        work runs, use `keep`.

        Raises:
            ConflictError: the chat is not an iMessage chat, or you left it.
            NotFoundError: no such chat.
        """
        await self._request(
            "POST",
            "/v3/chats/{chatId}/typing",
            chat_id,
            cast_to=None,
            safe_reason="starting the indicator again only extends it",
        )

    async def stop(self, chat_id: str) -> None:
        """Hide the typing indicator (``DELETE /v3/chats/{chatId}/typing``).

        Sending a message hides it too, so this is only needed when you end up not sending.

        Raises:
            ConflictError: the chat is not an iMessage chat, or you left it.
            NotFoundError: no such chat.
        """
        await self._request("DELETE", "/v3/chats/{chatId}/typing", chat_id, cast_to=None)

    def keep(self, chat_id: str, *, interval: float = 60.0) -> AbstractAsyncContextManager[None]:
        """Keep the typing indicator up while a block runs.

        ```python
        async with linq.chats.typing.keep(chat_id):
            reply = await slow_work()
        await linq.chats.messages.send(chat_id, text=reply)
        ```

        Entering starts the indicator (``POST /v3/chats/{chatId}/typing``; if that fails the
        error is raised and the block does not run). While the block runs, the indicator
        is started again every ``interval`` seconds, before it expires. Leaving the block
        stops it (``DELETE``), whether the block returned, raised or was cancelled.

        Failures after the block started never interrupt it:

        * a failed refresh is logged (WARNING, logger ``linq_async``). After a temporary
          failure (connection error, timeout, 408, 429, 5xx) the next refresh is tried
          on schedule; after a permanent one (any other status, e.g. 404, or 409 when the
          chat was left) refreshing stops for the rest of the block. The indicator may
          lapse meanwhile: it is cosmetic.
        * a failed stop is raised if the block returned normally; if the block raised, the
          stop's error is logged and the block's exception propagates unchanged.

        A refresh in flight when the block ends is allowed to finish first, so it cannot
        land after the stop and leave the indicator on.

        Args:
            chat_id: an iMessage chat.
            interval: seconds between refreshes, more than 0 and at most 85 (the
                indicator's lifetime); the default 60 leaves room for a slow request.

        Raises:
            LinqUsageError: ``interval`` is out of range (raised here, before any I/O).
        """
        if (
            isinstance(interval, bool)
            or not isinstance(interval, (int, float))
            or not 0 < interval <= TYPING_LIFETIME
        ):
            raise LinqUsageError(
                f"interval must be a number of seconds above 0 and at most {TYPING_LIFETIME:g} "
                f"(the indicator's lifetime), got {interval!r}"
            )
        return _KeepTyping(self, chat_id, float(interval))


class _KeepTyping(AbstractAsyncContextManager[None]):
    """The context manager of `ChatTyping.keep` (single use)."""

    def __init__(self, typing: ChatTyping, chat_id: str, interval: float) -> None:
        self._typing = typing
        self._chat_id = chat_id
        self._interval = interval
        self._closing = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> None:
        if self._task is not None:
            raise RuntimeError("typing.keep(...) can be entered once; call keep() again")
        await self._typing.start(self._chat_id)
        self._task = asyncio.create_task(self._refresh(), name=f"linq-typing-{self._chat_id}")

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        task = self._task
        assert task is not None
        self._closing.set()
        try:
            await asyncio.wait({task})
        finally:
            # Only reached undone when this coroutine was cancelled while waiting.
            if not task.done():
                task.cancel()
        crash = None if task.cancelled() else task.exception()
        try:
            await self._typing.stop(self._chat_id)
        except LinqError as error:
            if exc is None and crash is None:
                raise
            logger.warning(
                "could not stop the typing indicator in chat %s: %s", self._chat_id, error
            )
        if crash is not None:
            if exc is None:
                raise crash
            logger.error("the typing refresher of chat %s crashed", self._chat_id, exc_info=crash)

    async def _refresh(self) -> None:
        while True:
            try:
                await asyncio.wait_for(self._closing.wait(), self._interval)
                return
            except asyncio.TimeoutError:
                pass
            try:
                await self._typing.start(self._chat_id)
            except APIStatusError as error:
                if error.status not in RETRY_STATUSES:
                    logger.warning(
                        "typing indicator in chat %s: refresh refused (%s); not refreshing again",
                        self._chat_id,
                        error,
                    )
                    return
                logger.warning(
                    "typing indicator in chat %s: refresh failed (%s); trying again in %gs",
                    self._chat_id,
                    error,
                    self._interval,
                )
            except LinqError as error:
                logger.warning(
                    "typing indicator in chat %s: refresh failed (%s); trying again in %gs",
                    self._chat_id,
                    error,
                    self._interval,
                )


class ChatLocation(Resource):
    """Locations shared in a chat: ``linq.chats.location``. iMessage only."""

    async def get(self, chat_id: str) -> LocationCollection:
        """The locations people share with you in a chat (``GET /v3/chats/{chatId}/location``).

        Sent with ``Accept: application/geo+json``. The API answers ``{success, data}``;
        this returns ``data``, a GeoJSON FeatureCollection with one feature per person
        sharing (empty when nobody is). Positions are polled: call again for fresher
        ones, or subscribe to ``location.sharing.started``/``stopped`` webhooks.

        Raises:
            NotFoundError: no such chat.
        """
        return await self._request(
            "GET",
            "/v3/chats/{chatId}/location",
            chat_id,
            cast_to=LocationCollection,
            envelope="data",
            accept="application/geo+json",
        )

    async def request(self, chat_id: str) -> OperationResult:
        """Ask the other person to share their location.

        ``POST /v3/chats/{chatId}/location/request``. They get a prompt and choose
        whether, and for how long, to share. Only in direct iMessage chats. Not retried
        once it may have reached the API: a repeat would prompt twice (or hit the rate
        limit).

        Returns:
            ``success`` and ``message`` (``"Location request sent"``).

        Raises:
            ConflictError: a group chat (code 2016), an SMS or RCS chat (code 2017), or a
                chat you left.
            RateLimitError: asked too often; ``retry_after`` says when to try again.
            NotFoundError: no such chat.
        """
        return await self._request(
            "POST", "/v3/chats/{chatId}/location/request", chat_id, cast_to=OperationResult
        )

    async def stop(self, chat_id: str, handle: str) -> OperationResult:
        """End a contact's location share with you (``DELETE /v3/chats/{chatId}/location``).

        The handle goes in a JSON body. The API answers 202: the share ends shortly after;
        ``location.sharing.stopped`` follows as a webhook.

        Args:
            chat_id: the chat.
            handle: the person sharing, E.164 or email.

        Returns:
            ``success`` and ``message``.

        Raises:
            LinqUsageError: ``handle`` is not E.164 or an email (nothing is sent).
            NotFoundError: no such chat.
        """
        body = _Handle(handle=check_handle(handle, what="handle"))
        return await self._request(
            "DELETE", "/v3/chats/{chatId}/location", chat_id, body=body, cast_to=OperationResult
        )


class ChatBackground(Resource):
    """The chat's wallpaper (iMessage): ``linq.chats.background``."""

    async def set(
        self,
        chat_id: str,
        *,
        type: str,
        variant: str | None = None,
        shades: Sequence[str] | None = None,
        style: str | None = None,
        image_url: str | None = None,
    ) -> OperationResult:
        """Set the chat's background (``POST /v3/chats/{chatId}/background``).

        The change is made asynchronously (202): ``chat.background_updated`` or
        ``chat.background_update_failed`` (codes 1005, 2011, 4001, 5002) follows as a
        webhook. Not retried once it may have reached the API (each change is shown in
        the chat).

        The API documents ``variant``, ``shades`` and ``style`` by name only: they are
        sent as given, each a string but ``shades``, a list of strings (e.g. colours),
        and the API judges their values.

        Args:
            chat_id: the chat.
            type: ``color``, ``dynamic`` or ``photo``.
            variant: the preset to use, when the type has several.
            shades: the shades (colours) to use.
            style: the style of the background.
            image_url: the image of a ``photo`` background: a public ``https://`` URL
                (required for ``photo``, refused for the other types).

        Returns:
            The queued operation's acknowledgement.

        Raises:
            LinqUsageError: ``type`` is not one of the three; ``photo`` without an
                ``image_url`` or another type with one; the URL is not https; ``variant``,
                ``style`` or a shade is empty (nothing is sent).
            BadRequestError: the image cannot be fetched (code 5006) or is not an image
                (code 5007).
            NotFoundError: no such chat.
        """
        if not isinstance(type, str) or type not in BACKGROUND_TYPES:
            raise LinqUsageError(
                f"type must be one of {', '.join(sorted(BACKGROUND_TYPES))}; got {type!r}"
            )
        if type == "photo":
            if image_url is None:
                raise LinqUsageError("a photo background needs image_url (an https:// URL)")
            image_url = check_https_url(image_url, what="image_url")
        elif image_url is not None:
            raise LinqUsageError(f"image_url is only for type='photo', not type={type!r}")
        body = _Background(
            type=type,
            variant=None if variant is None else check_string(variant, what="variant"),
            shades=_check_shades(shades),
            style=None if style is None else check_string(style, what="style"),
            image_url=image_url,
        )
        return await self._request(
            "POST", "/v3/chats/{chatId}/background", chat_id, body=body, cast_to=OperationResult
        )

    async def reset(self, chat_id: str) -> OperationResult:
        """Put the default background back (``DELETE /v3/chats/{chatId}/background``).

        Like `set`, the change is made asynchronously and reported by webhook.

        Raises:
            NotFoundError: no such chat.
        """
        return await self._request(
            "DELETE", "/v3/chats/{chatId}/background", chat_id, cast_to=OperationResult
        )


def _check_shades(shades: object) -> tuple[str, ...] | None:
    if shades is None:
        return None
    if isinstance(shades, (str, bytes)) or not isinstance(shades, Iterable):
        raise LinqUsageError(f"shades must be a list of strings, got {shades!r}")
    checked = tuple(check_string(shade, what="each shade") for shade in shades)
    if not checked:
        raise LinqUsageError("shades must not be empty (leave it out instead)")
    return checked


class Chats(Resource):
    """Chats: ``linq.chats``.

    Sub-namespaces: ``messages``, ``participants``, ``typing``, ``location``,
    ``background``.
    """

    @cached_property
    def messages(self) -> ChatMessages:
        """Messages inside one chat."""
        return ChatMessages(self._transport)

    @cached_property
    def participants(self) -> ChatParticipants:
        """The members of a group chat."""
        return ChatParticipants(self._transport)

    @cached_property
    def typing(self) -> ChatTyping:
        """The typing indicator."""
        return ChatTyping(self._transport)

    @cached_property
    def location(self) -> ChatLocation:
        """Locations shared in a chat."""
        return ChatLocation(self._transport)

    @cached_property
    def background(self) -> ChatBackground:
        """The chat's background."""
        return ChatBackground(self._transport)

    async def update(
        self,
        chat_id: str,
        *,
        display_name: str | None = None,
        group_chat_icon: str | None = None,
    ) -> ChatUpdate:
        """Rename a group chat or change its icon (``PUT /v3/chats/{chatId}``).

        The change is queued (``status="pending"``); ``chat.group_name_updated`` /
        ``chat.group_icon_updated`` (or ``*_update_failed``) follows as a webhook. Fields
        left ``None`` are not sent and stay as they are.

        Args:
            chat_id: a group chat.
            display_name: the new name (non-empty).
            group_chat_icon: the new icon: a public ``https://`` URL of an image.

        Returns:
            The acknowledgement (see `ChatUpdate` for the two shapes the API documents).

        Raises:
            LinqUsageError: neither field given, an empty name, or an icon URL that is not
                https (nothing is sent).
            ConflictError: the chat is a direct chat (code 1006), or you left it.
            NotFoundError: no such chat.
        """
        if display_name is None and group_chat_icon is None:
            raise LinqUsageError("update needs display_name or group_chat_icon (or both)")
        body = _UpdateChat(
            display_name=(
                None if display_name is None else check_string(display_name, what="display_name")
            ),
            group_chat_icon=(
                None
                if group_chat_icon is None
                else check_https_url(group_chat_icon, what="group_chat_icon")
            ),
        )
        return await self._request(
            "PUT", "/v3/chats/{chatId}", chat_id, body=body, cast_to=ChatUpdate
        )

    async def leave(self, chat_id: str) -> OperationResult:
        """Leave a group chat with your line (``POST /v3/chats/{chatId}/leave``).

        Only iMessage groups with at least 4 active members (you included). Afterwards
        the API refuses further actions on the chat (409); a new ``chats.create`` with the
        same people makes a new chat. Not retried once it may have reached the API: a
        repeat would be refused.

        Raises:
            ConflictError: a direct chat (code 1006), a non-iMessage group, or a chat you
                already left.
            APIStatusError: fewer than 4 active members (the API does not document the
                status; the fake answers 400, code 1005).
            NotFoundError: no such chat.
        """
        return await self._request(
            "POST", "/v3/chats/{chatId}/leave", chat_id, cast_to=OperationResult
        )

    async def send_voice_memo(
        self,
        chat_id: str,
        *,
        attachment_id: str | None = None,
        url: str | None = None,
        override_optout: bool | None = None,
    ) -> VoiceMemo:
        """Send audio as an iMessage voice memo bubble (``POST /v3/chats/{chatId}/voicememo``).

        Give exactly one source: an uploaded attachment (see `Attachments.upload`) or a
        public ``https://`` URL (sent as ``voice_memo_url``). Formats: MP3, M4A, AAC, CAF,
        WAV, AIFF, AMR. The request carries no idempotency key, so it is not retried once
        it may have reached the API (a repeat would send the memo twice).

        Args:
            chat_id: the chat.
            attachment_id: an uploaded audio attachment.
            url: an ``https://`` URL of the audio (at most 10 MB).
            override_optout: send even though the recipient opted out (this request only).

        Returns:
            The voice memo, ``status="queued"``.

        Raises:
            LinqUsageError: both or neither source, an empty ``attachment_id``, or a URL
                that is not https (nothing is sent).
            OptedOutError: the recipient opted out (code 2024).
            NotFoundError: no such chat or attachment.
        """
        if (attachment_id is None) == (url is None):
            raise LinqUsageError("send_voice_memo needs exactly one of attachment_id or url")
        body = _VoiceMemo(
            attachment_id=(
                None if attachment_id is None else check_string(attachment_id, what="attachment_id")
            ),
            voice_memo_url=None if url is None else check_https_url(url, what="url"),
            override_optout=check_bool(override_optout, what="override_optout"),
        )
        return await self._request(
            "POST",
            "/v3/chats/{chatId}/voicememo",
            chat_id,
            body=body,
            cast_to=VoiceMemo,
            envelope="voice_memo",
        )

    async def share_contact_card(self, chat_id: str) -> None:
        """Share your line's contact card, name and photo, with a chat.

        ``POST /v3/chats/{chatId}/share_contact_card``. At most once per chat every 5
        minutes. The line needs an active contact card (see ``linq.contact_card``). Not
        retried once it may have reached the API: a repeat would be rate limited.

        Raises:
            RateLimitError: shared in this chat less than 5 minutes ago.
            NotFoundError: no such chat, or the line has no active contact card (code 2012).
        """
        await self._request("POST", "/v3/chats/{chatId}/share_contact_card", chat_id, cast_to=None)

    @cached_property
    def polls(self) -> ChatPolls:
        """Sending polls into a chat."""
        from .polls import ChatPolls  # imported with its models on first use

        return ChatPolls(self._transport)

    async def mark_read(self, chat_id: str) -> None:
        """Mark every message of a chat as read (``POST /v3/chats/{chatId}/read``).

        Raises:
            NotFoundError: no such chat.
        """
        await self._request(
            "POST",
            "/v3/chats/{chatId}/read",
            chat_id,
            cast_to=None,
            safe_reason="marking a chat read twice leaves it read",
        )

    async def create(
        self, *, from_: str, to: str | Iterable[str], **options: Unpack[MessageOptions]
    ) -> CreatedChat:
        """Create a chat and send its first message (``POST /v3/chats``).

        A chat with the same ``from_`` and the exact same ``to`` set is reused and the
        message is sent into it. A new chat's first message may not hold a link, a URL in
        text, ``reply_to`` or ``effect`` (the API answers 400, code 1005).

        Args:
            from_: your sending line, E.164.
            to: one handle (a direct chat) or several (a group); E.164 or email.
            **options: the message: ``parts``, ``text``, ``effect``, ``reply_to``,
                ``preferred_service``, ``idempotency_key``, ``override_optout`` (see
                `MessageOptions`).

        Returns:
            The chat and the message sent.

        Raises:
            LinqUsageError: a handle or an option is invalid (before anything is sent).
            APIStatusError: the API refused the request.
        """
        content, override = compose(options, mint_key=True)
        return await self.create_with(from_=from_, to=to, message=content, override_optout=override)

    def create_with(
        self,
        *,
        from_: str,
        to: str | Iterable[str],
        message: JSONObject,
        override_optout: bool | None = None,
    ) -> Awaitable[CreatedChat]:
        """`create` (``POST /v3/chats``) with the message built by `compose` (checked, wire form).

        The seam that ``upload_and_send`` sends through: it composes a message once with its
        media part (a broadcast, which checks its line and recipients once, gives each
        recipient a copy with its own ``idempotency_key`` through `post_chat`). ``from_``
        and ``to`` are checked here, when called; the returned awaitable does the request.

        ``message`` is not changed (a key made for a message without one goes into a copy),
        so one composed message can be sent many times; each send without a key of its own
        gets a new one. It is encoded when the returned awaitable runs: leave it as it is
        until then.

        Raises:
            LinqUsageError: ``from_``, ``to`` or ``override_optout`` is invalid, or
                ``message`` is not a dict (raised by the call itself).
        """
        if not isinstance(message, dict):
            raise LinqUsageError(
                f"message must be a dict built by compose(), got {type(message).__name__}"
            )
        # The wire body is built by `post_chat`, not through a request model: every send of
        # a bulk loop comes through, and each value is checked here or by compose.
        checked_from = check_phone(from_, what="from_")
        recipients = list(check_recipients(to))
        override = check_bool(override_optout, what="override_optout")
        key = message.get("idempotency_key")
        if not key:
            # Into a copy: one composed message may be sent many times.
            key = mint_idempotency_key()
            return post_chat(
                self, checked_from, recipients, {**message, "idempotency_key": key}, key, override
            )
        return post_chat(self, checked_from, recipients, message, key, override)

    async def get(self, chat_id: str) -> Chat:
        """Fetch one chat (``GET /v3/chats/{chatId}``).

        Raises:
            NotFoundError: no such chat, or another partner's.
        """
        return await self._request("GET", "/v3/chats/{chatId}", chat_id, cast_to=Chat)

    def list(
        self, *, from_: str | None = None, to: str | None = None, limit: int | None = None
    ) -> AsyncPager[Chat]:
        """Chats, newest first, across pages (``GET /v3/chats``).

        ``async for chat in linq.chats.list(from_="+12223334444"): ...``, or await it for
        the first `Page`.

        Args:
            from_: only chats of this sending line (E.164).
            to: only chats with this handle.
            limit: chats per page (1-100; the API's default is 20).
        """
        query: dict[str, str] = {}
        if limit is not None:
            query["limit"] = str(check_limit(limit))
        if from_ is not None:
            query["from"] = check_phone(from_, what="from_")
        if to is not None:
            query["to"] = check_handle(to, what="to")
        return self._pager("/v3/chats", item=Chat, envelope="chats", query=query)


def post_chat(
    chats: Chats,
    from_: str,
    to: list[str],
    message: dict[str, Any],
    idempotency_key: str,
    override_optout: bool | None = None,
) -> Awaitable[CreatedChat]:
    """``POST /v3/chats`` of values every one of which is checked already.

    The request behind `Chats.create_with`, which checks ``from_`` and ``to``; a
    broadcast, which checks its line and recipients once for all its sends, sends each
    recipient's message here. ``message`` is in wire form and carries ``idempotency_key``.
    """
    body: dict[str, Any] = {"from": from_, "to": to, "message": message}
    if override_optout is not None:
        body["override_optout"] = override_optout
    return chats._request(
        "POST", "/v3/chats", json_body=body, idempotency_key=idempotency_key, cast_to=CreatedChat
    )
