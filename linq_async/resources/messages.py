"""``linq.messages``: send with a line the API picks, and act on messages by id."""

from __future__ import annotations

from collections.abc import Iterable
from functools import cached_property
from typing import TYPE_CHECKING, Any

import attrs

from .._compose import SendOptions, compose
from .._errors import LinqUsageError
from .._pager import AsyncPager
from .._validation import (
    check_bool,
    check_int,
    check_limit,
    check_order,
    check_phones,
    check_reaction_type,
    check_recipients,
    check_string,
)
from ..models import (
    AutoSendResult,
    Experience,
    IMessageApp,
    IMessageAppLayout,
    Message,
    OperationResult,
    Sticker,
    StickerPlacement,
)
from ..models._parts import check_app_url
from ._base import RequestBody, Resource

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from .polls import MessagePoll

__all__ = ["Messages"]

_SEND_OPTIONS = frozenset(SendOptions.__annotations__)
"""The options ``messages.send`` takes: all but ``reply_to`` (no chat is known beforehand)."""
_TAPBACKS = frozenset({"love", "like", "dislike", "laugh", "emphasize", "question", "custom"})


@attrs.define(kw_only=True)
class _Edit(RequestBody):
    text: str
    part_index: int | None = None


@attrs.define(kw_only=True)
class _React(RequestBody):
    operation: str
    type: str
    custom_emoji: str | None = None
    # A sticker's source and placement are fields of the request itself.
    emoji: str | None = None
    url: str | None = None
    attachment_id: str | None = None
    placement: StickerPlacement | None = None
    part_index: int | None = None


@attrs.define(kw_only=True)
class _Placement(RequestBody):
    placement: StickerPlacement


def _part_index(value: object) -> int | None:
    return None if value is None else check_int(value, what="part_index", low=0)


def _custom_emoji(kind: str, custom_emoji: object) -> str | None:
    if kind == "custom":
        if custom_emoji is None:
            raise LinqUsageError('custom_emoji is required when type is "custom"')
        return check_string(custom_emoji, what="custom_emoji")
    if custom_emoji is not None:
        raise LinqUsageError(f'custom_emoji goes only with type "custom", not {kind!r}')
    return None


@attrs.define(kw_only=True)
class _UpdateAppCard(RequestBody):
    layout: IMessageAppLayout
    app: IMessageApp | None = None
    experience: Experience | None = None
    url: str | None = None
    fallback_text: str | None = None
    interactive: bool | None = None


