"""The headline workflows: upload a file once, send it to one chat or to many recipients."""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ._compose import compose
from ._errors import (
    AuthenticationError,
    BroadcastInterruptedError,
    LinqClosedError,
    LinqConnectionError,
    LinqError,
    LinqLoopError,
    LinqUsageError,
    RateLimitError,
    UploadExpiredError,
)
from ._keys import campaign_key, check_campaign_id, derive_key
from ._transport import Transport
from ._upload import (
    FileInput,
    FileSource,
    ProgressCallback,
    open_source,
    put_file,
)
from ._validation import (
    check_callback,
    check_handle,
    check_phone,
    check_recipients,
    check_text,
    recipient_key,
)
from .models import (
    BroadcastReport,
    MediaPart,
    Message,
    RecipientOutcome,
    SendResult,
    Upload,
    UploadSlot,
)
from .models._results import make_outcome, make_send_result
from .resources import Attachments, Chats
from .resources.chats import post_chat

# (SendResult, Upload, make_send_result and open_source are re-exported for LinqSession's use.)
__all__ = [
    "SendResult",
    "Upload",
    "broadcast",
    "broadcast_key",
    "check_reuse",
    "compose",
    "make_send_result",
    "media_part",
    "open_source",
    "upload",
    "upload_and_send",
]

logger = logging.getLogger("linq_async")

MAX_CONCURRENCY = 256

# Errors that are not about one recipient: every other send would fail the same way. A
# 2027 (line ineligible) is not one of them: it is documented as temporary, and may clear
# before the next recipient's turn. A 429 that outlasted a send's retries is: the limit is
# the line's or the account's, and sending the other recipients into it only lengthens it.
_STOPS_BROADCAST = (
    AuthenticationError,
    LinqConnectionError,
    LinqClosedError,
    LinqLoopError,
    RateLimitError,
)


async def upload(
    transport: Transport,
    attachments: Attachments,
    source: FileSource,
    *,
    on_progress: ProgressCallback | None,
) -> Upload:
    """Ask for a slot and stream the file to it; an expired slot is replaced once.

    The upload lane is taken before the slot is asked for, so an upload that waits for its
    turn does so before its 15 minutes start.
    """
    check_callback(on_progress, what="on_progress")

    async def new_slot() -> UploadSlot:
        return await attachments.create(
            filename=source.filename, content_type=source.content_type, size_bytes=source.size
        )

    async with transport.upload_lane():
        slot = await new_slot()
        try:
            await put_file(transport, slot, source, on_progress=on_progress)
        except UploadExpiredError:
            # A slot lives 15 minutes; a long retry can outlive it. One fresh slot, once: a
            # second expiry means something else is wrong. (Tried outside the handler, so
            # the first expiry does not ride along as the second failure's context.)
            expired = True
        else:
            expired = False
        if expired:
            slot = await new_slot()
            await put_file(transport, slot, source, on_progress=on_progress)
    return Upload(
        attachment_id=slot.attachment_id,
        filename=source.filename,
        content_type=source.content_type,
        size_bytes=source.size,
        download_url=slot.download_url,
    )


def media_part(attachment_id: str) -> MediaPart:
    """The media part of an attachment (checked as `MediaPart` checks it).

    A bulk loop sends one `Upload` many times, and parts are frozen: one object serves
    every message, built and checked once.
    """
    if type(attachment_id) is str:
        return _media_part(attachment_id)
    return MediaPart(attachment_id=attachment_id)


@functools.lru_cache(maxsize=64)
def _media_part(attachment_id: str) -> MediaPart:
    return MediaPart(attachment_id=attachment_id)


async def upload_and_send(
    transport: Transport,
    attachments: Attachments,
    chats: Chats,
    file: FileInput,
    *,
    from_: str,
    to: str | Iterable[str],
    content_type: str | None,
    filename: str | None,
    on_progress: ProgressCallback | None,
    options: Mapping[str, Any],
) -> SendResult:
    """Check everything locally, upload the file, then create the chat message.

    (An `Upload` already made needs none of this: `LinqSession.upload_and_send` composes
    its message with `media_part` and sends it.) With the caller's own idempotency key, a
    repeat of an earlier call is answered with the earlier message, which references the
    earlier upload: this call's upload is then deleted (no orphan is left) and the result
    names the attachment the message references.
    """
    check_phone(from_, what="from_")
    recipients = check_recipients(to)
    check_callback(on_progress, what="on_progress")
    source = open_source(file, filename=filename, content_type=content_type)
    # Every option is checked before the upload: a bad one must not cost a 100 MB PUT.
    compose(options, media=MediaPart(attachment_id="pending-upload"))
    done = await upload(transport, attachments, source, on_progress=on_progress)
    message, override = compose(options, media=media_part(done.attachment_id), mint_key=True)
    created = await chats.create_with(
        from_=from_, to=recipients, message=message, override_optout=override
    )
    if options.get("idempotency_key") is not None:
        done = await _upload_sent(attachments, done, created.message)
    return make_send_result(done, created.chat, created.message)


