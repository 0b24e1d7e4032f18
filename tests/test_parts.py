"""Message parts, app cards and downloads over real sockets.

Every part rule is refused locally with no request sent, and the same bad part sent raw to
the fake gets the documented code (so the fake is graded too). Ranges count UTF-16 code
units. Each part type round-trips through the fake; ``messages.update_app_card`` and
``attachments.download`` run against it end to end.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import tracemalloc
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yarl
from _support import RECIPIENT, SENDER, SleepRecorder, api_requests

from linq_async import (
    AppClipPart,
    BadRequestError,
    ConflictError,
    DownloadError,
    Effect,
    Experience,
    IMessageApp,
    IMessageAppLayout,
    IMessageAppPart,
    InlineSticker,
    LinkPart,
    LinqConnectionError,
    LinqSession,
    LinqUsageError,
    MediaPart,
    Mention,
    Message,
    MessageContent,
    NotFoundError,
    RetryPolicy,
    ServerError,
    TextDecoration,
    TextPart,
    utf16_range,
)
from linq_async._compose import compose
from linq_async._model import load, unknown_keys, unstructure
from linq_async.models._parts import check_parts
from linq_async.testing import FakeLinqServer, S3Storage, S3Target

FRIEND = "+15550001111"
MIB = 1024 * 1024
APP = IMessageApp(bundle_id="com.example.cards.ext", name="Cards", team_id="ABCDE12345")
APP_WIRE = {"bundle_id": "com.example.cards.ext", "name": "Cards", "team_id": "ABCDE12345"}
PNG = "https://img.example/a.png"


# Helpers


class RawApi:
    """Sends hand-made bodies to the fake, as a client without local checks would."""

    def __init__(self, fake: FakeLinqServer, http: aiohttp.ClientSession) -> None:
        self.fake = fake
        self.http = http

    async def call(
        self, method: str, path: str, body: Any = None, *, headers: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        sent = {"Authorization": f"Bearer {self.fake.api_key}", **(headers or {})}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            sent["Content-Type"] = "application/json"
        url = yarl.URL(self.fake.base_url + path)
        async with self.http.request(method, url, data=data, headers=sent) as response:
            raw = await response.read()
            return response.status, json.loads(raw) if raw else None

    async def group(self) -> str:
        body = {"from": SENDER, "to": [RECIPIENT, FRIEND], "message": {"parts": [TEXT_WIRE]}}
        status, answer = await self.call("POST", "/v3/chats", body)
        assert status == 200, answer
        return str(answer["chat"]["id"])

    async def send(self, chat_id: str, message: dict[str, Any]) -> tuple[int, Any]:
        return await self.call("POST", f"/v3/chats/{chat_id}/messages", {"message": message})


TEXT_WIRE = {"type": "text", "value": "hi all"}


@pytest.fixture
async def raw(fake: FakeLinqServer) -> AsyncIterator[RawApi]:
    async with aiohttp.ClientSession() as http:
        yield RawApi(fake, http)


async def group_chat(linq: LinqSession) -> str:
    created = await linq.chats.create(from_=SENDER, to=[RECIPIENT, FRIEND], text="hi all")
    return created.chat.id


def error_code(answer: Any) -> int:
    return int(answer["error"]["code"])


def text(value: str, **fields: Any) -> dict[str, Any]:
    return {"type": "text", "value": value, **fields}


def app_card(**fields: Any) -> dict[str, Any]:
    return {"type": "imessage_app", "app": APP_WIRE, "layout": {"caption": "c"}, **fields}


def card(**fields: Any) -> IMessageAppPart:
    return IMessageAppPart(app=APP, layout=IMessageAppLayout(caption="c"), **fields)


def stickers(count: int, *, distinct: bool = False) -> list[InlineSticker]:
    return [
        InlineSticker(range=(i, i + 1), url=f"{PNG}?{i}" if distinct else PNG) for i in range(count)
    ]


def stickers_wire(count: int, *, distinct: bool = False) -> list[dict[str, Any]]:
    return [{"range": [i, i + 1], "url": f"{PNG}?{i}" if distinct else PNG} for i in range(count)]


def url_media(count: int) -> list[MediaPart]:
    return [MediaPart(url=f"https://img.example/{i}.png") for i in range(count)]


# One row per rule: how a user breaks it, the same break on the wire, the fake's code.
Case = tuple[str, Callable[[], dict[str, Any]], dict[str, Any], int]

RULES: list[Case] = [
    (
        "reversed range",
        lambda: {"parts": [TextPart(value="hello", text_decorations=[
            TextDecoration(range=(3, 1), style="bold")])]},
        {"parts": [text("hello", text_decorations=[{"range": [3, 1], "style": "bold"}])]},
        1004,
    ),
    (
        "empty range",
        lambda: {"parts": [TextPart(value="hello", text_decorations=[
            TextDecoration(range=(2, 2), style="bold")])]},
        {"parts": [text("hello", text_decorations=[{"range": [2, 2], "style": "bold"}])]},
        1004,
    ),
    (
        "range past the end",
        lambda: {"parts": [TextPart(value="hello", text_decorations=[
            TextDecoration(range=(0, 6), style="bold")])]},
        {"parts": [text("hello", text_decorations=[{"range": [0, 6], "style": "bold"}])]},
        1004,
    ),
    (
        "range past the end in UTF-16 units (an emoji is 2)",
        lambda: {"parts": [TextPart(value="a\U0001f44b", text_decorations=[
            TextDecoration(range=(0, 4), style="bold")])]},
        {"parts": [text("a\U0001f44b", text_decorations=[{"range": [0, 4], "style": "bold"}])]},
        1004,
    ),
    (
        "range splitting a surrogate pair",
        lambda: {"parts": [TextPart(value="a\U0001f44bb", text_decorations=[
            TextDecoration(range=(0, 2), style="bold")])]},
        {"parts": [text("a\U0001f44bb", text_decorations=[{"range": [0, 2], "style": "bold"}])]},
        1004,
    ),
    (
        "style and animation together",
        lambda: {"parts": [TextPart(value="hello", text_decorations=[
            TextDecoration(range=(0, 1), style="bold", animation="shake")])]},
        {"parts": [text("hello", text_decorations=[
            {"range": [0, 1], "style": "bold", "animation": "shake"}])]},
        1004,
    ),
    (
        "neither style nor animation",
        lambda: {"parts": [TextPart(value="hello", text_decorations=[
            TextDecoration(range=(0, 1))])]},
        {"parts": [text("hello", text_decorations=[{"range": [0, 1]}])]},
        1004,
    ),
    (
        "unknown style",
        lambda: {"parts": [TextPart(value="hello", text_decorations=[
            TextDecoration(range=(0, 1), style="blink")])]},
        {"parts": [text("hello", text_decorations=[{"range": [0, 1], "style": "blink"}])]},
        1004,
    ),
    (
        "unknown animation",
        lambda: {"parts": [TextPart(value="hello", text_decorations=[
            TextDecoration(range=(0, 1), animation="spin")])]},
        {"parts": [text("hello", text_decorations=[{"range": [0, 1], "animation": "spin"}])]},
        1004,
    ),
    (
        "overlapping animations",
        lambda: {"parts": [TextPart(value="hello", text_decorations=[
            TextDecoration(range=(0, 3), animation="shake"),
            TextDecoration(range=(2, 5), animation="nod")])]},
        {"parts": [text("hello", text_decorations=[
            {"range": [0, 3], "animation": "shake"}, {"range": [2, 5], "animation": "nod"}])]},
        1004,
    ),
    (
        "an animation overlapping a style",
        lambda: {"parts": [TextPart(value="hello", text_decorations=[
            TextDecoration(range=(0, 5), style="bold"),
            TextDecoration(range=(1, 2), animation="big")])]},
        {"parts": [text("hello", text_decorations=[
            {"range": [0, 5], "style": "bold"}, {"range": [1, 2], "animation": "big"}])]},
        1004,
    ),
    (
        "a mention that is not a handle",
        lambda: {"parts": [TextPart(value="hi bob", mention="bob")]},
        {"parts": [text("hi bob", mention="bob")]},
        1002,
    ),
    (
        "a mention range without a mention",
        lambda: {"parts": [TextPart(value="hi bob", mention_range=(3, 6))]},
        {"parts": [text("hi bob", mention_range=[3, 6])]},
        1004,
    ),
    (
        "a mention range past the end",
        lambda: {"parts": [TextPart(value="hi bob", mention=FRIEND, mention_range=(3, 7))]},
        {"parts": [text("hi bob", mention=FRIEND, mention_range=[3, 7])]},
        1004,
    ),
    (
        "an inline sticker with url and attachment_id",
        lambda: {"parts": [TextPart(value="hi", inline_stickers=[
            InlineSticker(range=(0, 1), url=PNG, attachment_id="a")])]},
        {"parts": [text("hi", inline_stickers=[
            {"range": [0, 1], "url": PNG, "attachment_id": "a"}])]},
        1004,
    ),
    (
        "an inline sticker with neither url nor attachment_id",
        lambda: {"parts": [TextPart(value="hi", inline_stickers=[InlineSticker(range=(0, 1))])]},
        {"parts": [text("hi", inline_stickers=[{"range": [0, 1]}])]},
        1004,
    ),
    (
        "an inline sticker by http URL",
        lambda: {"parts": [TextPart(value="hi", inline_stickers=[
            InlineSticker(range=(0, 1), url="http://img.example/a.png")])]},
        {"parts": [text("hi", inline_stickers=[
            {"range": [0, 1], "url": "http://img.example/a.png"}])]},
        1004,
    ),
    (
        "overlapping inline stickers",
        lambda: {"parts": [TextPart(value="hello", inline_stickers=[
            InlineSticker(range=(0, 3), url=PNG), InlineSticker(range=(2, 4), url=PNG)])]},
        {"parts": [text("hello", inline_stickers=[
            {"range": [0, 3], "url": PNG}, {"range": [2, 4], "url": PNG}])]},
        1004,
    ),
    (
        "101 inline stickers",
        lambda: {"parts": [TextPart(value="x" * 101, inline_stickers=stickers(101))]},
        {"parts": [text("x" * 101, inline_stickers=stickers_wire(101))]},
        1004,
    ),
    (
        "11 distinct sticker images",
        lambda: {"parts": [TextPart(value="x" * 11, inline_stickers=stickers(11, distinct=True))]},
        {"parts": [text("x" * 11, inline_stickers=stickers_wire(11, distinct=True))]},
        1004,
    ),
    (
        "inline stickers with a mention",
        lambda: {"parts": [TextPart(value="hi", mention=FRIEND, inline_stickers=stickers(1))]},
        {"parts": [text("hi", mention=FRIEND, inline_stickers=stickers_wire(1))]},
        1004,
    ),
    (
        "a text part with a lone surrogate",
        lambda: {"parts": [TextPart(value="half \ud83d")]},
        {"parts": [text("half \ud83d")]},
        1004,
    ),
    (
        "a media part with url and attachment_id",
        lambda: {"parts": [MediaPart(url=PNG, attachment_id="a")]},
        {"parts": [{"type": "media", "url": PNG, "attachment_id": "a"}]},
        1004,
    ),
    (
        "a media part with neither",
        lambda: {"parts": [MediaPart()]},
        {"parts": [{"type": "media"}]},
        1004,
    ),
    (
        "a media part by http URL",
        lambda: {"parts": [MediaPart(url="http://img.example/a.png")]},
        {"parts": [{"type": "media", "url": "http://img.example/a.png"}]},
        1004,
    ),
    (
        "a media URL with a space",
        lambda: {"parts": [MediaPart(url="https://img.example/my photo.png")]},
        {"parts": [{"type": "media", "url": "https://img.example/my photo.png"}]},
        1004,
    ),
    (
        "a media URL without a host",
        lambda: {"parts": [MediaPart(url="https:///a.png")]},
        {"parts": [{"type": "media", "url": "https:///a.png"}]},
        1004,
    ),
    (
        "an inline sticker URL with a newline",
        lambda: {"parts": [TextPart(value="hi", inline_stickers=[InlineSticker(
            range=(0, 1), url=PNG + "\n")])]},
        {"parts": [{"type": "text", "value": "hi", "inline_stickers": [
            {"range": [0, 1], "url": PNG + "\n"}]}]},
        1004,
    ),
    (
        "a media URL over 2048 characters",
        lambda: {"parts": [MediaPart(url="https://img.example/" + "a" * 2029)]},
        {"parts": [{"type": "media", "url": "https://img.example/" + "a" * 2029}]},
        1004,
    ),
    (
        "a link that is not a URL",
        lambda: {"parts": [LinkPart(value="example.com")]},
        {"parts": [{"type": "link", "value": "example.com"}]},
        1004,
    ),
    (
        "a link over 2048 characters",
        lambda: {"parts": [LinkPart(value="https://example.com/" + "a" * 2029)]},
        {"parts": [{"type": "link", "value": "https://example.com/" + "a" * 2029}]},
        1004,
    ),
    (
        "an app clip by http URL",
        lambda: {"parts": [AppClipPart(value="http://appclip.example/x")]},
        {"parts": [{"type": "app_clip", "value": "http://appclip.example/x"}]},
        1004,
    ),
    (
        "an app clip with an empty caption",
        lambda: {"parts": [AppClipPart(value="https://appclip.example/x", caption="")]},
        {"parts": [{"type": "app_clip", "value": "https://appclip.example/x", "caption": ""}]},
        1004,
    ),
    (
        "a bundle id with ':'",
        lambda: {"parts": [IMessageAppPart(
            app=IMessageApp(bundle_id="com.x:ext", name="X", team_id="ABCDE12345"),
            layout=IMessageAppLayout(caption="c"))]},
        {"parts": [app_card(app={**APP_WIRE, "bundle_id": "com.x:ext"})]},
        1004,
    ),
    (
        "a lower-case team id",
        lambda: {"parts": [IMessageAppPart(
            app=IMessageApp(bundle_id="com.x", name="X", team_id="abcde12345"),
            layout=IMessageAppLayout(caption="c"))]},
        {"parts": [app_card(app={**APP_WIRE, "team_id": "abcde12345"})]},
        1004,
    ),
    (
        "a 9-character team id",
        lambda: {"parts": [IMessageAppPart(
            app=IMessageApp(bundle_id="com.x", name="X", team_id="ABCDE1234"),
            layout=IMessageAppLayout(caption="c"))]},
        {"parts": [app_card(app={**APP_WIRE, "team_id": "ABCDE1234"})]},
        1004,
    ),
    (
        "an app without a name",
        lambda: {"parts": [IMessageAppPart(
            app=IMessageApp(bundle_id="com.x", name="", team_id="ABCDE12345"),
            layout=IMessageAppLayout(caption="c"))]},
        {"parts": [app_card(app={"bundle_id": "com.x", "team_id": "ABCDE12345"})]},
        1004,
    ),
    (
        "a layout with nothing visible",
        lambda: {"parts": [IMessageAppPart(app=APP, layout=IMessageAppLayout())]},
        {"parts": [app_card(layout={})]},
        1004,
    ),
    (
        "an image title without an image",
        lambda: {"parts": [IMessageAppPart(app=APP, layout=IMessageAppLayout(
            caption="c", image_title="t"))]},
        {"parts": [app_card(layout={"caption": "c", "image_title": "t"})]},
        1004,
    ),
    (
        "an image subtitle without an image",
        lambda: {"parts": [IMessageAppPart(app=APP, layout=IMessageAppLayout(
            image_subtitle="s"))]},
        {"parts": [app_card(layout={"image_subtitle": "s"})]},
        1004,
    ),
    (
        "an app card URL that is neither https nor data:",
        lambda: {"parts": [card(url="ftp://cards.example/1")]},
        {"parts": [app_card(url="ftp://cards.example/1")]},
        1004,
    ),
    (
        "an https app card URL over 2048 characters",
        lambda: {"parts": [card(url="https://cards.example/" + "a" * 2027)]},
        {"parts": [app_card(url="https://cards.example/" + "a" * 2027)]},
        1004,
    ),
    (
        "a data: app card URL over 16384 characters",
        lambda: {"parts": [card(url="data:," + "a" * 16379)]},
        {"parts": [app_card(url="data:," + "a" * 16379)]},
        1004,
    ),
    (
        "101 parts",
        lambda: {"parts": [TextPart(value="a"), MediaPart(attachment_id="b")] * 50
                 + [TextPart(value="a")]},
        {"parts": [TEXT_WIRE, {"type": "media", "url": PNG}] * 50 + [TEXT_WIRE]},
        1004,
    ),
    (
        "41 media parts by url",
        lambda: {"parts": url_media(41)},
        {"parts": [{"type": "media", "url": f"https://img.example/{i}.png"} for i in range(41)]},
        1004,
    ),
    (
        "two text parts in a row",
        lambda: {"parts": [TextPart(value="a"), TextPart(value="b")]},
        {"parts": [TEXT_WIRE, TEXT_WIRE]},
        1004,
    ),
    (
        "a link with another part",
        lambda: {"parts": [LinkPart(value="https://example.com"), TextPart(value="b")]},
        {"parts": [{"type": "link", "value": "https://example.com"}, TEXT_WIRE]},
        1004,
    ),
    (
        "an app clip with another part",
        lambda: {"parts": [TextPart(value="b"), AppClipPart(value="https://appclip.example/x")]},
        {"parts": [TEXT_WIRE, {"type": "app_clip", "value": "https://appclip.example/x"}]},
        1004,
    ),
    (
        "an iMessage app card with another part",
        lambda: {"parts": [card(), MediaPart(url=PNG)]},
        {"parts": [app_card(), {"type": "media", "url": PNG}]},
        1004,
    ),
    (
        "parts and an experience",
        lambda: {"text": "pay", "experience": Experience(name="agentpay", action="pay")},
        {"parts": [TEXT_WIRE], "experience": {"name": "agentpay", "action": "pay"}},
        1004,
    ),
    (
        "an experience without an action",
        lambda: {"experience": Experience(name="agentpay", action="")},
        {"experience": {"name": "agentpay"}},
        1001,
    ),
    (
        "experience params that are not an object",
        lambda: {"experience": Experience(
            name="agentpay", action="pay", params=["x"])},  # type: ignore[arg-type]
        {"experience": {"name": "agentpay", "action": "pay", "params": ["x"]}},
        1004,
    ),
]  # fmt: skip


# What the local error says for each rule (so a refusal for another reason fails the test).
MATCH = {
    "reversed range": r"0 <= start < end",
    "empty range": r"0 <= start < end",
    "range past the end": "runs past the end",
    "range past the end in UTF-16 units (an emoji is 2)": r"past the end of the text \(3 UTF",
    "range splitting a surrogate pair": "cuts a character in half",
    "style and animation together": "exactly one of style or animation",
    "neither style nor animation": "exactly one of style or animation",
    "unknown style": "style must be one of",
    "unknown animation": "animation must be one of",
    "overlapping animations": "may not overlap any other decoration",
    "an animation overlapping a style": "may not overlap any other decoration",
    "a mention that is not a handle": "mention must be an E.164",
    "a mention range without a mention": "mention_range needs a mention",
    "a mention range past the end": "mention_range .* runs past the end",
    "an inline sticker with url and attachment_id": "sticker needs url or attachment_id",
    "an inline sticker with neither url nor attachment_id": "sticker needs url or attachment_id",
    "an inline sticker by http URL": "sticker's url must be an https URL",
    "overlapping inline stickers": "stickers may not overlap",
    "101 inline stickers": "at most 100 inline stickers",
    "11 distinct sticker images": "at most 10 distinct images",
    "inline stickers with a mention": "both inline_stickers and a mention",
    "a text part with a lone surrogate": "lone surrogate",
    "a media part with url and attachment_id": "media part needs url or attachment_id",
    "a media part with neither": "media part needs url or attachment_id",
    "a media part by http URL": "media part's url must be an https URL",
    "a media URL with a space": "media part's url holds whitespace",
    "a media URL without a host": "media part's url has no host",
    "an inline sticker URL with a newline": "sticker's url holds whitespace",
    "a media URL over 2048 characters": "at most 2048 characters",
    "a link that is not a URL": "link part's value must be an https or http URL",
    "a link over 2048 characters": "at most 2048 characters",
    "an app clip by http URL": "app clip part's value must be an https URL",
    "an app clip with an empty caption": "caption must be a non-empty string",
    "a bundle id with ':'": "bundle_id may not contain ':'",
    "a lower-case team id": "team_id must be 10 upper-case",
    "a 9-character team id": "team_id must be 10 upper-case",
    "an app without a name": "app.name must be a non-empty string",
    "a layout with nothing visible": "at least one visible field",
    "an image title without an image": "need image_url",
    "an image subtitle without an image": "need image_url",
    "an app card URL that is neither https nor data:": r"url \(https or data:\) must be an https",
    "an https app card URL over 2048 characters": "at most 2048 characters",
    "a data: app card URL over 16384 characters": "at most 16384 characters",
    "101 parts": "at most 100 parts",
    "41 media parts by url": "at most 40 media parts by url",
    "two text parts in a row": "two text parts may not follow",
    "a link with another part": "'link' must be the only part",
    "an app clip with another part": "'app_clip' must be the only part",
    "an iMessage app card with another part": "'imessage_app' must be the only part",
    "parts and an experience": "experience or parts",
    "an experience without an action": "experience action",
    "experience params that are not an object": "experience params",
}


@pytest.mark.parametrize(("rule", "build", "wire", "code"), RULES, ids=[r[0] for r in RULES])
async def test_each_part_rule_is_refused_locally_with_nothing_sent(
    linq: LinqSession,
    fake: FakeLinqServer,
    rule: str,
    build: Callable[[], dict[str, Any]],
    wire: dict[str, Any],
    code: int,
) -> None:
    """Breaking a part rule raises LinqUsageError, saying which, before any request."""
    with pytest.raises(LinqUsageError, match=MATCH[rule]):
        await linq.chats.messages.send("some-chat", **build())
    assert fake.requests == []


@pytest.mark.parametrize(("rule", "build", "wire", "code"), RULES, ids=[r[0] for r in RULES])
async def test_each_part_rule_is_enforced_by_the_fake(
    raw: RawApi,
    fake: FakeLinqServer,
    rule: str,
    build: Callable[[], dict[str, Any]],
    wire: dict[str, Any],
    code: int,
) -> None:
    """The same bad message sent raw gets 400 with the documented code, and is not stored."""
    chat_id = await raw.group()
    status, answer = await raw.send(chat_id, wire)
    assert (status, error_code(answer)) == (400, code), answer
    assert len(fake.messages) == 1


@pytest.mark.parametrize(
    ("parts", "match"),
    [
        ("hello", "list of message parts"),
        (b"hello", "list of message parts"),
        ({"type": "text", "value": "hi"}, "list of message parts"),
        ([None], r"parts\[0\] is not a message part: None"),
        ([TextPart(value="a"), None], r"parts\[1\] is not a message part"),
        ([{"type": "text", "value": "hi"}], r"parts\[0\] is not a message part"),
        (iter([TextPart(value="a")]), "list of message parts"),
    ],
)
async def test_malformed_parts_values_are_refused_clearly(
    linq: LinqSession, fake: FakeLinqServer, parts: Any, match: str
) -> None:
    """A str, bytes, dict, iterator or None item as parts is a clear usage error, not a send."""
    with pytest.raises(LinqUsageError, match=match):
        await linq.chats.messages.send("some-chat", parts=parts)
    with pytest.raises(LinqUsageError, match=match):
        await linq.chats.create(from_=SENDER, to=RECIPIENT, parts=parts)
    assert fake.requests == []


@pytest.mark.parametrize(
    ("parts", "match"),
    [
        ([TextPart(value="b")], r"parts\[1\]: two text parts may not follow"),
        ([LinkPart(value="https://example.com")], r"parts\[1\]: .*'link' must be the only part"),
        ([MediaPart(attachment_id="a"), TextPart(value="b")] * 50, "at most 100 parts, got 101"),
    ],
)
async def test_text_counts_as_the_first_part_in_the_part_rules(
    linq: LinqSession, fake: FakeLinqServer, parts: list[Any], match: str
) -> None:
    """``text=`` is checked as the part before ``parts`` (index 0) without building a model."""
    with pytest.raises(LinqUsageError, match=match):
        await linq.chats.messages.send("some-chat", text="a", parts=parts)
    with pytest.raises(LinqUsageError, match=match):
        await linq.chats.create(from_=SENDER, to=RECIPIENT, text="a", parts=parts)
    assert fake.requests == []


async def test_the_message_sent_is_what_its_models_unstructure_to(
    linq: LinqSession, fake: FakeLinqServer
) -> None:
    """compose writes the wire form directly: the same JSON as the MessageContent models."""
    media = MediaPart(url=PNG)
    effect = Effect(type="screen", name="confetti")
    options: dict[str, Any] = {
        "parts": [media],
        "effect": effect,
        "preferred_service": "SMS",
        "idempotency_key": "key-1",
    }
    created = await linq.chats.create(
        from_=SENDER, to=RECIPIENT, text="hi", idempotency_key="key-2"
    )
    await linq.chats.messages.send(created.chat.id, text="hi", **options)
    sent = [json.loads(request.body)["message"] for request in api_requests(fake)]
    models = [
        MessageContent(parts=(TextPart(value="hi"),), idempotency_key="key-2"),
        MessageContent(
            parts=(TextPart(value="hi"), media),
            effect=effect,
            preferred_service="SMS",
            idempotency_key="key-1",
        ),
    ]
    assert sent == [unstructure(model) for model in models]


@pytest.mark.parametrize("media", [None, MediaPart(attachment_id="att-1")])
@pytest.mark.parametrize("mint_key", [False, True])
def test_a_text_only_message_is_composed_as_by_the_general_path(
    media: MediaPart | None, mint_key: bool
) -> None:
    """``text=`` alone takes a shorter path; ``effect=None`` beside it takes the general one,
    and both give the same message (keys aside: each is minted afresh)."""
    short, short_override = compose({"text": "hi"}, media=media, mint_key=mint_key)
    general, general_override = compose(
        {"text": "hi", "effect": None}, media=media, mint_key=mint_key
    )
    assert short_override is general_override is None
    assert ("idempotency_key" in short) is ("idempotency_key" in general) is mint_key
    assert list(short) == list(general)  # the same keys in the same order, as sent
    assert list(short["parts"][0]) == list(general["parts"][0])
    short.pop("idempotency_key", None)
    general.pop("idempotency_key", None)
    parts = (TextPart(value="hi"),) if media is None else (TextPart(value="hi"), media)
    assert short == general == unstructure(MessageContent(parts=parts))
    with pytest.raises(LinqUsageError, match="text must be a non-empty string"):
        compose({"text": ""}, media=media, mint_key=mint_key)


def test_part_rules_also_hold_for_parts_loaded_from_a_response() -> None:
    """check_parts re-checks the media rule for a loaded part that skipped construction."""
    loaded = load({"type": "media"}, MediaPart, "test")
    with pytest.raises(LinqUsageError, match="url or attachment_id"):
        check_parts([loaded])


def test_loading_a_response_never_runs_the_build_checks() -> None:
    """Parts from a response load as they are, even when they would be refused to send."""
    data = {
        "id": "m1",
        "parts": [
            {
                "type": "text",
                "value": "hi",
                "text_decorations": [{"range": [0, 9], "style": "sparkly"}],
                "mentions": [{"handle": "not a handle", "is_me": False, "range": [5, 1]}],
            },
            {"type": "media", "id": "a", "url": "http://cdn.example/a"},
            {"type": "imessage_app", "app": {"bundle_id": "a:b"}, "layout": {}, "url": None},
        ],
    }
    message = load(data, Message, "test")
    first, second, third = message.parts
    assert isinstance(first, TextPart)
    assert first.text_decorations is not None
    assert (first.text_decorations[0].range, first.text_decorations[0].style) == ((0, 9), "sparkly")
    assert first.mentions is not None
    assert first.mentions[0].range == (5, 1)
    assert isinstance(second, MediaPart)
    assert second.url == "http://cdn.example/a"
    assert isinstance(third, IMessageAppPart)
    assert (third.app.bundle_id, third.app.name) == ("a:b", None)


# Ranges


@pytest.mark.parametrize(
    ("text", "substring", "expected"),
    [
        ("hello world", "world", (6, 11)),
        ("hi \U0001f44b there", "there", (6, 11)),
        ("hi \U0001f44b there", "\U0001f44b", (3, 5)),
        ("\U0001f468\u200d\U0001f469\u200d\U0001f467 family", "family", (9, 15)),
        ("\U0001f1eb\U0001f1f7 flag", "\U0001f1eb\U0001f1f7", (0, 4)),
        ("cafe\u0301 ok", "e\u0301", (3, 5)),
        ("cafe\u0301 ok", "ok", (6, 8)),
        ("\u65e5\u672c\u8a9e", "\u8a9e", (2, 3)),
    ],
)
def test_utf16_range_counts_code_units(
    text: str, substring: str, expected: tuple[int, int]
) -> None:
    """Emoji (surrogate pairs, ZWJ sequences, flags) count 2 per code point; BMP text 1."""
    assert utf16_range(text, substring) == expected
    start, end = expected
    assert text.encode("utf-16-le")[2 * start : 2 * end].decode("utf-16-le") == substring


def test_utf16_range_takes_later_occurrences_without_overlap() -> None:
    """occurrence=n skips n earlier, non-overlapping matches."""
    assert utf16_range("\U0001f355 a \U0001f355 a", "a", occurrence=1) == (8, 9)
    assert utf16_range("aaaa", "aa", occurrence=1) == (2, 4)
    with pytest.raises(LinqUsageError, match="does not occur 3 times"):
        utf16_range("aaaa", "aa", occurrence=2)


@pytest.mark.parametrize(
    ("text", "substring", "occurrence"),
    [
        ("hello", "", 0),
        ("hello", "x", 0),
        ("", "x", 0),
        ("hello", "l", -1),
        ("half \ud83d", "h", 0),
    ],
)
def test_utf16_range_refuses_what_has_no_range(text: str, substring: str, occurrence: int) -> None:
    """Empty or missing substrings, negative occurrences and lone surrogates are refused."""
    with pytest.raises(LinqUsageError):
        utf16_range(text, substring, occurrence=occurrence)


def test_ranges_from_the_helper_fit_text_with_emoji_where_python_indexes_do_not() -> None:
    """A Python index range cuts the emoji in half; the UTF-16 range is accepted."""
    value = "hi \U0001f44b there"
    python_span = (value.index("\U0001f44b"), value.index("\U0001f44b") + 1)
    with pytest.raises(LinqUsageError, match="cuts a character in half"):
        TextPart(value=value, text_decorations=[TextDecoration(range=python_span, style="bold")])
    span = utf16_range(value, "\U0001f44b")
    part = TextPart(value=value, text_decorations=[TextDecoration(range=span, animation="big")])
    assert part.text_decorations is not None
    assert part.text_decorations[0].range == (3, 5)
    end = utf16_range(value, "there")
    TextPart(value=value, inline_stickers=[InlineSticker(range=end, url=PNG)])


def test_combining_marks_may_be_covered_apart_from_their_base() -> None:
    """A combining mark is a code unit of its own: a range may stop before it."""
    value = "cafe\u0301"
    TextPart(value=value, text_decorations=[TextDecoration(range=(0, 4), style="italic")])
    TextPart(value=value, text_decorations=[TextDecoration(range=(0, 5), style="italic")])


def test_ranges_may_be_lists_and_styles_may_overlap() -> None:
    """A [start, end] list becomes a tuple; overlapping styles are fine."""
    part = TextPart(
        value="hello",
        text_decorations=[
            TextDecoration(range=[0, 5], style="bold"),
            TextDecoration(range=(1, 3), style="italic"),
        ],
    )
    assert part.text_decorations is not None
    assert part.text_decorations[0].range == (0, 5)


# Round trips


async def sent_wire(fake: FakeLinqServer) -> dict[str, Any]:
    (request,) = [r for r in api_requests(fake) if r.method == "POST"]
    message: dict[str, Any] = request.json()["message"]
    message.pop("idempotency_key")
    return message


def drift(data: dict[str, Any]) -> list[str]:
    # Part reactions are modelled by the reactions work, not here.
    return [key for key in unknown_keys(data, Message) if not key.endswith(".reactions")]


async def test_rich_text_round_trips(linq: LinqSession, fake: FakeLinqServer) -> None:
    """Decorations, a mention and inline stickers go out as sent and come back typed."""
    chat_id = await group_chat(linq)
    upload = await linq.upload(b"\x89PNG fake", filename="smile.png")
    value = "Lunch \U0001f355 with pals?"
    first = TextPart(
        value=value,
        text_decorations=[
            TextDecoration(range=utf16_range(value, "Lunch"), style="bold"),
            TextDecoration(range=utf16_range(value, "Lunch"), style="underline"),
            TextDecoration(range=utf16_range(value, "pals"), animation="shake"),
        ],
        mention=FRIEND,
        mention_range=utf16_range(value, "pals"),
    )
    second = TextPart(
        value="\U0001f355\U0001f355",
        inline_stickers=[
            InlineSticker(range=(0, 2), attachment_id=upload.attachment_id),
            InlineSticker(range=(2, 4), url=PNG),
        ],
    )
    fake.requests.clear()
    message = await linq.chats.messages.send(
        chat_id, parts=[first, MediaPart(url=PNG, sticker=True), second]
    )
    assert await sent_wire(fake) == {
        "parts": [
            {
                "type": "text",
                "value": value,
                "text_decorations": [
                    {"range": [0, 5], "style": "bold"},
                    {"range": [0, 5], "style": "underline"},
                    {"range": [14, 18], "animation": "shake"},
                ],
                "mention": FRIEND,
                "mention_range": [14, 18],
            },
            {"type": "media", "url": PNG, "sticker": True},
            {
                "type": "text",
                "value": "\U0001f355\U0001f355",
                "inline_stickers": [
                    {"range": [0, 2], "attachment_id": upload.attachment_id},
                    {"range": [2, 4], "url": PNG},
                ],
            },
        ]
    }
    assert message.chat_id == chat_id
    text_part, media, sticker_part = message.parts
    assert isinstance(text_part, TextPart)
    assert isinstance(sticker_part, TextPart)
    assert text_part.text_decorations == first.text_decorations
    assert text_part.mentions == (Mention(handle=FRIEND, is_me=False, range=(14, 18)),)
    assert isinstance(media, MediaPart)
    assert media.url == PNG
    assert sticker_part.inline_stickers is not None
    by_id, by_url = sticker_part.inline_stickers
    assert (by_id.id, by_id.file_name, by_id.mime_type) == (
        upload.attachment_id,
        "smile.png",
        "image/png",
    )
    assert by_id.url == upload.download_url
    assert (by_url.url, by_url.file_name, by_url.range) == (PNG, "a.png", (2, 4))
    fetched = await linq.messages.get(message.id)
    assert fetched.parts == message.parts
    assert drift({"id": message.id, "parts": fake.messages[message.id].response_parts}) == []


@pytest.mark.parametrize(
    ("part", "wire"),
    [
        (LinkPart(value="https://example.com/a"), {"type": "link", "value": "https://example.com/a"}),
        (
            AppClipPart(value="https://appclip.apple.com/id?p=com.x.clip", caption="Pay here"),
            {"type": "app_clip", "value": "https://appclip.apple.com/id?p=com.x.clip",
             "caption": "Pay here"},
        ),
        (
            IMessageAppPart(
                app=IMessageApp(bundle_id="com.x.ext", name="X", team_id="ABCDE12345",
                                app_store_id="1234567890"),
                layout=IMessageAppLayout(caption="Order #12", subcaption="Arriving",
                                         trailing_caption="$12", trailing_subcaption="paid",
                                         image_url="https://img.example/o.png",
                                         image_title="Pizza", image_subtitle="large"),
                url="data:text/plain,order-12",
                fallback_text="Your order",
                interactive=False,
            ),
            {"type": "imessage_app",
             "app": {"bundle_id": "com.x.ext", "name": "X", "team_id": "ABCDE12345",
                     "app_store_id": "1234567890"},
             "layout": {"caption": "Order #12", "subcaption": "Arriving", "trailing_caption": "$12",
                        "trailing_subcaption": "paid", "image_url": "https://img.example/o.png",
                        "image_title": "Pizza", "image_subtitle": "large"},
             "url": "data:text/plain,order-12", "fallback_text": "Your order",
             "interactive": False},
        ),
    ],
)  # fmt: skip
async def test_exclusive_part_types_round_trip(
    linq: LinqSession, fake: FakeLinqServer, part: Any, wire: dict[str, Any]
) -> None:
    """Link, app clip and iMessage app parts go out as built and come back as their class."""
    chat_id = await group_chat(linq)
    fake.requests.clear()
    message = await linq.chats.messages.send(chat_id, parts=[part])
    assert await sent_wire(fake) == {"parts": [wire]}
    (returned,) = message.parts
    assert type(returned) is type(part)
    if isinstance(returned, AppClipPart):
        assert returned.value == wire["value"]
        assert (returned.title, returned.description, returned.image_url) == (None, None, None)
    elif isinstance(returned, IMessageAppPart):
        assert isinstance(part, IMessageAppPart)
        assert (returned.app, returned.layout) == (part.app, part.layout)
        assert (returned.url, returned.fallback_text) == (part.url, part.fallback_text)
    else:
        assert returned == part
    fetched = await linq.messages.get(message.id)
    assert fetched.parts == message.parts
    assert drift({"id": "m", "parts": fake.messages[message.id].response_parts}) == []


async def test_experience_messages_send_no_parts(linq: LinqSession, fake: FakeLinqServer) -> None:
    """experience= sends {experience} instead of parts, on every send call."""
    chat_id = await group_chat(linq)
    experience = Experience(name="agentpay", action="request_payment", params={"amount": 5})
    fake.requests.clear()
    message = await linq.chats.messages.send(chat_id, experience=experience)
    assert await sent_wire(fake) == {
        "experience": {"name": "agentpay", "action": "request_payment", "params": {"amount": 5}}
    }
    assert message.parts == ()
    assert fake.messages[message.id].experience == {
        "name": "agentpay",
        "action": "request_payment",
        "params": {"amount": 5},
    }
    created = await linq.chats.create(from_=SENDER, to="+15550009999", experience=experience)
    assert fake.messages[created.message.id].experience is not None


async def test_experience_and_a_file_cannot_be_combined(
    linq: LinqSession, fake: FakeLinqServer
) -> None:
    """upload_and_send with an experience is refused before the upload."""
    with pytest.raises(LinqUsageError, match="experience or parts"):
        await linq.upload_and_send(
            b"data",
            filename="a.pdf",
            from_=SENDER,
            to=RECIPIENT,
            experience=Experience(name="agentpay", action="pay"),
        )
    assert fake.requests == []


async def test_a_mention_in_a_direct_chat_is_a_conflict(
    linq: LinqSession, fake: FakeLinqServer
) -> None:
    """Mentions are for groups: the fake answers 409, code 2023, and stores nothing."""
    created = await linq.chats.create(from_=SENDER, to=RECIPIENT, text="hi")
    part = TextPart(value="hi you", mention=RECIPIENT, mention_range=(3, 6))
    with pytest.raises(ConflictError) as info:
        await linq.chats.messages.send(created.chat.id, parts=[part])
    assert info.value.code == 2023
    with pytest.raises(ConflictError) as info:
        await linq.chats.create(from_=SENDER, to="+15550009999", parts=[part])
    assert info.value.code == 2023
    assert len(fake.messages) == 1


def test_response_only_sticker_and_part_fields_build_for_tests() -> None:
    """A user can build response-shaped parts (for their own tests) without local errors."""
    sticker = InlineSticker(range=(0, 1), url=PNG, id="s1", file_name="a.png", mime_type="x/y")
    assert sticker.image == PNG
    clip = AppClipPart(value="https://appclip.example/x", title="T", image_url="https://i/x")
    assert clip.title == "T"


# update_app_card


async def send_card(linq: LinqSession) -> Message:
    chat_id = await group_chat(linq)
    return await linq.chats.messages.send(chat_id, parts=[card(url="https://cards.example/1")])


async def test_update_app_card_sends_the_new_card_as_a_new_message(
    linq: LinqSession, fake: FakeLinqServer
) -> None:
    """POST /v3/messages/{messageId}/update: the body, then {chat_id, message} as a Message."""
    original = await send_card(linq)
    fake.requests.clear()
    layout = IMessageAppLayout(caption="Shipped", image_url="https://img.example/s.png")
    updated = await linq.messages.update_app_card(
        original.id, layout=layout, url="data:,shipped", fallback_text="Shipped!"
    )
    (request,) = api_requests(fake)
    assert (request.method, request.path) == (
        "POST",
        f"/api/partner/v3/messages/{original.id}/update",
    )
    assert request.json() == {
        "layout": {"caption": "Shipped", "image_url": "https://img.example/s.png"},
        "url": "data:,shipped",
        "fallback_text": "Shipped!",
    }
    assert isinstance(updated, Message)
    assert updated.id != original.id
    assert updated.chat_id == original.chat_id
    (part,) = updated.parts
    assert isinstance(part, IMessageAppPart)
    assert (part.app, part.layout, part.url, part.fallback_text) == (
        APP,
        layout,
        "data:,shipped",
        "Shipped!",
    )
    chat = fake.chats[original.chat_id or ""]
    assert chat.message_ids[-2:] == [original.id, updated.id]


async def test_update_app_card_can_change_the_app(linq: LinqSession, fake: FakeLinqServer) -> None:
    """app=, interactive= and experience= go on the wire when given."""
    original = await send_card(linq)
    other = IMessageApp(bundle_id="com.y.ext", name="Y", team_id="ZYXWV98765", app_store_id="42")
    fake.requests.clear()
    updated = await linq.messages.update_app_card(
        original.id, layout=IMessageAppLayout(caption="x"), app=other, interactive=True
    )
    assert api_requests(fake)[0].json() == {
        "layout": {"caption": "x"},
        "app": {"bundle_id": "com.y.ext", "name": "Y", "team_id": "ZYXWV98765",
                "app_store_id": "42"},
        "interactive": True,
    }  # fmt: skip
    (part,) = updated.parts
    assert isinstance(part, IMessageAppPart)
    assert part.app == other


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"layout": {"caption": "x"}}, "layout must be an IMessageAppLayout"),
        ({"layout": IMessageAppLayout(caption="x"), "url": "ftp://x"}, "https or data"),
        ({"layout": IMessageAppLayout(caption="x"), "url": "data:" + "a" * 16380}, "16384"),
        ({"layout": IMessageAppLayout(caption="x"), "fallback_text": ""}, "fallback_text"),
        ({"layout": IMessageAppLayout(caption="x"), "interactive": "yes"}, "interactive"),
        ({"layout": IMessageAppLayout(caption="x"), "app": APP_WIRE}, "app must be"),
        ({"layout": IMessageAppLayout(caption="x"), "experience": {"name": "x"}}, "experience"),
    ],
)
async def test_update_app_card_arguments_are_checked_before_sending(
    linq: LinqSession, fake: FakeLinqServer, kwargs: dict[str, Any], match: str
) -> None:
    """Each closed argument of update_app_card is refused locally, with nothing sent."""
    with pytest.raises(LinqUsageError, match=match):
        await linq.messages.update_app_card("m1", **kwargs)
    assert fake.requests == []


async def test_update_app_card_is_not_retried_once_it_may_have_arrived(
    linq: LinqSession, fake: FakeLinqServer, sleeps: SleepRecorder
) -> None:
    """No idempotency key: a lost answer or a 503 raises rather than risk a second card."""
    original = await send_card(linq)
    before = len(fake.messages)
    fake.requests.clear()
    fake.drop_next_response(path="/v3/messages/*/update")
    with pytest.raises(LinqConnectionError):
        await linq.messages.update_app_card(original.id, layout=IMessageAppLayout(caption="x"))
    fake.fail_next(503, path="/v3/messages/*/update")
    with pytest.raises(ServerError):
        await linq.messages.update_app_card(original.id, layout=IMessageAppLayout(caption="x"))
    assert len(api_requests(fake)) == 2
    assert sleeps.delays == []
    assert len(fake.messages) == before + 1  # the dropped answer's card was sent, once


async def test_update_app_card_of_other_messages_is_refused(
    linq: LinqSession, fake: FakeLinqServer
) -> None:
    """A plain message is not a card (400, 1004); an unknown one is 404, 2002."""
    chat_id = await group_chat(linq)
    plain = await linq.chats.messages.send(chat_id, text="hello")
    with pytest.raises(BadRequestError) as bad:
        await linq.messages.update_app_card(plain.id, layout=IMessageAppLayout(caption="x"))
    assert bad.value.code == 1004
    with pytest.raises(NotFoundError) as missing:
        await linq.messages.update_app_card(
            "00000000-0000-4000-8000-000000000000", layout=IMessageAppLayout(caption="x")
        )
    assert missing.value.code == 2002


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({}, 1001),
        ({"layout": {}}, 1004),
        ({"layout": {"caption": "x", "image_title": "t"}}, 1004),
        ({"layout": {"caption": "x"}, "app": {"bundle_id": "a", "name": "b"}}, 1004),
        ({"layout": {"caption": "x"}, "url": "http://x.example"}, 1004),
        ({"layout": {"caption": "x"}, "interactive": "yes"}, 1005),
        ({"layout": {"caption": "x"}, "color": "red"}, 1005),
    ],
)
async def test_the_fake_checks_update_bodies(
    linq: LinqSession, raw: RawApi, fake: FakeLinqServer, body: dict[str, Any], code: int
) -> None:
    """The update route refuses bad bodies with the documented codes."""
    original = await send_card(linq)
    status, answer = await raw.call("POST", f"/v3/messages/{original.id}/update", body)
    assert (status, error_code(answer)) == (400, code), answer


async def test_an_experience_card_is_updated_as_an_experience(
    linq: LinqSession, fake: FakeLinqServer
) -> None:
    """A message sent as an experience is a card too; the new one keeps or replaces it."""
    chat_id = await group_chat(linq)
    sent = await linq.chats.messages.send(
        chat_id, experience=Experience(name="agentpay", action="request_payment")
    )
    new = Experience(name="agentpay", action="cancel_payment")
    updated = await linq.messages.update_app_card(
        sent.id, layout=IMessageAppLayout(caption="Cancelled"), experience=new
    )
    assert fake.messages[updated.id].experience == {"name": "agentpay", "action": "cancel_payment"}


# attachments.download


def random_file(path: Path, size: int) -> str:
    digest = hashlib.sha256()
    with path.open("wb") as handle:
        left = size
        while left:
            chunk = os.urandom(min(MIB, left))
            digest.update(chunk)
            handle.write(chunk)
            left -= len(chunk)
    return digest.hexdigest()


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def leftovers(directory: Path) -> list[str]:
    return sorted(name.name for name in directory.iterdir() if name.name.endswith(".part"))


async def test_download_by_id_streams_with_small_memory(
    linq: LinqSession, fake: FakeLinqServer, tmp_path: Path
) -> None:
    """A multi-MiB file comes back byte for byte while Python allocations stay a few chunks."""
    size = 12 * MIB + 7
    expected = random_file(tmp_path / "clip.mp4", size)
    upload = await linq.upload(tmp_path / "clip.mp4")
    fake.requests.clear()
    target = tmp_path / "out" / "copy.mp4"
    target.parent.mkdir()
    tracemalloc.start()
    try:
        written = await linq.attachments.download(upload.attachment_id, target)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert written == target
    assert file_sha256(target) == expected
    # Client and fake share this process; both stream, so the peak stays far below the size.
    assert peak < size // 4
    metadata, fetch = fake.requests
    assert (metadata.site, metadata.method, metadata.path) == (
        "api",
        "GET",
        f"/api/partner/v3/attachments/{upload.attachment_id}",
    )
    assert (fetch.site, fetch.method, fetch.status) == ("storage", "GET", 200)
    assert upload.download_url.endswith(fetch.path)
    assert "Authorization" not in fetch.headers
    assert leftovers(target.parent) == []


async def test_download_by_url_asks_the_api_nothing(
    linq: LinqSession, fake: FakeLinqServer, tmp_path: Path
) -> None:
    """Given a download URL, only the file host is asked; a directory gets the URL's name."""
    upload = await linq.upload(b"%PDF-1.4 hello", filename="Q3 report.pdf")
    fake.requests.clear()
    written = await linq.attachments.download(upload.download_url, tmp_path)
    assert written == tmp_path / "Q3 report.pdf"
    assert written.read_bytes() == b"%PDF-1.4 hello"
    assert [(r.site, r.method) for r in fake.requests] == [("storage", "GET")]


