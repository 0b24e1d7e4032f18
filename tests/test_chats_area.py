"""The chats area over real sockets: each endpoint's wire request, typed result and local checks."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from _support import RECIPIENT, SENDER, api_requests

from linq_async import (
    BadRequestError,
    ChatUpdate,
    ConflictError,
    LinqConnectionError,
    LinqSession,
    LinqUsageError,
    LocationCollection,
    NotFoundError,
    OperationResult,
    RateLimitError,
    RetryPolicy,
    VoiceMemo,
)
from linq_async._compose import compose
from linq_async._model import load, unknown_keys
from linq_async.testing import FakeLinqServer

FRIEND = "+15550001111"


async def make_group(linq: LinqSession, *others: str) -> str:
    created = await linq.chats.create(from_=SENDER, to=[RECIPIENT, *others], text="hi all")
    return created.chat.id


async def test_mark_read_posts_no_body_and_accepts_any(
    linq: LinqSession, fake: FakeLinqServer
) -> None:
    """POST /v3/chats/{chatId}/read: no body, Accept */*, 204 -> None."""
    chat_id = await make_group(linq, FRIEND)
    fake.requests.clear()
    assert await linq.chats.mark_read(chat_id) is None
    (sent,) = api_requests(fake)
    assert (sent.method, sent.path) == ("POST", f"/api/partner/v3/chats/{chat_id}/read")
    assert sent.body == b""
    assert sent.headers["Accept"] == "*/*"
    assert fake.chats[chat_id].read_at is not None


async def test_participants_add_and_remove(linq: LinqSession, fake: FakeLinqServer) -> None:
    """POST and DELETE (with a JSON body) /v3/chats/{chatId}/participants."""
    chat_id = await make_group(linq, FRIEND, "+15550002222")
    fake.requests.clear()
    added = await linq.chats.participants.add(chat_id, "pal@example.com")
    assert isinstance(added, OperationResult)
    assert added.status == "accepted"
    assert added.trace_id
    removed = await linq.chats.participants.remove(chat_id, FRIEND)
    assert removed.status == "accepted"
    add, remove = api_requests(fake)
    assert (add.method, add.path) == ("POST", f"/api/partner/v3/chats/{chat_id}/participants")
    assert add.json() == {"handle": "pal@example.com"}
    assert (remove.method, remove.path) == ("DELETE", add.path)
    assert remove.json() == {"handle": FRIEND}
    assert fake.chats[chat_id].handles == [RECIPIENT, "+15550002222", "pal@example.com"]


async def test_participants_of_a_direct_chat_is_a_conflict(
    linq: LinqSession, fake: FakeLinqServer
) -> None:
    """A direct chat has no participants to change: 409, code 1006."""
    created = await linq.chats.create(from_=SENDER, to=RECIPIENT, text="hi")
    with pytest.raises(ConflictError) as info:
        await linq.chats.participants.add(created.chat.id, FRIEND)
    assert info.value.code == 1006


@pytest.mark.parametrize(
    "handle",
    [
        "5550001111",
        "+1\u0665\u0665\u06650001111",
        "+1\uff15\uff15\uff150001111",
        "no-at-sign",
        "",
        None,
    ],
)
async def test_participant_handles_are_checked_before_sending(
    linq: LinqSession, fake: FakeLinqServer, handle: object
) -> None:
    """A handle that is not E.164 (ASCII digits) or an email is refused with nothing sent."""
    with pytest.raises(LinqUsageError, match="handle"):
        await linq.chats.participants.add("chat", handle)  # type: ignore[arg-type]
    with pytest.raises(LinqUsageError, match="handle"):
        await linq.chats.participants.remove("chat", handle)  # type: ignore[arg-type]
    assert fake.requests == []


# Helpers for the rest of the area

OTHER = "+15550002222"
THIRD = "+15550003333"


async def make_direct(linq: LinqSession) -> str:
    created = await linq.chats.create(from_=SENDER, to=RECIPIENT, text="hi")
    return created.chat.id