def check_reuse(content_type: str | None, filename: str | None) -> None:
    """An `Upload` is sent as it was made: its type and name cannot change."""
    if content_type is not None or filename is not None:
        raise LinqUsageError("content_type and filename cannot change an existing Upload")


def _referenced(message: Message, ours: str) -> MediaPart | None:
    """The media part of ``message`` that is not ``ours``, when none is ours; else ``None``.

    A response's media part names its attachment in ``id`` (the API's "unique attachment
    identifier"). The last one is the media part `compose` added.
    """
    media = [
        part
        for part in message.parts
        if isinstance(part, MediaPart) and (part.attachment_id or part.id)
    ]
    if not media or any(ours in (part.attachment_id, part.id) for part in media):
        return None
    return media[-1]


async def _upload_sent(attachments: Attachments, ours: Upload, message: Message) -> Upload:
    """The upload ``message`` references: ``ours``, or an earlier one (then ours is deleted)."""
    part = _referenced(message, ours.attachment_id)
    return ours if part is None else await _adopt(attachments, ours, part)


async def _adopt(attachments: Attachments, ours: Upload, part: MediaPart) -> Upload:
    """Delete ``ours``, which no message uses, and describe the upload ``part`` names."""
    await _discard(attachments, ours.attachment_id)
    attachment_id = part.attachment_id or part.id
    assert attachment_id is not None
    try:
        info = await attachments.get(attachment_id)
    except LinqError:  # the send stands; describe the attachment from the message instead
        return Upload(
            attachment_id=attachment_id,
            filename=part.filename or ours.filename,
            content_type=part.mime_type or ours.content_type,
            size_bytes=part.size_bytes if part.size_bytes is not None else ours.size_bytes,
            download_url=part.url or "",
        )
    return Upload(
        attachment_id=info.id,
        filename=info.filename,
        content_type=info.content_type,
        size_bytes=info.size_bytes,
        download_url=info.download_url or part.url or "",
    )


async def _discard(attachments: Attachments, attachment_id: str) -> None:
    """Delete an upload no message uses; a failure is logged, never raised (the send stands)."""
    try:
        await attachments.delete(attachment_id)
    except LinqError as exc:
        logger.warning(
            "the unused upload %s could not be deleted: %s", attachment_id, type(exc).__name__
        )


def broadcast_key(broadcast_id: str, recipient: str) -> str:
    """The idempotency key of one recipient's message in a broadcast (stable across runs).

    The same value as `linq_async.campaign_key`, so workers can finish a broadcast.
    """
    return campaign_key(broadcast_id, recipient)


def _unique(recipients: Iterable[str]) -> list[str]:
    if isinstance(recipients, str):
        raise LinqUsageError("recipients must be a list of handles, not one string")
    if not isinstance(recipients, Iterable) or isinstance(recipients, (bytes, bytearray)):
        raise LinqUsageError(f"recipients must be a list of handles, got {recipients!r}")
    seen: dict[str, str] = {}
    for recipient in recipients:
        handle = check_handle(recipient, what="each recipient")
        seen.setdefault(recipient_key(handle), handle)
    if not seen:
        raise LinqUsageError("recipients must name at least one handle")
    return list(seen.values())


def _note(exc: BaseException, run_id: str, tried: int, total: int) -> None:
    """Name the broadcast on an exception passing through (Python 3.11+ shows notes)."""
    add_note = getattr(exc, "add_note", None)
    if add_note is not None:
        add_note(
            f"linq-async: broadcast {run_id} stopped after {tried} of {total} recipients; run "
            f"it again with broadcast_id={run_id!r}: recipients already sent get nothing twice"
        )


