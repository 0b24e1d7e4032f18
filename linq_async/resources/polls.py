"""Polls: ``linq.chats.polls`` sends one, ``linq.messages.poll`` reads and votes on it.

A poll is a message (iMessage only): its options are add-only and never edited or removed,
and it has no title (send the question as a text message). Every poll endpoint answers with
the poll message and its current results (`PollMessage`).
"""

from __future__ import annotations

from collections.abc import Iterable

import attrs

from .._validation import MIN_POLL_OPTIONS, check_idempotency_key, check_poll_options, check_string
from ..models import PollMessage
from ._base import RequestBody, Resource

__all__ = ["ChatPolls", "MessagePoll"]


@attrs.define(kw_only=True)
class _Option(RequestBody):
    text: str


@attrs.define(kw_only=True)
class _PollContent(RequestBody):
    options: tuple[_Option, ...]
    idempotency_key: str | None = None


@attrs.define(kw_only=True)
class _CreatePoll(RequestBody):
    idempotency_key_at = ("poll", "idempotency_key")
    poll: _PollContent


@attrs.define(kw_only=True)
class _AddOptions(RequestBody):
    options: tuple[_Option, ...]


@attrs.define(kw_only=True)
class _Vote(RequestBody):
    operation: str
    option_id: str


def _options(texts: object, *, minimum: int) -> tuple[_Option, ...]:
    return tuple(_Option(text=text) for text in check_poll_options(texts, minimum=minimum))


class ChatPolls(Resource):
    """Sending polls into a chat: ``linq.chats.polls``."""

    async def create(
        self, chat_id: str, *, options: Iterable[str], idempotency_key: str | None = None
    ) -> PollMessage:
        """Send a poll into an existing chat (``POST /v3/chats/{chatId}/polls``).

        iMessage only; a poll cannot be a new chat's first message. The idempotency key
        (``poll.idempotency_key``, minted when omitted) makes a retry after a lost answer
        send nothing twice.

        Args:
            chat_id: the chat.
            options: the option texts, at least 2 (each a non-empty string). More can be
                added later (`MessagePoll.add_options`), never edited or removed.
            idempotency_key: 1 to 255 printable ASCII characters; pass your own to make a
                re-run of the same logical send (after a crash) send nothing new.

        Returns:
            The poll message; its ``message_id`` is what `MessagePoll` takes.

        Raises:
            LinqUsageError: fewer than 2 options, an empty text or a bad key (nothing is sent).
            NotFoundError: no such chat.
        """
        body = _CreatePoll(
            poll=_PollContent(
                options=_options(options, minimum=MIN_POLL_OPTIONS),
                idempotency_key=check_idempotency_key(idempotency_key),
            )
        )
        return await self._request(
            "POST", "/v3/chats/{chatId}/polls", chat_id, body=body, cast_to=PollMessage
        )


class MessagePoll(Resource):
    """A poll message's results, options and votes: ``linq.messages.poll``."""

    async def get(self, message_id: str) -> PollMessage:
        """A poll's current results (``GET /v3/messages/{messageId}/poll``).

        Args:
            message_id: the poll message.

        Raises:
            NotFoundError: no such message, or it is not a poll.
        """
        return await self._request(
            "GET", "/v3/messages/{messageId}/poll", message_id, cast_to=PollMessage
        )

    async def add_options(self, message_id: str, options: Iterable[str]) -> PollMessage:
        """Append options to a poll (``POST /v3/messages/{messageId}/poll/options``).

        Not retried once it may have reached the API: a repeat would add the options a
        second time, and options cannot be removed.

        Args:
            message_id: the poll message.
            options: the new option texts, at least 1 (each a non-empty string).

        Returns:
            The poll with its new options.

        Raises:
            LinqUsageError: no options or an empty text (nothing is sent).
            NotFoundError: no such message, or it is not a poll.
        """
        body = _AddOptions(options=_options(options, minimum=1))
        return await self._request(
            "POST",
            "/v3/messages/{messageId}/poll/options",
            message_id,
            body=body,
            cast_to=PollMessage,
        )

    async def vote(self, message_id: str, option_id: str) -> PollMessage:
        """Vote for one option with your line (``POST /v3/messages/{messageId}/poll/votes``).

        Votes are per option (vote for several to pick several). Voting for an option you
        already voted for changes nothing, so this is retried like a read.

        Args:
            message_id: the poll message.
            option_id: the option (`PollOption.option_id`).

        Returns:
            The poll with the vote counted.

        Raises:
            LinqUsageError: ``option_id`` is empty (nothing is sent).
            BadRequestError: the poll has no such option.
            NotFoundError: no such message, or it is not a poll.
        """
        return await self._vote(message_id, "add", option_id)

    async def unvote(self, message_id: str, option_id: str) -> PollMessage:
        """Take back your line's vote for one option.

        ``POST /v3/messages/{messageId}/poll/votes`` with ``operation: remove``. Taking back
        a vote that is not there changes nothing, so this is retried like a read.

        Args:
            message_id: the poll message.
            option_id: the option (`PollOption.option_id`).

        Returns:
            The poll without that vote.

        Raises:
            LinqUsageError: ``option_id`` is empty (nothing is sent).
            BadRequestError: the poll has no such option.
            NotFoundError: no such message, or it is not a poll.
        """
        return await self._vote(message_id, "remove", option_id)

    async def _vote(self, message_id: str, operation: str, option_id: str) -> PollMessage:
        body = _Vote(operation=operation, option_id=check_string(option_id, what="option_id"))
        return await self._request(
            "POST",
            "/v3/messages/{messageId}/poll/votes",
            message_id,
            body=body,
            cast_to=PollMessage,
            safe_reason=f"a vote is a per-option state: {operation} twice is {operation} once",
        )
