"""Faults found by using the headline flows as a new user would, then attacking them.

Each test runs over real sockets, against the fake or against a small asyncio server on
127.0.0.1 that misbehaves where the fake cannot.
"""

from __future__ import annotations

import asyncio
import functools
import os
from collections.abc import Awaitable
from pathlib import Path
from typing import Any

import pytest
from _support import RECIPIENT, SENDER, SleepRecorder, api_requests

from linq_async import (
    BroadcastInterruptedError,
    LinqSession,
    LinqUsageError,
    RateLimitError,
    RecipientOutcome,
    RetryPolicy,
)
from linq_async.testing import FakeLinqServer


async def caught(awaitable: Awaitable[Any]) -> BaseException:
    """The exception ``awaitable`` raises."""
    try:
        await awaitable
    except BaseException as exc:  # the test inspects whatever it was
        return exc
    raise AssertionError("no exception was raised")


# Callbacks written as coroutines


async def test_async_on_recipient_is_awaited(linq: LinqSession, fake: FakeLinqServer) -> None:
    """An ``async def`` on_recipient is awaited for each outcome, not dropped unawaited."""
    recipients = [f"+1555100{n:04d}" for n in range(5)]
    seen: list[str] = []

    async def on_recipient(outcome: RecipientOutcome) -> None:
        await asyncio.sleep(0)  # a real await: a database write, a queue put
        seen.append(outcome.recipient)

    report = await linq.broadcast(
        from_=SENDER, recipients=recipients, text="hi", on_recipient=on_recipient
    )
    assert report.sent == 5
    assert sorted(seen) == recipients


async def test_async_on_recipient_that_raises_stops_the_broadcast(
    linq: LinqSession, fake: FakeLinqServer
) -> None:
    """An async on_recipient that raises stops the broadcast with its own exception."""

    class Full(Exception):
        pass

    async def on_recipient(outcome: RecipientOutcome) -> None:
        raise Full("the outcome table is full")

    error = await caught(
        linq.broadcast(
            from_=SENDER,
            recipients=[f"+1555200{n:04d}" for n in range(6)],
            text="hi",
            concurrency=1,
            on_recipient=on_recipient,
        )
    )
    assert type(error) is Full
    assert len(fake.messages) == 1


class _AsyncCallable:
    async def __call__(self, sent: int, total: int) -> None:
        pass


async def _async_progress(sent: int, total: int) -> None:
    pass


@pytest.mark.parametrize(
    "callback",
    [_async_progress, functools.partial(_async_progress), _AsyncCallable()],
    ids=["function", "partial", "callable-object"],
)
@pytest.mark.parametrize("flow", ["upload", "upload_and_send", "broadcast", "slot", "download"])
async def test_async_progress_callback_is_refused_before_any_request(
    linq: LinqSession, fake: FakeLinqServer, tmp_path: Path, callback: Any, flow: str
) -> None:
    """A coroutine progress callback cannot be awaited mid-transfer: refused before any I/O."""
    path = tmp_path / "report.pdf"
    path.write_bytes(b"%PDF-1.4 tiny")
    calls = {
        "upload": lambda: linq.upload(path, on_progress=callback),
        "upload_and_send": lambda: linq.upload_and_send(
            path, from_=SENDER, to=RECIPIENT, on_progress=callback
        ),
        "broadcast": lambda: linq.broadcast(
            path, from_=SENDER, recipients=[RECIPIENT], on_upload_progress=callback
        ),
        "download": lambda: linq.attachments.download(
            "4f6e9a4e-0000-4000-8000-000000000000", tmp_path, on_progress=callback
        ),
    }
    if flow == "slot":
        slot = await linq.attachments.create(
            filename="report.pdf", content_type="application/pdf", size_bytes=13
        )
        before = len(fake.requests)
        error = await caught(linq.attachments.upload(slot, path, on_progress=callback))
    else:
        before = len(fake.requests)
        error = await caught(calls[flow]())
    assert isinstance(error, LinqUsageError), error
    assert "async" in str(error)
    assert len(fake.requests) == before


async def test_download_progress_that_is_not_callable_is_refused(
    linq: LinqSession, fake: FakeLinqServer, tmp_path: Path
) -> None:
    """A download's on_progress is checked like an upload's: a usage error, no request."""
    error = await caught(
        linq.attachments.download(
            "4f6e9a4e-0000-4000-8000-000000000000",
            tmp_path,
            on_progress=5,  # type: ignore[arg-type]
        )
    )
    assert isinstance(error, LinqUsageError)
    assert fake.requests == []


async def test_progress_callback_returning_a_coroutine_ends_the_upload(
    linq: LinqSession, fake: FakeLinqServer, tmp_path: Path
) -> None:
    """A plain callable that hands back a coroutine anyway ends the upload with a usage
    error, and the coroutine is closed (never left unawaited)."""
    path = tmp_path / "report.pdf"
    path.write_bytes(b"%PDF-1.4 tiny")
    made: list[Any] = []

    def on_progress(sent: int, total: int) -> Any:
        made.append(_async_progress(sent, total))
        return made[-1]

    error = await caught(linq.upload(path, on_progress=on_progress))
    assert isinstance(error, LinqUsageError)
    assert "awaitable" in str(error)
    assert made
    assert all(coroutine.cr_frame is None for coroutine in made)  # closed


# Rate limits during a broadcast


