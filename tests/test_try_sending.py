"""Faults found by using the headline flows as a new user would, then attacking them.

Each test runs over real sockets, against the fake or against a small asyncio server on
127.0.0.1 that misbehaves where the fake cannot.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import os
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from _support import RECIPIENT, SENDER, SleepRecorder, api_requests, caught
from aiohttp import web
from test_cli import make_env, run_cli
from test_field_faults import assert_keeps_secrets

from linq_async import (
    Attachment,
    BroadcastInterruptedError,
    DownloadError,
    LinqClosedError,
    LinqSession,
    LinqUsageError,
    RateLimitError,
    RecipientOutcome,
    RetryPolicy,
    Timeouts,
    Upload,
    UploadError,
    UploadSlot,
)
from linq_async._model import load
from linq_async.testing import FakeLinqServer, S3Target

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


# Downloads: signed URLs stay out of errors and tracebacks

DOWNLOAD_SIGNATURE = "ZG93bmxvYWQtc2lnbmF0dXJlLXNlY3JldA"


class FileHost:
    """A file host on 127.0.0.1 that answers every GET as told: reset, or an error status."""

    def __init__(self, behaviour: str) -> None:
        self.behaviour = behaviour
        self.requests = 0
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> FileHost:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._server is not None
        self._server.close()

    def url(self, name: str = "clip.mp4") -> str:
        assert self._server is not None
        port = self._server.sockets[0].getsockname()[1]
        return (
            f"http://127.0.0.1:{port}/attachments/{name}?X-Amz-Expires=900"
            f"&X-Amz-Signature={DOWNLOAD_SIGNATURE}"
        )

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.requests += 1
        try:
            await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            return
        if self.behaviour == "reset":
            writer.transport.abort()
            return
        body = b"<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>"
        writer.write(
            b"HTTP/1.1 403 Forbidden\r\nContent-Type: application/xml\r\n"
            b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
        )
        await writer.drain()
        writer.close()


class SignedDownloadAPI:
    """A stand-in API whose attachments have signed download URLs (the ephemeral tier)."""

    def __init__(self, download_url: str) -> None:
        self.download_url = download_url
        self._runner: web.AppRunner | None = None

    async def __aenter__(self) -> SignedDownloadAPI:
        app = web.Application()
        app.router.add_get("/api/partner/v3/attachments/{attachment_id}", self._get)
        self._runner = web.AppRunner(app, shutdown_timeout=0)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._runner is not None
        await self._runner.cleanup()

    @property
    def base_url(self) -> str:
        assert self._runner is not None
        return f"http://127.0.0.1:{self._runner.addresses[0][1]}/api/partner"

    async def _get(self, request: web.Request) -> web.Response:
        return web.json_response(
            {
                "id": request.match_info["attachment_id"],
                "filename": "clip.mp4",
                "content_type": "video/mp4",
                "size_bytes": 10,
                "created_at": "2026-01-05T10:00:00Z",
                "status": "complete",
                "download_url": self.download_url,
            }
        )


@pytest.mark.parametrize("behaviour", ["reset", "refuse"])
@pytest.mark.parametrize("by", ["url", "id"])
async def test_download_errors_keep_the_signed_url_secret(
    tmp_path: Path, sleeps: SleepRecorder, behaviour: str, by: str
) -> None:
    """A failed download of a signed URL (given, or from the API): neither the error, nor
    anything reachable from it, nor its traceback printed with locals shows the signature."""
    key = "sk-download-" + "7" * 24
    async with FileHost(behaviour) as host, SignedDownloadAPI(host.url()) as api:
        retry = RetryPolicy(attempts=2, sleep=sleeps)
        async with LinqSession(key, base_url=api.base_url, retry=retry) as linq:
            source = host.url() if by == "url" else "4f6e9a4e-0000-4000-8000-000000000000"
            error = await caught(linq.attachments.download(source, tmp_path))
            del source
    assert isinstance(error, DownloadError), error
    assert host.requests >= 1
    assert_keeps_secrets(error, [key, DOWNLOAD_SIGNATURE])
    assert os.listdir(tmp_path) == []


async def test_attachment_repr_hides_a_signed_download_url() -> None:
    """An attachment's signed download URL (ephemeral tier) shows without its query."""
    url = f"https://cdn.example/a/clip.mp4?X-Amz-Signature={DOWNLOAD_SIGNATURE}"
    attachment = load(
        {
            "id": "a1",
            "filename": "clip.mp4",
            "content_type": "video/mp4",
            "size_bytes": 10,
            "created_at": "2026-01-05T10:00:00Z",
            "download_url": url,
        },
        Attachment,
        "GET /v3/attachments/{attachmentId}",
    )
    upload = Upload(
        attachment_id="a1",
        filename="clip.mp4",
        content_type="video/mp4",
        size_bytes=10,
        download_url=url,
    )
    for shown in (repr(attachment), repr(upload)):
        assert DOWNLOAD_SIGNATURE not in shown
        assert "https://cdn.example/a/clip.mp4?<redacted>" in shown
    assert attachment.download_url == url
    assert upload.download_url == url