async def eventually(check: Callable[[], bool], *, timeout: float = 30.0) -> None:
    """Poll ``check`` until it holds; the timeout is generous so a slow machine passes."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not check():
        assert loop.time() < deadline, "the condition never held"
        await asyncio.sleep(0.002)


async def raw(fake: FakeLinqServer, method: str, path: str, body: Any = None) -> Any:
    """The fake's decoded answer to one request, bypassing the SDK (to check model drift)."""
    headers = {"Authorization": f"Bearer {fake.api_key}"}
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, fake.base_url + path, json=body, headers=headers) as resp,
    ):
        assert resp.status < 300, await resp.text()
        return await resp.json(content_type=None)


def never_retry(linq: LinqSession) -> LinqSession:
    return linq.with_options(retry=RetryPolicy.never())


# chats.update


async def test_update_puts_only_the_given_fields(linq: LinqSession, fake: FakeLinqServer) -> None:
    """PUT /v3/chats/{chatId} sends the given fields only and answers {chat_id, status}."""
    chat_id = await make_group(linq, FRIEND)
    fake.requests.clear()
    result = await linq.chats.update(chat_id, display_name="Team")
    assert isinstance(result, ChatUpdate)
    assert (result.chat_id, result.status) == (chat_id, "pending")
    icon = "https://example.com/icon.png"
    await linq.chats.update(chat_id, group_chat_icon=icon)
    name_only, icon_only = api_requests(fake)
    assert (name_only.method, name_only.path) == ("PUT", f"/api/partner/v3/chats/{chat_id}")
    assert name_only.json() == {"display_name": "Team"}
    assert icon_only.json() == {"group_chat_icon": icon}
    chat = await linq.chats.get(chat_id)
    assert (chat.display_name, chat.group_chat_icon) == ("Team", icon)


def test_chat_update_loads_both_documented_shapes_without_loss() -> None:
    """ChatUpdate models {chat_id, status} and the older answer, a whole Chat, key for key."""
    current = {"chat_id": "c1", "status": "pending"}
    older = {
        "id": "c1",
        "created_at": "2025-01-01T00:00:00Z",
        "updated_at": "2025-01-01T00:00:00Z",
        "display_name": "Team",
        "group_chat_icon": "https://example.com/i.png",
        "handles": [{"id": "h1", "handle": SENDER, "is_me": True}],
        "health_status": {"status": "HEALTHY"},
        "is_group": True,
        "is_archived": False,
        "service": "iMessage",
    }
    assert unknown_keys(current, ChatUpdate) == unknown_keys(older, ChatUpdate) == []
    loaded = load(older, ChatUpdate, "PUT /v3/chats/{chatId}")
    assert (loaded.chat_id or loaded.id, loaded.display_name) == ("c1", "Team")
    assert loaded.handles is not None
    assert loaded.handles[0].handle == SENDER
    assert load(current, ChatUpdate, "PUT").chat_id == "c1"


async def test_update_of_a_direct_chat_is_a_conflict(linq: LinqSession) -> None:
    """Only groups have a name and an icon: a direct chat answers 409, code 1006."""
    chat_id = await make_direct(linq)
    with pytest.raises(ConflictError) as info:
        await linq.chats.update(chat_id, display_name="Pals")
    assert info.value.code == 1006


@pytest.mark.parametrize(
    ("fields", "match"),
    [
        ({}, "display_name or group_chat_icon"),
        ({"display_name": ""}, "display_name"),
        ({"group_chat_icon": "http://example.com/icon.png"}, "group_chat_icon"),
        ({"group_chat_icon": "https://"}, "group_chat_icon"),
        ({"group_chat_icon": "https://example.com/a b.png"}, "group_chat_icon"),
    ],
)
async def test_update_is_checked_before_sending(
    linq: LinqSession, fake: FakeLinqServer, fields: dict[str, Any], match: str
) -> None:
    """No field, an empty name or an icon that is not an https URL: refused, nothing sent."""
    with pytest.raises(LinqUsageError, match=match):
        await linq.chats.update("chat", **fields)
    assert fake.requests == []


# chats.leave