async def test_download_into_a_directory_uses_the_attachment_filename(
    linq: LinqSession, tmp_path: Path
) -> None:
    """An existing directory means: write in it, under the attachment's filename."""
    upload = await linq.upload(b"hello", filename="notes.txt")
    written = await linq.attachments.download(upload.attachment_id, tmp_path)
    assert written == tmp_path / "notes.txt"
    assert written.read_bytes() == b"hello"


async def test_download_reports_progress(linq: LinqSession, tmp_path: Path) -> None:
    """on_progress sees the bytes so far and the total, ending at (size, size)."""
    size = 3 * MIB
    random_file(tmp_path / "a.bin", size)
    upload = await linq.upload(tmp_path / "a.bin", content_type="application/zip")
    seen: list[tuple[int, int]] = []
    await linq.attachments.download(
        upload.attachment_id, tmp_path / "b.bin", on_progress=lambda n, t: seen.append((n, t))
    )
    assert seen[-1] == (size, size)
    assert [n for n, _ in seen] == sorted(n for n, _ in seen)
    assert len(seen) > 1


@pytest.mark.parametrize(
    ("source", "match"),
    [
        ("http://example.com/a.png", "https"),
        ("https://", "no host"),
        ("https://cdn.example/a b.png", "whitespace"),
        ("", "attachment id or a URL"),
        ("../etc", "path"),
    ],
)
async def test_download_refuses_bad_sources_before_any_request(
    linq: LinqSession, fake: FakeLinqServer, tmp_path: Path, source: str, match: str
) -> None:
    """Plain http off this machine, malformed URLs and path-like ids are usage errors."""
    with pytest.raises(LinqUsageError, match=match):
        await linq.attachments.download(source, tmp_path / "x")
    assert fake.requests == []


