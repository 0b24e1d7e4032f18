"""upload, attachments.upload and upload_and_send over real sockets: streaming and failures."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import tracemalloc
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import attrs
import pytest
from _support import RECIPIENT, SENDER, SleepRecorder

import linq_async._upload
from linq_async import (
    LinqSession,
    LinqUsageError,
    MediaPart,
    RetryPolicy,
    TextPart,
    Upload,
    UploadError,
    UploadExpiredError,
)
from linq_async._upload import CHUNK_SIZE
from linq_async.testing import FakeLinqServer

S3_ERROR = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code>'
    "<Message>{message}</Message><RequestId>4442587FB7D0A2F9</RequestId></Error>"
)


def make_file(tmp_path: Path, name: str = "photo.png", size: int = 3 * CHUNK_SIZE + 123) -> Path:
    path = tmp_path / name
    path.write_bytes(os.urandom(size))
    return path


def sparse_file(tmp_path: Path, name: str, size: int) -> Path:
    """A file of `size` zero bytes that takes no disk space."""
    path = tmp_path / name
    with path.open("wb") as handle:
        handle.truncate(size)
    return path


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def open_fds_for(path: Path) -> int:
    target = str(path)
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{fd}") == target:
                count += 1
        except OSError:
            pass
    return count


async def test_upload_and_send_streams_then_sends(
    linq: LinqSession, fake: FakeLinqServer, tmp_path: Path
) -> None:
    """The file arrives whole (same sha256) and the message references its attachment."""
    path = make_file(tmp_path)
    progress: list[tuple[int, int]] = []
    result = await linq.upload_and_send(
        path,
        from_=SENDER,
        to=RECIPIENT,
        text="here it is",
        on_progress=lambda sent, total: progress.append((sent, total)),
    )
    stored = fake.attachments[result.upload.attachment_id]
    assert stored.sha256 == sha256(path)
    assert stored.size_bytes == path.stat().st_size
    assert result.upload.content_type == "image/png"
    assert result.upload.filename == "photo.png"
    sent = fake.messages[result.message.id]
    assert sent.parts == [
        {"type": "text", "value": "here it is"},
        {"type": "media", "attachment_id": result.upload.attachment_id},
    ]
    assert [type(p) for p in result.message.parts] == [TextPart, MediaPart]
    size = path.stat().st_size
    assert progress[-1] == (size, size)
    assert [s for s, _ in progress] == sorted({s for s, _ in progress})
    assert {total for _, total in progress} == {size}
    assert open_fds_for(path) == 0


async def test_the_put_has_exactly_the_required_headers(
    linq: LinqSession, fake: FakeLinqServer, tmp_path: Path
) -> None:
    """Content-Length is explicit, nothing is chunked, no Authorization reaches storage."""
    path = make_file(tmp_path, "notes.txt", 1000)
    await linq.upload(path)
    (put,) = [r for r in fake.requests if r.method == "PUT"]
    assert put.site == "storage"
    assert put.headers["Content-Length"] == "1000"
    assert put.headers["Content-Type"] == "text/plain"
    assert "Transfer-Encoding" not in put.headers
    assert "Authorization" not in put.headers
    api = [r for r in fake.requests if r.site == "api"]
    assert api
    assert all(r.headers["Authorization"] == f"Bearer {fake.api_key}" for r in api)


async def test_bytes_are_sent_from_memory(linq: LinqSession, fake: FakeLinqServer) -> None:
    """Bytes-like input needs a filename and uploads as given."""
    data = os.urandom(CHUNK_SIZE + 5)
    upload = await linq.upload(memoryview(data), filename="blob.pdf")
    assert fake.attachments[upload.attachment_id].sha256 == hashlib.sha256(data).hexdigest()
    assert upload.content_type == "application/pdf"
    with pytest.raises(LinqUsageError, match="filename"):
        await linq.upload(data)


async def test_one_upload_serves_many_sends(
    linq: LinqSession, fake: FakeLinqServer, tmp_path: Path
) -> None:
    """An Upload passed in place of a file is sent again without another upload."""
    upload = await linq.upload(make_file(tmp_path))
    for recipient in ("+15550000001", "+15550000002"):
        result = await linq.upload_and_send(upload, from_=SENDER, to=recipient)
        assert result.upload is upload
    assert len(fake.attachments) == 1
    assert len([r for r in fake.requests if r.method == "PUT"]) == 1
    assert len(fake.messages) == 2


@pytest.mark.parametrize(
    ("setup", "kwargs", "match"),
    [
        (lambda p: p / "missing.png", {}, "no such file"),
        (lambda p: p, {}, "not a regular file"),
        (lambda p: make_file(p, "empty.png", 0), {}, "1 to 104,857,600"),
        (lambda p: make_file(p, "song.flac", 10), {}, "FLAC"),
        (lambda p: make_file(p, "tool.exe", 10), {}, "executables"),
        (lambda p: make_file(p, "data.unknownext", 10), {}, "cannot guess"),
        (lambda p: make_file(p, "a.png", 10), {"filename": "x" * 256}, "filename"),
        (lambda p: make_file(p, "a.png", 10), {"content_type": "application/x-foo"}, "supported"),
        (lambda p: make_file(p, "a.png", 10), {"from_": "+1"}, "from_"),
        (lambda p: make_file(p, "a.png", 10), {"to": ["+15550000001", "bad"]}, "E.164"),
        (lambda p: make_file(p, "a.png", 10), {"text": ""}, "text"),
    ],
)
async def test_local_checks_fail_before_any_request(
    linq: LinqSession,
    fake: FakeLinqServer,
    tmp_path: Path,
    setup,
    kwargs,
    match,  # type: ignore[no-untyped-def]
) -> None:
    """Each bad input raises LinqUsageError naming the problem, and nothing is sent."""
    call = {"from_": SENDER, "to": RECIPIENT, **kwargs}
    with pytest.raises(LinqUsageError, match=match):
        await linq.upload_and_send(setup(tmp_path), **call)
    assert fake.requests == []


async def test_a_file_over_100_mib_is_refused_locally(
    linq: LinqSession, fake: FakeLinqServer, tmp_path: Path
) -> None:
    """A sparse 100 MiB + 1 byte file is refused before any request."""
    path = sparse_file(tmp_path, "big.mp4", 104_857_601)
    with pytest.raises(LinqUsageError, match="104,857,601"):
        await linq.upload(path)
    assert fake.requests == []


async def test_100_mib_streams_with_small_memory(
    linq: LinqSession, fake: FakeLinqServer, tmp_path: Path
) -> None:
    """A 100 MiB sparse file uploads intact while Python allocations stay a few chunks."""
    path = sparse_file(tmp_path, "video.mp4", 104_857_600)
    tracemalloc.start()
    try:
        upload = await linq.upload(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    expected = hashlib.sha256(bytes(1024 * 1024))
    for _ in range(99):
        expected.update(bytes(1024 * 1024))
    assert fake.attachments[upload.attachment_id].sha256 == expected.hexdigest()
    # Client and fake server share this process; both stream, so the peak stays far below
    # the file's size (it would be over 100 MiB if either buffered the file).
    assert peak < 16 * 1024 * 1024


async def test_file_growing_during_upload_fails_without_sending(
    linq: LinqSession, fake: FakeLinqServer, tmp_path: Path
) -> None:
    """A file that grows mid-upload raises UploadError; no message is sent."""
    path = make_file(tmp_path, size=8 * CHUNK_SIZE)
    grown: list[int] = []

    def grow(sent: int, total: int) -> None:
        if not grown:  # the first report comes while chunks are still to be read
            grown.append(sent)
            with path.open("ab") as handle:
                handle.write(b"more")

    with pytest.raises(UploadError, match="grew"):
        await linq.upload_and_send(path, from_=SENDER, to=RECIPIENT, on_progress=grow)
    assert fake.messages == {}
    assert all(a.status != "complete" for a in fake.attachments.values())
    assert open_fds_for(path) == 0


async def test_file_shrinking_during_upload_fails_without_sending(
    linq: LinqSession, fake: FakeLinqServer, tmp_path: Path
) -> None:
    """A file truncated mid-upload raises UploadError; no message is sent."""
    path = make_file(tmp_path, size=8 * CHUNK_SIZE)
    shrunk: list[int] = []

    def shrink(sent: int, total: int) -> None:
        if not shrunk:  # the first report comes while chunks are still to be read
            shrunk.append(sent)
            os.truncate(path, 10)

    with pytest.raises(UploadError, match="shrank"):
        await linq.upload_and_send(path, from_=SENDER, to=RECIPIENT, on_progress=shrink)
    assert fake.messages == {}
    assert open_fds_for(path) == 0


async def test_file_vanishing_before_a_retry_fails_without_sending(
    linq: LinqSession, fake: FakeLinqServer, tmp_path: Path
) -> None:
    """The first PUT fails, the file is deleted, the retry cannot reopen it: UploadError."""
    path = make_file(tmp_path)
    fake.fail_next(503, method="PUT")

    def delete(sent: int, total: int) -> None:
        if path.exists():
            path.unlink()

    with pytest.raises(UploadError, match="cannot reopen"):
        await linq.upload_and_send(path, from_=SENDER, to=RECIPIENT, on_progress=delete)
    assert fake.messages == {}


async def test_5xx_on_put_is_retried_reopening_the_file(
    linq: LinqSession, fake: FakeLinqServer, tmp_path: Path, sleeps: SleepRecorder
) -> None:
    """Two 503s from storage, then success: three PUTs, each sending the whole file."""
    path = make_file(tmp_path)
    fake.fail_next(503, method="PUT", times=2)
    result = await linq.upload_and_send(path, from_=SENDER, to=RECIPIENT)
    assert fake.attachments[result.upload.attachment_id].sha256 == sha256(path)
    assert len([r for r in fake.requests if r.method == "PUT"]) == 3
    assert len(sleeps.delays) == 2
    assert len(fake.messages) == 1


async def test_dropped_connection_mid_upload_is_retried(
    linq: LinqSession, fake: FakeLinqServer, tmp_path: Path
) -> None:
    """Storage drops the connection half-way; the retry sends the whole file again."""
    path = make_file(tmp_path)
    fake.drop_upload(after_bytes=CHUNK_SIZE)
    result = await linq.upload_and_send(path, from_=SENDER, to=RECIPIENT)
    stored = fake.attachments[result.upload.attachment_id]
    assert stored.sha256 == sha256(path)
    assert len([r for r in fake.requests if r.method == "PUT"]) == 2
    assert len(fake.messages) == 1


async def test_expired_put_gets_one_fresh_slot(
    linq: LinqSession, fake: FakeLinqServer, tmp_path: Path
) -> None:
    """A PUT refused as expired asks for one new slot and uploads to it."""
    path = make_file(tmp_path)
    body = S3_ERROR.format(code="AccessDenied", message="Request has expired")
    fake.fail_next(403, method="PUT", body=body, content_type="application/xml")
    result = await linq.upload_and_send(path, from_=SENDER, to=RECIPIENT)
    assert len(fake.attachments) == 2
    assert fake.attachments[result.upload.attachment_id].status == "complete"
    assert len(fake.messages) == 1


async def test_expired_twice_gives_up(
    linq: LinqSession, fake: FakeLinqServer, tmp_path: Path
) -> None:
    """Only one fresh slot is asked for; a second expiry raises UploadExpiredError."""
    body = S3_ERROR.format(code="AccessDenied", message="Request has expired")
    fake.fail_next(403, method="PUT", body=body, content_type="application/xml", times=2)
    with pytest.raises(UploadExpiredError):
        await linq.upload_and_send(make_file(tmp_path), from_=SENDER, to=RECIPIENT)
    assert len(fake.attachments) == 2
    assert fake.messages == {}


async def test_slot_expired_before_the_put_is_not_sent(
    linq: LinqSession, fake: FakeLinqServer, tmp_path: Path
) -> None:
    """attachments.upload with a slot past expires_at raises before any PUT."""
    path = make_file(tmp_path, "a.png", 100)
    slot = await linq.attachments.create(filename="a.png", content_type="image/png", size_bytes=100)
    stale = attrs.evolve(slot, expires_at=datetime.now(timezone.utc) - timedelta(seconds=1))
    with pytest.raises(UploadExpiredError, match="expired"):
        await linq.attachments.upload(stale, path)
    assert [r for r in fake.requests if r.method == "PUT"] == []


async def test_urls_expired_at_the_server_are_refused(
    linq: LinqSession, fake: FakeLinqServer, tmp_path: Path
) -> None:
    """The fake's own expiry check: a slot it considers expired is refused by storage."""
    path = make_file(tmp_path, "a.png", 100)
    slot = await linq.attachments.create(filename="a.png", content_type="image/png", size_bytes=100)
    fake.expire_upload_urls()
    with pytest.raises(UploadExpiredError) as info:
        await linq.attachments.upload(slot, path)
    assert info.value.status == 403


