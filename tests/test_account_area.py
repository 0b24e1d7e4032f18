"""The account area over real sockets: lines, contact cards, blocked handles, capability checks
and experiences; each endpoint's wire request, typed result and local checks."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest
from _support import RECIPIENT, SENDER, SleepRecorder, api_requests

from linq_async import (
    AvailableNumber,
    BadRequestError,
    BlockedHandle,
    CapabilityCheck,
    ConflictError,
    ContactCardInfo,
    ExperienceInfo,
    LinqConnectionError,
    LinqSession,
    LinqUsageError,
    NotFoundError,
    PermissionDeniedError,
    PhoneNumber,
    RateLimitError,
    ReputationAudit,
    ServerError,
)
from linq_async._model import unknown_keys
from linq_async.testing import FakeLinqServer

LINE_B = "+12223335555"
LINE_C = "+12223336666"
PAL = "pal@example.com"
FRIEND = "+15550001111"
BAD_PHONES = ["2223334444", "+1\u0665\u0665\u06650001111", "", None, 12223334444]


def only(fake: FakeLinqServer) -> Any:
    (sent,) = api_requests(fake)
    return sent


# Phone numbers


async def test_list_returns_every_line_with_its_reputation(
    linq: LinqSession, fake: FakeLinqServer
) -> None:
    """GET /v3/phone_numbers: typed lines with reputation, forwarding and line type."""
    fake.account.add_line(SENDER)
    fake.account.add_line(LINE_B, reputation="AT_RISK", forwarding_number=FRIEND, line_type="RCS")
    lines = await linq.phone_numbers.list()
    sent = only(fake)
    assert (sent.method, sent.path, sent.query_string) == (
        "GET",
        "/api/partner/v3/phone_numbers",
        "",
    )
    assert [type(line) for line in lines] == [PhoneNumber, PhoneNumber]
    first, second = lines
    assert (first.phone_number, first.forwarding_number, first.line_type) == (
        SENDER,
        None,
        "iMessage",
    )
    assert first.reputation is not None
    assert first.reputation.status == "HEALTHY"
    assert first.id == fake.account.lines[SENDER].id
    assert second.reputation is not None
    assert second.reputation.status == "AT_RISK"
    assert second.reputation.doc_url
    assert (second.forwarding_number, second.line_type) == (FRIEND, "RCS")


async def test_update_sets_the_forwarding_number(linq: LinqSession, fake: FakeLinqServer) -> None:
    """PUT /v3/phone_numbers/{phoneNumberId} with the new forwarding number."""
    line = fake.account.add_line(SENDER)
    updated = await linq.phone_numbers.update(line.id, forwarding_number=FRIEND)
    sent = only(fake)
    assert (sent.method, sent.path) == ("PUT", f"/api/partner/v3/phone_numbers/{line.id}")
    assert sent.json() == {"forwarding_number": FRIEND}
    assert isinstance(updated, PhoneNumber)
    assert (updated.id, updated.phone_number, updated.forwarding_number) == (
        line.id,
        SENDER,
        FRIEND,
    )
    assert line.forwarding_number == FRIEND


@pytest.mark.parametrize("clear", [None, ""])
async def test_update_with_none_or_empty_clears_forwarding(
    linq: LinqSession, fake: FakeLinqServer, clear: str | None
) -> None:
    """None (or "") goes out as the API's "" and clears the forwarding number."""
    line = fake.account.add_line(SENDER, forwarding_number=FRIEND)
    updated = await linq.phone_numbers.update(line.id, forwarding_number=clear)
    assert only(fake).json() == {"forwarding_number": ""}
    assert updated.forwarding_number is None
    assert line.forwarding_number is None


async def test_update_of_an_unknown_line_is_not_found(
    linq: LinqSession, fake: FakeLinqServer
) -> None:
    """A line id that is not the account's answers 404."""
    with pytest.raises(NotFoundError):
        await linq.phone_numbers.update("no-such-line", forwarding_number=FRIEND)


@pytest.mark.parametrize("bad", ["5550001111", PAL, "+1 555 000 1111", 15550001111])
async def test_update_refuses_a_forwarding_number_that_is_not_e164(
    linq: LinqSession, fake: FakeLinqServer, bad: object
) -> None:
    """A forwarding number that is not E.164 is refused with nothing sent."""
    with pytest.raises(LinqUsageError, match="forwarding_number"):
        await linq.phone_numbers.update("line", forwarding_number=bad)  # type: ignore[arg-type]
    assert fake.requests == []