async def broadcast(
    transport: Transport,
    attachments: Attachments,
    chats: Chats,
    file: FileInput | Upload | None,
    *,
    from_: str,
    recipients: Iterable[str],
    text: str | None,
    concurrency: int,
    broadcast_id: str | None,
    content_type: str | None,
    filename: str | None,
    on_upload_progress: ProgressCallback | None,
    on_recipient: Callable[[RecipientOutcome], Any] | None,
) -> BroadcastReport:
    """Upload once (if there is a file), then send one direct chat per recipient."""
    check_phone(from_, what="from_")
    handles = _unique(recipients)
    if file is None and text is None:
        raise LinqUsageError("a broadcast needs a file, a text or both")
    check_text(text)
    if isinstance(concurrency, bool) or not isinstance(concurrency, int):
        raise LinqUsageError(f"concurrency must be an int, got {concurrency!r}")
    if not 1 <= concurrency <= MAX_CONCURRENCY:
        raise LinqUsageError(f"concurrency must be 1 to {MAX_CONCURRENCY}, got {concurrency}")
    if broadcast_id is not None:
        # It is the campaign id of every recipient's key (workers can finish a broadcast).
        broadcast_id = check_campaign_id(broadcast_id, what="broadcast_id")
    check_callback(on_upload_progress, what="on_upload_progress")
    check_callback(on_recipient, what="on_recipient", may_be_async=True)
    run_id = broadcast_id or str(uuid.uuid4())

    done = None
    source = None
    if isinstance(file, Upload):
        check_reuse(content_type, filename)
        done = file
    elif file is not None:
        source = open_source(file, filename=filename, content_type=content_type)
    if source is not None:
        done = await upload(transport, attachments, source, on_progress=on_upload_progress)
    # The message is composed (and checked) once; each recipient gets a copy carrying
    # its own idempotency key, through the request behind `Chats.create` (`post_chat`).
    message, _ = compose(
        {"text": text}, media=None if done is None else media_part(done.attachment_id)
    )
    # Each recipient's result, kept as strings until the report is made: a broadcast to
    # thousands would otherwise keep an object per recipient alive that every garbage
    # collection in the run has to scan (and that triggers more of them).
    chat_ids: dict[str, str] = {}
    message_ids: dict[str, str] = {}
    errors: dict[str, LinqError] = {}
    queue = iter(handles)
    stop: list[Exception] = []  # the error that stops the broadcast, if any
    failed_callback: list[Exception] = []  # on_recipient's exception, once it raised
    earlier: list[MediaPart] = []  # media parts of messages sent by an earlier run
    ours_sent = False
    # Only a caller's id can repeat an earlier run, whose messages hold an earlier upload.
    rerun = source is not None and broadcast_id is not None

    def outcome_of(recipient: str) -> RecipientOutcome:
        error = errors.get(recipient)
        if error is not None:
            return make_outcome(recipient, None, None, error)
        return make_outcome(recipient, chat_ids[recipient], message_ids[recipient], None)

    def finished() -> int:
        return len(chat_ids) + len(errors)

    async def worker() -> None:
        nonlocal ours_sent
        while not stop:
            recipient = next(queue, None)
            if recipient is None:
                return
            key = derive_key(run_id, recipient_key(recipient))
            try:
                # The line and every recipient were checked once, above: not again here.
                created = await post_chat(
                    chats, from_, [recipient], {**message, "idempotency_key": key}, key
                )
                chat_id, message_id = created.chat.id, created.message.id
                if rerun and done is not None:
                    other = _referenced(created.message, done.attachment_id)
                    if other is None:
                        ours_sent = True
                    else:
                        earlier.append(other)
                # Let the answer go now, not when the next one replaces it: each worker
                # would otherwise hold two decoded answers through its next request.
                del created
                # (Stored last: a recipient is in these or in errors, never in both.)
                chat_ids[recipient] = chat_id
                message_ids[recipient] = message_id
            except LinqError as exc:  # one recipient's failure never stops the others ...
                errors[recipient] = exc
                if isinstance(exc, _STOPS_BROADCAST) and not stop:
                    stop.append(exc)  # ... unless it would fail every other recipient too
            if on_recipient is not None and not failed_callback:
                try:
                    called = on_recipient(outcome_of(recipient))
                    # An async on_recipient: its turn to run (a plain one returns None,
                    # which needs no look at the awaitable ABCs).
                    if called is not None and inspect.isawaitable(called):
                        await called
                except Exception as exc:  # the caller's own error ends the broadcast
                    failed_callback.append(exc)
                    stop.append(exc)
                    return

    workers = [asyncio.ensure_future(worker()) for _ in range(min(concurrency, len(handles)))]
    try:
        await asyncio.gather(*workers)
    except BaseException as exc:  # passed on unchanged, with the broadcast's id as a note
        _note(exc, run_id, finished(), len(handles))
        raise
    finally:
        for task in workers:
            task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
    if rerun and done is not None and earlier and not ours_sent and not stop:
        # Every message came from an earlier run of this broadcast (same broadcast_id),
        # with that run's upload: this one is an orphan.
        done = await _adopt(attachments, done, earlier[0])
    report = BroadcastReport(
        broadcast_id=run_id,
        upload=done,
        outcomes=tuple(
            outcome_of(handle) for handle in handles if handle in chat_ids or handle in errors
        ),
    )
    if not stop:
        return report
    if failed_callback:  # the caller's exception, as itself
        _note(failed_callback[0], run_id, finished(), len(handles))
        raise failed_callback[0]
    cause = stop[0]
    remaining = tuple(
        handle for handle in handles if handle not in chat_ids and handle not in errors
    )
    raise BroadcastInterruptedError(
        f"the broadcast {run_id} stopped after {finished()} of {len(handles)} recipients, "
        f"on an error that is not about one recipient: {cause}. Run it again with "
        f"broadcast_id={run_id!r} once that is fixed: recipients already sent get nothing "
        "twice",
        broadcast_id=run_id,
        report=report,
        remaining=remaining,
    ) from cause
