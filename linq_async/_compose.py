"""The message options, declared once, and the checks that turn them into a ``message``.

Every call that sends a message (``chats.create``, ``chats.messages.send``,
``messages.send``, ``upload_and_send``) takes the same keyword options, typed by
`MessageOptions`, and builds its ``message`` object with `compose`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypedDict

from ._errors import LinqUsageError
from ._keys import mint_idempotency_key
from ._model import JSONObject, dump
from ._validation import check_bool, check_idempotency_key, check_service, check_text
from .models import Effect, Experience, MediaPart, Part, ReplyTo
from .models._parts import check_parts

__all__ = ["MESSAGE_OPTIONS", "MessageOptions", "SendOptions", "compose"]


class SendOptions(TypedDict, total=False):
    """The options of every call that sends a message, as keyword arguments.

    Attributes:
        parts: the message parts (`TextPart`, `MediaPart`, `LinkPart`, `AppClipPart`,
            `IMessageAppPart` ...). At most 100, at most 40 media parts by ``url``, no two
            text parts in a row, and a link, app clip or iMessage app part must be the only
            part.
        text: a convenience: a text part sent before ``parts``.
        experience: a Linq app-card `Experience`, sent instead of parts (so not with
            ``parts`` or ``text``).
        effect: a screen or bubble `Effect` (not in a new chat's first message).
        preferred_service: ``"iMessage"``, ``"SMS"`` or ``"RCS"``.
        idempotency_key: 1 to 255 printable ASCII characters. One is generated when
            omitted; retries of the call reuse it, so a retried send never sends twice. Pass
            your own to make a re-run of the same logical send (after a crash) send nothing
            new.
        override_optout: send despite the recipient's opt-out (code 2024), this request only.
    """

    parts: Sequence[Part] | None
    text: str | None
    experience: Experience | None
    effect: Effect | None
    preferred_service: str | None
    idempotency_key: str | None
    override_optout: bool | None


class MessageOptions(SendOptions, total=False):
    """`SendOptions` plus ``reply_to``, for sends into a known chat.

    Attributes:
        reply_to: make the message a threaded reply (`ReplyTo`); not in a new chat's first
            message.
    """

    reply_to: ReplyTo | None


MESSAGE_OPTIONS = frozenset(MessageOptions.__annotations__) | frozenset(SendOptions.__annotations__)
"""The names `compose` accepts."""


def compose(
    options: Mapping[str, Any],
    *,
    allowed: frozenset[str] = MESSAGE_OPTIONS,
    media: MediaPart | None = None,
    mint_key: bool = False,
) -> tuple[JSONObject, bool | None]:
    """Check message options and build the ``message`` object and ``override_optout``.

    The ``message`` object is the JSON-ready wire form of a `MessageContent` (what
    ``unstructure(MessageContent(...))`` gives), built directly: every send of a bulk loop
    comes through here, and a text-only message needs no model at all.

    Args:
        options: the keyword options of the call (see `MessageOptions`).
        allowed: the option names this call takes.
        media: a media part appended after the other parts (``upload_and_send``).
        mint_key: give the message a fresh ``idempotency_key`` when the options have
            none, for a message sent once (its retries reuse it). A message composed
            once and sent many times (``broadcast``) must not get one: each send needs
            its own.

    Raises:
        LinqUsageError: an unknown option, or a value that breaks the API's rules.
    """
    if not options.keys() <= allowed:
        unknown = sorted(options.keys() - allowed)
        raise LinqUsageError(
            f"unexpected option {unknown[0]!r}; the options are {', '.join(sorted(allowed))}"
        )
    get = options.get
    text = get("text")
    if text is not None:
        text = check_text(text)
        if len(options) == 1:
            # Only ``text=`` (the commonest call): what the general path below builds for
            # it, without looking up each of the other options.
            only: dict[str, Any] = {"parts": [{"type": "text", "value": text}]}
            if media is not None:
                only["parts"].append(dump(media))
            if mint_key:
                only["idempotency_key"] = mint_idempotency_key()
            return JSONObject(only), None
    given = get("parts")
    experience = get("experience")
    message: dict[str, Any]
    if experience is not None:
        if not isinstance(experience, Experience):
            raise LinqUsageError(f"experience must be an Experience, got {experience!r}")
        if given is not None or text is not None or media is not None:
            raise LinqUsageError(
                "a message takes an experience or parts (parts=, text=, a file), not both"
            )
        message = {"experience": dump(experience)}
    elif given is None:
        # Text and/or one media part, the common case: two parts that break no rule.
        wire_parts: list[Any] = []
        if text is not None:
            wire_parts.append({"type": "text", "value": text})
        if media is not None:
            wire_parts.append(dump(media))
        if not wire_parts:
            raise LinqUsageError("a message needs parts (or text=) or an experience")
        message = {"parts": wire_parts}
    else:
        if type(given) is list or type(given) is tuple:
            parts: list[Part] = list(given)
        elif isinstance(given, (str, bytes, bytearray, Mapping)) or not isinstance(given, Sequence):
            raise LinqUsageError(
                f"parts must be a list of message parts (TextPart, MediaPart ...), got {given!r}"
            )
        else:
            parts = list(given)
        if media is not None:
            parts.append(media)
        wire_parts = [dump(part) for part in check_parts(parts, after_text=text is not None)]
        if text is not None:
            wire_parts.insert(0, {"type": "text", "value": text})
        message = {"parts": wire_parts}
    effect = get("effect")
    if effect is not None:
        if not isinstance(effect, Effect):
            raise LinqUsageError(f"effect must be an Effect, got {effect!r}")
        message["effect"] = dump(effect)
    reply_to = get("reply_to")
    if reply_to is not None:
        if not isinstance(reply_to, ReplyTo):
            raise LinqUsageError(f"reply_to must be a ReplyTo, got {reply_to!r}")
        message["reply_to"] = dump(reply_to)
    service = get("preferred_service")
    if service is not None:
        message["preferred_service"] = check_service(service)
    key = get("idempotency_key")
    if key is not None:
        message["idempotency_key"] = check_idempotency_key(key)
    elif mint_key:
        message["idempotency_key"] = mint_idempotency_key()
    override = get("override_optout")
    if override is not None:
        check_bool(override, what="override_optout")
    return JSONObject(message), override
