"""broadcast(): one upload, one direct chat per recipient, exactly once even across re-runs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from _support import SENDER

from linq_async import (
    LinqSession,
    LinqUsageError,
    RecipientOutcome,
    ResponseValidationError,
    RetryPolicy,
    ServerError,
)
from linq_async._sending import broadcast_key
from linq_async.testing import FakeLinqServer

RECIPIENTS = [f"+1555{n:07d}" for n in range(200)]


@pytest.fixture
def flyer(tmp_path: Path) -> Path:
    path = tmp_path / "flyer.pdf"
    path.write_bytes(os.urandom(4096))
    return path


async def test_200_recipients_with_faults_each_get_exactly_one_chat(
    linq: LinqSession, fake: FakeLinqServer, flyer: Path
) -> None:
    """503s and a lost response are retried; every recipient gets one chat and one message."""
    fake.fail_next(503, method="POST", path="/v3/chats", times=5)
    fake.drop_next_response(method="POST", path="/v3/chats")
    seen: list[RecipientOutcome] = []
    report = await linq.broadcast(
        flyer, from_=SENDER, recipients=RECIPIENTS, text="Sale!", concurrency=16,
        on_recipient=seen.append,
    )  # fmt: skip
    assert (report.sent, report.failed) == (200, 0)
    assert [o.recipient for o in report.outcomes] == RECIPIENTS
    assert len(seen) == 200
    assert len(fake.chats) == 200
    assert len(fake.messages) == 200
    per_recipient = sorted(h for chat in fake.chats.values() for h in chat.handles if h != SENDER)
    assert per_recipient == sorted(RECIPIENTS)
    assert len(fake.attachments) == 1
    for message in fake.messages.values():
        assert message.parts[1] == {"type": "media", "attachment_id": report.upload.attachment_id}

    again = await linq.broadcast(
        report.upload, from_=SENDER, recipients=RECIPIENTS, text="Sale!",
        broadcast_id=report.broadcast_id,
    )  # fmt: skip
    assert again.sent == 200
    assert len(fake.chats) == 200
    assert len(fake.messages) == 200
    assert [o.message_id for o in again.outcomes] == [o.message_id for o in report.outcomes]


async def test_one_recipient_failing_does_not_stop_the_rest(
    fake: FakeLinqServer, flyer: Path
) -> None:
    """A recipient whose send keeps failing is reported; the others are sent."""
    async with LinqSession(fake.api_key, base_url=fake.base_url, retry=RetryPolicy.never()) as linq:
        fake.fail_next(500, method="POST", path="/v3/chats")
        report = await linq.broadcast(flyer, from_=SENDER, recipients=RECIPIENTS[:5], concurrency=1)
    assert (report.sent, report.failed) == (4, 1)
    (failure,) = report.failures
    assert failure.recipient == RECIPIENTS[0]
    assert isinstance(failure.error, ServerError)
    assert len(fake.messages) == 4


async def test_rerun_after_a_partial_run_sends_only_the_missing(
    linq: LinqSession, fake: FakeLinqServer, flyer: Path
) -> None:
    """Re-running a broadcast by id completes the missing recipients and repeats nobody."""
    upload = await linq.upload(flyer)
    first = await linq.broadcast(
        upload, from_=SENDER, recipients=RECIPIENTS[:10], broadcast_id="campaign-7"
    )
    assert first.sent == 10
    second = await linq.broadcast(
        upload, from_=SENDER, recipients=RECIPIENTS[:20], broadcast_id="campaign-7"
    )
    assert second.sent == 20
    assert len(fake.messages) == 20


class _Spelled(str):
    """A str subclass that spells itself otherwise when printed or formatted."""

    def __str__(self) -> str:
        return "spelled-" + self.upper()

    def __format__(self, spec: str) -> str:
        return str(self)


async def test_a_str_subclass_broadcast_id_keys_as_its_plain_value(
    linq: LinqSession, fake: FakeLinqServer, flyer: Path
) -> None:
    """A broadcast id (and recipients) of a str subclass with its own __str__ derive the
    keys of the plain values: re-run with the plain id, nobody gets a second message."""
    upload = await linq.upload(flyer)
    handles = [_Spelled(handle) for handle in RECIPIENTS[:5]]
    first = await linq.broadcast(
        upload, from_=SENDER, recipients=handles, broadcast_id=_Spelled("campaign-9")
    )
    assert first.sent == 5
    assert type(first.broadcast_id) is str
    again = await linq.broadcast(
        upload, from_=SENDER, recipients=RECIPIENTS[:5], broadcast_id="campaign-9"
    )
    assert again.sent == 5
    assert len(fake.messages) == 5
    assert broadcast_key(_Spelled("b"), _Spelled("+15550000001")) == broadcast_key(
        "b", "+15550000001"
    )


class _AllEqual(str):
    """A str subclass whose every instance hashes and compares equal."""

    def __hash__(self) -> int:
        return 1

    def __eq__(self, other: object) -> bool:
        return True


async def test_recipients_of_a_str_subclass_are_told_apart_by_their_values(
    linq: LinqSession, fake: FakeLinqServer
) -> None:
    """Recipients are de-duplicated by their plain values, not by a subclass's own
    __hash__ and __eq__: two different numbers both get the message."""
    report = await linq.broadcast(
        from_=SENDER, recipients=[_AllEqual(RECIPIENTS[0]), _AllEqual(RECIPIENTS[1])], text="hi"
    )
    assert report.sent == 2
    assert [outcome.recipient for outcome in report.outcomes] == RECIPIENTS[:2]
    assert len(fake.messages) == 2


def test_keys_are_stable_per_broadcast_and_recipient() -> None:
    """The same (broadcast, recipient) always derives the same key; others differ."""
    assert broadcast_key("b", "+15550000001") == broadcast_key("b", "+15550000001")
    assert broadcast_key("b", "+15550000001") != broadcast_key("b", "+15550000002")
    assert broadcast_key("b", "+15550000001") != broadcast_key("c", "+15550000001")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"recipients": []}, "at least one"),
        ({"recipients": "+15550000001"}, "list of handles"),
        ({"recipients": ["+15550000001", "nope"]}, "E.164"),
        ({"recipients": ["+15550000001"], "concurrency": 0}, "concurrency"),
        ({"recipients": ["+15550000001"], "broadcast_id": ""}, "broadcast_id"),
    ],
)
async def test_bad_broadcast_arguments_send_nothing(
    linq: LinqSession, fake: FakeLinqServer, flyer: Path, kwargs: dict[str, object], match: str
) -> None:
    """Invalid recipients or options raise LinqUsageError before the upload."""
    with pytest.raises(LinqUsageError, match=match):
        await linq.broadcast(flyer, from_=SENDER, **kwargs)  # type: ignore[arg-type]
    assert fake.requests == []


async def test_text_only_broadcast(linq: LinqSession, fake: FakeLinqServer) -> None:
    """Without a file, each recipient gets the text alone and nothing is uploaded."""
    report = await linq.broadcast(from_=SENDER, recipients=RECIPIENTS[:3], text="Doors open")
    assert (report.sent, report.upload) == (3, None)
    assert fake.attachments == {}
    assert [m.parts for m in fake.messages.values()] == [
        [{"type": "text", "value": "Doors open"}]
    ] * 3


async def test_broadcast_needs_a_file_or_a_text(linq: LinqSession, fake: FakeLinqServer) -> None:
    """A broadcast with neither file nor text is refused before any request."""
    with pytest.raises(LinqUsageError, match="file, a text or both"):
        await linq.broadcast(from_=SENDER, recipients=RECIPIENTS[:3])
    assert fake.requests == []


async def test_a_malformed_answer_is_that_recipients_error(
    linq: LinqSession, fake: FakeLinqServer
) -> None:
    """A 2xx without chat.id/message.id becomes ResponseValidationError for that recipient."""
    fake.fail_next(
        200, body='{"chat": {"id": 7}}', content_type="application/json", method="POST",
        path="/v3/chats",
    )  # fmt: skip
    report = await linq.broadcast(from_=SENDER, recipients=RECIPIENTS[:2], text="hi", concurrency=1)
    assert isinstance(report.outcomes[0].error, ResponseValidationError)
    assert report.outcomes[1].ok
