"""upload_and_send, broadcast and upload end to end on real S3 (SeaweedFS), via S3Storage.

The fake presigns its upload URLs against the session's SeaweedFS (fixture ``s3_target``), so
every upload here is a SigV4 presigned PUT that SeaweedFS verifies, and the fake learns what
was stored by reading the object back from S3 (``S3Storage.refresh``).
"""

from __future__ import annotations

import hashlib
import os
import uuid
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import attrs
import pytest
import yarl
from _support import RECIPIENT, SENDER, SleepRecorder

from linq_async import LinqSession, UploadError
from linq_async._upload import CHUNK_SIZE
from linq_async.testing import FakeLinqServer, S3Storage, S3Target

MiB = 1024 * 1024


@pytest.fixture
async def fake(s3_target: S3Target) -> AsyncIterator[FakeLinqServer]:
    """A FakeLinqServer whose upload URLs are presigned PUTs to SeaweedFS."""
    async with FakeLinqServer(storage=S3Storage(s3_target)) as server:
        yield server


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    """A plain aiohttp session, closed after the test."""
    async with aiohttp.ClientSession() as session:
        yield session


def make_file(tmp_path: Path, name: str = "photo.png", size: int = 6 * CHUNK_SIZE + 123) -> Path:
    path = tmp_path / name
    path.write_bytes(os.urandom(size))
    return path


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(MiB):
            digest.update(chunk)
    return digest.hexdigest()


def s3_code(text: str) -> str:
    return ET.fromstring(text).findtext("Code") or ""


def storage_requests(fake: FakeLinqServer) -> list[str]:
    return [f"{r.method} {r.path}" for r in fake.requests if r.site == "storage"]


@pytest.mark.s3
async def test_upload_and_send_runs_end_to_end_on_s3(
    linq: LinqSession, fake: FakeLinqServer, s3_target: S3Target, tmp_path: Path
) -> None:
    """A multi-chunk file goes to S3 and is sent; the sha256 the fake read from S3 matches."""
    path = make_file(tmp_path)
    assert path.stat().st_size > 3 * MiB
    result = await linq.upload_and_send(path, from_=SENDER, to=RECIPIENT, text="from S3")
    attachment_id = result.upload.attachment_id
    stored = fake.attachments[attachment_id]
    assert stored.upload_url is not None
    assert stored.upload_url.startswith(
        f"{s3_target.endpoint}/{s3_target.bucket}/{attachment_id}/photo.png?"
    )
    assert (stored.status, stored.received_bytes) == ("complete", path.stat().st_size)
    assert stored.sha256 == sha256_of(path)
    assert fake.messages[result.message.id].parts == [
        {"type": "text", "value": "from S3"},
        {"type": "media", "attachment_id": attachment_id},
    ]
    assert storage_requests(fake) == []  # the bytes went to S3, not to the fake
    assert (await linq.attachments.get(attachment_id)).status == "complete"


@pytest.mark.s3
async def test_status_follows_the_object_in_s3(
    linq: LinqSession,
    fake: FakeLinqServer,
    s3_target: S3Target,
    tmp_path: Path,
    http: aiohttp.ClientSession,
) -> None:
    """GET attachment is pending before the PUT, then tracks the object as S3 replaces it."""
    path = make_file(tmp_path, size=100_000)
    slot = await linq.attachments.create(
        filename="photo.png", content_type="image/png", size_bytes=100_000
    )
    assert (await linq.attachments.get(slot.attachment_id)).status == "pending"
    await linq.attachments.upload(slot, path)
    assert (await linq.attachments.get(slot.attachment_id)).status == "complete"
    stored = fake.attachments[slot.attachment_id]
    assert stored.sha256 == sha256_of(path)

    # Replaced behind the fake's back (same size, other bytes): the next read re-hashes.
    other = os.urandom(100_000)
    key = f"{slot.attachment_id}/photo.png"
    url, headers = s3_target.presign_put(key, content_type="image/png", content_length=100_000)
    async with http.put(yarl.URL(url, encoded=True), data=other, headers=headers) as resp:
        assert resp.status == 200, await resp.text()
    assert (await linq.attachments.get(slot.attachment_id)).status == "complete"
    assert stored.sha256 == hashlib.sha256(other).hexdigest()

    # Deleted from the bucket: pending again.
    async with http.delete(yarl.URL(s3_target.presign_url("DELETE", key), encoded=True)) as resp:
        assert resp.status == 204, await resp.text()
    assert (await linq.attachments.get(slot.attachment_id)).status == "pending"
    assert (stored.sha256, stored.received_bytes) == (None, 0)


@pytest.mark.s3
async def test_broadcast_of_one_upload_works_on_s3(
    linq: LinqSession, fake: FakeLinqServer, tmp_path: Path
) -> None:
    """One S3 upload is broadcast to five recipients, each in their own chat."""
    path = make_file(tmp_path, "flyer.pdf", size=2 * CHUNK_SIZE + 7)
    recipients = [f"+1555000{n:04d}" for n in range(5)]
    report = await linq.broadcast(path, from_=SENDER, recipients=recipients, text="Sale!")
    assert (report.sent, report.failed) == (5, 0)
    assert len(fake.attachments) == 1
    assert len(fake.chats) == 5
    stored = fake.attachments[report.upload.attachment_id]
    assert stored.sha256 == sha256_of(path)
    media = {"type": "media", "attachment_id": report.upload.attachment_id}
    assert all(message.parts[1] == media for message in fake.messages.values())
    assert storage_requests(fake) == []


