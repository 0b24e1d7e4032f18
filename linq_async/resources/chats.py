"""``linq.chats`` and ``linq.chats.messages``: create chats, send and list messages."""

from __future__ import annotations

from collections.abc import Iterable
from functools import cached_property
from typing import TYPE_CHECKING

import attrs

from .._compose import compose
from .._pager import AsyncPager
from .._validation import check_handle, check_limit, check_phone, check_recipients
from ..models import Chat, CreatedChat, Message, MessageContent, OperationResult
from ._base import RequestBody, Resource
from .polls import ChatPolls

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from .._compose import MessageOptions

__all__ = ["ChatMessages", "ChatParticipants", "Chats"]


@attrs.frozen(kw_only=True)
class _CreateChat(RequestBody):
    idempotency_key_at = ("message", "idempotency_key")
    from_: str
    to: tuple[str, ...]
    message: MessageContent
    override_optout: bool | None = None


@attrs.frozen(kw_only=True)
class _Handle(RequestBody):
    handle: str


@attrs.frozen(kw_only=True)
class _SendMessage(RequestBody):
    idempotency_key_at = ("message", "idempotency_key")
    message: MessageContent
    override_optout: bool | None = None


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
        content, override = compose(options)
        return await self._request(
            "POST",
            "/v3/chats/{chatId}/messages",
            chat_id,
            body=_SendMessage(message=content, override_optout=override),
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


class Chats(Resource):
    """Chats: ``linq.chats``. Sub-namespaces: ``messages``, ``participants``."""

    @cached_property
    def messages(self) -> ChatMessages:
        """Messages inside one chat."""
        return ChatMessages(self._transport)

    @cached_property
    def participants(self) -> ChatParticipants:
        """The members of a group chat."""
        return ChatParticipants(self._transport)

    @cached_property
    def polls(self) -> ChatPolls:
        """Sending polls into a chat."""
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
        content, override = compose(options)
        body = _CreateChat(
            from_=check_phone(from_, what="from_"),
            to=check_recipients(to),
            message=content,
            override_optout=override,
        )
        return await self._request("POST", "/v3/chats", body=body, cast_to=CreatedChat)

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
