"""LinqSession: configuration, lifecycle, auth, paths, and the namespaces over real sockets."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import GenericAlias, ModuleType
from typing import Any

import aiohttp
import pytest
from _support import RECIPIENT, SENDER

import linq_async
import linq_async.models
import linq_async.resources
from linq_async import (
    DEFAULT_BASE_URL,
    LinqClosedError,
    LinqSession,
    LinqUsageError,
    MediaPart,
    RetryPolicy,
    TextPart,
)
from linq_async.testing import FakeLinqServer

EXPECTED_ALL = {
    "DEFAULT_BASE_URL", "DELIVERED_AS", "REJECTED_CONTENT_TYPES", "SUPPORTED_CONTENT_TYPES",
    "APIStatusError", "Attachment", "AuthenticationError", "BadRequestError", "BroadcastReport",
    "Chat", "ChatHandle", "ConflictError", "CreatedChat", "Effect", "HealthStatus",
    "LineIneligibleError", "LinkPart", "LinqClosedError", "LinqConnectionError", "LinqError",
    "LinqSession", "LinqTimeoutError", "LinqUsageError", "MediaPart", "Message",
    "MessageContent", "NotFoundError", "OptedOutError", "Part", "PermissionDeniedError",
    "RateLimitError", "RecipientOutcome", "ReplyTo", "ResponseValidationError", "RetryPolicy",
    "SendResult", "ServerError", "TextDecoration", "TextPart", "Timeouts", "UnknownPart",
    "Upload", "UploadError", "UploadExpiredError", "UploadSlot", "__version__",
    "AsyncPager", "Page", "MessageOptions", "SendOptions", "OperationResult",
    "guess_content_type", "ChatUpdate", "LocationCollection", "LocationFeature", "LocationPoint",
    "LocationProperties", "VoiceMemo", "VoiceMemoFile",
    "AvailableNumber", "BlockedHandle", "CapabilityCheck", "ContactCardInfo", "Experience",
    "ExperienceAction", "ExperienceInfo", "ExperienceField", "LineReputation", "PhoneNumber",
    "ReputationActionItem", "ReputationAudit", "ReputationChat", "ReputationDriver",
    "ReputationEvidence", "ReputationReport",
    "HandleConnectAttempt", "Payment", "PaymentConnection", "PaymentCredentials",
    "PaymentProvider", "PaymentRequest", "ProviderOnboarding", "Secret",
    "AutoSendResult", "LineSelection", "Poll", "PollMessage",
    "PollOption", "PollVoter", "Reaction", "Sticker", "StickerImage", "StickerPlacement",
    "AppClipPart", "DownloadError", "IMessageApp", "IMessageAppLayout",
    "IMessageAppPart", "InlineSticker", "Mention", "utf16_range",
    "CreatedWebhookSubscription", "WebhookEventTypes", "WebhookSubscription",
    "BroadcastInterruptedError", "LinqLoopError",
    "campaign_key",
    "FileInput", "ProgressCallback",
}  # fmt: skip


def test_all_is_exact() -> None:
    """The public names are exactly the documented set, and each one exists."""
    assert set(linq_async.__all__) == EXPECTED_ALL
    assert len(linq_async.__all__) == len(EXPECTED_ALL)
    for name in linq_async.__all__:
        assert hasattr(linq_async, name)


@pytest.mark.parametrize("key", [None, "", "   ", " padded "])
def test_missing_or_blank_key_fails_at_construction(key: str | None) -> None:
    """No key, an empty key or one with stray whitespace is refused before any I/O."""
    with pytest.raises(LinqUsageError, match="API key is required"):
        LinqSession(key)


@pytest.mark.parametrize("url", ["api.linqapp.com", "ftp://x.example", "https://x.example/?a=1"])
def test_bad_base_url_fails_at_construction(url: str) -> None:
    """A base URL that is not http(s), or has a query, is refused."""
    with pytest.raises(LinqUsageError, match="base_url"):
        LinqSession("key", base_url=url)


def test_default_base_url_keeps_its_path() -> None:
    """The default API root is the partner path, without a trailing slash."""
    assert LinqSession("key").base_url == DEFAULT_BASE_URL == "https://api.linqapp.com/api/partner"


def test_from_env_reads_new_then_official_names() -> None:
    """LINQ_API_KEY wins over LINQ_API_V3_API_KEY; base URLs likewise."""
    env = {
        "LINQ_API_V3_API_KEY": "old-key",
        "LINQ_API_KEY": "new-key",
        "LINQ_API_V3_BASE_URL": "http://127.0.0.1:1/old",
    }
    session = LinqSession.from_env(env)
    assert session.base_url == "http://127.0.0.1:1/old"
    assert session._transport.pool._key.reveal() == "new-key"
    fallback = LinqSession.from_env({"LINQ_API_V3_API_KEY": "old-key"})
    assert fallback._transport.pool._key.reveal() == "old-key"
    assert fallback.base_url == DEFAULT_BASE_URL
    with pytest.raises(LinqUsageError, match="LINQ_API_KEY"):
        LinqSession.from_env({})


async def test_paths_keep_the_base_path_and_send_auth_and_user_agent(
    linq: LinqSession, fake: FakeLinqServer
) -> None:
    """Requests go to <base>/v3/... with bearer auth and the SDK's User-Agent."""
    await linq.chats.create(from_=SENDER, to=RECIPIENT, text="hello")
    (request,) = [r for r in fake.requests if r.method == "POST"]
    assert request.path == "/api/partner/v3/chats"
    assert request.headers["Authorization"] == f"Bearer {fake.api_key}"
    assert request.headers["User-Agent"] == f"linq-async/{linq_async.__version__}"