async def test_reputation_audit_is_started_then_polled_until_complete(
    linq: LinqSession, fake: FakeLinqServer
) -> None:
    """POST then GET .../reputation_audit with the E.164 number in the path, "+" as is."""
    fake.account.add_line(SENDER, reputation="AT_RISK")
    started = await linq.phone_numbers.start_reputation_audit(SENDER)
    assert isinstance(started, ReputationAudit)
    assert (started.status, started.report) == ("pending", None)
    pending = await linq.phone_numbers.get_reputation_audit(SENDER, started.audit_id)
    assert pending.status == "pending"
    fake.account.finish_reputation_audit(started.audit_id)
    done = await linq.phone_numbers.get_reputation_audit(SENDER, started.audit_id)
    start, poll, _ = api_requests(fake)
    base = f"/api/partner/v3/phone_numbers/{SENDER}/reputation_audit"
    assert (start.method, start.path, start.body, start.status) == ("POST", base, b"", 202)
    assert (poll.method, poll.path) == ("GET", f"{base}/{started.audit_id}")
    assert (done.status, done.phone, done.error) == ("complete", SENDER, None)
    assert done.generated_at is not None
    assert done.generated_at.tzinfo is not None
    report = done.report
    assert report is not None
    assert (report.severity, report.primary_driver) == ("AT_RISK", "volume_spike")
    assert [driver.key for driver in report.drivers] == ["volume_spike"]
    assert report.action_items[0].priority == 1
    assert report.evidence is not None
    assert report.evidence.unhealthy_chats == ()
    assert report.summary_markdown


async def test_a_failed_reputation_audit_carries_its_reason(
    linq: LinqSession, fake: FakeLinqServer
) -> None:
    """An audit that ends in error has status "error", its reason and no report."""
    fake.account.add_line(SENDER)
    started = await linq.phone_numbers.start_reputation_audit(SENDER)
    fake.account.finish_reputation_audit(started.audit_id, error="not enough traffic")
    failed = await linq.phone_numbers.get_reputation_audit(SENDER, started.audit_id)
    assert (failed.status, failed.error, failed.report) == ("error", "not enough traffic", None)


async def test_starting_an_audit_is_not_retried_after_a_lost_answer(
    linq: LinqSession, fake: FakeLinqServer
) -> None:
    """A second attempt would start a second audit, so a lost answer raises instead."""
    fake.account.add_line(SENDER)
    fake.drop_next_response(method="POST")
    with pytest.raises(LinqConnectionError):
        await linq.phone_numbers.start_reputation_audit(SENDER)
    assert len(api_requests(fake)) == 1
    assert len(fake.account.reputation_audits) == 1


async def test_auditing_a_number_that_is_not_a_line_is_not_found(
    linq: LinqSession, fake: FakeLinqServer
) -> None:
    """Audits of a number outside the account (or an unknown audit) answer 404."""
    assert "+12223339999" not in fake.lines
    with pytest.raises(NotFoundError):
        await linq.phone_numbers.start_reputation_audit("+12223339999")
    with pytest.raises(NotFoundError):
        await linq.phone_numbers.get_reputation_audit(SENDER, "no-such-audit")


@pytest.mark.parametrize("bad", BAD_PHONES)
async def test_audit_numbers_are_checked_before_sending(
    linq: LinqSession, fake: FakeLinqServer, bad: object
) -> None:
    """A line that is not E.164 is refused by both audit calls with nothing sent."""
    with pytest.raises(LinqUsageError, match="phone_number"):
        await linq.phone_numbers.start_reputation_audit(bad)  # type: ignore[arg-type]
    with pytest.raises(LinqUsageError, match="phone_number"):
        await linq.phone_numbers.get_reputation_audit(bad, "audit")  # type: ignore[arg-type]
    assert fake.requests == []


async def test_available_repeats_list_keys_and_sends_plus_as_2b(
    linq: LinqSession, fake: FakeLinqServer
) -> None:
    """GET /v3/available_number: lists as repeated keys, "+" as %2B, typed answer."""
    fake.account.add_line(SENDER)
    fake.account.add_line(LINE_B)
    suggested = await linq.phone_numbers.available(
        to=[RECIPIENT, PAL], exclude_from=[LINE_B], type="iMessage"
    )
    sent = only(fake)
    assert (sent.method, sent.path) == ("GET", "/api/partner/v3/available_number")
    assert sent.query_string == (
        "to=%2B15556667777&to=pal@example.com&exclude_from=%2B12223335555&type=iMessage"
    )
    assert isinstance(suggested, AvailableNumber)
    assert suggested.phone_number == SENDER
    assert suggested.vcf_url is not None
    assert suggested.vcf_url.startswith("https://")