async def test_wrong_size_slot_is_a_usage_error(
    linq: LinqSession, fake: FakeLinqServer, tmp_path: Path
) -> None:
    """A slot signed for another length is refused locally: the PUT could never succeed."""
    slot = await linq.attachments.create(filename="a.png", content_type="image/png", size_bytes=99)
    with pytest.raises(LinqUsageError, match="99"):
        await linq.attachments.upload(slot, make_file(tmp_path, "a.png", 100))


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("SignatureDoesNotMatch", "The request signature we calculated does not match"),
        ("AccessDenied", "Access Denied"),
        ("NotImplemented", "A header you provided implies functionality that is not implemented"),
    ],
)
async def test_s3_xml_errors_parse_into_upload_error(
    linq: LinqSession,
    fake: FakeLinqServer,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    code: str,
    message: str,
) -> None:
    """The S3 error code and message are surfaced; the signed query never is."""
    caplog.set_level(logging.DEBUG)
    body = S3_ERROR.format(code=code, message=message)
    fake.fail_next(403, method="PUT", body=body, content_type="application/xml")
    with pytest.raises(UploadError) as info:
        await linq.upload_and_send(make_file(tmp_path), from_=SENDER, to=RECIPIENT)
    err = info.value
    assert type(err) is UploadError
    assert (err.s3_code, err.status) == (code, 403)
    assert message in str(err)
    assert fake.messages == {}
    (attachment,) = fake.attachments.values()
    signature = attachment.upload_url.partition("?")[2]
    assert signature
    texts = [str(err), repr(err), *(r.getMessage() for r in caplog.records)]
    assert all(signature not in text and "X-Amz-Signature" not in text for text in texts)


