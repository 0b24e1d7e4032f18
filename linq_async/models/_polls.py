"""Polls: the poll message every poll endpoint answers with, its options and their voters."""

from __future__ import annotations

from datetime import datetime

import attrs

from .._model import WireModel
from ._chats import ChatHandle
from ._reactions import Reaction

__all__ = ["Poll", "PollMessage", "PollOption", "PollVoter"]


@attrs.frozen(kw_only=True)
class PollVoter(WireModel):
    """One vote for an option: who voted, and when."""

    handle: str
    voted_at: datetime | None = None


@attrs.frozen(kw_only=True)
class PollOption(WireModel):
    """One option of a poll. Options are add-only: never edited or removed.

    Attributes:
        option_id: what `MessagePoll.vote` takes.
        text: the option's text.
        voters: who voted for it (its vote count is ``len(voters)``).
        creator_handle: who added the option (the poll's creator for the first ones).
        can_be_edited: as the API reports it.
    """

    option_id: str
    text: str
    voters: tuple[PollVoter, ...] = ()
    creator_handle: ChatHandle | None = None
    can_be_edited: bool | None = None


@attrs.frozen(kw_only=True)
class Poll(WireModel):
    """A poll's options and how many distinct participants voted (once each, however many
    options they picked)."""

    options: tuple[PollOption, ...] = ()
    total_voters: int = 0


@attrs.frozen(kw_only=True)
class PollMessage(WireModel):
    """A poll as every poll endpoint returns it: the poll message and its current results.

    Attributes:
        message_id: the poll message's id; the `MessagePoll` methods take it.
        poll: the options and their voters.
        chat_id: the chat the poll was sent in.
        reactions: tapbacks and stickers on the poll (its part 0).
        created_at: when the poll was sent.
        updated_at: when its options or votes last changed.
    """

    message_id: str
    poll: Poll
    chat_id: str | None = None
    reactions: tuple[Reaction, ...] = ()
    created_at: datetime | None = None
    updated_at: datetime | None = None