async def test_available_takes_single_values_and_no_arguments(
    linq: LinqSession, fake: FakeLinqServer
) -> None:
    """A single handle is one key; without arguments the query is empty."""
    fake.account.add_line(SENDER)
    await linq.phone_numbers.available(to=RECIPIENT, exclude_from=LINE_B)
    await linq.phone_numbers.available()
    first, second = api_requests(fake)
    assert first.query_string == "to=%2B15556667777&exclude_from=%2B12223335555"
    assert second.query_string == ""


async def test_available_sticks_to_the_line_of_an_existing_chat(
    linq: LinqSession, fake: FakeLinqServer
) -> None:
    """With to, the line that already chats with exactly those recipients is suggested."""
    fake.account.add_line(SENDER)
    fake.account.add_line(LINE_B)
    await linq.chats.create(from_=LINE_B, to=RECIPIENT, text="hi")
    for _ in range(2):
        assert (await linq.phone_numbers.available(to=RECIPIENT)).phone_number == LINE_B
    assert (await linq.phone_numbers.available(to=FRIEND)).phone_number == SENDER


async def test_available_rotates_through_the_healthiest_lines(
    linq: LinqSession, fake: FakeLinqServer
) -> None:
    """Without to: least recently suggested first, a CRITICAL line only when nothing else is."""
    fake.account.add_line(SENDER)
    fake.account.add_line(LINE_B)
    fake.account.add_line(LINE_C, reputation="CRITICAL")
    picks = [(await linq.phone_numbers.available()).phone_number for _ in range(3)]
    assert picks == [SENDER, LINE_B, SENDER]
    last = await linq.phone_numbers.available(exclude_from=[SENDER, LINE_B])
    assert last.phone_number == LINE_C


async def test_excluded_lines_of_a_str_subclass_are_told_apart_by_their_values(
    linq: LinqSession, fake: FakeLinqServer
) -> None:
    """Two different numbers whose subclass says every two are equal are two lines, sent as
    their plain values."""

    class AllEqual(str):
        def __eq__(self, other: object) -> bool:
            return True

        def __hash__(self) -> int:
            return 0

    fake.account.add_line(SENDER)
    fake.account.add_line(LINE_B)
    fake.account.add_line(LINE_C)
    picked = await linq.phone_numbers.available(exclude_from=[AllEqual(SENDER), AllEqual(LINE_B)])
    assert picked.phone_number == LINE_C
    assert api_requests(fake)[-1].query_string == (
        f"exclude_from=%2B{SENDER[1:]}&exclude_from=%2B{LINE_B[1:]}"
    )


async def test_available_with_every_line_excluded_is_a_bad_request(
    linq: LinqSession, fake: FakeLinqServer
) -> None:
    """No line left to suggest answers 400 (code 1005)."""
    with pytest.raises(BadRequestError) as info:
        await linq.phone_numbers.available(exclude_from=list(fake.lines))
    assert info.value.code == 1005


@pytest.mark.parametrize(
    ("options", "word"),
    [
        ({"to": "5556667777"}, "to"),
        ({"to": []}, "to"),
        ({"to": [RECIPIENT, RECIPIENT]}, "to"),
        ({"exclude_from": PAL}, "exclude_from"),
        ({"exclude_from": []}, "exclude_from"),
        ({"exclude_from": ["+1\uff15\uff15\uff150001111"]}, "exclude_from"),
        ({"type": ""}, "type"),
    ],
)
async def test_available_checks_its_arguments_before_sending(
    linq: LinqSession, fake: FakeLinqServer, options: dict[str, Any], word: str
) -> None:
    """Bad handles, empty or repeated lists and an empty type are refused, nothing sent."""
    with pytest.raises(LinqUsageError, match=word):
        await linq.phone_numbers.available(**options)
    assert fake.requests == []


# Contact cards


