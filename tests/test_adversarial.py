"""Odd inputs and odd answers, over real sockets: every misuse is a typed error, never a crash.

Each test feeds the SDK something a careless caller or a misbehaving server could produce and
checks that the outcome is a `LinqUsageError` before any request (for arguments) or a
`ResponseValidationError` naming the route (for answers), never a ``TypeError``,
``ValueError`` from a library, ``OverflowError`` or ``IndexError``.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import traceback
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from _support import RECIPIENT, SENDER, SleepRecorder, api_requests, free_port

from linq_async import (
    CreatedWebhookSubscription,
    Experience,
    LinqClosedError,
    LinqConnectionError,
    LinqSession,
    LinqUsageError,
    MediaPart,
    ReplyTo,
    ResponseValidationError,
    RetryPolicy,
    StickerPlacement,
    UnknownPart,
)
from linq_async._model import WireModel
from linq_async._transport import encode_json
from linq_async.testing import FakeLinqServer
from linq_async.webhooks import Verifier

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
        ({"blob": b"\x00\x01"}, r"part's data\.blob .*bytes"),
        ({"ratio": math.nan}, r"part's data\.ratio .*finite"),
        ({"ratio": -math.inf}, r"part's data\.ratio .*finite"),
        ({"note": "a\ud800"}, r"part's data\.note .*lone surrogate"),
        ({"nested": [{"x": {1, 2}}]}, r"part's data\.nested\[0\]\.x .*set"),
        ({1: "int key"}, r"part's data .*key 1"),
    ],
)
async def test_an_unknown_part_that_is_not_strict_json_is_refused(
    linq: LinqSession, fake: FakeLinqServer, data: dict[Any, Any], match: str
) -> None:
    """UnknownPart.data goes out as given, so what JSON cannot carry is refused by path, when
    the part is built (nothing is sent)."""
    chat_id = await new_chat(linq)

    async def send() -> None:
        part = UnknownPart(type="future_part", data=data)
        await linq.chats.messages.send(chat_id, parts=[part])

    await refused_locally(fake, send, match)


async def test_experience_params_must_be_strict_json(
    linq: LinqSession, fake: FakeLinqServer
) -> None:
    """Infinity in an experience's params is refused when the experience is built (the fake
    would answer 1003)."""
    chat_id = await new_chat(linq)

    async def send() -> None:
        params = {"amount": math.inf}
        experience = Experience(name="agentpay", action="request_payment", params=params)
        await linq.chats.messages.send(chat_id, experience=experience)

    await refused_locally(fake, send, r"experience params\.amount .*finite")


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


# Malformed answers: a typed ResponseValidationError naming the route, never a crash


def answer(fake: FakeLinqServer, body: bytes, *, path: str, method: str = "GET") -> None:
    """Make the next matching request get a 200 with ``body`` as its JSON."""
    fake.fail_next(200, body=body, content_type="application/json", path=path, method=method)


def location(coordinates: str) -> bytes:
    return (
        b'{"success": true, "data": {"type": "FeatureCollection", "features": [{"type": '
        b'"Feature", "geometry": {"type": "Point", "coordinates": '
        + coordinates.encode()
        + b'}, "properties": {"handle": "+15556667777"}}]}}'
    )


async def test_a_coordinate_too_large_for_a_float_does_not_fit(
    linq: LinqSession, fake: FakeLinqServer
) -> None:
    """A 400-digit integer where a float goes: ResponseValidationError, not OverflowError."""
    chat_id = await new_chat(linq)
    answer(fake, location("[1" + "0" * 400 + ", 2]"), path=f"/v3/chats/{chat_id}/location")
    shared = await linq.chats.location.get(chat_id)
    with pytest.raises(ResponseValidationError, match=r"GET /v3/chats/\{chatId\}/location"):
        _ = shared.features[0].geometry.coordinates


@pytest.mark.parametrize("coordinates", ["[]", "[13.4]"])
async def test_a_point_without_longitude_and_latitude_does_not_fit(
    linq: LinqSession, fake: FakeLinqServer, coordinates: str
) -> None:
    """GeoJSON positions have at least 2 numbers; fewer is a ResponseValidationError."""
    chat_id = await new_chat(linq)
    answer(fake, location(coordinates), path=f"/v3/chats/{chat_id}/location")
    point = (await linq.chats.location.get(chat_id)).features[0].geometry
    for name in ("longitude", "latitude", "altitude"):
        with pytest.raises(ResponseValidationError, match=r"location did not fit.*coordinates"):
            getattr(point, name)


@pytest.mark.parametrize(
    ("body", "shown"),
    [
        (b"[]", "got an array"),
        (b'"chats"', "got a string"),
        (b"{}", "has no 'chats'"),
        (b'{"chats": null}', "'chats' is null"),
        (b'{"chats": {}}', "'chats' is an object"),
    ],
)
async def test_a_list_answer_of_the_wrong_shape_says_what_it_got(
    linq: LinqSession, fake: FakeLinqServer, body: bytes, shown: str
) -> None:
    """The error names the envelope key and what came instead (it said "got NoneType")."""
    answer(fake, body, path="/v3/chats")
    with pytest.raises(ResponseValidationError, match=f"GET /v3/chats.*{shown}"):
        await linq.chats.list()


@pytest.mark.parametrize(
    "call",
    [
        lambda linq: linq.phone_numbers.list(),
        lambda linq: linq.payment_requests.list().page(),
        lambda linq: linq.chats.messages.send("chat-1", text="hi"),
    ],
    ids=["plain list", "offset pager", "enveloped model"],
)
async def test_every_enveloped_answer_names_its_key(
    linq: LinqSession, fake: FakeLinqServer, call: Callable[[LinqSession], Awaitable[Any]]
) -> None:
    """Plain lists, offset pages and models in an envelope share the clearer message."""
    fake.fail_next(200, body=b"[]", content_type="application/json")
    with pytest.raises(ResponseValidationError, match="got an array"):
        await call(linq)


@pytest.mark.parametrize("body", [b"OK", b"<html>accepted</html>", b"\xff"])
async def test_an_ignored_answer_that_is_not_json_is_still_a_success(
    linq: LinqSession, fake: FakeLinqServer, body: bytes
) -> None:
    """Endpoints that return None accept any 2xx body (they send Accept: */*)."""
    chat_id = await new_chat(linq)
    fake.fail_next(200, body=body, content_type="text/plain", path=f"/v3/chats/{chat_id}/typing")
    await linq.chats.typing.start(chat_id)  # returns None, raising nothing
    fake.fail_next(200, body=body, content_type="text/plain", path=f"/v3/chats/{chat_id}/share*")
    await linq.chats.share_contact_card(chat_id)
    shares = [r for r in api_requests(fake) if r.path.endswith("/share_contact_card")]
    assert len(shares) == 1  # not retried, and not reported as a failure


# Lazily loaded models: repr, logging and tracebacks survive a field that does not fit

BAD_CHAT = (
    b'{"id": "chat-1", "handles": [], "is_group": false, "created_at": "not a date",'
    b' "updated_at": "2026-01-01T00:00:00Z", "display_name": "Team"}'
)


async def test_repr_of_a_model_with_a_bad_field_marks_it_instead_of_raising(
    linq: LinqSession, fake: FakeLinqServer
) -> None:
    """repr() never raises: the field that does not fit is shown as such, the rest as usual."""
    answer(fake, BAD_CHAT, path="/v3/chats/chat-1")
    chat = await linq.chats.get("chat-1")
    shown = repr(chat)
    assert "created_at=<did not fit>" in shown
    assert "display_name='Team'" in shown
    assert shown.startswith("Chat(id='chat-1'")
    with pytest.raises(ResponseValidationError, match=r"Chat\.created_at"):
        _ = chat.created_at


async def test_a_traceback_with_locals_can_be_formatted_for_a_bad_field(
    linq: LinqSession, fake: FakeLinqServer
) -> None:
    """Error trackers format locals; the model in the failing frame must not break that."""
    answer(fake, BAD_CHAT, path="/v3/chats/chat-1")
    chat = await linq.chats.get("chat-1")
    with pytest.raises(ResponseValidationError) as info:
        _ = chat.created_at
    text = "".join(
        traceback.TracebackException.from_exception(info.value, capture_locals=True).format()
    )
    assert "GET /v3/chats/{chatId}" in text


async def test_a_traceback_with_locals_can_be_formatted_when_a_required_field_fails(
    linq: LinqSession, fake: FakeLinqServer
) -> None:
    """A required field that does not fit fails the load itself, whose frame holds the model
    half built; formatting that frame's locals shows it, and does not raise."""
    answer(fake, b'{"id": 5}', path="/v3/chats/chat-1")
    with pytest.raises(ResponseValidationError) as info:
        await linq.chats.get("chat-1")
    text = "".join(
        traceback.TracebackException.from_exception(info.value, capture_locals=True).format()
    )
    assert "Chat(id=<not loaded>" in text


def test_every_public_model_has_the_safe_repr() -> None:
    """The safe repr is installed on each model class, whatever attrs generated."""
    import linq_async.models as models

    classes = [getattr(models, name) for name in models.__all__]
    wire_models = [cls for cls in classes if isinstance(cls, type) and issubclass(cls, WireModel)]
    assert len(wire_models) > 50
    for cls in wire_models:
        assert getattr(cls.__repr__, "__wrapped__", None) is not None, cls


# Parts read from a response can be sent again


async def test_parts_from_a_response_are_sent_without_their_response_only_fields(
    linq: LinqSession, fake: FakeLinqServer
) -> None:
    """Forwarding a message's parts sends what a request takes: no id, filename, reactions."""
    chat_id = await new_chat(linq)
    sent = await linq.chats.messages.send(
        chat_id, text="look", parts=[MediaPart(url="https://img.example/a.png")]
    )
    fetched = await linq.messages.get(sent.id)
    media = fetched.parts[1]
    assert isinstance(media, MediaPart)
    assert media.filename == "a.png"
    fake.requests.clear()
    await linq.chats.messages.send(chat_id, parts=fetched.parts)
    (request,) = api_requests(fake)
    assert request.status == 200
    assert request.json()["message"]["parts"] == [
        {"type": "text", "value": "look"},
        {"type": "media", "url": "https://img.example/a.png"},
    ]


# Secrets: nothing reachable from an exception shows them, even with locals


def formatted(error: BaseException) -> str:
    """What an error tracker stores: the whole chain, with every frame's locals."""
    found = traceback.TracebackException.from_exception(error, capture_locals=True)
    return "".join(found.format())


WEBHOOK_SECRET = "whsec_" + "c2VjcmV0LXNpZ25pbmcta2V5LTEyMzQ1Njc4OTA="


def subscription(**changes: Any) -> bytes:
    fields: dict[str, Any] = {
        "signing_secret": WEBHOOK_SECRET,
        "id": "sub-1",
        "target_url": "https://example.com/hooks",
        "subscribed_events": ["message.sent"],
        "is_active": True,
        "created_at": "2026-01-01T00:00:00Z",
        "updated_at": "2026-01-01T00:00:00Z",
    }
    fields.update(changes)
    return json.dumps({key: value for key, value in fields.items() if value is not None}).encode()


async def create_subscription(linq: LinqSession) -> CreatedWebhookSubscription:
    return await linq.webhook_subscriptions.create(
        target_url="https://example.com/hooks", events=["message.sent"]
    )


async def test_a_bad_field_next_to_the_signing_secret_does_not_expose_it(
    linq: LinqSession, fake: FakeLinqServer
) -> None:
    """The secret (shown once) is still readable; the bad field's error never holds it."""
    answer(fake, subscription(created_at="yesterday"), path="/v3/webhook-*", method="POST")
    sub = await create_subscription(linq)
    assert sub.signing_secret == WEBHOOK_SECRET
    with pytest.raises(ResponseValidationError, match="created_at") as info:
        _ = sub.created_at
    text = formatted(info.value)  # first: an assert's temporaries are locals of this frame
    assert WEBHOOK_SECRET[6:] not in text


async def test_a_subscription_answer_missing_a_key_does_not_expose_the_secret(
    linq: LinqSession, fake: FakeLinqServer
) -> None:
    """A required key missing: the error's frames no longer hold the decoded answer's secret."""
    answer(fake, subscription(id=None), path="/v3/webhook-*", method="POST")
    with pytest.raises(ResponseValidationError, match="'id' is missing") as info:
        await create_subscription(linq)
    text = formatted(info.value)  # first: an assert's temporaries are locals of this frame
    assert WEBHOOK_SECRET[6:] not in text


async def test_a_signing_secret_of_the_wrong_type_is_not_quoted(
    linq: LinqSession, fake: FakeLinqServer
) -> None:
    """A signing_secret that does not fit is reported by name, its value never shown."""
    answer(fake, subscription(signing_secret=[WEBHOOK_SECRET]), path="/v3/webhook-*", method="POST")
    with pytest.raises(ResponseValidationError, match="signing_secret") as info:
        await create_subscription(linq)
    text = formatted(info.value)  # first: an assert's temporaries are locals of this frame
    assert WEBHOOK_SECRET[6:] not in text


async def test_a_subscription_answer_that_is_not_json_is_not_quoted(
    linq: LinqSession, fake: FakeLinqServer
) -> None:
    """A truncated answer holding the secret: the error says "not JSON" without quoting it."""
    answer(fake, subscription()[:-1], path="/v3/webhook-*", method="POST")
    with pytest.raises(ResponseValidationError, match="not JSON") as info:
        await create_subscription(linq)
    text = formatted(info.value)  # first: an assert's temporaries are locals of this frame
    assert WEBHOOK_SECRET[6:] not in text


BAD_SECRET = "whsec_not*base64*but*a*near*miss*of*the*real*one"


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: Verifier(BAD_SECRET), "not whsec_ followed by base64"),
        (lambda: Verifier(WEBHOOK_SECRET, tolerance=-1), "tolerance"),
        (lambda: Verifier(WEBHOOK_SECRET.encode(), allow_legacy=True), "allow_legacy"),
    ],
    ids=["malformed", "bad tolerance", "legacy with bytes"],
)
def test_a_verifier_that_cannot_be_built_keeps_its_secret_out_of_the_traceback(
    make: Callable[[], Verifier], match: str
) -> None:
    """The failing __init__ frame is in the traceback: its locals must not hold the secret.

    Formatting used to crash too: the half-built Verifier's repr raised AttributeError.
    """
    with pytest.raises(LinqUsageError, match=match) as info:
        make()
    text = formatted(info.value)
    assert "base64*but" not in text
    assert WEBHOOK_SECRET[6:] not in text


def test_verifier_from_env_keeps_a_malformed_secret_out_of_the_traceback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A mistyped LINQ_WEBHOOK_SECRET is refused without landing in a frame's locals."""
    monkeypatch.setenv("LINQ_WEBHOOK_SECRET", BAD_SECRET)
    with pytest.raises(LinqUsageError) as info:
        Verifier.from_env()
    text = formatted(info.value)
    assert "base64*but" not in text


# Callbacks


async def test_a_progress_callback_that_is_not_callable_is_refused_before_any_request(
    linq: LinqSession, fake: FakeLinqServer, tmp_path: Path
) -> None:
    """attachments.download and .upload check on_progress first (it raised mid-transfer)."""
    upload = await linq.upload(b"hello", filename="hello.txt")
    slot = await linq.attachments.create(filename="b.txt", content_type="text/plain", size_bytes=5)
    before = len(fake.requests)
    with pytest.raises(LinqUsageError, match="on_progress must be a function"):
        await linq.attachments.download(upload.attachment_id, tmp_path, on_progress=5)  # type: ignore[arg-type]
    with pytest.raises(LinqUsageError, match="on_progress must be a function"):
        await linq.attachments.upload(slot, b"hello", on_progress="50%")  # type: ignore[arg-type]
    assert len(fake.requests) == before
    assert not os.listdir(tmp_path)


# The transport: closing, lanes and errors under odd use.


async def test_a_refused_connection_keeps_the_api_key_out_of_the_traceback(
    sleeps: SleepRecorder,
) -> None:
    """Tracebacks with locals of a connection error must not show the API key."""
    api_key = "key_" + "k" * 40
    retry = RetryPolicy(attempts=1, sleep=sleeps)
    base_url = f"http://127.0.0.1:{free_port()}/api/partner"
    async with LinqSession(api_key, base_url=base_url, retry=retry) as linq:
        with pytest.raises(LinqConnectionError) as info:
            await linq.chats.get("chat-1")
    del api_key  # this frame's own local is not what is being tested
    text = formatted(info.value)
    assert "k" * 40 not in text


async def test_a_deeply_nested_answer_is_a_response_validation_error(
    linq: LinqSession, fake: FakeLinqServer
) -> None:
    """100,000 nested arrays: a typed error naming the route, not a RecursionError."""
    answer(fake, b"[" * 100_000, path="/v3/chats/chat-1")
    with pytest.raises(ResponseValidationError, match=r"GET /v3/chats/chat-1"):
        await linq.chats.get("chat-1")


async def test_calls_racing_close_raise_linq_closed_error(fake: FakeLinqServer) -> None:
    """A call in flight when the session closes fails with LinqClosedError, a LinqError."""
    linq = LinqSession(fake.api_key, base_url=fake.base_url)
    await linq.phone_numbers.list()
    calls = [asyncio.ensure_future(linq.phone_numbers.list()) for _ in range(3)]
    await asyncio.sleep(0)
    await linq.close()
    outcomes = await asyncio.gather(*calls, return_exceptions=True)
    assert all(isinstance(outcome, LinqClosedError) for outcome in outcomes), outcomes


# LinqSession's own flows: upload, upload_and_send and broadcast under odd input.


async def test_session_upload_refuses_a_non_callable_progress_before_any_request(
    linq: LinqSession, fake: FakeLinqServer
) -> None:
    """LinqSession.upload(on_progress=5): LinqUsageError, nothing sent."""
    await refused_locally(
        fake,
        lambda: linq.upload(b"hello", filename="a.txt", on_progress=5),  # type: ignore[arg-type]
        "on_progress",
    )


class CallbackBug(Exception):
    """Raised by a progress callback: a bug in the caller's code."""


def buggy_progress(sent: int, total: int) -> None:
    raise CallbackBug(f"{sent}/{total}")


async def test_an_exception_from_an_upload_progress_callback_propagates(
    linq: LinqSession, fake: FakeLinqServer
) -> None:
    """The caller's own bug surfaces as itself, after one attempt at most, not as a network
    error (which would be retried)."""
    with pytest.raises(CallbackBug):
        await linq.upload(b"hello", filename="a.txt", on_progress=buggy_progress)
    await fake.wait_idle()
    assert len([r for r in fake.requests if r.site == "storage"]) <= 1


async def test_a_broadcast_id_with_a_lone_surrogate_is_a_usage_error(
    linq: LinqSession, fake: FakeLinqServer
) -> None:
    """broadcast_id goes into every recipient's idempotency key: checked like text."""
    await refused_locally(
        fake,
        lambda: linq.broadcast(
            None, from_=SENDER, recipients=[RECIPIENT], text="hi", broadcast_id="run-\ud800"
        ),
        "broadcast_id",
    )


def test_an_api_key_with_a_control_character_is_refused_at_construction() -> None:
    """LinqSession("...\\n...") is a LinqUsageError at once, not a ValueError on each call."""
    with pytest.raises(LinqUsageError, match="API key"):
        LinqSession("key-with\nnewline")


# Pagers


@pytest.mark.parametrize("cursor", ["", "a\ud800b", 40, b"40"])
async def test_a_cursor_that_is_not_a_next_cursor_is_refused(
    linq: LinqSession, fake: FakeLinqServer, cursor: Any
) -> None:
    """page(cursor) takes None or a non-empty string; yarl sent a mangled or empty one."""
    await refused_locally(fake, lambda: linq.chats.list().page(cursor), "cursor")


@pytest.mark.parametrize("message_id", ["", None, 5])
def test_a_reply_to_without_a_message_id_is_refused(message_id: Any) -> None:
    """ReplyTo(message_id="") was sent (and answered 404); None was sent as null."""
    with pytest.raises(LinqUsageError, match=r"ReplyTo\.message_id"):
        ReplyTo(message_id=message_id)


@pytest.mark.parametrize(
    "target", ["https://hooks example.com/x", "https://", "https:///x", "https://e.com/\tx"]
)
async def test_the_fake_refuses_a_target_url_it_could_not_deliver_to(
    fake: FakeLinqServer, target: str
) -> None:
    """The fake grades https URLs as strictly as the client: host, no whitespace."""
    body = {"target_url": target, "subscribed_events": ["message.sent"]}
    headers = {"Authorization": f"Bearer {fake.api_key}"}
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{fake.base_url}/v3/webhook-subscriptions", json=body, headers=headers
        ) as resp,
    ):
        assert resp.status == 400
        assert (await resp.json())["error"]["code"] == 1005
    assert not fake.webhooks.subscriptions


async def test_retry_policy_never_sends_a_dropped_get_once(fake: FakeLinqServer) -> None:
    """attempts=1 means one request on the wire, whatever the method and connection."""
    async with LinqSession(fake.api_key, base_url=fake.base_url, retry=RetryPolicy.never()) as linq:
        await linq.phone_numbers.list()  # the pool now holds a keep-alive connection
        fake.requests.clear()
        fake.drop_next_response()
        with pytest.raises(LinqConnectionError):
            await linq.phone_numbers.list()
    assert len(api_requests(fake)) == 1


def test_the_transport_encodes_strict_json_and_names_what_fails() -> None:
    """The last line of defence: a body that strict JSON cannot carry (a NaN, a lone
    surrogate) is a LinqUsageError naming the value, never NaN or an escaped surrogate on
    the wire."""
    assert encode_json({"a": "é", "b": [1, 2.5]}) == '{"a":"é","b":[1,2.5]}'.encode()
    with pytest.raises(LinqUsageError, match=r"message\.x .*finite"):
        encode_json({"message": {"x": math.nan}})
    with pytest.raises(LinqUsageError, match=r"note .*lone surrogate"):
        encode_json({"note": "a\ud800"})
