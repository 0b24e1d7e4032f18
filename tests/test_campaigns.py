"""The engine-agnostic campaign core: keys, the Campaign model, one send and its outcome."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path

import attrs
import pytest
from _support import SENDER, api_requests

from linq_async import (
    AuthenticationError,
    BadRequestError,
    ConflictError,
    LineIneligibleError,
    LinqConnectionError,
    LinqSession,
    LinqUsageError,
    NotFoundError,
    OptedOutError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    Upload,
    campaign_key,
)
from linq_async._sending import broadcast_key
from linq_async.campaigns import (
    Campaign,
    CampaignOutcome,
    canonical_recipient,
    is_transient,
    send_campaign_message,
)
from linq_async.testing import FakeLinqServer

REPO = Path(__file__).resolve().parents[1]
ANN = "+15550000001"
BOB = "+15550000002"
UPLOAD = Upload(
    attachment_id="6c3e8a52-3a59-4f0b-9f3e-1f1f3c2b9a10",
    filename="flyer.pdf",
    content_type="application/pdf",
    size_bytes=1234,
    download_url="https://cdn.linqapp.com/attachments/x/flyer.pdf",
)


def chat_posts(fake: FakeLinqServer) -> list[dict[str, object]]:
    """The bodies of every ``POST /v3/chats`` the fake received."""
    return [
        r.json() for r in api_requests(fake) if r.method == "POST" and r.path.endswith("/v3/chats")
    ]


# Keys


def test_campaign_key_is_a_fixed_derivation() -> None:
    """The key of (campaign, recipient) is a published constant: it can never change."""
    assert campaign_key("spring-sale", ANN) == "0afdabff-2f21-59ec-acdd-d05d35f94400"
    assert campaign_key("spring-sale", "ann@example.com") == "e3ee59fb-06e7-5edf-914d-80e750108065"


class _Spelled(str):
    """A str subclass that spells, lowers and compares itself otherwise."""

    def __str__(self) -> str:
        return "OTHER"

    def __format__(self, spec: str) -> str:
        return "OTHER"

    def lower(self) -> str:  # type: ignore[override]
        return "other"


def test_campaign_key_takes_a_str_subclass_as_its_plain_value() -> None:
    """An id or a recipient of a str subclass keys as its plain value; what only poses as
    a str, or cannot name a campaign, is a LinqUsageError like everywhere else."""
    from unittest.mock import MagicMock

    assert campaign_key(_Spelled("spring-sale"), _Spelled("Ann@Example.com")) == campaign_key(
        "spring-sale", "ann@example.com"
    )
    for campaign_id in (MagicMock(spec=str), "", "x" * 256, "a\ud800", 7):
        with pytest.raises(LinqUsageError, match="campaign_id"):
            campaign_key(campaign_id, ANN)  # type: ignore[arg-type]


def test_a_campaign_holds_its_line_and_text_as_plain_strings() -> None:
    """A Campaign takes a str subclass's plain value for its line and text, as it does for
    its id: its stored message compares as what is sent."""
    campaign = Campaign(id=_Spelled("c"), from_=_Spelled(SENDER), text=_Spelled("Hi"))
    assert [type(v) for v in (campaign.id, campaign.from_, campaign.text)] == [str, str, str]
    assert (campaign.from_, campaign.text) == (SENDER, "Hi")
    uploaded = Campaign(
        id="c", from_=SENDER, upload=attrs.evolve(UPLOAD, attachment_id=_Spelled("a"))
    )
    assert uploaded.upload is not None
    assert type(uploaded.upload.attachment_id) is str
    assert uploaded.upload == attrs.evolve(UPLOAD, attachment_id="a")
    for bad in (None, 7, ""):
        with pytest.raises(LinqUsageError, match=r"upload\.attachment_id"):
            Campaign(id="c", from_=SENDER, upload=attrs.evolve(UPLOAD, attachment_id=bad))


def test_broadcast_key_is_campaign_key() -> None:
    """A broadcast's per-recipient key is the campaign key of its broadcast id."""
    assert broadcast_key("b-1", ANN) == campaign_key("b-1", ANN)
    assert broadcast_key("b-1", "Ann@Example.COM") == campaign_key("b-1", "ann@example.com")


def test_keys_differ_per_campaign_and_recipient_but_not_per_email_case() -> None:
    """Keys separate campaigns and recipients; an email's letter case is one recipient."""
    keys = {campaign_key(c, r) for c in ("a", "b") for r in (ANN, BOB, "ann@example.com")}
    assert len(keys) == 6
    assert campaign_key("a", "ANN@example.com") == campaign_key("a", "ann@EXAMPLE.com")


def test_canonical_recipient() -> None:
    """Phones stay as given (E.164 has one spelling); emails are lowercased."""
    assert canonical_recipient(ANN) == ANN
    assert canonical_recipient("Ann.Lee@Example.COM") == "ann.lee@example.com"