async def test_leave_then_the_chat_refuses_actions(linq: LinqSession, fake: FakeLinqServer) -> None:
    """POST .../leave (no body); later actions answer 409, and create makes a new chat."""
    chat_id = await make_group(linq, FRIEND, OTHER)
    fake.requests.clear()
    result = await linq.chats.leave(chat_id)
    assert isinstance(result, OperationResult)
    assert result.status == "accepted"
    (sent,) = api_requests(fake)
    assert (sent.method, sent.path, sent.body) == (
        "POST",
        f"/api/partner/v3/chats/{chat_id}/leave",
        b"",
    )
    assert fake.chats[chat_id].left_at is not None
    with pytest.raises(ConflictError) as info:
        await linq.chats.messages.send(chat_id, text="still here?")
    assert info.value.code == 2013
    with pytest.raises(ConflictError):
        await linq.chats.leave(chat_id)
    me = [handle for handle in (await linq.chats.get(chat_id)).handles if handle.is_me]
    assert me[0].status == "left"
    again = await linq.chats.create(from_=SENDER, to=[RECIPIENT, FRIEND, OTHER], text="hi")
    assert again.chat.id != chat_id


async def test_leave_needs_an_imessage_group_of_four(
    linq: LinqSession, fake: FakeLinqServer
) -> None:
    """A direct chat is 409 (1006), a group of 3 is 400 (1005), an SMS group 409 (2017)."""
    with pytest.raises(ConflictError) as direct:
        await linq.chats.leave(await make_direct(linq))
    assert direct.value.code == 1006
    with pytest.raises(BadRequestError) as small:
        await linq.chats.leave(await make_group(linq, FRIEND))
    assert small.value.code == 1005
    sms = await make_group(linq, FRIEND, OTHER)
    fake.set_chat_service(sms, "SMS")
    with pytest.raises(ConflictError) as service:
        await linq.chats.leave(sms)
    assert service.value.code == 2017


async def test_leave_is_not_repeated_after_a_lost_answer(
    linq: LinqSession, fake: FakeLinqServer
) -> None:
    """Leaving has no idempotency key: once it may have arrived, it is not sent again."""
    chat_id = await make_group(linq, FRIEND, OTHER)
    fake.requests.clear()
    fake.drop_next_response(path=f"/v3/chats/{chat_id}/leave")
    with pytest.raises(LinqConnectionError):
        await linq.chats.leave(chat_id)
    assert len(api_requests(fake)) == 1
    assert fake.chats[chat_id].left_at is not None


# chats.send_voice_memo


async def test_voice_memo_by_url(linq: LinqSession, fake: FakeLinqServer) -> None:
    """POST /v3/chats/{chatId}/voicememo sends voice_memo_url and answers a typed VoiceMemo."""
    chat_id = await make_direct(linq)
    fake.requests.clear()
    url = "https://example.com/memo.m4a"
    memo = await linq.chats.send_voice_memo(chat_id, url=url)
    (sent,) = api_requests(fake)
    assert (sent.method, sent.path) == ("POST", f"/api/partner/v3/chats/{chat_id}/voicememo")
    assert sent.json() == {"voice_memo_url": url}
    assert isinstance(memo, VoiceMemo)
    assert (memo.status, memo.from_, memo.to, memo.service) == (
        "queued",
        SENDER,
        (RECIPIENT,),
        "iMessage",
    )
    assert memo.voice_memo is not None
    assert memo.voice_memo.filename == "memo.m4a"
    assert memo.chat is not None
    assert (memo.chat.id, memo.chat.is_active) == (chat_id, True)
    assert fake.chat_activity(chat_id).voice_memos == [{"voice_memo_url": url}]


async def test_voice_memo_by_attachment_and_the_answer_is_fully_modelled(
    linq: LinqSession, fake: FakeLinqServer, tmp_path: Path
) -> None:
    """attachment_id and override_optout go on the wire; every key of the answer is modelled."""
    chat_id = await make_direct(linq)
    audio = tmp_path / "memo.m4a"
    audio.write_bytes(b"\0" * 64)
    upload = await linq.upload(audio, content_type="audio/x-m4a")
    fake.requests.clear()
    memo = await linq.chats.send_voice_memo(
        chat_id, attachment_id=upload.attachment_id, override_optout=True
    )
    (sent,) = api_requests(fake)
    assert sent.json() == {"attachment_id": upload.attachment_id, "override_optout": True}
    assert memo.voice_memo is not None
    assert (memo.voice_memo.id, memo.voice_memo.size_bytes) == (upload.attachment_id, 64)
    answer = await raw(
        fake, "POST", f"/v3/chats/{chat_id}/voicememo", {"voice_memo_url": "https://e.io/a.mp3"}
    )
    assert unknown_keys(answer["voice_memo"], VoiceMemo) == []