async def test_contact_card_create_get_and_update(linq: LinqSession, fake: FakeLinqServer) -> None:
    """POST, GET ?phone_number and PATCH ?phone_number /v3/contact_card; PATCH is partial."""
    fake.account.add_line(SENDER)
    image = "https://images.example.com/me.png"
    created = await linq.contact_card.create(
        phone_number=SENDER, first_name="Ada", last_name="Lovelace", image_url=image
    )
    assert isinstance(created, ContactCardInfo)
    assert (created.phone_number, created.first_name, created.last_name) == (
        SENDER,
        "Ada",
        "Lovelace",
    )
    assert (created.image_url, created.is_active) == (image, True)
    (card,) = await linq.contact_card.get(phone_number=SENDER)
    assert card.first_name == "Ada"
    updated = await linq.contact_card.update(phone_number=SENDER, first_name="Augusta")
    assert (updated.first_name, updated.last_name) == ("Augusta", "Lovelace")
    create, get, patch = api_requests(fake)
    assert (create.method, create.path, create.query_string) == (
        "POST",
        "/api/partner/v3/contact_card",
        "",
    )
    assert create.json() == {
        "phone_number": SENDER,
        "first_name": "Ada",
        "last_name": "Lovelace",
        "image_url": image,
    }
    assert (get.method, get.path, get.query_string) == (
        "GET",
        "/api/partner/v3/contact_card",
        "phone_number=%2B12223334444",
    )
    assert (patch.method, patch.path, patch.query_string) == (
        "PATCH",
        "/api/partner/v3/contact_card",
        "phone_number=%2B12223334444",
    )
    assert patch.json() == {"first_name": "Augusta"}
    assert fake.account.contact_cards[SENDER].first_name == "Augusta"


async def test_contact_card_get_without_a_line_lists_every_card(
    linq: LinqSession, fake: FakeLinqServer
) -> None:
    """GET /v3/contact_card without a query answers every line's card."""
    for line, name in ((SENDER, "Ada"), (LINE_B, "Grace")):
        fake.account.add_line(line)
        await linq.contact_card.create(phone_number=line, first_name=name)
    fake.requests.clear()
    cards = await linq.contact_card.get()
    assert only(fake).query_string == ""
    assert [(card.phone_number, card.first_name) for card in cards] == [
        (SENDER, "Ada"),
        (LINE_B, "Grace"),
    ]


async def test_creating_a_second_card_is_a_conflict(
    linq: LinqSession, fake: FakeLinqServer
) -> None:
    """A line with an active card refuses another create: 409, code 2014."""
    fake.account.add_line(SENDER)
    await linq.contact_card.create(phone_number=SENDER, first_name="Ada")
    with pytest.raises(ConflictError) as info:
        await linq.contact_card.create(phone_number=SENDER, first_name="Ada")
    assert info.value.code == 2014


async def test_a_line_without_a_card_is_not_found(linq: LinqSession, fake: FakeLinqServer) -> None:
    """GET and PATCH for a line without an active card answer 404, code 2012."""
    fake.account.add_line(SENDER)
    with pytest.raises(NotFoundError) as got:
        await linq.contact_card.get(phone_number=SENDER)
    with pytest.raises(NotFoundError) as patched:
        await linq.contact_card.update(phone_number=SENDER, last_name="Lovelace")
    assert got.value.code == patched.value.code == 2012


async def test_card_changes_are_limited_to_three_per_ten_minutes(
    linq: LinqSession, fake: FakeLinqServer, sleeps: SleepRecorder
) -> None:
    """A 4th create/update within 10 minutes gets 429 with Retry-After; the window passes."""
    fake.account.add_line(SENDER)
    await linq.contact_card.create(phone_number=SENDER, first_name="Ada")
    await linq.contact_card.update(phone_number=SENDER, first_name="Ada")
    await linq.contact_card.update(phone_number=SENDER, last_name="King")
    fake.requests.clear()
    with pytest.raises(RateLimitError) as info:
        await linq.contact_card.update(phone_number=SENDER, first_name="Augusta")
    assert info.value.code == 1007
    assert info.value.retry_after is not None
    assert 590 <= info.value.retry_after <= 600
    # A 10-minute Retry-After is beyond the policy's 60 s: the call ends at once, unretried.
    assert [request.status for request in api_requests(fake)] == [429]
    assert sleeps.delays == []
    assert fake.account.contact_cards[SENDER].first_name == "Ada"
    fake.account.advance_clock(600)
    updated = await linq.contact_card.update(phone_number=SENDER, first_name="Augusta")
    assert updated.first_name == "Augusta"