async def test_close_is_idempotent_and_use_after_close_raises(fake: FakeLinqServer) -> None:
    """close() twice is fine; any call afterwards raises LinqClosedError, sending nothing."""
    session = LinqSession(fake.api_key, base_url=fake.base_url)
    async with session:
        assert not session.closed
    await session.close()
    assert session.closed
    with pytest.raises(LinqClosedError):
        await session.chats.get("c1")
    with pytest.raises(LinqClosedError):
        async with session:
            pass
    assert fake.requests == []


async def test_opens_lazily_on_first_call(fake: FakeLinqServer) -> None:
    """Without `async with`, the first call opens the pool; close() releases it."""
    session = LinqSession(fake.api_key, base_url=fake.base_url)
    try:
        created = await session.chats.create(from_=SENDER, to=RECIPIENT, text="hi")
        assert created.chat.id in fake.chats
    finally:
        await session.close()


async def test_callers_session_is_used_and_never_closed(fake: FakeLinqServer) -> None:
    """A ClientSession passed in carries the requests and stays open after close()."""
    async with aiohttp.ClientSession(headers={"X-Caller": "yes"}) as client:
        async with LinqSession(fake.api_key, base_url=fake.base_url, session=client) as linq:
            await linq.chats.create(from_=SENDER, to=RECIPIENT, text="hi")
        assert not client.closed
        assert fake.requests[-1].headers["X-Caller"] == "yes"


async def test_create_get_and_send_round_trip(linq: LinqSession, fake: FakeLinqServer) -> None:
    """A chat is created with its first message, fetched, and sent another message."""
    created = await linq.chats.create(from_=SENDER, to=[RECIPIENT], text="first")
    assert [h.handle for h in created.chat.handles if not h.is_me] == [RECIPIENT]
    assert created.message.parts == (TextPart(value="first"),)
    chat = await linq.chats.get(created.chat.id)
    assert chat.id == created.chat.id
    message = await linq.chats.messages.send(chat.id, text="second")
    assert message.chat_id == chat.id
    assert (await linq.messages.get(message.id)).id == message.id
    assert len(fake.chats) == 1
    assert len(fake.messages) == 2


async def test_same_participants_reuse_the_chat(linq: LinqSession, fake: FakeLinqServer) -> None:
    """Chats are keyed by sender and recipient set, as the API does."""
    first = await linq.chats.create(from_=SENDER, to=RECIPIENT, text="one")
    second = await linq.chats.create(from_=SENDER, to=RECIPIENT, text="two")
    assert first.chat.id == second.chat.id
    assert len(fake.chats) == 1


