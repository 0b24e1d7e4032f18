"""Odd inputs and odd answers, over real sockets: every misuse is a typed error, never a crash.

Each test feeds the SDK something a careless caller or a misbehaving server could produce and
checks that the outcome is a `LinqUsageError` before any request (for arguments) or a
`ResponseValidationError` naming the route (for answers), never a ``TypeError``,
``ValueError`` from a library, ``OverflowError`` or ``IndexError``.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from _support import RECIPIENT, SENDER, api_requests

from linq_async import (
    Experience,
    LinqSession,
    LinqUsageError,
    MediaPart,
    StickerPlacement,
    UnknownPart,
)
from linq_async.testing import FakeLinqServer

LINE_TWO = "+12223335555"


async def new_chat(linq: LinqSession) -> str:
    created = await linq.chats.create(from_=SENDER, to=RECIPIENT, text="hi")
    return created.chat.id


async def refused_locally(
    fake: FakeLinqServer, call: Callable[[], Awaitable[Any]], match: str
) -> LinqUsageError:
    """Run ``call``; it must raise LinqUsageError matching ``match`` with no request sent."""
    before = len(api_requests(fake))
    with pytest.raises(LinqUsageError, match=match) as info:
        await call()
    assert len(api_requests(fake)) == before
    return info.value


# Ids in the path


async def test_an_id_with_a_lone_surrogate_is_refused_before_any_request(
    linq: LinqSession, fake: FakeLinqServer
) -> None:
    """A lone surrogate in an id is a LinqUsageError naming the id, not a UnicodeEncodeError."""
    await refused_locally(fake, lambda: linq.chats.get("ab\ud800"), "chat_id .*lone surrogate")
    with pytest.raises(LinqUsageError, match="message_id"):
        linq.messages.thread("\udc00")


# Request bodies: only strict JSON reaches the wire


@pytest.mark.parametrize(
    ("data", "match"),
    [
        ({"blob": b"\x00\x01"}, r"message\.parts\[0\]\.blob .*bytes"),
        ({"ratio": math.nan}, r"message\.parts\[0\]\.ratio .*finite"),
        ({"ratio": -math.inf}, r"message\.parts\[0\]\.ratio .*finite"),
        ({"note": "a\ud800"}, r"message\.parts\[0\]\.note .*lone surrogate"),
        ({"nested": [{"x": {1, 2}}]}, r"message\.parts\[0\]\.nested\[0\]\.x .*set"),
        ({1: "int key"}, r"message\.parts\[0\] .*key 1"),
    ],
)
async def test_an_unknown_part_that_is_not_strict_json_is_refused(
    linq: LinqSession, fake: FakeLinqServer, data: dict[Any, Any], match: str
) -> None:
    """UnknownPart.data goes out as given, so what JSON cannot carry is refused by path."""
    chat_id = await new_chat(linq)
    part = UnknownPart(type="future_part", data=data)
    await refused_locally(fake, lambda: linq.chats.messages.send(chat_id, parts=[part]), match)


async def test_experience_params_must_be_strict_json(
    linq: LinqSession, fake: FakeLinqServer
) -> None:
    """Infinity in an experience's params is refused locally (the fake would answer 1003)."""
    chat_id = await new_chat(linq)
    experience = Experience(name="agentpay", action="request_payment", params={"amount": math.inf})
    await refused_locally(
        fake,
        lambda: linq.chats.messages.send(chat_id, experience=experience),
        r"message\.experience\.params\.amount .*finite",
    )


async def test_a_filename_with_a_lone_surrogate_is_refused_not_retried(
    linq: LinqSession, fake: FakeLinqServer
) -> None:
    """attachments.create refuses a lone surrogate locally (it used to reach the fake 3 times)."""
    await refused_locally(
        fake,
        lambda: linq.attachments.create(
            filename="scan\ud800.png", content_type="image/png", size_bytes=10
        ),
        "filename .*lone surrogate",
    )