async def test_voice_memo_is_not_repeated_after_a_lost_answer(
    linq: LinqSession, fake: FakeLinqServer
) -> None:
    """No idempotency key in the body: a lost answer is an error, never a second memo."""
    chat_id = await make_direct(linq)
    fake.drop_next_response(path=f"/v3/chats/{chat_id}/voicememo")
    with pytest.raises(LinqConnectionError):
        await linq.chats.send_voice_memo(chat_id, url="https://example.com/memo.m4a")
    assert len(fake.chat_activity(chat_id).voice_memos) == 1


async def test_voice_memo_of_an_unknown_attachment_is_404(linq: LinqSession) -> None:
    """An attachment id the API does not know answers 404, code 2003."""
    chat_id = await make_direct(linq)
    with pytest.raises(NotFoundError) as info:
        await linq.chats.send_voice_memo(chat_id, attachment_id="0000-missing")
    assert info.value.code == 2003


@pytest.mark.parametrize(
    ("fields", "match"),
    [
        ({}, "exactly one"),
        ({"attachment_id": "a1", "url": "https://example.com/m.m4a"}, "exactly one"),
        ({"url": "http://example.com/m.m4a"}, "url"),
        ({"url": "ftp://example.com/m.m4a"}, "url"),
        ({"attachment_id": ""}, "attachment_id"),
        ({"attachment_id": "a1", "override_optout": "yes"}, "override_optout"),
    ],
)
async def test_voice_memo_is_checked_before_sending(
    linq: LinqSession, fake: FakeLinqServer, fields: dict[str, Any], match: str
) -> None:
    """Both or neither source, a non-https URL, an empty id or a non-bool opt-out: nothing sent."""
    with pytest.raises(LinqUsageError, match=match):
        await linq.chats.send_voice_memo("chat", **fields)
    assert fake.requests == []


# chats.share_contact_card


async def test_share_contact_card_once_per_five_minutes(
    linq: LinqSession, fake: FakeLinqServer
) -> None:
    """POST .../share_contact_card: 204 -> None; a second share within 5 minutes is a 429."""
    chat_id = await make_direct(linq)
    fake.requests.clear()
    assert await linq.chats.share_contact_card(chat_id) is None
    (sent,) = api_requests(fake)
    assert (sent.method, sent.path) == (
        "POST",
        f"/api/partner/v3/chats/{chat_id}/share_contact_card",
    )
    assert (sent.body, sent.headers["Accept"]) == (b"", "*/*")
    with pytest.raises(RateLimitError) as info:
        await never_retry(linq).chats.share_contact_card(chat_id)
    assert info.value.retry_after is not None
    assert 0 < info.value.retry_after <= 300
    assert fake.chat_activity(chat_id).contact_card_shares == 1
    fake.set_cooldowns(share_contact_card=dt.timedelta(0))
    await linq.chats.share_contact_card(chat_id)
    assert fake.chat_activity(chat_id).contact_card_shares == 2


# chats.typing


async def test_typing_start_and_stop(linq: LinqSession, fake: FakeLinqServer) -> None:
    """POST and DELETE /v3/chats/{chatId}/typing: no body, Accept */*, 204 -> None."""
    chat_id = await make_direct(linq)
    fake.requests.clear()
    assert await linq.chats.typing.start(chat_id) is None
    assert fake.chat_activity(chat_id).typing
    assert await linq.chats.typing.stop(chat_id) is None
    start, stop = api_requests(fake)
    path = f"/api/partner/v3/chats/{chat_id}/typing"
    assert [(r.method, r.path, r.body, r.headers["Accept"]) for r in (start, stop)] == [
        ("POST", path, b"", "*/*"),
        ("DELETE", path, b"", "*/*"),
    ]
    activity = fake.chat_activity(chat_id)
    assert (activity.typing, activity.typing_starts, activity.typing_stops) == (False, 1, 1)