async def test_download_needs_an_existing_directory(
    linq: LinqSession, fake: FakeLinqServer, tmp_path: Path
) -> None:
    """A destination whose directory does not exist is refused before the API is asked."""
    with pytest.raises(LinqUsageError, match="does not exist"):
        await linq.attachments.download("att-1", tmp_path / "missing" / "x.png")
    assert fake.requests == []


async def test_download_retries_a_cut_connection_from_the_start(
    linq: LinqSession, fake: FakeLinqServer, tmp_path: Path, sleeps: SleepRecorder
) -> None:
    """A connection cut mid-body is retried; the file is rewritten whole, nothing left over."""
    expected = random_file(tmp_path / "a.bin", 2 * MIB)
    upload = await linq.upload(tmp_path / "a.bin", content_type="application/zip")
    fake.cut_download(after_bytes=MIB)
    fake.fail_next(503, site="storage", method="GET")
    target = tmp_path / "b.bin"
    await linq.attachments.download(upload.attachment_id, target)
    assert file_sha256(target) == expected
    assert len(sleeps.delays) == 2
    downloads = [r for r in fake.requests if r.site == "storage" and r.method == "GET"]
    assert len(downloads) == 3
    assert leftovers(tmp_path) == []


async def test_a_failed_download_leaves_the_destination_as_it_was(
    linq: LinqSession, fake: FakeLinqServer, tmp_path: Path
) -> None:
    """When every attempt is cut, DownloadError is raised and no partial file remains."""
    upload = await linq.upload(b"x" * 100_000, filename="a.txt")
    target = tmp_path / "a.txt"
    target.write_bytes(b"previous")
    fake.cut_download(after_bytes=50_000, times=4)
    with pytest.raises(DownloadError, match="connection failed") as info:
        await linq.attachments.download(upload.attachment_id, target)
    assert info.value.attachment_id == upload.attachment_id
    assert target.read_bytes() == b"previous"
    assert leftovers(tmp_path) == []