async def test_the_fake_refuses_a_filename_with_an_escaped_lone_surrogate(
    fake: FakeLinqServer,
) -> None:
    """JSON can escape a lone surrogate (\\ud800); the fake answers 400/1005, not a 500."""
    body = b'{"filename": "a\\ud800.png", "content_type": "image/png", "size_bytes": 10}'
    headers = {"Authorization": f"Bearer {fake.api_key}", "Content-Type": "application/json"}
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{fake.base_url}/v3/attachments", data=body, headers=headers) as resp,
    ):
        assert resp.status == 400
        assert (await resp.json())["error"]["code"] == 1005
    assert not fake.attachments


# Idempotency keys travel in a header too: they must survive it unchanged


@pytest.mark.parametrize(
    ("key", "match"),
    [
        ("a\nb", "control character"),
        ("a\x00b", "control character"),
        ("tab\tinside", "control character"),
        (" padded ", "whitespace"),
        ("clé-42", "ASCII"),
    ],
)
async def test_an_idempotency_key_that_a_header_would_change_is_refused(
    linq: LinqSession, fake: FakeLinqServer, key: str, match: str
) -> None:
    """messages.send puts the key in a header and the body: both must carry it unchanged."""
    await refused_locally(
        fake,
        lambda: linq.messages.send(to=RECIPIENT, text="hi", idempotency_key=key),
        f"idempotency_key .*{match}",
    )


async def test_payment_request_keys_get_the_same_check(
    linq: LinqSession, fake: FakeLinqServer
) -> None:
    """A CR/LF in an Idempotency-Key header is a LinqUsageError, not aiohttp's ValueError."""
    fake.connect_payment_provider()
    await refused_locally(
        fake,
        lambda: linq.payment_requests.create(
            amount=100, currency="usd", idempotency_key="k\r\nX-Injected: 1"
        ),
        "idempotency_key .*control character",
    )


async def test_a_printable_ascii_key_still_goes_out_in_header_and_body(
    linq: LinqSession, fake: FakeLinqServer
) -> None:
    """Inner spaces and punctuation are fine: the header and the body carry the same key."""
    key = "order 42/receipt#1"
    await linq.messages.send(to=RECIPIENT, text="hi", idempotency_key=key)
    (sent,) = [r for r in api_requests(fake) if r.path.endswith("/v3/messages")]
    assert sent.headers["Idempotency-Key"] == key
    assert sent.json()["message"]["idempotency_key"] == key


# URLs in parts: as strict as every other https URL argument


@pytest.mark.parametrize(
    "url",
    [
        "https://exa mple.com/a.png",
        "https://example.com/a.png\n",
        "https:///a.png",
        "https://@/a.png",
        "https://example.com/\x7f.png",
    ],
)
def test_a_media_url_with_whitespace_or_no_host_is_refused(url: str) -> None:
    """MediaPart(url=...) refuses what check_https_url refuses everywhere else."""
    with pytest.raises(LinqUsageError, match="media part's url"):
        MediaPart(url=url)


@pytest.mark.parametrize(
    "url", ["https://e .com/hook", "https://", "https://e.com/\ud800", "https://e.com/\x00"]
)
async def test_a_webhook_target_url_is_checked_like_other_urls(
    linq: LinqSession, fake: FakeLinqServer, url: str
) -> None:
    """target_url: whitespace, control characters, lone surrogates and no host are refused."""
    await refused_locally(
        fake,
        lambda: linq.webhook_subscriptions.create(target_url=url, events=["message.sent"]),
        "target_url",
    )


async def test_a_webhook_update_with_nothing_to_change_is_refused(
    linq: LinqSession, fake: FakeLinqServer
) -> None:
    """update() with no field given sends nothing, like chats.update and contact_card.update."""
    await refused_locally(
        fake, lambda: linq.webhook_subscriptions.update("sub-1"), "update needs at least one"
    )


# Numbers


@pytest.mark.parametrize("value", [10**400, -(10**400)], ids=["huge", "-huge"])
def test_a_huge_int_in_a_sticker_placement_is_a_usage_error(value: int) -> None:
    """check_number refuses an int no float can hold (it raised OverflowError)."""
    with pytest.raises(LinqUsageError, match=r"StickerPlacement\.rotation"):
        StickerPlacement(rotation=value)
