"""The headline workflows: upload a file once, send it to one chat or to many recipients."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from ._compose import compose
from ._errors import LinqError, LinqUsageError, UploadExpiredError
from ._transport import Transport
from ._upload import FileInput, FileSource, ProgressCallback, open_source, put_file
from ._validation import check_handle, check_phone, check_recipients, check_text
from .models import (
    BroadcastReport,
    MediaPart,
    Part,
    RecipientOutcome,
    SendResult,
    TextPart,
    Upload,
    UploadSlot,
)
from .resources import Attachments, Chats

_BROADCAST_NAMESPACE = uuid.UUID("5d3c0f54-8b7e-4f3a-9a51-2f0a3c6e9b10")
MAX_CONCURRENCY = 256


async def upload(
    transport: Transport,
    attachments: Attachments,
    source: FileSource,
    *,
    on_progress: ProgressCallback | None,
) -> Upload:
    """Ask for a slot and stream the file to it; an expired slot is replaced once."""

    async def new_slot() -> UploadSlot:
        return await attachments.create(
            filename=source.filename, content_type=source.content_type, size_bytes=source.size
        )

    slot = await new_slot()
    try:
        await put_file(transport, slot, source, on_progress=on_progress)
    except UploadExpiredError:
        # A slot lives 15 minutes; a slow start or a long retry can outlive it. One fresh
        # slot, once: a second expiry means something else is wrong (a skewed clock).
        slot = await new_slot()
        await put_file(transport, slot, source, on_progress=on_progress)
    return Upload(
        attachment_id=slot.attachment_id,
        filename=source.filename,
        content_type=source.content_type,
        size_bytes=source.size,
        download_url=slot.download_url,
    )


def with_media(options: Mapping[str, Any], attachment_id: str) -> dict[str, Any]:
    """The message options with a media part for ``attachment_id`` after the other parts."""
    parts = options.get("parts")
    extra: list[Part] = list(parts) if isinstance(parts, (list, tuple)) else []
    if parts is not None and not isinstance(parts, (list, tuple)):
        compose(options)  # raises the usage error for the malformed parts
    return {**options, "parts": [*extra, MediaPart(attachment_id=attachment_id)]}


async def upload_and_send(
    transport: Transport,
    attachments: Attachments,
    chats: Chats,
    file: FileInput | Upload,
    *,
    from_: str,
    to: str | Iterable[str],
    content_type: str | None,
    filename: str | None,
    on_progress: ProgressCallback | None,
    options: Mapping[str, Any],
) -> SendResult:
    """Check everything locally, upload (unless given an Upload), then create the chat message."""
    check_phone(from_, what="from_")
    recipients = check_recipients(to)
    if isinstance(file, Upload):
        if content_type is not None or filename is not None:
            raise LinqUsageError("content_type and filename cannot change an existing Upload")
        done = file
    else:
        source = open_source(file, filename=filename, content_type=content_type)
        # Every option is checked before the upload: a bad one must not cost a 100 MB PUT.
        compose(with_media(options, "pending-upload"))
        done = await upload(transport, attachments, source, on_progress=on_progress)
    created = await chats.create(
        from_=from_, to=recipients, **with_media(options, done.attachment_id)
    )
    return SendResult(upload=done, chat=created.chat, message=created.message)


def broadcast_key(broadcast_id: str, recipient: str) -> str:
    """The idempotency key of one recipient's message in a broadcast (stable across runs).

    The same value as `linq_async.campaign_key`, so workers can finish a broadcast.
    """
    from ._keys import campaign_key

    return campaign_key(broadcast_id, recipient)


def _unique(recipients: Iterable[str]) -> list[str]:
    if isinstance(recipients, str):
        raise LinqUsageError("recipients must be a list of handles, not one string")
    seen: dict[str, None] = {}
    for recipient in recipients:
        seen.setdefault(check_handle(recipient, what="each recipient"), None)
    if not seen:
        raise LinqUsageError("recipients must name at least one handle")
    return list(seen)


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
    if broadcast_id is not None and not (isinstance(broadcast_id, str) and broadcast_id):
        raise LinqUsageError(f"broadcast_id must be a non-empty string, got {broadcast_id!r}")
    run_id = broadcast_id or str(uuid.uuid4())

    done = None
    source = None
    if isinstance(file, Upload):
        if content_type is not None or filename is not None:
            raise LinqUsageError("content_type and filename cannot change an existing Upload")
        done = file
    elif file is not None:
        source = open_source(file, filename=filename, content_type=content_type)
    if source is not None:
        done = await upload(transport, attachments, source, on_progress=on_upload_progress)
    parts: list[Part] = [] if text is None else [TextPart(value=text)]
    if done is not None:
        parts.append(MediaPart(attachment_id=done.attachment_id))
    outcomes: dict[str, RecipientOutcome] = {}
    queue: Iterator[str] = iter(handles)

    async def worker() -> None:
        for recipient in queue:
            try:
                created = await chats.create(
                    from_=from_,
                    to=recipient,
                    parts=parts,
                    idempotency_key=broadcast_key(run_id, recipient),
                )
                outcome = RecipientOutcome(
                    recipient=recipient, chat_id=created.chat.id, message_id=created.message.id
                )
            except LinqError as exc:  # one recipient's failure never stops the others
                outcome = RecipientOutcome(recipient=recipient, error=exc)
            outcomes[recipient] = outcome
            if on_recipient is not None:
                on_recipient(outcome)

    workers = [asyncio.ensure_future(worker()) for _ in range(min(concurrency, len(handles)))]
    try:
        await asyncio.gather(*workers)
    finally:
        for task in workers:
            task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
    return BroadcastReport(
        broadcast_id=run_id,
        upload=done,
        outcomes=tuple(outcomes[handle] for handle in handles),
    )