async def test_card_update_is_retried_after_setup_incomplete(
    linq: LinqSession, fake: FakeLinqServer
) -> None:
    """PATCH is safe to repeat: a 500 with code 2022 ("call again") is retried."""
    fake.account.add_line(SENDER)
    await linq.contact_card.create(phone_number=SENDER, first_name="Ada")
    fake.requests.clear()
    fake.fail_next(500, code=2022, method="PATCH", path="/v3/contact_card")
    updated = await linq.contact_card.update(phone_number=SENDER, first_name="Augusta")
    assert updated.first_name == "Augusta"
    assert [request.status for request in api_requests(fake)] == [500, 200]


async def test_card_create_is_not_retried(linq: LinqSession, fake: FakeLinqServer) -> None:
    """POST is not safe to repeat: a 500 (code 2022) or a 503 (code 4004) is raised at once."""
    fake.account.add_line(SENDER)
    fake.fail_next(500, code=2022, method="POST", path="/v3/contact_card")
    with pytest.raises(ServerError) as setup:
        await linq.contact_card.create(phone_number=SENDER, first_name="Ada")
    fake.fail_next(503, code=4004, method="POST", path="/v3/contact_card")
    with pytest.raises(ServerError) as upstream:
        await linq.contact_card.create(phone_number=SENDER, first_name="Ada")
    assert (setup.value.code, upstream.value.code) == (2022, 4004)
    assert len(api_requests(fake)) == 2


@pytest.mark.parametrize(
    ("options", "word"),
    [
        ({"phone_number": "2223334444", "first_name": "Ada"}, "phone_number"),
        ({"phone_number": PAL, "first_name": "Ada"}, "phone_number"),
        ({"phone_number": SENDER, "first_name": ""}, "first_name"),
        ({"phone_number": SENDER, "last_name": ""}, "last_name"),
        ({"phone_number": SENDER, "image_url": "http://images.example.com/a.png"}, "image_url"),
        ({"phone_number": SENDER, "image_url": "https://"}, "image_url"),
        ({"phone_number": SENDER, "image_url": "https://example.com/a b.png"}, "image_url"),
    ],
)
async def test_card_fields_are_checked_before_sending(
    linq: LinqSession, fake: FakeLinqServer, options: dict[str, Any], word: str
) -> None:
    """A bad line, an empty name or a non-https image URL is refused with nothing sent."""
    with pytest.raises(LinqUsageError, match=word):
        await linq.contact_card.create(**options)
    with pytest.raises(LinqUsageError, match=word):
        await linq.contact_card.update(**options)
    assert fake.requests == []


async def test_card_get_and_empty_update_are_checked_before_sending(
    linq: LinqSession, fake: FakeLinqServer
) -> None:
    """get() checks its line; update() with no field to change is refused, nothing sent."""
    with pytest.raises(LinqUsageError, match="phone_number"):
        await linq.contact_card.get(phone_number="2223334444")
    with pytest.raises(LinqUsageError, match="first_name, last_name or image_url"):
        await linq.contact_card.update(phone_number=SENDER)
    assert fake.requests == []


# Blocked handles


async def test_block_list_and_unblock(linq: LinqSession, fake: FakeLinqServer) -> None:
    """POST, GET and DELETE (JSON body) /v3/blocked_handles; emails come back lowercased."""
    spam = await linq.blocked_handles.block(RECIPIENT, reason="spam")
    pal = await linq.blocked_handles.block("Pal@Example.com")
    assert isinstance(spam, BlockedHandle)
    assert (spam.handle, spam.reason) == (RECIPIENT, "spam")
    assert spam.blocked_at is not None
    assert spam.blocked_at.tzinfo is not None
    assert (pal.handle, pal.reason) == (PAL, None)
    listed = await linq.blocked_handles.list()
    assert [entry.handle for entry in listed] == [PAL, RECIPIENT]
    assert await linq.blocked_handles.unblock(RECIPIENT) is None
    assert [entry.handle for entry in await linq.blocked_handles.list()] == [PAL]
    block, block_pal, get, delete, _ = api_requests(fake)
    assert (block.method, block.path) == ("POST", "/api/partner/v3/blocked_handles")
    assert block.json() == {"handle": RECIPIENT, "reason": "spam"}
    assert block_pal.json() == {"handle": "Pal@Example.com"}
    assert (get.method, get.path, get.body) == ("GET", block.path, b"")
    assert (delete.method, delete.path, delete.status) == ("DELETE", block.path, 204)
    assert delete.json() == {"handle": RECIPIENT}
    assert delete.headers["Accept"] == "*/*"
    assert list(fake.account.blocked_handles) == [PAL]