async def test_lists_iterate_across_pages(linq: LinqSession, fake: FakeLinqServer) -> None:
    """chats.list and chats.messages.list follow next_cursor to the last page."""
    recipients = [f"+1555000{n:04d}" for n in range(23)]
    for recipient in recipients:
        await linq.chats.create(from_=SENDER, to=recipient, text="hi")
    before = len(fake.requests)
    chats = [chat async for chat in linq.chats.list(from_=SENDER, limit=10)]
    assert len(chats) == 23
    assert len({chat.id for chat in chats}) == 23
    assert len(fake.requests) - before == 3
    chat_id = chats[0].id
    for n in range(4):
        await linq.chats.messages.send(chat_id, text=f"m{n}")
    messages = [m async for m in linq.chats.messages.list(chat_id, limit=2)]
    assert len(messages) == 5


async def test_query_plus_is_percent_encoded(linq: LinqSession, fake: FakeLinqServer) -> None:
    """A `+` in a query value is sent as %2B, so E.164 filters survive."""
    await linq.chats.create(from_=SENDER, to=RECIPIENT, text="hi")
    found = [chat async for chat in linq.chats.list(to=RECIPIENT)]
    assert len(found) == 1
    assert "to=%2B15556667777" in fake.requests[-1].query_string


async def test_bad_arguments_fail_before_any_request(
    linq: LinqSession, fake: FakeLinqServer
) -> None:
    """Invalid handles, parts or page sizes raise LinqUsageError and send nothing."""
    with pytest.raises(LinqUsageError, match="from_"):
        await linq.chats.create(from_="12223334444", to=RECIPIENT, text="x")
    with pytest.raises(LinqUsageError, match=r"E\.164"):
        await linq.chats.create(from_=SENDER, to=["+1"], text="x")
    with pytest.raises(LinqUsageError, match="url or attachment_id"):
        await linq.chats.create(from_=SENDER, to=RECIPIENT, parts=[MediaPart()])
    with pytest.raises(LinqUsageError, match="limit"):
        linq.chats.list(limit=101)
    with pytest.raises(LinqUsageError, match="id"):
        await linq.chats.get("")
    assert fake.requests == []


async def test_ids_are_quoted_as_one_path_segment(linq: LinqSession, fake: FakeLinqServer) -> None:
    """An id with ? or # cannot reach another endpoint: it is one quoted segment."""
    with pytest.raises(linq_async.NotFoundError):
        await linq.chats.get("x?y#z w")
    assert fake.requests[-1].path.endswith("/v3/chats/x%3Fy%23z%20w")


@pytest.mark.parametrize("bad_id", [".", "..", "../attachments/x", "a/b", "", " "])
async def test_ids_that_would_change_the_path_are_refused_locally(
    linq: LinqSession, fake: FakeLinqServer, bad_id: str
) -> None:
    """'.', '..' and ids with '/' never reach the wire (chats.messages.send('..') used to
    post to /v3/messages)."""
    with pytest.raises(LinqUsageError, match="chat_id"):
        await linq.chats.messages.send(bad_id, text="hi")
    with pytest.raises(LinqUsageError, match="chat_id"):
        linq.chats.messages.list(bad_id)
    assert fake.requests == []


def test_retry_policy_rejects_nonsense() -> None:
    """A policy with no attempts or negative waits is a usage error."""
    with pytest.raises(LinqUsageError, match="attempts"):
        RetryPolicy(attempts=0)
    with pytest.raises(LinqUsageError, match="wait_max"):
        RetryPolicy(wait_max=-1)


async def test_a_callers_session_with_credentials_is_refused() -> None:
    """A ClientSession with a default Authorization header would leak it to uploads."""
    async with aiohttp.ClientSession(headers={"authorization": "Bearer other"}) as client:
        with pytest.raises(LinqUsageError, match="credentials"):
            LinqSession("key", session=client)