async def test_connection_failures_never_show_the_signature(
    fake: FakeLinqServer, tmp_path: Path, caplog: pytest.LogCaptureFixture, sleeps: SleepRecorder
) -> None:
    """Dropped uploads, retried and then given up, leak no signature into logs or errors."""
    caplog.set_level(logging.DEBUG)
    fake.drop_upload(after_bytes=10, times=5)
    retry = RetryPolicy(sleep=sleeps)
    async with LinqSession(fake.api_key, base_url=fake.base_url, retry=retry) as linq:
        with pytest.raises(UploadError) as info:
            await linq.upload(make_file(tmp_path))
    (attachment,) = fake.attachments.values()
    signature = attachment.upload_url.partition("?")[2]
    texts = [str(info.value), repr(info.value), *(r.getMessage() for r in caplog.records)]
    assert all(signature not in text for text in texts)
    assert "upload of attachment" in caplog.text


async def test_cancel_mid_upload_closes_everything_and_sends_nothing(
    linq: LinqSession, fake: FakeLinqServer, tmp_path: Path
) -> None:
    """Cancelling during the PUT closes the file and sends no message."""
    path = make_file(tmp_path, size=8 * CHUNK_SIZE)
    started = asyncio.Event()

    def progress(sent: int, total: int) -> None:
        started.set()

    task = asyncio.create_task(
        linq.upload_and_send(path, from_=SENDER, to=RECIPIENT, on_progress=progress)
    )
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.sleep(0)
    assert open_fds_for(path) == 0
    assert fake.messages == {}
    assert all(a.status != "complete" for a in fake.attachments.values())
    # The session is still usable afterwards.
    await linq.chats.create(from_=SENDER, to=RECIPIENT, text="still works")


