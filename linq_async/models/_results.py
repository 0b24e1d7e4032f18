"""Results of the SDK's own workflows (upload, upload_and_send, broadcast)."""

from __future__ import annotations

import attrs

from .._model import WireModel, slot_setter
from ._attachments import url_repr
from ._chats import Chat
from ._messages import Message

__all__ = ["BroadcastReport", "RecipientOutcome", "SendResult", "Upload"]


@attrs.frozen(kw_only=True)
class Upload(WireModel):
    """A file uploaded with `LinqSession.upload`, ready to send any number of times.

    Pass it to `LinqSession.upload_and_send` or `LinqSession.broadcast` in place
    of a file to send the same attachment again without uploading it again.
    """

    attachment_id: str
    filename: str
    content_type: str
    size_bytes: int
    download_url: str = attrs.field(repr=url_repr)
    """Where the file can be fetched (the repr leaves out its query, which may be a
    signature)."""


@attrs.frozen(kw_only=True)
class SendResult:
    """The result of `LinqSession.upload_and_send`."""

    upload: Upload
    chat: Chat
    message: Message


@attrs.frozen(kw_only=True)
class RecipientOutcome:
    """What happened to one recipient of a broadcast: a chat and message, or an error."""

    recipient: str
    chat_id: str | None = None
    message_id: str | None = None
    error: Exception | None = attrs.field(default=None, eq=False)

    @property
    def ok(self) -> bool:
        """Whether the message was sent (or had been sent by an earlier run)."""
        return self.error is None


_new = object.__new__
_SET_OUTCOME = tuple(
    slot_setter(RecipientOutcome, name) for name in ("recipient", "chat_id", "message_id", "error")
)


def make_outcome(
    recipient: str, chat_id: str | None, message_id: str | None, error: Exception | None
) -> RecipientOutcome:
    """A `RecipientOutcome` built without attrs' keyword ``__init__`` (about half its cost:
    a broadcast builds one or two per recipient). The caller passes checked values."""
    outcome = _new(RecipientOutcome)
    set_recipient, set_chat_id, set_message_id, set_error = _SET_OUTCOME
    set_recipient(outcome, recipient)
    set_chat_id(outcome, chat_id)
    set_message_id(outcome, message_id)
    set_error(outcome, error)
    return outcome


_SET_SENT = tuple(slot_setter(SendResult, name) for name in ("upload", "chat", "message"))


def make_send_result(upload: Upload, chat: Chat, message: Message) -> SendResult:
    """A `SendResult` built as `make_outcome` builds an outcome (a bulk loop of
    ``upload_and_send`` makes one per call). The caller passes loaded models."""
    result = _new(SendResult)
    set_upload, set_chat, set_message = _SET_SENT
    set_upload(result, upload)
    set_chat(result, chat)
    set_message(result, message)
    return result


@attrs.frozen(kw_only=True)
class BroadcastReport:
    """The result of `LinqSession.broadcast`: one outcome per recipient, in order.

    ``broadcast_id`` identifies the run: passing it again re-runs the broadcast safely, as
    every recipient who already got the message is answered from the first send.
    """

    broadcast_id: str
    upload: Upload | None
    """The file sent, or ``None`` for a text-only broadcast."""
    outcomes: tuple[RecipientOutcome, ...]

    @property
    def sent(self) -> int:
        """How many recipients got the message."""
        return sum(1 for outcome in self.outcomes if outcome.ok)

    @property
    def failed(self) -> int:
        """How many recipients did not."""
        return len(self.outcomes) - self.sent

    @property
    def failures(self) -> tuple[RecipientOutcome, ...]:
        """The outcomes that carry an error."""
        return tuple(outcome for outcome in self.outcomes if not outcome.ok)