async def test_a_missing_file_is_a_download_error_with_its_status(
    linq: LinqSession, fake: FakeLinqServer, tmp_path: Path
) -> None:
    """A deleted attachment's URL answers 404: DownloadError(status=404), no secrets shown."""
    upload = await linq.upload(b"hello", filename="a.txt")
    await linq.attachments.delete(upload.attachment_id)
    signed = f"{upload.download_url}?X-Amz-Signature=topsecretsig"
    with pytest.raises(DownloadError) as info:
        await linq.attachments.download(signed, tmp_path / "a.txt")
    assert info.value.status == 404
    assert "NoSuchKey" in str(info.value)
    assert "topsecretsig" not in str(info.value) + repr(info.value)
    assert not (tmp_path / "a.txt").exists()
    assert leftovers(tmp_path) == []


async def test_a_pending_attachment_cannot_be_downloaded_yet(
    linq: LinqSession, fake: FakeLinqServer, tmp_path: Path
) -> None:
    """Before its upload completes, the file host has nothing: 404."""
    slot = await linq.attachments.create(filename="a.png", content_type="image/png", size_bytes=5)
    with pytest.raises(DownloadError) as info:
        await linq.attachments.download(slot.attachment_id, tmp_path)
    assert info.value.status == 404


async def test_a_cancelled_download_leaves_no_file(
    linq: LinqSession, fake: FakeLinqServer, tmp_path: Path
) -> None:
    """Cancelling mid-body removes the temporary file; the destination never appears."""
    random_file(tmp_path / "a.bin", 4 * MIB)
    upload = await linq.upload(tmp_path / "a.bin", content_type="application/zip")
    target = tmp_path / "b.bin"
    tasks: list[asyncio.Task[Path]] = []
    task = asyncio.create_task(
        linq.attachments.download(
            upload.attachment_id, target, on_progress=lambda received, total: tasks[0].cancel()
        )
    )
    tasks.append(task)
    with pytest.raises(asyncio.CancelledError):
        await task
    assert task.cancelled()
    assert not target.exists()
    assert leftovers(tmp_path) == []