class Messages(Resource):
    """Messages by id, whatever chat they are in: ``linq.messages``.

    Sub-namespace: ``poll`` (a poll message's results and votes).
    """

    @cached_property
    def poll(self) -> MessagePoll:
        """A poll message's results, options and votes."""
        from .polls import MessagePoll  # imported with its models on first use

        return MessagePoll(self._transport)

    async def send(
        self,
        *,
        to: str | Iterable[str],
        continuation_text: str | None = None,
        exclude_from: str | Iterable[str] | None = None,
        **options: Unpack[SendOptions],
    ) -> AutoSendResult:
        """Send a message and let the API pick the sending line (``POST /v3/messages``).

        The API reuses the recipients' most recently active chat on a line that can still
        send (``from_selection.reason == "reused_active_chat"``); without one it makes a
        new chat on its best line (``"new_best_number"``); when their chats are all on lines
        that cannot send it makes a new chat on a fresh line (``"failover_flagged"``, with
        ``previous_chat_id``) and sends ``continuation_text``, when given, instead of the
        message. Exactly one message is sent. Unlike ``chats.create``, a new chat's first
        message may hold a link; there is no ``reply_to`` (no chat is known beforehand).

        The idempotency key goes both in ``message.idempotency_key`` and in the
        ``Idempotency-Key`` header (the same value, minted when omitted), so a retry after a
        lost answer sends nothing twice.

        Args:
            to: one handle (a direct chat) or several (a group), E.164 or email; an
                unordered set, so ``["a", "b"]`` and ``["b", "a"]`` name the same chat.
            continuation_text: a text sent instead of the message only on failover (the
                recipient is then on a new number).
            exclude_from: lines (E.164) not to pick for a new chat, for this call only. An
                existing chat is still reused on its own line, excluded or not.
            **options: the message: ``parts``, ``text``, ``effect``,
                ``preferred_service``, ``idempotency_key``, ``override_optout`` (see
                `SendOptions`).

        Returns:
            The message and the line and chat the API chose (answered with 202).

        Raises:
            LinqUsageError: a handle, a line or an option is invalid, or ``reply_to`` was
                given (nothing is sent).
            BadRequestError: every line you have is in ``exclude_from``.
            ConflictError: none of your lines can send.
            APIStatusError: the API refused the message.
        """
        content, override = compose(options, allowed=_SEND_OPTIONS, mint_key=True)
        body: dict[str, Any] = {"to": check_recipients(to), "message": content}
        excluded = None
        if exclude_from is not None:
            excluded = check_phones(exclude_from, what="exclude_from", allow_empty=True)
        if continuation_text is not None:
            text = check_string(continuation_text, what="continuation_text")
            body["continuation_message"] = {"text": text}
        if excluded:
            body["exclude_from"] = excluded
        if override is not None:
            body["override_optout"] = override
        # The same key goes in the body and in the Idempotency-Key header.
        return await self._request(
            "POST",
            "/v3/messages",
            json_body=body,
            idempotency_key=content["idempotency_key"],
            key_header=True,
            cast_to=AutoSendResult,
        )

    async def get(self, message_id: str) -> Message:
        """Fetch one message (``GET /v3/messages/{messageId}``).

        Raises:
            NotFoundError: no such message, or it left the API after its retention window.
        """
        return await self._request("GET", "/v3/messages/{messageId}", message_id, cast_to=Message)

    async def edit(self, message_id: str, text: str, *, part_index: int = 0) -> Message:
        """Replace the text of one part of a message you sent (``PATCH /v3/messages/{messageId}``).

        Only text parts can be edited, at most 5 times, within 15 minutes of sending.
        ``message.edited`` follows as a webhook. An edit that may have reached the API is
        not retried (it would count as a second edit of the 5).

        Args:
            message_id: the message.
            text: the part's new text (not empty).
            part_index: the part to edit, 0 first.

        Returns:
            The message as it now reads.

        Raises:
            LinqUsageError: ``text`` is empty or ``part_index`` is negative (nothing is sent).
            BadRequestError: the part is not text, or the 5 edits or 15 minutes are used up.
            NotFoundError: no such message.
        """
        body = _Edit(
            text=check_string(text, what="text"),
            part_index=check_int(part_index, what="part_index", low=0),
        )
        return await self._request(
            "PATCH", "/v3/messages/{messageId}", message_id, body=body, cast_to=Message
        )

    async def delete(self, message_id: str) -> None:
        """Delete a message from the API (``DELETE /v3/messages/{messageId}``).

        The message leaves the API's answers only: it is not unsent, and recipients still
        see it. Reusing its idempotency key afterwards answers 404 and sends nothing.

        Raises:
            NotFoundError: no such message (also when a retried delete finds the first
                attempt's work done).
        """
        await self._request("DELETE", "/v3/messages/{messageId}", message_id, cast_to=None)

    async def react(
        self,
        message_id: str,
        type: str,
        *,
        custom_emoji: str | None = None,
        sticker: Sticker | None = None,
        part_index: int | None = None,
    ) -> OperationResult:
        """Add a reaction to a message (``POST /v3/messages/{messageId}/reactions``, add).

        A tapback (``love``, ``like``, ``dislike``, ``laugh``, ``emphasize``, ``question``)
        or a ``custom`` emoji replaces your line's previous tapback on that part, so adding
        one again is harmless and is retried like a read. A ``sticker`` adds another sticker
        each time, so it is not retried once it may have arrived; stickers are
        iMessage-only and cannot be removed, only moved (`move_sticker`).
        ``reaction.added`` follows as a webhook.

        Args:
            message_id: the message.
            type: ``love``, ``like``, ``dislike``, ``laugh``, ``emphasize``, ``question``,
                ``custom`` or ``sticker``.
            custom_emoji: the emoji, for (and only for) type ``custom``.
            sticker: the `Sticker`, for (and only for) type ``sticker``.
            part_index: the part to react to (0 first; the API's default is 0).

        Returns:
            The API's acknowledgement (``status="accepted"``).

        Raises:
            LinqUsageError: an unknown type, a missing or misplaced ``custom_emoji`` or
                ``sticker``, or a negative ``part_index`` (nothing is sent).
            NotFoundError: no such message.
        """
        kind = check_reaction_type(type)
        emoji = _custom_emoji(kind, custom_emoji)
        if kind == "sticker":
            if not isinstance(sticker, Sticker):
                raise LinqUsageError(f'type "sticker" needs sticker=Sticker(...), got {sticker!r}')
        elif sticker is not None:
            raise LinqUsageError(f'sticker goes only with type "sticker", not {kind!r}')
        body = _React(
            operation="add",
            type=kind,
            custom_emoji=emoji,
            emoji=sticker.emoji if sticker else None,
            url=sticker.url if sticker else None,
            attachment_id=sticker.attachment_id if sticker else None,
            placement=sticker.placement if sticker else None,
            part_index=_part_index(part_index),
        )
        return await self._request(
            "POST",
            "/v3/messages/{messageId}/reactions",
            message_id,
            body=body,
            cast_to=OperationResult,
            safe_reason=None
            if kind == "sticker"
            else "a line has one tapback per part: adding the same one again changes nothing",
        )

    async def unreact(
        self,
        message_id: str,
        type: str,
        *,
        custom_emoji: str | None = None,
        part_index: int | None = None,
    ) -> OperationResult:
        """Remove your reaction (``POST /v3/messages/{messageId}/reactions``, remove).

        Removing a reaction that is already gone changes nothing, so this is retried like
        a read. ``reaction.removed`` follows as a webhook.

        Args:
            message_id: the message.
            type: ``love``, ``like``, ``dislike``, ``laugh``, ``emphasize``, ``question`` or
                ``custom``. Stickers cannot be removed.
            custom_emoji: the emoji, for (and only for) type ``custom``.
            part_index: the part the reaction is on (0 first; the API's default is 0).

        Returns:
            The API's acknowledgement (``status="accepted"``).

        Raises:
            LinqUsageError: an unknown type, ``"sticker"``, a missing or misplaced
                ``custom_emoji``, or a negative ``part_index`` (nothing is sent).
            NotFoundError: no such message.
        """
        kind = check_reaction_type(type)
        if kind not in _TAPBACKS:
            raise LinqUsageError("stickers cannot be removed (move one with move_sticker)")
        body = _React(
            operation="remove",
            type=kind,
            custom_emoji=_custom_emoji(kind, custom_emoji),
            part_index=_part_index(part_index),
        )
        return await self._request(
            "POST",
            "/v3/messages/{messageId}/reactions",
            message_id,
            body=body,
            cast_to=OperationResult,
            safe_reason="removing a reaction that is already gone leaves it gone",
        )

    async def move_sticker(
        self, message_id: str, reaction_id: str, *, placement: StickerPlacement
    ) -> OperationResult:
        """Move, resize or rotate a sticker you placed.

        ``PATCH /v3/messages/{messageId}/reactions/{reactionId}``. Fields of ``placement``
        left out keep their current value. Setting the same placement twice is harmless, so
        this is retried like a read.

        Args:
            message_id: the message the sticker is on.
            reaction_id: the sticker reaction's ``id`` (from `Reaction.id`).
            placement: where it goes (`StickerPlacement`).

        Returns:
            The API's acknowledgement (``success=True``).

        Raises:
            LinqUsageError: ``placement`` is not a `StickerPlacement` (nothing is sent).
            BadRequestError: the reaction is not a sticker.
            NotFoundError: no such message or reaction.
        """
        if not isinstance(placement, StickerPlacement):
            raise LinqUsageError(f"placement must be a StickerPlacement, got {placement!r}")
        return await self._request(
            "PATCH",
            "/v3/messages/{messageId}/reactions/{reactionId}",
            message_id,
            reaction_id,
            body=_Placement(placement=placement),
            cast_to=OperationResult,
            safe_reason="placing a sticker where it already is leaves it there",
        )

    def thread(
        self, message_id: str, *, order: str | None = None, limit: int | None = None
    ) -> AsyncPager[Message]:
        """A thread's messages across pages (``GET /v3/messages/{messageId}/thread``).

        Given any message of a thread (the first or a reply), the thread's first message
        and every reply; a message that is in no thread comes back alone.
        ``async for message in linq.messages.thread(message_id): ...``, or await it for the
        first `Page`.

        Args:
            message_id: any message of the thread.
            order: ``"asc"`` (oldest first, the API's default) or ``"desc"``.
            limit: messages per page (1-100; the API's default is 50).

        Raises:
            LinqUsageError: ``order`` or ``limit`` is invalid (nothing is sent).
        """
        query: dict[str, str] = {}
        if limit is not None:
            query["limit"] = str(check_limit(limit))
        checked_order = check_order(order)
        if checked_order is not None:
            query["order"] = checked_order
        return self._pager(
            "/v3/messages/{messageId}/thread",
            message_id,
            item=Message,
            envelope="messages",
            query=query,
        )

    async def update_app_card(
        self,
        message_id: str,
        *,
        layout: IMessageAppLayout,
        app: IMessageApp | None = None,
        experience: Experience | None = None,
        url: str | None = None,
        fallback_text: str | None = None,
        interactive: bool | None = None,
    ) -> Message:
        """Replace an app card (``POST /v3/messages/{messageId}/update``).

        The updated card is sent as a new message in the same chat (the original stays);
        what is not given here keeps the original card's value.

        Not retried once the request may have reached the API: the body carries no
        idempotency key, so a repeat could send the card twice. A dropped connection
        raises; check the chat before calling again.

        Args:
            message_id: the message holding the card (an ``imessage_app`` part or an
                experience).
            layout: what the new card shows (`IMessageAppLayout`).
            app: the app that renders it (`IMessageApp`), when it changes.
            experience: for a card sent as a Linq `Experience`, the new experience.
            url: the URL the app opens: ``https://`` (at most 2048 characters) or ``data:``
                (at most 16384).
            fallback_text: what recipients without the app see.
            interactive: whether tapping the card opens the app.

        Returns:
            The new message, with ``chat_id`` set.

        Raises:
            LinqUsageError: an argument is invalid (before anything is sent).
            NotFoundError: no such message.
            BadRequestError: the message is not an app card, or the API refused the card.
        """
        if not isinstance(layout, IMessageAppLayout):
            raise LinqUsageError(f"layout must be an IMessageAppLayout, got {layout!r}")
        if app is not None and not isinstance(app, IMessageApp):
            raise LinqUsageError(f"app must be an IMessageApp, got {app!r}")
        if experience is not None and not isinstance(experience, Experience):
            raise LinqUsageError(f"experience must be an Experience, got {experience!r}")
        if fallback_text is not None:
            check_string(fallback_text, what="fallback_text")
        body = _UpdateAppCard(
            layout=layout,
            app=app,
            experience=experience,
            url=check_app_url(url),
            fallback_text=fallback_text,
            interactive=check_bool(interactive, what="interactive"),
        )
        return await self._request(
            "POST",
            "/v3/messages/{messageId}/update",
            message_id,
            body=body,
            cast_to=Message,
            envelope="message",
            carry=("chat_id",),
        )