async def test_block_is_idempotent_and_retried_after_a_lost_answer(
    linq: LinqSession, fake: FakeLinqServer
) -> None:
    """Blocking twice keeps the first block, so a lost answer is retried safely."""
    first = await linq.blocked_handles.block(RECIPIENT, reason="spam")
    fake.requests.clear()
    fake.drop_next_response(method="POST", path="/v3/blocked_handles")
    again = await linq.blocked_handles.block(RECIPIENT)
    assert len(api_requests(fake)) == 2
    assert (again.blocked_at, again.reason) == (first.blocked_at, "spam")
    assert len(fake.account.blocked_handles) == 1


async def test_unblocking_a_handle_that_is_not_blocked_is_fine(
    linq: LinqSession, fake: FakeLinqServer
) -> None:
    """DELETE of a handle that is not blocked answers 204 too."""
    assert await linq.blocked_handles.unblock(FRIEND) is None
    assert only(fake).status == 204


async def test_direct_sends_to_a_blocked_handle_are_refused(
    linq: LinqSession, fake: FakeLinqServer
) -> None:
    """A new or existing direct chat with a blocked handle: 403, code 2026; groups pass."""
    existing = await linq.chats.create(from_=SENDER, to=RECIPIENT, text="hi")
    await linq.blocked_handles.block(RECIPIENT)
    await linq.blocked_handles.block(PAL)
    with pytest.raises(PermissionDeniedError) as new_chat:
        await linq.chats.create(from_=LINE_B, to=RECIPIENT, text="hi")
    with pytest.raises(PermissionDeniedError) as old_chat:
        await linq.chats.messages.send(existing.chat.id, text="again")
    with pytest.raises(PermissionDeniedError) as email:
        await linq.chats.create(from_=SENDER, to="PAL@example.com", text="hi")
    assert new_chat.value.code == old_chat.value.code == email.value.code == 2026
    group = await linq.chats.create(from_=SENDER, to=[RECIPIENT, FRIEND], text="hi all")
    assert group.chat.is_group
    await linq.blocked_handles.unblock(RECIPIENT)
    sent = await linq.chats.messages.send(existing.chat.id, text="again")
    assert sent.chat_id == existing.chat.id


@pytest.mark.parametrize(
    "bad", ["5556667777", "no-at-sign", "", None, "+1\uff15\uff15\uff150001111"]
)
async def test_blocked_handles_are_checked_before_sending(
    linq: LinqSession, fake: FakeLinqServer, bad: object
) -> None:
    """A handle that is not E.164 or an email is refused by block and unblock, nothing sent."""
    with pytest.raises(LinqUsageError, match="handle"):
        await linq.blocked_handles.block(bad)  # type: ignore[arg-type]
    with pytest.raises(LinqUsageError, match="handle"):
        await linq.blocked_handles.unblock(bad)  # type: ignore[arg-type]
    assert fake.requests == []


async def test_an_empty_block_reason_is_refused(linq: LinqSession, fake: FakeLinqServer) -> None:
    """reason, when given, must be a non-empty string."""
    with pytest.raises(LinqUsageError, match="reason"):
        await linq.blocked_handles.block(RECIPIENT, reason="")
    assert fake.requests == []


# Capability checks


async def test_check_imessage_posts_the_address_and_the_line(
    linq: LinqSession, fake: FakeLinqServer
) -> None:
    """POST /v3/capability/check_imessage {address, from?}: available or not, with a reason."""
    fake.account.add_line(SENDER)
    fake.account.set_capable(RECIPIENT, imessage=True)
    yes = await linq.capability.check_imessage(RECIPIENT, from_=SENDER)
    no = await linq.capability.check_imessage(PAL)
    first, second = api_requests(fake)
    assert (first.method, first.path) == ("POST", "/api/partner/v3/capability/check_imessage")
    assert first.json() == {"address": RECIPIENT, "from": SENDER}
    assert second.json() == {"address": PAL}
    assert isinstance(yes, CapabilityCheck)
    assert (yes.address, yes.available, yes.selected_service) == (RECIPIENT, True, "iMessage")
    assert (no.address, no.available, no.error_code) == (PAL, False, None)
    assert no.reason