async def test_upload_result_is_reusable_value(linq: LinqSession, tmp_path: Path) -> None:
    """An Upload is a plain frozen value with the id, name, type, size and URL."""
    upload = await linq.upload(make_file(tmp_path, "a.heic", 10))
    assert isinstance(upload, Upload)
    assert (upload.filename, upload.content_type, upload.size_bytes) == ("a.heic", "image/heic", 10)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        upload.size_bytes = 11  # type: ignore[misc]


@pytest.mark.parametrize("slow_read", [60.0, 0.0])
async def test_reads_in_the_loop_or_in_a_thread_send_the_same_bytes(
    linq: LinqSession,
    fake: FakeLinqServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    slow_read: float,
) -> None:
    """Page-cache reads stay in the event loop; once reads count as slow (SLOW_READ=0 makes
    every read slow) the rest go to a worker thread: the bytes stored are the same."""
    monkeypatch.setattr(linq_async._upload, "SLOW_READ", slow_read)
    threaded: list[str] = []

    class Counting(ThreadPoolExecutor):
        def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
            threaded.append(getattr(fn, "__name__", repr(fn)))
            return super().submit(fn, *args, **kwargs)

    asyncio.get_running_loop().set_default_executor(Counting(max_workers=2))
    path = make_file(tmp_path, size=5 * CHUNK_SIZE + 7)
    upload = await linq.upload(path)
    stored = fake.attachments[upload.attachment_id]
    assert stored.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    reads_in_threads = threaded.count("_read_full")
    if slow_read:
        assert reads_in_threads == 0, threaded
    else:  # 6 reads or more: the first SLOW_READS (3) in the loop, the others in a thread
        assert reads_in_threads >= 3, threaded
