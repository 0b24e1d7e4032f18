"""Type-checked only (mypy --strict in the typecheck session): the public API as users write it.

A change that breaks a user's type-checked code breaks this file first.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from linq_async import (
    APIStatusError,
    AutoSendResult,
    BroadcastInterruptedError,
    BroadcastReport,
    CapabilityCheck,
    Chat,
    ChatUpdate,
    ContactCardInfo,
    CreatedChat,
    CreatedWebhookSubscription,
    DownloadError,
    Experience,
    IMessageApp,
    IMessageAppLayout,
    IMessageAppPart,
    LinqSession,
    LocationCollection,
    MediaPart,
    Message,
    OperationResult,
    Page,
    Payment,
    PaymentCredentials,
    PaymentRequest,
    PhoneNumber,
    PollMessage,
    Reaction,
    RecipientOutcome,
    ReputationAudit,
    RetryPolicy,
    SendResult,
    Sticker,
    StickerPlacement,
    TextDecoration,
    TextPart,
    Timeouts,
    Upload,
    UploadError,
    VoiceMemo,
    utf16_range,
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


async def chat_extras(chat_id: str) -> None:
    async with LinqSession("key") as linq:
        update: ChatUpdate = await linq.chats.update(chat_id, display_name="Team")
        print(update.chat_id or update.id)
        memo: VoiceMemo = await linq.chats.send_voice_memo(chat_id, url="https://e.com/a.m4a")
        print(memo.voice_memo.duration_ms if memo.voice_memo else None)
        async with linq.chats.typing.keep(chat_id, interval=30):
            await linq.chats.share_contact_card(chat_id)
        shared: LocationCollection = await linq.chats.location.get(chat_id)
        for feature in shared.features:
            lon: float = feature.geometry.longitude
            print(lon, feature.geometry.latitude, feature.properties.handle)
        asked: OperationResult = await linq.chats.location.request(chat_id)
        print(asked.success)
        await linq.chats.background.set(chat_id, type="color", shades=("#ffffff",))


async def account() -> None:
    async with FakeLinqServer() as fake, LinqSession(fake.api_key, base_url=fake.base_url) as linq:
        fake.account.add_line("+12223334444")
        lines: list[PhoneNumber] = await linq.phone_numbers.list()
        await linq.phone_numbers.update(lines[0].id, forwarding_number=None)
        audit: ReputationAudit = await linq.phone_numbers.start_reputation_audit("+12223334444")
        if audit.report is not None:
            print(audit.report.severity, [driver.key for driver in audit.report.drivers])
        line = await linq.phone_numbers.available(to=["+15556667777"], exclude_from="+12223335555")
        cards: list[ContactCardInfo] = await linq.contact_card.get(phone_number=line.phone_number)
        check: CapabilityCheck = await linq.capability.check_rcs("+15556667777")
        known: bool | None = check.available
        await linq.blocked_handles.block("pal@example.com", reason="spam")
        for experience in await linq.experiences.list():
            print(experience.experience, [action.fields for action in experience.actions])
        del cards, known


async def payments() -> None:
    async with LinqSession("key") as linq:
        request: PaymentRequest = await linq.payment_requests.create(
            amount=1500, currency="usd", description="Haircut", extra_body={"metadata": {}}
        )
        first: Page[PaymentRequest] = await linq.payment_requests.list(status="pending")
        async for each in linq.payment_requests.list(limit=50):
            print(each.id, each.amount, first.next_cursor, request.url)
        payment: Payment = await linq.payments.create(
            handle="+15556667777", amount=2500, currency="usd", idempotency_key="cart-7"
        )
        card: PaymentCredentials = await linq.payments.credentials(payment.id)
        number: str = card.number.reveal()
        month: int = card.exp_month.reveal()
        del number, month
        attempt = await linq.payments.handles.connect("friend@example.com")
        await linq.payments.handles.verify(
            "friend@example.com", code="123456", connect_id=attempt.connect_id
        )
        onboarding = await linq.payments.providers.connect(
            "stripe", return_url="https://example.com/done"
        )
        print(onboarding.url)


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


async def rich_parts_cards_and_downloads(folder: Path) -> None:
    async with LinqSession("key") as linq:
        value = "Lunch \U0001f355 at noon?"
        noon: tuple[int, int] = utf16_range(value, "noon")
        part = TextPart(value=value, text_decorations=[TextDecoration(range=noon, style="bold")])
        sent: Message = await linq.chats.messages.send("chat", parts=[part])
        app = IMessageApp(bundle_id="com.example.ext", name="Example", team_id="ABCDE12345")
        card = IMessageAppPart(app=app, layout=IMessageAppLayout(caption="Order #1"))
        await linq.chats.messages.send("chat", parts=[card])
        await linq.chats.messages.send("chat", experience=Experience(name="agentpay", action="x"))
        updated: Message = await linq.messages.update_app_card(
            sent.id, layout=IMessageAppLayout(caption="Shipped"), url="data:,1"
        )
        try:
            path: Path = await linq.attachments.download("att", folder, on_progress=print)
            print(path, updated.chat_id)
        except DownloadError as exc:
            print(exc.status, exc.attachment_id)


async def receive_webhooks(body: bytes, headers: Mapping[str, str]) -> tuple[int, bytes]:
    from aiohttp import web

    from linq_async.webhooks import (
        MessageEvent,
        ReactionEvent,
        Router,
        Verifier,
        WebhookEvent,
        WebhookVerificationError,
        poll_inbound,
        setup_aiohttp,
    )

    async with LinqSession("key") as linq:
        sub: CreatedWebhookSubscription = await linq.webhook_subscriptions.create(
            target_url="https://example.com/hook?version=2026-02-03", events=["message.received"]
        )
        secret: str = sub.signing_secret
        await linq.webhook_subscriptions.update(sub.id, phone_numbers=None, is_active=False)
        async for message in poll_inbound(linq, interval=1.0):
            print(message.id)
    router = Router(Verifier(secret, tolerance=60), concurrency=4)
    Router.from_env(concurrency=4, wait_for_handlers=True, on_error=lambda exc, event: None)
    Router.from_env(concurency=4)  # type: ignore[call-arg]  # a typo is a type error

    @router.on("message.received")
    async def on_message(event: MessageEvent) -> None:
        text: str = event.text
        sender: str = event.sender
        print(text, sender, event.direction, event.chat_id)

    @router.on("reaction.*")
    async def on_reaction(event: ReactionEvent) -> None:
        print(event.data.reaction_type)

    @router.fallback
    async def other(event: WebhookEvent) -> None:
        print(event.event_type)

    app = web.Application()
    setup_aiohttp(app, router, "/hook")
    try:
        Verifier(secret).verify(body, headers)
    except WebhookVerificationError as exc:
        print(exc.header)
    status, payload = await router.handle(body, headers)
    return status, payload


def misspelled_names_are_type_errors() -> None:
    """The lazy packages still let a type checker catch a name that does not exist."""
    from linq_async import Chatx  # type: ignore[attr-defined]
    from linq_async.models import Chatt  # type: ignore[attr-defined]
    from linq_async.resources import Chatz  # type: ignore[attr-defined]

    print(Chatx, Chatt, Chatz)
