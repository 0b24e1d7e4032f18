"""``linq.chats`` and ``linq.chats.messages``: create chats, send and list messages."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from typing import Any

import attrs

from .._converter import structure
from .._errors import ResponseValidationError
from .._transport import Transport, path
from .._validation import check_handle, check_phone, check_recipients
from ..models import Chat, CreatedChat, Effect, Message, Part, ReplyTo
from ._base import Resource, page_params, paginate, send_body


class ChatMessages(Resource):
    """Messages inside one chat."""

    async def send(
        self,
        chat_id: str,
        *,
        parts: Sequence[Part] | None = None,
        text: str | None = None,
        effect: Effect | None = None,
        reply_to: ReplyTo | None = None,
        preferred_service: str | None = None,
        idempotency_key: str | None = None,
        override_optout: bool | None = None,
    ) -> Message:
        """Send a message into an existing chat (``POST /v3/chats/{chatId}/messages``).

        Args:
            chat_id: the chat to send into.
            parts: the message parts; ``text``, if given, is sent as a first text part.
            text: a convenience for a text part.
            effect: a screen or bubble effect.
            reply_to: make the message a threaded reply.
            preferred_service: ``iMessage``, ``SMS`` or ``RCS``.
            idempotency_key: makes retries safe; one is generated when omitted. Reusing a
                key returns the first send's result and sends nothing.
            override_optout: send despite an opt-out, for this request only.

        Returns:
            The sent message, with ``chat_id`` set.

        Raises:
            LinqUsageError: the parts break the API's rules (before anything is sent).
            APIStatusError: the API refused the message.
        """
        body = send_body(
            parts=parts,
            text=text,
            effect=effect,
            reply_to=reply_to,
            preferred_service=preferred_service,
            idempotency_key=idempotency_key,
            override_optout=override_optout,
        )
        api_path = path("/v3/chats/{}/messages", chat_id)
        data = await self._transport.request("POST", api_path, json_body=body, idempotent=True)
        what = f"POST {api_path}"
        if not isinstance(data, dict):
            raise ResponseValidationError(f"the response to {what} is not an object")
        message = structure(data.get("message"), Message, what=what)
        return attrs.evolve(message, chat_id=message.chat_id or chat_id)

    def list(self, chat_id: str, *, page_size: int | None = None) -> AsyncIterator[Message]:
        """Iterate over a chat's messages across pages (``GET /v3/chats/{chatId}/messages``).

        Usage: ``async for message in linq.chats.messages.list(chat_id): ...``

        Args:
            chat_id: the chat.
            page_size: messages fetched per request (1-100; the API's default when omitted).
        """
        api_path = path("/v3/chats/{}/messages", chat_id)
        return paginate(self._transport, api_path, page_params(page_size), "messages", Message)


class Chats(Resource):
    """Chats: create one with a first message, fetch, list. ``messages`` sends into one."""

    def __init__(self, transport: Transport) -> None:
        super().__init__(transport)
        self.messages = ChatMessages(transport)

    async def create(
        self,
        *,
        from_: str,
        to: str | Iterable[str],
        parts: Sequence[Part] | None = None,
        text: str | None = None,
        effect: Effect | None = None,
        reply_to: ReplyTo | None = None,
        preferred_service: str | None = None,
        idempotency_key: str | None = None,
        override_optout: bool | None = None,
    ) -> CreatedChat:
        """Create a chat and send its first message (``POST /v3/chats``).

        A chat with the same ``from_`` and the exact same ``to`` set is reused and the
        message is sent into it. A new chat's first message may not hold a link, a URL in
        text, ``reply_to`` or ``effect`` (the API answers 400, code 1005).

        Args:
            from_: your sending line, E.164.
            to: one handle (a direct chat) or several (a group); E.164 or email.
            parts: the message parts; ``text``, if given, is sent as a first text part.
            text: a convenience for a text part.
            effect: a screen or bubble effect (not allowed in a new chat).
            reply_to: a threaded reply (not allowed in a new chat).
            preferred_service: ``iMessage``, ``SMS`` or ``RCS``.
            idempotency_key: makes retries safe; one is generated when omitted. Reusing a
                key returns the first result and sends nothing.
            override_optout: send despite an opt-out, for this request only.

        Returns:
            The chat and the message sent.

        Raises:
            LinqUsageError: a handle or part is invalid (before anything is sent).
            APIStatusError: the API refused the request.
        """
        body: dict[str, Any] = {
            "from": check_phone(from_, what="from_"),
            "to": list(check_recipients(to)),
            **send_body(
                parts=parts,
                text=text,
                effect=effect,
                reply_to=reply_to,
                preferred_service=preferred_service,
                idempotency_key=idempotency_key,
                override_optout=override_optout,
            ),
        }
        data = await self._transport.request("POST", "/v3/chats", json_body=body, idempotent=True)
        return structure(data, CreatedChat, what="POST /v3/chats")

    async def _send_prepared(self, body: dict[str, Any]) -> tuple[str, str]:
        """``POST /v3/chats`` with a body already checked; return (chat id, message id).

        Broadcasts send thousands of these and need only the two ids, so this skips building
        the full models (the largest CPU cost per send).
        """
        data = await self._transport.request("POST", "/v3/chats", json_body=body, idempotent=True)
        try:
            chat = data["chat"]
            chat_id, message_id = chat["id"], chat["message"]["id"]
        except (TypeError, KeyError):
            chat_id = message_id = None
        if not isinstance(chat_id, str) or not isinstance(message_id, str):
            raise ResponseValidationError(
                "the response to POST /v3/chats has no chat.id or chat.message.id"
            )
        return chat_id, message_id

    async def get(self, chat_id: str) -> Chat:
        """Fetch one chat (``GET /v3/chats/{chatId}``)."""
        api_path = path("/v3/chats/{}", chat_id)
        data = await self._transport.request("GET", api_path, idempotent=True)
        return structure(data, Chat, what=f"GET {api_path}")

    def list(
        self,
        *,
        from_: str | None = None,
        to: str | None = None,
        page_size: int | None = None,
    ) -> AsyncIterator[Chat]:
        """Iterate over chats across pages (``GET /v3/chats``), newest first.

        Usage: ``async for chat in linq.chats.list(from_="+12223334444"): ...``

        Args:
            from_: only chats of this sending line.
            to: only chats with this handle.
            page_size: chats fetched per request (1-100; the API's default is 20).
        """
        params = page_params(page_size)
        if from_ is not None:
            params["from"] = check_phone(from_, what="from_")
        if to is not None:
            params["to"] = check_handle(to, what="to")
        return paginate(self._transport, "/v3/chats", params, "chats", Chat)