async def test_check_rcs_answers_available_or_not(linq: LinqSession, fake: FakeLinqServer) -> None:
    """POST /v3/capability/check_rcs: True for an RCS-capable phone, False otherwise."""
    fake.account.add_line(SENDER)
    fake.account.set_capable(RECIPIENT, rcs=True)
    yes = await linq.capability.check_rcs(RECIPIENT)
    no = await linq.capability.check_rcs(FRIEND, from_=SENDER)
    first, second = api_requests(fake)
    assert (first.method, first.path) == ("POST", "/api/partner/v3/capability/check_rcs")
    assert first.json() == {"address": RECIPIENT}
    assert second.json() == {"address": FRIEND, "from": SENDER}
    assert (yes.available, yes.selected_service) == (True, "RCS")
    assert no.available is False


@pytest.mark.parametrize("code", [4004, 4009])
async def test_check_rcs_from_a_line_without_rcs_is_unknown_at_once(
    linq: LinqSession, fake: FakeLinqServer, sleeps: SleepRecorder, code: int
) -> None:
    """503 with 4004/4009 (a state of the line) is an unknown result, not retried."""
    fake.account.add_line(SENDER, rcs_error=code)
    result = await linq.capability.check_rcs(RECIPIENT, from_=SENDER)
    assert isinstance(result, CapabilityCheck)
    assert (result.address, result.available, result.error_code) == (RECIPIENT, None, code)
    assert result.reason
    assert [request.status for request in api_requests(fake)] == [503]
    assert sleeps.delays == []


async def test_check_rcs_retries_4010_then_reports_unknown(
    linq: LinqSession, fake: FakeLinqServer, sleeps: SleepRecorder
) -> None:
    """503 with 4010 (the check could not run) is retried; if it persists, the result is unknown."""
    fake.account.add_line(SENDER)
    fake.account.set_capable(RECIPIENT, rcs=True)
    fake.fail_next(503, code=4010, times=1, path="/v3/capability/check_rcs")
    assert (await linq.capability.check_rcs(RECIPIENT)).available is True
    fake.requests.clear()
    fake.fail_next(503, code=4010, times=10, path="/v3/capability/check_rcs")
    result = await linq.capability.check_rcs(RECIPIENT)
    assert (result.available, result.error_code) == (None, 4010)
    assert len(api_requests(fake)) == 4  # the test session's 4 attempts
    assert len(sleeps.delays) == 1 + 3


async def test_check_rcs_raises_other_server_errors(
    linq: LinqSession, fake: FakeLinqServer
) -> None:
    """Only 503 with 4004/4009/4010 means unknown; another 503 code still raises."""
    fake.account.add_line(SENDER)
    fake.fail_next(503, code=3006, times=10, path="/v3/capability/check_rcs")
    with pytest.raises(ServerError) as info:
        await linq.capability.check_rcs(RECIPIENT)
    assert info.value.code == 3006


async def test_check_imessage_is_retried_after_a_503(
    linq: LinqSession, fake: FakeLinqServer
) -> None:
    """A capability check only reads, so its POST is retried after a 5xx."""
    fake.account.add_line(SENDER)
    fake.account.set_capable(PAL, imessage=True)
    fake.fail_next(503, path="/v3/capability/check_imessage")
    assert (await linq.capability.check_imessage(PAL)).available is True
    assert [request.status for request in api_requests(fake)] == [503, 200]


@pytest.mark.parametrize(
    ("call", "word"),
    [
        (lambda linq: linq.capability.check_imessage("no-at-sign"), "address"),
        (lambda linq: linq.capability.check_imessage("5556667777"), "address"),
        (lambda linq: linq.capability.check_imessage(RECIPIENT, from_=PAL), "from_"),
        (lambda linq: linq.capability.check_rcs(PAL), "address"),
        (lambda linq: linq.capability.check_rcs(RECIPIENT, from_="2223334444"), "from_"),
    ],
)
async def test_capability_checks_are_checked_before_sending(
    linq: LinqSession, fake: FakeLinqServer, call: Any, word: str
) -> None:
    """Addresses (emails only for iMessage) and E.164 lines are checked, nothing sent."""
    with pytest.raises(LinqUsageError, match=word):
        await call(linq)
    assert fake.requests == []


# Experiences