# The presigned PUT on its own


@pytest.mark.parametrize(
    "file", [b"%PDF-1.4 tiny", "data.bin", "noextension"], ids=["bytes", "bin", "bare"]
)
async def test_slot_upload_takes_the_type_the_slot_was_made_for(
    tmp_path: Path, file: bytes | str
) -> None:
    """attachments.upload fills a slot whose signed headers hold no Content-Type: the type
    was declared when the slot was made, so nothing needs guessing from a file name."""
    async with (
        FakeLinqServer(sign_content_type=False) as fake,
        LinqSession(fake.api_key, base_url=fake.base_url) as linq,
    ):
        if isinstance(file, str):
            (tmp_path / file).write_bytes(b"%PDF-1.4 tiny")
        source: bytes | Path = file if isinstance(file, bytes) else tmp_path / file
        slot = await linq.attachments.create(
            filename="report.pdf", content_type="application/pdf", size_bytes=13
        )
        assert "Content-Type" not in slot.required_headers
        await linq.attachments.upload(slot, source)
        assert fake.attachments[slot.attachment_id].status == "complete"
        assert fake.attachments[slot.attachment_id].content_type == "application/pdf"


class Unanswering:
    """Storage on 127.0.0.1 that reads a whole PUT body, then never answers."""

    def __init__(self) -> None:
        self.bodies = 0
        self._server: asyncio.Server | None = None
        self._writers: list[asyncio.StreamWriter] = []

    async def __aenter__(self) -> Unanswering:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        for writer in self._writers:
            writer.transport.abort()
        assert self._server is not None
        self._server.close()

    def slot(self, size: int) -> UploadSlot:
        assert self._server is not None
        port = self._server.sockets[0].getsockname()[1]
        return UploadSlot(
            attachment_id="att-silent",
            upload_url=f"http://127.0.0.1:{port}/bucket/report.pdf?X-Amz-Signature=s",
            download_url="https://cdn.example/att-silent/report.pdf",
            expires_at=dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=15),
            required_headers={"Content-Length": str(size), "Content-Type": "application/pdf"},
        )

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.append(writer)
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            length = next(
                int(line.split(b":", 1)[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            )
            await reader.readexactly(length)
        except (asyncio.IncompleteReadError, ConnectionError):
            return
        self.bodies += 1
        await reader.read()  # until the client gives up


async def test_an_unanswered_upload_says_storage_took_every_byte() -> None:
    """Storage that takes the whole body and never answers: the error says so (not that
    it "took no bytes"), after upload_read seconds of silence."""
    async with (
        Unanswering() as storage,
        LinqSession(
            "sk-silent",
            base_url="http://127.0.0.1:9/api/partner",
            timeout=Timeouts(upload_read=0.2),
            retry=RetryPolicy.never(),
        ) as linq,
    ):
        error = await caught(linq.attachments.upload(storage.slot(2000), b"x" * 2000))
    assert isinstance(error, UploadError), error
    assert storage.bodies == 1
    assert "took no bytes" not in str(error)
    assert "took all 2,000 bytes" in str(error)
    assert "no answer" in str(error)


# The fake in S3 mode takes every name the API takes


@pytest.mark.s3
@pytest.mark.parametrize(
    "name",
    ["..", "a/../b.txt", "a/./b.txt", "\\..\\x.txt", "x\x00y.txt", "報告書" * 83 + ".txt"],
    ids=["dotdot", "dotdot-segment", "dot-segment", "backslashes", "nul", "765-bytes"],
)
async def test_s3_mode_stores_any_filename_the_api_takes(
    s3_target: S3Target, tmp_path: Path, name: str
) -> None:
    """FakeLinqServer(s3=...) takes every filename the API does, including those SeaweedFS
    cannot use as a key segment (dot segments, NUL, over 255 bytes), and serves them back."""
    async with (
        FakeLinqServer(s3=s3_target) as fake,
        LinqSession(fake.api_key, base_url=fake.base_url) as linq,
    ):
        upload = await linq.upload(b"stored on S3", filename=name, content_type="text/plain")
        assert (await linq.attachments.get(upload.attachment_id)).status == "complete"
        written = await linq.attachments.download(upload.attachment_id, tmp_path / "copy.txt")
        assert written.read_bytes() == b"stored on S3"


# A file swapped for something else between the check and the upload


async def test_file_swapped_for_a_fifo_before_a_retry_fails_the_upload(
    linq: LinqSession, fake: FakeLinqServer, tmp_path: Path, sleeps: SleepRecorder
) -> None:
    """A path that becomes a FIFO between attempts fails the upload at once: reopening it
    must not wait for a writer that never comes (a worker thread stuck in open())."""
    path = tmp_path / "report.pdf"
    path.write_bytes(b"%PDF-1.4 " + b"x" * 300_000)
    fake.drop_upload(after_bytes=1000)
    swapped = False

    def swap(sent: int, total: int) -> None:
        nonlocal swapped
        if not swapped:
            swapped = True
            path.unlink()
            os.mkfifo(path)

    try:
        error = await caught(asyncio.wait_for(linq.upload(path, on_progress=swap), 30))
    finally:
        # Were a worker thread stuck opening the FIFO for reading, a writer releases it.
        with contextlib.suppress(OSError):
            os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
    assert swapped
    assert isinstance(error, UploadError), error
    assert "not a regular file any more" in str(error)
    assert fake.messages == {}


# Content types spelled another way


@pytest.mark.parametrize(
    ("given", "spelling"),
    [
        ("image/jpg", "image/jpeg"),
        ("audio/wav", "audio/x-wav"),
        ("application/gzip", "application/x-gzip"),
        ("Audio/M4A; codecs=mp4a", "audio/x-m4a"),
    ],
)
async def test_a_content_type_spelled_another_way_names_linqs_spelling(
    linq: LinqSession, fake: FakeLinqServer, given: str, spelling: str
) -> None:
    """A common other spelling of an accepted type is refused with the one to pass."""
    error = await caught(linq.upload(b"data", filename="file", content_type=given))
    assert isinstance(error, LinqUsageError)
    assert f"content_type={spelling!r}" in str(error)
    assert fake.requests == []
    await linq.upload(b"data", filename="file", content_type=spelling)


# A caller's ClientSession closed by its owner while a call waits to retry


async def test_caller_session_closed_before_a_retry(fake: FakeLinqServer) -> None:
    """The owner closes their ClientSession while a call waits to retry: the call ends with
    LinqClosedError, not aiohttp's bare RuntimeError('Session is closed')."""
    caller = aiohttp.ClientSession()

    async def close_it(delay: float) -> None:
        await caller.close()

    linq = LinqSession(
        fake.api_key, base_url=fake.base_url, session=caller, retry=RetryPolicy(sleep=close_it)
    )
    fake.fail_next(503, path="/v3/chats")
    error = await caught(linq.chats.create(from_=SENDER, to=RECIPIENT, text="hi"))
    assert isinstance(error, LinqClosedError), repr(error)
    assert len(api_requests(fake)) == 1
    await linq.close()


async def test_caller_session_closed_during_a_broadcast(fake: FakeLinqServer) -> None:
    """A broadcast whose caller-owned ClientSession is closed under it stops with
    BroadcastInterruptedError (cause LinqClosedError), resumable by its id."""
    caller = aiohttp.ClientSession()

    async def close_it(delay: float) -> None:
        await caller.close()

    linq = LinqSession(
        fake.api_key, base_url=fake.base_url, session=caller, retry=RetryPolicy(sleep=close_it)
    )
    fake.fail_next(503, path="/v3/chats", times=2)
    error = await caught(
        linq.broadcast(
            from_=SENDER,
            recipients=[f"+1555500{n:04d}" for n in range(20)],
            text="hi",
            concurrency=2,
        )
    )
    assert isinstance(error, BroadcastInterruptedError), repr(error)
    assert isinstance(error.__cause__, LinqClosedError)
    await linq.close()


# base_url mistakes show at construction


@pytest.mark.parametrize(
    "base_url",
    [
        "http://[::1/api",
        "http://example.com:99999/api",
        "http://:80/api",
        "http://" + "a" * 300 + ".com/api",
        "http://exa mple.com/api",
        "https://api.example.com/api\n",
        "https://api.example.com/api#partner",
        "https://partner:s3cr3t-pass@api.example.com/api",
    ],
    ids=["ipv6", "port", "no-host", "long-label", "space", "newline", "fragment", "userinfo"],
)
def test_a_malformed_base_url_is_a_usage_error_at_construction(base_url: str) -> None:
    """Every base_url that cannot work is a LinqUsageError when the session is made (never
    a bare ValueError, now or at the first call), and a password in it is not echoed."""
    with pytest.raises(LinqUsageError) as caught_error:
        LinqSession("sk-test", base_url=base_url)
    assert "s3cr3t-pass" not in str(caught_error.value)
    if base_url.strip() != base_url:  # the environment's values are stripped, as the key is
        assert LinqSession.from_env(
            {"LINQ_API_KEY": "sk-test", "LINQ_BASE_URL": base_url}
        ).base_url == base_url.strip().rstrip("/")
        return
    with pytest.raises(LinqUsageError):
        LinqSession.from_env({"LINQ_API_KEY": "sk-test", "LINQ_BASE_URL": base_url})


# The command line names its own options in hints


@pytest.mark.parametrize(
    ("name", "hint", "command"),
    [
        ("notes", "--content-type", "upload"),
        ("notes", "--content-type", "send"),
        (os.fsdecode(b"bad\xff.txt"), "--filename", "upload"),
        (os.fsdecode(b"bad\xff.txt"), "--filename", "broadcast"),
    ],
)
async def test_cli_hints_name_the_cli_options(
    fake: FakeLinqServer, tmp_path: Path, name: str, hint: str, command: str
) -> None:
    """A local check's hint names the command line's option (--filename), not the Python
    keyword (filename=) the user of the command line cannot pass."""
    path = tmp_path / name
    path.write_bytes(b"some bytes")
    (tmp_path / "to.csv").write_text("+15556667777\n")
    args = {
        "upload": ["upload", str(path)],
        "send": ["send", "--from", SENDER, "--to", RECIPIENT, "--file", str(path)],
        "broadcast": [
            "broadcast",
            "--from",
            SENDER,
            "--recipients",
            str(tmp_path / "to.csv"),
            "--file",
            str(path),
        ],
    }[command]
    result = await run_cli(
        *args, env=make_env(LINQ_API_KEY=fake.api_key, LINQ_BASE_URL=fake.base_url)
    )
    assert result.code == 2, result
    assert f"pass {hint}" in result.err
    assert "filename=" not in result.err
    assert "content_type=" not in result.err
    assert fake.requests == []