async def test_typing_start_is_retried_as_harmless(linq: LinqSession, fake: FakeLinqServer) -> None:
    """Starting the indicator again only extends it, so a 503 is retried."""
    chat_id = await make_direct(linq)
    fake.fail_next(503, method="POST", path=f"/v3/chats/{chat_id}/typing")
    await linq.chats.typing.start(chat_id)
    assert fake.chat_activity(chat_id).typing_starts == 1


async def test_typing_is_imessage_only(linq: LinqSession, fake: FakeLinqServer) -> None:
    """In an SMS chat the indicator answers 409, code 2017."""
    chat_id = await make_direct(linq)
    fake.set_chat_service(chat_id, "SMS")
    with pytest.raises(ConflictError) as info:
        await linq.chats.typing.start(chat_id)
    assert info.value.code == 2017


async def test_keep_refreshes_while_the_block_runs_then_stops(
    linq: LinqSession, fake: FakeLinqServer
) -> None:
    """keep() starts the indicator, starts it again each interval, and stops it on exit."""
    chat_id = await make_direct(linq)
    activity = fake.chat_activity(chat_id)
    async with linq.chats.typing.keep(chat_id, interval=0.01):
        assert activity.typing
        await eventually(lambda: activity.typing_starts >= 3)
        assert activity.typing_stops == 0
    assert (activity.typing, activity.typing_stops) == (False, 1)
    assert api_requests(fake)[-1].method == "DELETE"


async def test_keep_stops_on_an_exception_and_lets_it_through(
    linq: LinqSession, fake: FakeLinqServer
) -> None:
    """The block's exception propagates unchanged, and the indicator is stopped."""
    chat_id = await make_direct(linq)
    with pytest.raises(KeyError, match="boom"):
        async with linq.chats.typing.keep(chat_id):
            raise KeyError("boom")
    activity = fake.chat_activity(chat_id)
    assert (activity.typing, activity.typing_starts, activity.typing_stops) == (False, 1, 1)


async def test_keep_stops_when_cancelled(linq: LinqSession, fake: FakeLinqServer) -> None:
    """Cancelling the task inside the block still stops the indicator."""
    chat_id = await make_direct(linq)
    activity = fake.chat_activity(chat_id)
    entered = asyncio.Event()

    async def work() -> None:
        async with linq.chats.typing.keep(chat_id, interval=0.01):
            entered.set()
            await asyncio.Event().wait()

    task = asyncio.create_task(work())
    await entered.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert (activity.typing, activity.typing_stops) == (False, 1)


async def test_keep_survives_a_failed_refresh(
    linq: LinqSession, fake: FakeLinqServer, caplog: pytest.LogCaptureFixture
) -> None:
    """A refresh failing even after retries is logged, the next one tried, the block runs on."""
    caplog.set_level(logging.WARNING, logger="linq_async")
    chat_id = await make_direct(linq)
    activity = fake.chat_activity(chat_id)
    async with linq.chats.typing.keep(chat_id, interval=0.01):
        # Every attempt of the next refresh (the session makes 4) answers 503.
        fake.fail_next(503, times=4, method="POST", path=f"/v3/chats/{chat_id}/typing")
        await eventually(lambda: "trying again" in caplog.text)
        await eventually(lambda: activity.typing_starts >= 2)
    assert (activity.typing, activity.typing_stops) == (False, 1)


async def test_keep_gives_up_refreshing_after_a_permanent_refusal(
    linq: LinqSession, fake: FakeLinqServer, caplog: pytest.LogCaptureFixture
) -> None:
    """A refresh refused for good (here 404) ends the refreshing, not the block."""
    caplog.set_level(logging.WARNING, logger="linq_async")
    chat_id = await make_direct(linq)
    activity = fake.chat_activity(chat_id)
    ran_on = False
    async with linq.chats.typing.keep(chat_id, interval=0.01):
        fake.fail_next(404, method="POST", path=f"/v3/chats/{chat_id}/typing")
        await eventually(lambda: "not refreshing again" in caplog.text)
        ran_on = True
    assert ran_on
    assert (activity.typing_starts, activity.typing_stops) == (1, 1)