async def test_experiences_list_and_get(linq: LinqSession, fake: FakeLinqServer) -> None:
    """GET /v3/experiences and /v3/experiences/{experience}: actions and their params."""
    listed = await linq.experiences.list()
    agentpay = await linq.experiences.get("agentpay")
    first, second = api_requests(fake)
    assert (first.method, first.path) == ("GET", "/api/partner/v3/experiences")
    assert (second.method, second.path) == ("GET", "/api/partner/v3/experiences/agentpay")
    assert [experience.experience for experience in listed] == ["agentpay"]
    assert isinstance(agentpay, ExperienceInfo)
    assert agentpay.display_name == "Agent Pay"
    (action,) = agentpay.actions
    assert action.name == "request_payment"
    assert (action.fields["amount"].type, action.fields["amount"].required) == ("cents", True)
    assert action.fields["description"].max == 200


async def test_an_unknown_experience_is_not_found(linq: LinqSession, fake: FakeLinqServer) -> None:
    """GET /v3/experiences/{experience} for an unknown name answers 404."""
    with pytest.raises(NotFoundError):
        await linq.experiences.get("nope")


@pytest.mark.parametrize("bad", ["", "..", "a/b", None])
async def test_experience_names_are_checked_before_sending(
    linq: LinqSession, fake: FakeLinqServer, bad: object
) -> None:
    """A name that is empty or not one path segment is refused with nothing sent."""
    with pytest.raises(LinqUsageError):
        await linq.experiences.get(bad)  # type: ignore[arg-type]
    assert fake.requests == []


# The fake


async def raw_get(fake: FakeLinqServer, path: str) -> Any:
    """GET an API path without the SDK and return the decoded JSON."""
    headers = {"Authorization": f"Bearer {fake.api_key}"}
    async with (
        aiohttp.ClientSession() as http,
        http.get(fake.base_url + path, headers=headers) as resp,
    ):
        assert resp.status == 200, await resp.text()
        return await resp.json()


async def test_the_models_cover_every_field_the_fake_answers(
    linq: LinqSession, fake: FakeLinqServer
) -> None:
    """Strict twin of lenient loading: no field of the fake's answers is left unmodelled."""
    fake.account.add_line(SENDER, forwarding_number=FRIEND)
    await linq.contact_card.create(
        phone_number=SENDER, first_name="Ada", image_url="https://a.example/x.png"
    )
    await linq.blocked_handles.block(RECIPIENT, reason="spam")
    audit = await linq.phone_numbers.start_reputation_audit(SENDER)
    fake.account.finish_reputation_audit(audit.audit_id)
    lists = {
        "/v3/phone_numbers": ("phone_numbers", PhoneNumber),
        "/v3/contact_card": ("contact_cards", ContactCardInfo),
        "/v3/blocked_handles": ("blocked_handles", BlockedHandle),
        "/v3/experiences": ("experiences", ExperienceInfo),
    }
    for path, (envelope, model) in lists.items():
        items = (await raw_get(fake, path))[envelope]
        assert items
        for item in items:
            assert unknown_keys(item, model) == [], path
    audit_path = f"/v3/phone_numbers/%2B{SENDER[1:]}/reputation_audit/{audit.audit_id}"
    assert unknown_keys(await raw_get(fake, audit_path), ReputationAudit) == []
    assert unknown_keys(await raw_get(fake, "/v3/available_number"), AvailableNumber) == []


async def test_the_fake_also_takes_comma_joined_lists(fake: FakeLinqServer) -> None:
    """available_number accepts the official SDK's to=a,b as well as repeated keys."""
    fake.account.add_line(SENDER)
    fake.account.add_line(LINE_B)
    query = f"exclude_from=%2B{SENDER[1:]},%2B{LINE_C[1:]}&to=%2B{RECIPIENT[1:]},{PAL}"
    answer = await raw_get(fake, f"/v3/available_number?{query}")
    assert answer["phone_number"] == LINE_B


def test_fake_account_configuration_is_checked() -> None:
    """add_line refuses numbers that are not E.164 and unknown values; re-adding a line
    reconfigures it under the same id."""
    account = FakeLinqServer().account
    first = account.add_line(SENDER)
    again = account.add_line(SENDER, reputation="AT_RISK")
    assert (again.id, again.reputation) == (first.id, "AT_RISK")
    assert account.lines[SENDER] is again
    for bad, word in (
        (lambda: account.add_line("2223334444"), "E.164"),
        (lambda: account.add_line(LINE_B, reputation="GREAT"), "reputation"),
        (lambda: account.add_line(LINE_B, rcs_error=4010), "rcs_error"),
        (lambda: account.advance_clock(-1), "seconds"),
    ):
        with pytest.raises(ValueError, match=word):
            bad()
