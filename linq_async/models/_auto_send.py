"""The result of ``POST /v3/messages``, where the API picks the sending line and the chat."""

from __future__ import annotations

import attrs

from .._model import WireModel
from ._chats import ChatHandle
from ._messages import Message

__all__ = ["AutoSendResult", "LineSelection"]


@attrs.frozen(kw_only=True)
class LineSelection(WireModel):
    """Why the API chose the line and chat it sent from.

    Attributes:
        reason: ``reused_active_chat`` (an existing chat on a line that can send),
            ``new_best_number`` (a new chat on the best available line) or
            ``failover_flagged`` (the recipients' chats were all on lines that cannot send:
            a new chat on a fresh line; see `AutoSendResult.previous_chat_id`).
        reused_existing_chat: true only when an existing chat was reused.
    """

    reason: str
    reused_existing_chat: bool = False


@attrs.frozen(kw_only=True)
class AutoSendResult(WireModel):
    """The message sent by `Messages.send`, and the line and chat the API chose for it.

    Attributes:
        chat_id: the chat the message landed in (reused or new). ``message.chat_id`` is not
            filled in: read it here.
        from_: the line (E.164) the message was sent from (``from`` on the wire).
        message: the message sent: on failover with a ``continuation_text``, that text.
        created_new_chat: true when a new chat was made (a first contact or a failover).
        from_selection: why that line and chat.
        handles: the participants of the chat, your line included.
        is_group: whether the chat is a group.
        service: ``iMessage``, ``SMS`` or ``RCS``.
        previous_chat_id: on failover only, the abandoned chat (not sent into).
    """

    chat_id: str
    from_: str
    message: Message
    created_new_chat: bool = False
    from_selection: LineSelection | None = None
    handles: tuple[ChatHandle, ...] = ()
    is_group: bool = False
    service: str | None = None
    previous_chat_id: str | None = None