async def test_keep_never_masks_the_block_exception_with_a_failed_stop(
    linq: LinqSession, fake: FakeLinqServer, caplog: pytest.LogCaptureFixture
) -> None:
    """A failed stop is logged when the block raised, and raised when it did not."""
    caplog.set_level(logging.WARNING, logger="linq_async")
    chat_id = await make_direct(linq)
    typing_path = f"/v3/chats/{chat_id}/typing"

    async def failing_work() -> None:
        async with linq.chats.typing.keep(chat_id):
            fake.fail_next(404, method="DELETE", path=typing_path)
            raise ValueError("work failed")

    with pytest.raises(ValueError, match="work failed"):
        await failing_work()
    assert "could not stop the typing indicator" in caplog.text
    with pytest.raises(NotFoundError):
        async with linq.chats.typing.keep(chat_id):
            fake.fail_next(404, method="DELETE", path=typing_path)


async def test_keep_raises_when_the_first_start_fails(
    linq: LinqSession, fake: FakeLinqServer
) -> None:
    """If the indicator cannot be started the error is raised and the block never runs."""
    chat_id = await make_direct(linq)
    fake.set_chat_service(chat_id, "RCS")
    ran = False
    with pytest.raises(ConflictError):
        async with linq.chats.typing.keep(chat_id):
            ran = True
    assert not ran


@pytest.mark.parametrize("interval", [0, -1.0, 85.5, 120, "30", True, None])
async def test_keep_interval_is_checked_before_sending(
    linq: LinqSession, fake: FakeLinqServer, interval: object
) -> None:
    """An interval that is not a number in (0, 85] is refused at the call, nothing sent."""
    with pytest.raises(LinqUsageError, match="interval"):
        linq.chats.typing.keep("chat", interval=interval)  # type: ignore[arg-type]
    assert fake.requests == []


# chats.location


async def test_location_get_reads_the_geojson_shares(
    linq: LinqSession, fake: FakeLinqServer
) -> None:
    """GET .../location asks for geo+json and answers a typed FeatureCollection ([lon, lat])."""
    chat_id = await make_direct(linq)
    assert (await linq.chats.location.get(chat_id)).features == ()
    fake.share_location(
        chat_id, RECIPIENT, longitude=-122.42, latitude=37.77, altitude=16.0, locality="SF"
    )
    fake.requests.clear()
    shared = await linq.chats.location.get(chat_id)
    (sent,) = api_requests(fake)
    assert (sent.method, sent.path) == ("GET", f"/api/partner/v3/chats/{chat_id}/location")
    assert sent.headers["Accept"] == "application/geo+json"
    assert isinstance(shared, LocationCollection)
    (feature,) = shared.features
    assert feature.geometry.coordinates == (-122.42, 37.77, 16.0)
    assert (feature.geometry.longitude, feature.geometry.latitude) == (-122.42, 37.77)
    assert feature.geometry.altitude == 16.0
    assert (feature.properties.handle, feature.properties.locality) == (RECIPIENT, "SF")
    assert feature.properties.updated_at is not None
    assert shared.of(RECIPIENT) is feature
    assert shared.of(FRIEND) is None
    answer = await raw(fake, "GET", f"/v3/chats/{chat_id}/location")
    assert answer["success"] is True
    assert unknown_keys(answer["data"], LocationCollection) == []


async def test_location_request_in_a_direct_imessage_chat(
    linq: LinqSession, fake: FakeLinqServer
) -> None:
    """POST .../location/request answers {success, message}; hammering it is a 429."""
    chat_id = await make_direct(linq)
    fake.requests.clear()
    result = await linq.chats.location.request(chat_id)
    (sent,) = api_requests(fake)
    assert (sent.method, sent.path, sent.body) == (
        "POST",
        f"/api/partner/v3/chats/{chat_id}/location/request",
        b"",
    )
    assert (result.success, result.message) == (True, "Location request sent")
    with pytest.raises(RateLimitError) as info:
        await never_retry(linq).chats.location.request(chat_id)
    assert info.value.retry_after is not None
    assert info.value.retry_after > 0
    assert fake.chat_activity(chat_id).location_requests == 1