def test_import_loads_only_the_transport() -> None:
    """``import linq_async`` loads no model, namespace, converter or file library until used
    (the import goal of docs/performance.md); the names still resolve on first use."""
    code = (
        "import sys, linq_async\n"
        "heavy = [m for m in sys.modules if m.startswith(('cattrs', 'aiofiles', "
        "'linq_async.models', 'linq_async.resources', 'linq_async._model', "
        "'linq_async.webhooks', 'linq_async.testing', 'linq_async.contrib'))]\n"
        "assert not heavy, heavy\n"
        "from linq_async import Chat, MessageOptions, FileInput, utf16_range\n"
        "assert Chat.__module__ == 'linq_async.models._chats'\n"
        "assert 'linq_async.models' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_sending_and_reading_models_never_imports_cattrs(tmp_path: Path) -> None:
    """cattrs' converter is made on first use: creating chats, sending with an effect,
    uploading, and reading every field of the answers (datetimes, handles, parts) leave
    cattrs unimported, one fewer package for every full garbage collection to walk. A
    value only the converter knows (a datetime on its own) then imports it and works."""
    picture = tmp_path / "p.png"
    picture.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))
    code = f"""
import asyncio, sys
from datetime import datetime, timezone
import attrs
from linq_async import Effect, LinqSession
from linq_async.testing import FakeLinqServer

async def main():
    async with FakeLinqServer() as fake:
        sender = fake.lines[0]
        async with LinqSession(fake.api_key, base_url=fake.base_url) as linq:
            created = await linq.chats.create(from_=sender, to="+15556667777", text="hi")
            sent = await linq.chats.messages.send(
                created.chat.id, text="again", effect=Effect(type="screen", name="confetti")
            )
            result = await linq.upload_and_send({str(picture)!r}, from_=sender, to="+15556667778")
            chat = await linq.chats.get(created.chat.id)
            for model in (created, sent, result, chat, *chat.handles, *sent.parts):
                attrs.asdict(model)  # reads every field, lazy ones included
    assert "cattrs" not in sys.modules, "cattrs imported"

asyncio.run(main())
from linq_async._model import unstructure
assert unstructure(datetime(2026, 1, 2, tzinfo=timezone.utc)) == "2026-01-02T00:00:00Z"
assert "cattrs" in sys.modules
"""
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_session_imports_only_the_namespaces_and_models_it_uses() -> None:
    """``linq.chats`` imports the chats namespace and the models it loads, not every
    namespace and model (payments, account, webhook subscriptions and polls stay unloaded
    until used)."""
    code = (
        "import sys, linq_async\n"
        "linq = linq_async.LinqSession('key')\n"
        "assert type(linq.chats).__name__ == 'Chats'\n"
        "assert type(linq.messages).__name__ == 'Messages'\n"
        "loaded = set(sys.modules)\n"
        "assert 'linq_async.resources.chats' in loaded\n"
        "assert 'linq_async.models._chats' in loaded\n"
        "unused = {'linq_async.resources.payments', 'linq_async.resources.phone_numbers',\n"
        "          'linq_async.models._payments', 'linq_async.models._account',\n"
        "          'linq_async.models._webhooks', 'linq_async.resources.polls',\n"
        "          'linq_async.models._polls'}\n"
        "assert not unused & loaded, unused & loaded\n"
        "assert type(linq.chats.polls).__name__ == 'ChatPolls'\n"
        "assert type(linq.messages.poll).__name__ == 'MessagePoll'\n"
        "assert 'linq_async.models._polls' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("package", [linq_async, linq_async.models, linq_async.resources])
def test_every_name_of_a_lazy_package_resolves_and_is_listed(package: Any) -> None:
    """Each name in ``__all__`` is its home module's object; ``dir()`` lists exactly those
    public names; an unknown name is an AttributeError naming the package."""
    for name in package.__all__:
        value = getattr(package, name)
        # (a class, not an alias such as ProgressCallback: on 3.10 an alias passes for one)
        if isinstance(value, type) and not isinstance(value, GenericAlias):
            assert getattr(sys.modules[value.__module__], name) is value
    public = {
        name
        for name in dir(package)
        if not name.startswith("_") and not isinstance(getattr(package, name), ModuleType)
    }
    # (submodules are attributes once imported; __version__ is listed in __all__)
    assert public == {name for name in package.__all__ if not name.startswith("_")}
    with pytest.raises(AttributeError, match=f"{package.__name__}' has no attribute 'Nope'"):
        package.Nope  # noqa: B018