async def test_broadcast_stops_on_a_rate_limit_that_outlasts_the_retries(
    fake: FakeLinqServer, sleeps: SleepRecorder
) -> None:
    """A 429 that outlasts a send's retries stops the broadcast instead of sending every
    other recipient into the same limit (which lengthens it); a re-run resumes."""
    recipients = [f"+1555300{n:04d}" for n in range(40)]
    retry = RetryPolicy(attempts=2, sleep=sleeps)
    async with LinqSession(fake.api_key, base_url=fake.base_url, retry=retry) as linq:
        fake.rate_limit(times=10_000, retry_after=1, path="/v3/chats")
        error = await caught(
            linq.broadcast(
                from_=SENDER,
                recipients=recipients,
                text="hi",
                concurrency=4,
                broadcast_id="rate-limited",
            )
        )
        assert isinstance(error, BroadcastInterruptedError)
        assert isinstance(error.__cause__, RateLimitError)
        assert error.broadcast_id == "rate-limited"
        tried = len(api_requests(fake))
        assert tried <= 4 * 2  # the sends in flight, each with its retries: no more
        assert len(error.remaining) >= len(recipients) - 4
        fake.reset_faults()
        report = await linq.broadcast(
            from_=SENDER, recipients=recipients, text="hi", broadcast_id="rate-limited"
        )
        assert report.sent == len(recipients)
        assert len(fake.messages) == len(recipients)


async def test_broadcast_stops_on_a_retry_after_beyond_the_cap(
    fake: FakeLinqServer, sleeps: SleepRecorder
) -> None:
    """A Retry-After beyond retry_after_max ends the send at once; the broadcast stops too."""
    async with LinqSession(
        fake.api_key, base_url=fake.base_url, retry=RetryPolicy(sleep=sleeps)
    ) as linq:
        fake.rate_limit(times=10_000, retry_after=3600, path="/v3/chats")
        error = await caught(
            linq.broadcast(
                from_=SENDER,
                recipients=[f"+1555400{n:04d}" for n in range(50)],
                text="hi",
                concurrency=1,
            )
        )
    assert isinstance(error, BroadcastInterruptedError)
    assert isinstance(error.__cause__, RateLimitError)
    assert len(api_requests(fake)) == 1
    assert sleeps.delays == []


# Recipients of one message


async def test_to_with_the_same_email_in_two_cases_is_refused(
    linq: LinqSession, fake: FakeLinqServer
) -> None:
    """``to`` naming one email twice (in two cases) is a usage error, as an exact repeat is:
    emails compare without regard to case, as in a broadcast."""
    for to in (["Ana@Example.com", "ana@example.com"], ["+15556667777", "+15556667777"]):
        error = await caught(linq.chats.create(from_=SENDER, to=to, text="hi"))
        assert isinstance(error, LinqUsageError), error
        assert "more than once" in str(error)
        error = await caught(linq.upload_and_send(b"hi", filename="a.txt", from_=SENDER, to=to))
        assert isinstance(error, LinqUsageError), error
    assert fake.requests == []


# Downloads: the names written to disk


@pytest.mark.parametrize(
    "name",
    [
        "a" * 251 + ".pdf",  # 255 characters: the longest filename the API takes
        "報告書" * 83 + ".pdf",  # 253 characters, 751 bytes in UTF-8
        "é" * 200 + ".pdf",  # 204 characters, 404 bytes
    ],
    ids=["255-ascii", "cjk", "accents"],
)
async def test_download_into_a_directory_fits_any_filename_the_api_takes(
    linq: LinqSession, tmp_path: Path, name: str
) -> None:
    """A filename the API accepts can be downloaded into a directory: a name too long for
    the file system (255 bytes) is shortened, keeping its extension, and nothing is left."""
    upload = await linq.upload(b"%PDF-1.4 long", filename=name)
    written = await linq.attachments.download(upload.attachment_id, tmp_path)
    assert written.parent == tmp_path
    assert written.read_bytes() == b"%PDF-1.4 long"
    assert written.suffix == ".pdf"
    assert len(os.fsencode(written.name)) <= 255
    assert name.startswith(written.stem[:20])
    assert sorted(os.listdir(tmp_path)) == [written.name]


async def test_download_to_a_long_destination_name(linq: LinqSession, tmp_path: Path) -> None:
    """A destination file name the file system takes (up to 255 bytes) is written as given:
    the temporary file beside it must fit too."""
    upload = await linq.upload(b"%PDF-1.4 long", filename="r.pdf")
    target = tmp_path / ("b" * 251 + ".pdf")
    written = await linq.attachments.download(upload.attachment_id, target)
    assert written == target
    assert target.read_bytes() == b"%PDF-1.4 long"
    assert sorted(os.listdir(tmp_path)) == [target.name]


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("invoice\u202efdp.exe", "invoice_fdp.exe"),  # right-to-left override: "exe.pdf"
        ("a\nb\r.txt", "a_b_.txt"),
        ("tab\there\x1b[31m.txt", "tab_here_[31m.txt"),
        ("\u2066x\u2069\u200f.txt", "_x__.txt"),
    ],
)
async def test_download_name_from_the_api_has_no_control_characters(
    linq: LinqSession, tmp_path: Path, name: str, shown: str
) -> None:
    """A filename chosen by whoever sent the file cannot put control characters (a terminal
    escape, a newline) or bidirectional overrides (a name that reads as another) on disk."""
    upload = await linq.upload(b"hello", filename=name, content_type="text/plain")
    written = await linq.attachments.download(upload.attachment_id, tmp_path)
    assert written == tmp_path / shown
    assert written.read_bytes() == b"hello"