async def test_location_request_refuses_groups_and_other_services(
    linq: LinqSession, fake: FakeLinqServer
) -> None:
    """A group chat is 409 code 2016; an SMS or RCS chat 409 code 2017."""
    with pytest.raises(ConflictError) as group:
        await linq.chats.location.request(await make_group(linq, FRIEND))
    assert group.value.code == 2016
    chat_id = await make_direct(linq)
    fake.set_chat_service(chat_id, "RCS")
    with pytest.raises(ConflictError) as service:
        await linq.chats.location.request(chat_id)
    assert service.value.code == 2017


async def test_location_stop_ends_a_share(linq: LinqSession, fake: FakeLinqServer) -> None:
    """DELETE .../location with a JSON {handle} ends the share (202); a repeat is accepted."""
    chat_id = await make_direct(linq)
    fake.share_location(chat_id, RECIPIENT, longitude=2.35, latitude=48.85)
    fake.requests.clear()
    result = await linq.chats.location.stop(chat_id, RECIPIENT)
    assert isinstance(result, OperationResult)
    assert result.success is True
    (sent,) = api_requests(fake)
    assert (sent.method, sent.path, sent.status) == (
        "DELETE",
        f"/api/partner/v3/chats/{chat_id}/location",
        202,
    )
    assert sent.json() == {"handle": RECIPIENT}
    assert fake.chat_activity(chat_id).location_shares == {}
    assert (await linq.chats.location.stop(chat_id, RECIPIENT)).success is True


async def test_fake_location_scenarios_refuse_impossible_shares(
    linq: LinqSession, fake: FakeLinqServer
) -> None:
    """share_location needs a participant and a real place; unknown chats are a KeyError."""
    chat_id = await make_direct(linq)
    with pytest.raises(ValueError, match="participant"):
        fake.share_location(chat_id, SENDER, longitude=0, latitude=0)
    with pytest.raises(ValueError, match="no such place"):
        fake.share_location(chat_id, RECIPIENT, longitude=0, latitude=91)
    with pytest.raises(KeyError):
        fake.chat_activity("no-such-chat")
    with pytest.raises(ValueError, match="negative"):
        fake.set_cooldowns(location_request=dt.timedelta(seconds=-1))
    assert fake.chat_activity(chat_id).location_shares == {}


@pytest.mark.parametrize("handle", ["5550001111", "no-at-sign", "", None])
async def test_location_stop_handle_is_checked_before_sending(
    linq: LinqSession, fake: FakeLinqServer, handle: object
) -> None:
    """A handle that is not E.164 or an email is refused with nothing sent."""
    with pytest.raises(LinqUsageError, match="handle"):
        await linq.chats.location.stop("chat", handle)  # type: ignore[arg-type]
    assert fake.requests == []


# chats.background


async def test_background_set_and_reset(linq: LinqSession, fake: FakeLinqServer) -> None:
    """POST .../background sends the given fields (202, queued); DELETE resets it."""
    chat_id = await make_direct(linq)
    fake.requests.clear()
    result = await linq.chats.background.set(
        chat_id, type="color", variant="sunset", shades=["#ff8800", "#aa2200"], style="gradient"
    )
    assert isinstance(result, OperationResult)
    assert result.status == "accepted"
    photo = "https://example.com/beach.jpg"
    await linq.chats.background.set(chat_id, type="photo", image_url=photo)
    assert fake.chat_activity(chat_id).background == {"type": "photo", "image_url": photo}
    reset = await linq.chats.background.reset(chat_id)
    assert reset.status == "accepted"
    color, picture, delete = api_requests(fake)
    path = f"/api/partner/v3/chats/{chat_id}/background"
    assert (color.method, color.path, color.status) == ("POST", path, 202)
    assert color.json() == {
        "type": "color",
        "variant": "sunset",
        "shades": ["#ff8800", "#aa2200"],
        "style": "gradient",
    }
    assert picture.json() == {"type": "photo", "image_url": photo}
    assert (delete.method, delete.path, delete.body) == ("DELETE", path, b"")
    assert fake.chat_activity(chat_id).background is None


