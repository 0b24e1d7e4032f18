"""Type-checked only (mypy --strict in the typecheck session): the public API as users write it.

A change that breaks a user's type-checked code breaks this file first.
"""

from __future__ import annotations

from pathlib import Path

from linq_async import (
    APIStatusError,
    AutoSendResult,
    BroadcastReport,
    Chat,
    CreatedChat,
    LinqSession,
    MediaPart,
    Message,
    Page,
    PollMessage,
    Reaction,
    RecipientOutcome,
    RetryPolicy,
    SendResult,
    Sticker,
    StickerPlacement,
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

        report: BroadcastReport = await linq.broadcast(
            upload, from_="+12223334444", recipients=["+15556667777"], on_recipient=seen
        )
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


async def messages_and_polls() -> None:
    async with LinqSession("key") as linq:
        sent: AutoSendResult = await linq.messages.send(
            to=["+15556667777"], text="hi", exclude_from="+12223334444", continuation_text="new #"
        )
        print(sent.from_, sent.chat_id, sent.from_selection and sent.from_selection.reason)
        edited: Message = await linq.messages.edit(sent.message.id, "hi!", part_index=0)
        await linq.messages.react(edited.id, "custom", custom_emoji="🚀")
        sticker = Sticker(emoji="🎉", placement=StickerPlacement(x=0.5, scale=1.2))
        await linq.messages.react(edited.id, "sticker", sticker=sticker, part_index=0)
        part = (await linq.messages.get(edited.id)).parts[0]
        if isinstance(part, TextPart):
            reactions: tuple[Reaction, ...] = part.reactions or ()
            for reaction in reactions:
                if reaction.id is not None and reaction.type == "sticker":
                    await linq.messages.move_sticker(
                        edited.id, reaction.id, placement=StickerPlacement(rotation=45)
                    )
        await linq.messages.unreact(edited.id, "custom", custom_emoji="🚀")
        async for message in linq.messages.thread(edited.id, order="desc", limit=20):
            print(message.id)
        poll: PollMessage = await linq.chats.polls.create(sent.chat_id, options=["a", "b"])
        await linq.messages.poll.vote(poll.message_id, poll.poll.options[0].option_id)
        await linq.messages.poll.add_options(poll.message_id, ["c"])
        await linq.messages.delete(edited.id)