@pytest.mark.s3
async def test_api_503s_are_retried_and_the_s3_upload_still_works(
    linq: LinqSession, fake: FakeLinqServer, sleeps: SleepRecorder, tmp_path: Path
) -> None:
    """503s on the slot request and on the send are retried; the file still lands in S3."""
    fake.fail_next(503, method="POST", path="/v3/attachments", times=2)
    fake.fail_next(503, method="POST", path="/v3/chats")
    path = make_file(tmp_path)
    result = await linq.upload_and_send(path, from_=SENDER, to=RECIPIENT)
    slot_requests = [
        r.status for r in fake.requests if r.method == "POST" and r.path.endswith("/attachments")
    ]
    assert slot_requests == [503, 503, 200]
    assert len(sleeps.delays) == 3
    assert list(fake.attachments) == [result.upload.attachment_id]
    assert len(fake.messages) == 1
    assert fake.attachments[result.upload.attachment_id].sha256 == sha256_of(path)


@pytest.mark.s3
async def test_chunked_put_to_an_s3_url_is_refused(
    fake: FakeLinqServer, http: aiohttp.ClientSession
) -> None:
    """Without the SDK: a chunked PUT (no Content-Length) to the fake's S3 URL is refused."""
    body = os.urandom(3 * 65536)
    async with http.post(
        f"{fake.base_url}/v3/attachments",
        json={"filename": "photo.png", "content_type": "image/png", "size_bytes": len(body)},
        headers={"Authorization": f"Bearer {fake.api_key}"},
    ) as resp:
        assert resp.status == 200, await resp.text()
        slot = await resp.json()

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 65536):
            yield body[start : start + 65536]

    headers = {"Content-Type": slot["required_headers"]["Content-Type"]}
    url = yarl.URL(slot["upload_url"], encoded=True)
    async with http.put(url, data=chunks(), headers=headers) as resp:
        sent = resp.request_info.headers
        assert sent.get("Transfer-Encoding") == "chunked"
        assert "Content-Length" not in sent
        # SeaweedFS: 403 SignatureDoesNotMatch (content-length is signed); AWS: 411.
        assert resp.status == 403
        assert s3_code(await resp.text()) == "SignatureDoesNotMatch"
    async with http.get(
        f"{fake.base_url}/v3/attachments/{slot['attachment_id']}",
        headers={"Authorization": f"Bearer {fake.api_key}"},
    ) as resp:
        assert (await resp.json())["status"] == "pending"


@pytest.mark.s3
async def test_put_with_another_content_type_is_refused_by_s3(
    linq: LinqSession, fake: FakeLinqServer, tmp_path: Path
) -> None:
    """A slot whose Content-Type was tampered fails with UploadError SignatureDoesNotMatch."""
    path = make_file(tmp_path, size=50_000)
    slot = await linq.attachments.create(
        filename="photo.png", content_type="image/png", size_bytes=50_000
    )
    tampered = attrs.evolve(
        slot, required_headers={**slot.required_headers, "Content-Type": "image/jpeg"}
    )
    with pytest.raises(UploadError) as info:
        await linq.attachments.upload(tampered, path)
    assert (info.value.status, info.value.s3_code) == (403, "SignatureDoesNotMatch")
    assert (await linq.attachments.get(slot.attachment_id)).status == "pending"
    await linq.attachments.upload(slot, path)  # the untampered slot still works
    assert (await linq.attachments.get(slot.attachment_id)).status == "complete"
    assert fake.attachments[slot.attachment_id].sha256 == sha256_of(path)


@pytest.mark.s3
async def test_100_mib_sparse_file_uploads_to_s3(
    linq: LinqSession, fake: FakeLinqServer, tmp_path: Path
) -> None:
    """The largest allowed file (100 MiB, sparse) reaches S3 whole, with the same sha256."""
    path = tmp_path / "big.mp4"
    size = 100 * MiB
    with path.open("wb") as fh:
        fh.write(b"head")
        fh.truncate(size)
        fh.seek(size - 4)
        fh.write(b"tail")
    upload = await linq.upload(path)
    assert (await linq.attachments.get(upload.attachment_id)).status == "complete"
    stored = fake.attachments[upload.attachment_id]
    assert (stored.received_bytes, stored.size_bytes) == (size, size)
    assert stored.sha256 == sha256_of(path)


@pytest.mark.s3
async def test_s3_shorthand_and_its_limits(s3_target: S3Target) -> None:
    """FakeLinqServer(s3=target) presigns to S3; with storage= too it is refused; no expiry."""
    with pytest.raises(ValueError, match="not both"):
        FakeLinqServer(s3=s3_target, storage=S3Storage(s3_target))
    async with FakeLinqServer(s3=s3_target) as server:
        async with LinqSession(server.api_key, base_url=server.base_url) as session:
            upload = await session.upload(b"hello", filename=f"{uuid.uuid4().hex}.txt")
            assert (await session.attachments.get(upload.attachment_id)).status == "complete"
        stored = server.attachments[upload.attachment_id]
        assert stored.upload_url is not None
        assert stored.upload_url.startswith(f"{s3_target.endpoint}/{s3_target.bucket}/")
        assert stored.sha256 == hashlib.sha256(b"hello").hexdigest()
        with pytest.raises(NotImplementedError):
            server.expire_upload_urls()