@pytest.mark.parametrize(
    ("fields", "match"),
    [
        ({"type": "gradient"}, "type must be one of"),
        ({"type": None}, "type must be one of"),
        ({"type": "photo"}, "needs image_url"),
        ({"type": "color", "image_url": "https://example.com/a.jpg"}, "only for type='photo'"),
        ({"type": "photo", "image_url": "http://example.com/a.jpg"}, "image_url"),
        ({"type": "color", "shades": "#ff0000"}, "shades"),
        ({"type": "color", "shades": []}, "shades"),
        ({"type": "color", "shades": ["#ff0000", ""]}, "shade"),
        ({"type": "dynamic", "variant": ""}, "variant"),
        ({"type": "dynamic", "style": 3}, "style"),
    ],
)
async def test_background_is_checked_before_sending(
    linq: LinqSession, fake: FakeLinqServer, fields: dict[str, Any], match: str
) -> None:
    """A type outside color/dynamic/photo and wrong type/field combinations send nothing."""
    with pytest.raises(LinqUsageError, match=match):
        await linq.chats.background.set("chat", **fields)
    assert fake.requests == []


async def test_reusing_the_key_of_a_deleted_chat_message_is_not_found(
    linq: LinqSession, fake: FakeLinqServer
) -> None:
    """chats.create and chats.messages.send with the key of a since-deleted message answer
    404 (2002) and send nothing again, as messages.send does."""
    created = await linq.chats.create(from_=SENDER, to=RECIPIENT, text="a", idempotency_key="k1")
    await linq.messages.delete(created.message.id)
    with pytest.raises(NotFoundError) as info:
        await linq.chats.create(from_=SENDER, to=RECIPIENT, text="a", idempotency_key="k1")
    assert (info.value.status, info.value.code) == (404, 2002)
    sent = await linq.chats.messages.send(created.chat.id, text="b", idempotency_key="k2")
    await linq.messages.delete(sent.id)
    with pytest.raises(NotFoundError):
        await linq.chats.messages.send(created.chat.id, text="b", idempotency_key="k2")
    assert fake.messages == {}


async def test_create_with_sends_one_composed_message_many_times(
    linq: LinqSession, fake: FakeLinqServer
) -> None:
    """The seam of upload_and_send and broadcast: a composed message is never changed, so
    each send of it gets its own idempotency key and is stored once per recipient."""
    message, _ = compose({"text": "hello"})
    before = dict(message)
    first = await linq.chats.create_with(from_=SENDER, to="+15550001111", message=message)
    second = await linq.chats.create_with(from_=SENDER, to="+15550002222", message=message)
    assert message == before
    assert first.message.id != second.message.id
    keys = [json.loads(r.body)["message"]["idempotency_key"] for r in api_requests(fake)]
    assert len(set(keys)) == 2


@pytest.mark.parametrize("override", [None, False, True])
async def test_create_with_sends_exactly_its_wire_body(
    linq: LinqSession, fake: FakeLinqServer, override: bool | None
) -> None:
    """The body is built by the endpoint itself: every field in the wire's names, a key the
    message carries used as it is, and ``override_optout`` sent whenever it was given."""
    message, _ = compose({"text": "hello", "idempotency_key": "key-1"})
    created = await linq.chats.create_with(
        from_=SENDER, to=["+15550003333", "+15550004444"], message=message, override_optout=override
    )
    (sent,) = api_requests(fake)
    expected: dict[str, Any] = {
        "from": SENDER,
        "to": ["+15550003333", "+15550004444"],
        "message": {"parts": [{"type": "text", "value": "hello"}], "idempotency_key": "key-1"},
    }
    if override is not None:
        expected["override_optout"] = override
    assert sent.json() == expected
    assert "Idempotency-Key" not in sent.headers
    assert created.chat.is_group is True


@pytest.mark.parametrize(
    ("arguments", "match"),
    [
        ({"message": {"parts": []}, "override_optout": 1}, "override_optout must be True"),
        ({"message": [("parts", [])]}, "message must be a dict built by compose"),
        ({"message": {"parts": []}, "to": "not a handle"}, "each recipient in to"),
    ],
)
async def test_create_with_checks_its_arguments_before_sending(
    linq: LinqSession, fake: FakeLinqServer, arguments: dict[str, Any], match: str
) -> None:
    """A bad ``override_optout``, ``message`` or handle is a usage error, and nothing is sent."""
    call = {"from_": SENDER, "to": RECIPIENT, **arguments}
    with pytest.raises(LinqUsageError, match=match):
        await linq.chats.create_with(**call)
    assert fake.requests == []
