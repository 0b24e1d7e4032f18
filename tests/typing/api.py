"""Type-checked only (mypy --strict in the typecheck session): the public API as users write it.

A change that breaks a user's type-checked code breaks this file first.
"""

from __future__ import annotations

from pathlib import Path

from linq_async import (
    APIStatusError,
    BroadcastInterruptedError,
    BroadcastReport,
    Chat,
    CreatedChat,
    LinqSession,
    MediaPart,
    Message,
    Page,
    RecipientOutcome,
    RetryPolicy,
    SendResult,
    TextPart,
    Timeouts,
    Upload,
    UploadError,
)
from linq_async.progress import upload_bar
from linq_async.testing import FakeLinqServer


async def headline(path: Path) -> None:
    async with LinqSession.from_env(retry=RetryPolicy(attempts=5), timeout=Timeouts()) as linq:
        result: SendResult = await linq.upload_and_send(
            path, from_="+12223334444", to="+15556667777", text="hi"
        )
        chat: Chat = result.chat
        message: Message = result.message
        del chat, message


async def reuse_and_broadcast(path: str) -> None:
    async with FakeLinqServer() as fake, LinqSession(fake.api_key, base_url=fake.base_url) as linq:
        with upload_bar("file") as on_progress:
            upload: Upload = await linq.upload(path, on_progress=on_progress)

        def seen(outcome: RecipientOutcome) -> None:
            print(outcome.recipient, outcome.ok)

        try:
            report: BroadcastReport = await linq.broadcast(
                upload, from_="+12223334444", recipients=["+15556667777"], on_recipient=seen
            )
        except BroadcastInterruptedError as exc:
            resume_with: str = exc.broadcast_id
            left: tuple[str, ...] = exc.remaining
            report = exc.report
            print(resume_with, left)
        count: int = report.sent + report.failed
        del count


async def parts_and_pages() -> None:
    async with LinqSession("key") as linq:
        created: CreatedChat = await linq.chats.create(
            from_="+12223334444",
            to=["+15556667777", "friend@example.com"],
            parts=[TextPart(value="look"), MediaPart(url="https://example.com/a.png")],
        )
        async for message in linq.chats.messages.list(created.chat.id, limit=50):
            print(message.id)
        page: Page[Chat] = await linq.chats.list(limit=10)
        if page.next_cursor is not None:
            later: Page[Chat] = await linq.chats.list(limit=10).page(page.next_cursor)
            print(len(later.items))
        async for each_page in linq.chats.list().pages():
            print(each_page.has_next)
        patient = linq.with_options(retry=RetryPolicy(attempts=5), timeout=Timeouts(total=5))
        await patient.chats.messages.send(created.chat.id, text="hi", idempotency_key="k")
        try:
            await linq.chats.get("missing")
        except APIStatusError as exc:
            print(exc.status, exc.code, exc.trace_id)
        except UploadError as exc:
            print(exc.s3_code)