async def test_the_fake_refuses_the_api_key_on_download_urls(
    linq: LinqSession, raw: RawApi, fake: FakeLinqServer
) -> None:
    """The fake's file host answers 400 to a request carrying Authorization (a leaked key)."""
    upload = await linq.upload(b"hello", filename="a.txt")
    headers = {"Authorization": f"Bearer {fake.api_key}"}
    url = yarl.URL(upload.download_url, encoded=True)
    async with raw.http.get(url, headers=headers) as response:
        assert response.status == 400
        assert "InvalidArgument" in await response.text()
    async with raw.http.get(url) as response:
        assert (response.status, await response.read()) == (200, b"hello")
        assert response.headers["Content-Type"] == "text/plain"


async def test_download_with_a_single_attempt_fails_at_once(
    fake: FakeLinqServer, tmp_path: Path
) -> None:
    """With attempts=1 a 503 from the file host is final: DownloadError(status=503)."""
    async with LinqSession(
        fake.api_key, base_url=fake.base_url, retry=RetryPolicy(attempts=1)
    ) as linq:
        upload = await linq.upload(b"hello", filename="a.txt")
        fake.fail_next(503, site="storage", method="GET")
        with pytest.raises(DownloadError) as info:
            await linq.attachments.download(upload.download_url, tmp_path)
    assert info.value.status == 503


@pytest.mark.s3
async def test_download_from_real_s3_through_the_fakes_cdn(
    s3_target: S3Target, tmp_path: Path, sleeps: SleepRecorder
) -> None:
    """With S3Storage the fake's CDN redirects to a presigned S3 GET, which is followed."""
    expected = random_file(tmp_path / "a.bin", 3 * MIB + 5)
    async with (
        FakeLinqServer(storage=S3Storage(s3_target)) as fake,
        LinqSession(
            fake.api_key, base_url=fake.base_url, retry=RetryPolicy(attempts=2, sleep=sleeps)
        ) as linq,
    ):
        upload = await linq.upload(tmp_path / "a.bin", content_type="application/zip")
        fake.requests.clear()
        written = await linq.attachments.download(upload.attachment_id, tmp_path / "b.bin")
        (cdn,) = [r for r in fake.requests if r.site == "storage"]
    assert (cdn.method, cdn.status) == ("GET", 307)
    assert file_sha256(written) == expected