@pytest.mark.parametrize(
    ("campaign_id", "recipient"),
    [("", ANN), (None, ANN), ("a", "15550000001"), ("a", "+1 555 000 0001"), ("a", "ann")],
)
def test_campaign_key_refuses_bad_input(campaign_id: object, recipient: str) -> None:
    """An empty id or a recipient that is not a handle is a usage error."""
    with pytest.raises(LinqUsageError):
        campaign_key(campaign_id, recipient)  # type: ignore[arg-type]


# The Campaign model


def test_campaign_parts_and_round_trip() -> None:
    """A campaign's message is the text then the media; to_dict/from_dict round-trip it."""
    campaign = Campaign(id="c", from_=SENDER, text="Hi", upload=UPLOAD)
    assert [type(part).__name__ for part in campaign.parts] == ["TextPart", "MediaPart"]
    data = json.loads(json.dumps(campaign.to_dict()))
    assert data["from"] == SENDER
    assert Campaign.from_dict(data) == campaign
    assert campaign.key_for("ANN@example.com") == campaign_key("c", "ann@example.com")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"id": "c", "from_": SENDER},
        {"id": "", "from_": SENDER, "text": "Hi"},
        {"id": "x" * 256, "from_": SENDER, "text": "Hi"},
        {"id": "c", "from_": "12223334444", "text": "Hi"},
        {"id": "c", "from_": SENDER, "text": ""},
        {"id": "c", "from_": SENDER, "upload": {"attachment_id": "x"}},
    ],
)
def test_campaign_refuses_bad_arguments(kwargs: dict[str, object]) -> None:
    """No message, a bad id, line, text or upload: a usage error."""
    with pytest.raises(LinqUsageError):
        Campaign(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("data", [None, [], {"id": "c", "from": SENDER, "upload": {"x": 1}}])
def test_from_dict_refuses_what_to_dict_never_makes(data: object) -> None:
    """Anything but a campaign's dict is a usage error, not a TypeError."""
    with pytest.raises(LinqUsageError):
        Campaign.from_dict(data)


# Sending


async def test_send_uses_the_derived_key_and_returns_the_ids(
    linq: LinqSession, fake: FakeLinqServer
) -> None:
    """One POST /v3/chats to the canonical recipient, keyed by campaign_key."""
    campaign = Campaign(id="c1", from_=SENDER, text="Hi")
    outcome = await send_campaign_message(linq, campaign, "Ann@Example.com")
    assert outcome.status == "sent"
    assert outcome.ok
    (body,) = chat_posts(fake)
    assert body == {
        "from": SENDER,
        "to": ["ann@example.com"],
        "message": {
            "parts": [{"type": "text", "value": "Hi"}],
            "idempotency_key": campaign_key("c1", "ann@example.com"),
        },
    }
    message = fake.messages[str(outcome.message_id)]
    assert message.chat_id == outcome.chat_id
    assert outcome.recipient == "ann@example.com"
    assert outcome.idempotency_key == campaign_key("c1", "ann@example.com")


async def test_sending_again_makes_no_second_message(
    linq: LinqSession, fake: FakeLinqServer
) -> None:
    """A second send (another process, a re-run job) is answered with the first message."""
    campaign = Campaign(id="c2", from_=SENDER, text="Hi")
    first = await send_campaign_message(linq, campaign, ANN)
    again = await send_campaign_message(linq, campaign, ANN)
    assert len(chat_posts(fake)) == 2
    assert len(fake.messages) == 1
    assert again.message_id == first.message_id


async def test_a_broadcast_is_finished_by_campaign_sends(
    linq: LinqSession, fake: FakeLinqServer
) -> None:
    """broadcast(broadcast_id=X) and campaign X send the same keys: no one gets two messages."""
    report = await linq.broadcast(recipients=[ANN, BOB], from_=SENDER, text="Hi", broadcast_id="X")
    assert report.sent == 2
    campaign = Campaign(id="X", from_=SENDER, text="Hi")
    outcomes = [await send_campaign_message(linq, campaign, r) for r in (ANN, BOB, "+15550000003")]
    assert all(outcome.ok for outcome in outcomes)
    assert len(fake.messages) == 3
    assert [o.message_id for o in outcomes[:2]] == [o.message_id for o in report.outcomes]


async def test_a_bad_recipient_fails_without_a_request(
    linq: LinqSession, fake: FakeLinqServer
) -> None:
    """A recipient that is not a handle is a permanent failure, and nothing is sent."""
    outcome = await send_campaign_message(linq, Campaign(id="c", from_=SENDER, text="Hi"), "bob")
    assert outcome.status == "failed"
    assert isinstance(outcome.error, LinqUsageError)
    assert outcome.idempotency_key is None
    assert api_requests(fake) == []


async def test_a_refused_recipient_is_named_by_what_it_is_not_how_it_spells_itself(
    linq: LinqSession, fake: FakeLinqServer
) -> None:
    """An object that spells itself (``__str__``, ``__repr__``) as a real recipient is named
    by its type in its outcome; a string by its plain value."""

    class Posing:
        def __str__(self) -> str:
            return ANN

        def __repr__(self) -> str:
            return ANN

    campaign = Campaign(id="c", from_=SENDER, text="Hi")
    outcome = await send_campaign_message(linq, campaign, Posing())  # type: ignore[arg-type]
    assert (outcome.status, outcome.recipient) == ("failed", "<" + Posing.__qualname__ + " object>")
    outcome = await send_campaign_message(linq, campaign, _Spelled("bob"))
    assert (outcome.status, outcome.recipient) == ("failed", "bob")
    assert api_requests(fake) == []


@pytest.mark.parametrize(
    ("status", "code", "error", "outcome"),
    [
        (400, 1002, BadRequestError, "failed"),
        (403, 2024, OptedOutError, "failed"),
        (403, 2026, PermissionDeniedError, "failed"),
        (404, 2003, NotFoundError, "failed"),
        (409, 1006, ConflictError, "failed"),
        (401, 2004, AuthenticationError, "transient"),
        (403, 2027, LineIneligibleError, "transient"),
        (429, 1007, RateLimitError, "transient"),
        (500, 3006, ServerError, "transient"),
        (503, 3006, ServerError, "transient"),
    ],
)
async def test_errors_map_to_permanent_or_transient(
    linq: LinqSession,
    fake: FakeLinqServer,
    status: int,
    code: int,
    error: type[Exception],
    outcome: str,
) -> None:
    """After the session's retries, each error is a permanent or a transient failure."""
    fake.fail_next(status, code=code, path="/v3/chats", times=10)
    result = await send_campaign_message(linq, Campaign(id="c", from_=SENDER, text="Hi"), ANN)
    assert type(result.error) is error
    assert result.status == outcome
    assert fake.messages == {}


async def test_retry_after_is_carried_by_a_rate_limited_outcome(
    linq: LinqSession, fake: FakeLinqServer
) -> None:
    """A 429's Retry-After reaches the outcome, for the job queue's backoff."""
    fake.rate_limit(times=10, retry_after=30, path="/v3/chats")
    result = await send_campaign_message(linq, Campaign(id="c", from_=SENDER, text="Hi"), ANN)
    assert result.status == "transient"
    assert result.retry_after == 30


async def test_a_lost_answer_then_a_later_try_still_makes_one_message(
    linq: LinqSession, fake: FakeLinqServer
) -> None:
    """Every answer lost: transient; the next try gets the message the first one created."""
    fake.drop_next_response(path="/v3/chats", times=4)
    campaign = Campaign(id="c", from_=SENDER, text="Hi")
    lost = await send_campaign_message(linq, campaign, ANN)
    assert lost.status == "transient"
    assert isinstance(lost.error, LinqConnectionError)
    later = await send_campaign_message(linq, campaign, ANN)
    assert later.ok
    assert list(fake.messages) == [later.message_id]


def test_is_transient_for_errors_without_a_status() -> None:
    """Connection trouble is transient; a usage error is not."""
    assert is_transient(LinqConnectionError("reset"))
    assert not is_transient(LinqUsageError("bad"))


def test_outcome_retry_after_ignores_errors_without_one() -> None:
    """retry_after is None unless the error says how long to wait."""
    outcome = CampaignOutcome(campaign_id="c", recipient=ANN, status="failed")
    assert outcome.retry_after is None
    assert attrs.evolve(outcome, error=LinqUsageError("x")).retry_after is None


def test_importing_linq_async_loads_no_campaign_machinery() -> None:
    """import linq_async stays light: no arq, redis, limits or campaign modules."""
    heavy = ["arq", "redis", "limits", "linq_async.campaigns", "linq_async.contrib"]
    code = f"import sys, linq_async; print([m for m in {heavy!r} if m in sys.modules])"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO
    ).stdout
    assert out.strip() == "[]"
    assert uuid.UUID(campaign_key("c", ANN)).version == 5


async def test_a_message_deleted_since_it_was_sent_is_still_sent(
    linq: LinqSession, fake: FakeLinqServer
) -> None:
    """Sending again after the recipient's message was deleted (or expired) from the API:
    the API answers 404 for the key and sends nothing, and the outcome says "sent" (without
    ids), not "failed": the recipient did get the message."""
    campaign = Campaign(id="c", from_=SENDER, text="Hi")
    first = await send_campaign_message(linq, campaign, ANN)
    assert first.message_id is not None
    await linq.messages.delete(first.message_id)
    again = await send_campaign_message(linq, campaign, ANN)
    assert (again.status, again.ok, again.chat_id, again.message_id) == ("sent", True, None, None)
    assert again.idempotency_key == first.idempotency_key
    assert fake.messages == {}
