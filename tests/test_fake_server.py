"""FakeLinqServer, driven by a plain aiohttp client over real sockets (no SDK involved).

Every rule the fake enforces has a test with a client that breaks it and is refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import json
import re
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import aiohttp
import pytest
import yarl

from linq_async.testing import FakeLinqServer

SENDER = "+15550001111"
ALICE = "+15550002222"
BOB = "+15550003333"
MIB = 1024 * 1024


@pytest.fixture
async def fake() -> AsyncIterator[FakeLinqServer]:
    """A running fake, closed after the test."""
    async with FakeLinqServer() as server:
        yield server


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    """A plain aiohttp session, closed after the test."""
    async with aiohttp.ClientSession() as session:
        yield session


class _Api:
    """Calls the fake's API the way a minimal client would."""

    def __init__(self, fake: FakeLinqServer, http: aiohttp.ClientSession) -> None:
        self.fake = fake
        self.http = http

    async def call(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        data: bytes | None = None,
        headers: dict[str, str] | None = None,
        params: dict[str, str] | None = None,
        auth: bool = True,
    ) -> tuple[int, Any]:
        sent = {"Authorization": f"Bearer {self.fake.api_key}"} if auth else {}
        sent.update(headers or {})
        if json_body is not None:
            data = json.dumps(json_body).encode()
            sent.setdefault("Content-Type", "application/json")
        url = yarl.URL(self.fake.base_url + path)
        if params:
            url = url.with_query(params)
        async with self.http.request(method, url, data=data, headers=sent) as response:
            raw = await response.read()
            return response.status, (json.loads(raw) if raw else None)

    async def slot(
        self, *, size: int = 5, content_type: str = "image/png", filename: str = "photo.png"
    ) -> dict[str, Any]:
        status, body = await self.call(
            "POST",
            "/v3/attachments",
            json_body={"filename": filename, "content_type": content_type, "size_bytes": size},
        )
        assert status == 200, body
        return dict(body)

    async def uploaded(self, data: bytes = b"hello") -> str:
        slot = await self.slot(size=len(data))
        status, _ = await _put(self.http, slot, data)
        assert status == 200
        return str(slot["attachment_id"])

    async def chat(
        self,
        parts: list[dict[str, Any]] | None = None,
        *,
        to: list[str] | None = None,
        **message: Any,
    ) -> tuple[int, Any]:
        message["parts"] = parts if parts is not None else [{"type": "text", "value": "hi"}]
        body = {"from": SENDER, "to": to or [ALICE], "message": message}
        return await self.call("POST", "/v3/chats", json_body=body)

    async def send(
        self, chat_id: str, parts: list[dict[str, Any]], **message: Any
    ) -> tuple[int, Any]:
        message["parts"] = parts
        return await self.call(
            "POST", f"/v3/chats/{chat_id}/messages", json_body={"message": message}
        )


@pytest.fixture
def api(fake: FakeLinqServer, http: aiohttp.ClientSession) -> _Api:
    """API calls against the fake."""
    return _Api(fake, http)


async def _put(
    http: aiohttp.ClientSession,
    slot: dict[str, Any],
    data: Any,
    *,
    headers: dict[str, str] | None = None,
    url: yarl.URL | None = None,
    method: str = "PUT",
) -> tuple[int, str]:
    sent = dict(slot["required_headers"]) if headers is None else headers
    target = url if url is not None else yarl.URL(slot["upload_url"], encoded=True)
    async with http.request(method, target, data=data, headers=sent) as response:
        return response.status, await response.text()


async def _zeros(size: int) -> AsyncIterator[bytes]:
    """A body of ``size`` zero bytes, streamed in 256 KiB chunks."""
    chunk = bytes(256 * 1024)
    while size > 0:
        yield chunk[:size]
        size -= len(chunk)


def _s3_code(text: str) -> str:
    root = ET.fromstring(text)
    assert root.tag == "Error"
    assert root.findtext("RequestId")
    return root.findtext("Code") or ""


def _error(body: Any, status: int, code: int) -> str:
    assert body["success"] is False
    assert body["error"]["status"] == status
    assert body["error"]["code"] == code
    assert body["error"]["doc_url"].endswith(f"/{code}/")
    assert re.fullmatch(r"[0-9a-f]{32}", body["trace_id"])
    return str(body["error"]["message"])


async def _raw_put(
    url: str, headers: list[str], body: bytes = b"", *, hang_up: bool = False
) -> bytes:
    """Send a hand-made PUT (what aiohttp's client will not produce) and read the answer."""
    target = yarl.URL(url, encoded=True)
    reader, writer = await asyncio.open_connection(target.host, target.port)
    try:
        lines = [f"PUT {target.raw_path_qs} HTTP/1.1", f"Host: {target.host}:{target.port}"]
        lines += [*headers, "Connection: close"]
        if hang_up:
            # Wait for 100 Continue, so the fake is handling the request before the hang-up.
            lines.append("Expect: 100-continue")
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        if hang_up:
            assert (await reader.readuntil(b"\r\n\r\n")).startswith(b"HTTP/1.1 100")
        writer.write(body)
        if hang_up:
            writer.write_eof()
        return await reader.read()
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


# Lifecycle and addresses


async def test_sites_listen_on_loopback_on_two_ports(fake: FakeLinqServer) -> None:
    """The API and storage sites are on 127.0.0.1, on different free ports."""
    api_url = yarl.URL(fake.base_url)
    storage_url = yarl.URL(fake.storage_url)
    assert api_url.host == storage_url.host == "127.0.0.1"
    assert api_url.path == "/api/partner"
    assert api_url.port != storage_url.port
    assert fake.api_key


async def test_explicit_api_key_and_manual_lifecycle() -> None:
    """start/close work without a context manager; close is idempotent; restart is refused."""
    fake = FakeLinqServer(api_key="secret")
    with pytest.raises(RuntimeError):
        _ = fake.base_url
    await fake.start()
    try:
        assert fake.api_key == "secret"
        with pytest.raises(RuntimeError):
            await fake.start()
    finally:
        await fake.close()
    await fake.close()
    with pytest.raises(RuntimeError):
        _ = fake.storage_url


def test_generated_api_keys_differ() -> None:
    """Without api_key each fake makes up its own random key."""
    assert FakeLinqServer().api_key != FakeLinqServer().api_key


@pytest.mark.parametrize(
    "kwargs",
    [
        {"api_key": ""},
        {"upload_ttl": dt.timedelta(0)},
        {"upload_ttl": dt.timedelta(days=8)},
        {"upload_ttl": dt.timedelta(seconds=1.5)},
    ],
)
def test_bad_constructor_arguments_are_refused(kwargs: dict[str, Any]) -> None:
    """An empty api_key or an upload_ttl outside whole 1 s..7 days raises ValueError."""
    with pytest.raises(ValueError):  # noqa: PT011
        FakeLinqServer(**kwargs)


# Authentication, routing, bodies


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic x"}, {"Authorization": ""}],
)
async def test_requests_without_the_api_key_are_401_2004(
    api: _Api, fake: FakeLinqServer, headers: dict[str, str]
) -> None:
    """A missing or wrong bearer token is refused with 401, code 2004."""
    status, body = await api.call("GET", "/v3/chats", headers=headers, auth=False)
    assert status == 401
    _error(body, 401, 2004)
    status, body = await api.call("POST", "/v3/chats", json_body={}, headers=headers, auth=False)
    assert status == 401
    assert fake.chats == {}


async def test_error_envelope_has_the_documented_shape(api: _Api) -> None:
    """Errors carry success, error{status, code, message, doc_url} and a fresh trace_id."""
    _, first = await api.call("GET", "/v3/chats", auth=False)
    _, second = await api.call("GET", "/v3/chats", auth=False)
    assert set(first) == {"success", "error", "trace_id"}
    assert set(first["error"]) == {"status", "code", "message", "doc_url"}
    assert first["error"]["doc_url"] == "https://docs.linqapp.com/error/codes/2xxx/2004/"
    assert first["trace_id"] != second["trace_id"]


async def test_paths_outside_the_base_path_are_404(
    fake: FakeLinqServer, http: aiohttp.ClientSession
) -> None:
    """A client that drops /api/partner from the base URL gets 404."""
    url = yarl.URL(fake.base_url).with_path("/v3/chats")
    headers = {"Authorization": f"Bearer {fake.api_key}"}
    async with http.get(url, headers=headers) as response:
        assert response.status == 404
        _error(await response.json(), 404, 2001)


async def test_unknown_routes_and_methods_are_refused(api: _Api) -> None:
    """Unknown paths answer 404 (2001), known paths with the wrong method 405."""
    status, body = await api.call("GET", "/v3/chatz")
    assert status == 404
    _error(body, 404, 2001)
    status, body = await api.call("GET", "/v3/chats/")
    assert status == 404
    status, body = await api.call("DELETE", "/v3/chats")
    assert status == 405
    _error(body, 405, 1005)


@pytest.mark.parametrize(
    ("content_type", "data"),
    [
        ("text/plain", b'{"filename": "a"}'),
        (None, b'{"filename": "a"}'),
        ("application/json", b'{"filename": '),
        ("application/json", b""),
        ("application/json", b"[1, 2]"),
        ("application/json", b'{"size_bytes": NaN}'),
        ("application/json", b"\xff\xfe\x00"),
    ],
)
async def test_bodies_that_are_not_json_objects_are_1003(
    api: _Api, fake: FakeLinqServer, content_type: str | None, data: bytes
) -> None:
    """A wrong Content-Type, invalid JSON or a non-object body is refused with 1003."""
    headers = {"Content-Type": content_type} if content_type else {}
    status, body = await api.call("POST", "/v3/attachments", data=data, headers=headers)
    assert status == 400
    _error(body, 400, 1003)
    assert fake.attachments == {}


# Attachments


async def test_create_attachment_returns_the_documented_slot(
    api: _Api, fake: FakeLinqServer
) -> None:
    """POST /v3/attachments answers the slot with a presigned URL on the storage host."""
    before = dt.datetime.now(dt.timezone.utc)
    slot = await api.slot(size=123, content_type="application/pdf", filename="a b/c.pdf")
    assert set(slot) == {
        "attachment_id",
        "upload_url",
        "download_url",
        "http_method",
        "expires_at",
        "required_headers",
    }
    assert slot["http_method"] == "PUT"
    assert slot["required_headers"] == {"Content-Type": "application/pdf", "Content-Length": "123"}
    assert slot["expires_at"].endswith("Z")
    expires = dt.datetime.fromisoformat(slot["expires_at"].replace("Z", "+00:00"))
    assert dt.timedelta(minutes=14) < expires - before <= dt.timedelta(minutes=15, seconds=1)
    url = slot["upload_url"]
    assert url.startswith(f"{fake.storage_url}/linq-uploads/{slot['attachment_id']}/a%20b%2Fc.pdf?")
    query = url.partition("?")[2]
    assert re.fullmatch(
        r"X-Amz-Algorithm=AWS4-HMAC-SHA256"
        r"&X-Amz-Credential=FAKEKEY%2F\d{8}%2Fus-east-1%2Fs3%2Faws4_request"
        r"&X-Amz-Date=\d{8}T\d{6}Z&X-Amz-Expires=900"
        r"&X-Amz-SignedHeaders=content-length%3Bcontent-type%3Bhost"
        r"&X-Amz-Signature=[0-9a-f]{64}",
        query,
    )
    record = fake.attachments[slot["attachment_id"]]
    assert (record.filename, record.size_bytes, record.status) == ("a b/c.pdf", 123, "pending")
    assert record.upload_attempts == 0
    assert record.sha256 is None
    assert record.upload_url == url
    assert record.upload_expires_at == expires


async def test_upload_ttl_sets_the_url_lifetime(http: aiohttp.ClientSession) -> None:
    """upload_ttl changes X-Amz-Expires and expires_at."""
    async with FakeLinqServer(upload_ttl=dt.timedelta(seconds=60)) as fake:
        slot = await _Api(fake, http).slot()
    assert "X-Amz-Expires=60&" in slot["upload_url"]
    expires = dt.datetime.fromisoformat(slot["expires_at"].replace("Z", "+00:00"))
    assert expires - dt.datetime.now(dt.timezone.utc) <= dt.timedelta(seconds=60)


@pytest.mark.parametrize("size", [1, 104_857_600])
async def test_size_limits_are_inclusive(api: _Api, size: int) -> None:
    """size_bytes of 1 and of exactly 100 MiB are accepted."""
    slot = await api.slot(size=size)
    assert slot["required_headers"]["Content-Length"] == str(size)


_GOOD_SLOT = {"filename": "a.png", "content_type": "image/png", "size_bytes": 5}


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"filename": None}, 1001),
        ({"content_type": None}, 1001),
        ({"size_bytes": None}, 1001),
        ({"filename": ""}, 1005),
        ({"filename": "x" * 256}, 1005),
        ({"filename": 7}, 1005),
        ({"content_type": "audio/flac"}, 1005),
        ({"content_type": "IMAGE/PNG"}, 1005),
        ({"size_bytes": 0}, 1005),
        ({"size_bytes": 104_857_601}, 1005),
        ({"size_bytes": True}, 1005),
        ({"size_bytes": "5"}, 1005),
        ({"size_bytes": 5.0}, 1005),
        ({"extra": 1}, 1005),
    ],
)
async def test_bad_attachment_requests_are_refused(
    api: _Api, fake: FakeLinqServer, change: dict[str, Any], code: int
) -> None:
    """Missing fields are 1001; bad values, unknown types and unknown fields are 1005."""
    body = {**_GOOD_SLOT, **change}
    body = {key: value for key, value in body.items() if value is not None}
    status, answer = await api.call("POST", "/v3/attachments", json_body=body)
    assert status == 400
    _error(answer, 400, code)
    assert fake.attachments == {}


async def test_get_attachment_shows_pending_then_complete(api: _Api) -> None:
    """GET /v3/attachments/{id} answers the documented shape; status follows the upload."""
    slot = await api.slot()
    status, body = await api.call("GET", f"/v3/attachments/{slot['attachment_id']}")
    assert status == 200
    assert set(body) == {
        "id",
        "filename",
        "content_type",
        "size_bytes",
        "status",
        "download_url",
        "created_at",
    }
    assert (body["id"], body["status"], body["size_bytes"]) == (slot["attachment_id"], "pending", 5)
    assert body["download_url"] == slot["download_url"]
    assert body["created_at"].endswith("Z")
    await _put(api.http, slot, b"hello")
    _, body = await api.call("GET", f"/v3/attachments/{slot['attachment_id']}")
    assert body["status"] == "complete"


@pytest.mark.parametrize("attachment_id", [str(uuid.uuid4()), "not-a-uuid"])
async def test_unknown_attachment_is_404_2003(api: _Api, attachment_id: str) -> None:
    """GET of an unknown or malformed attachment id answers 404, code 2003."""
    status, body = await api.call("GET", f"/v3/attachments/{attachment_id}")
    assert status == 404
    _error(body, 404, 2003)


async def test_delete_attachment_then_its_url_is_gone(api: _Api, fake: FakeLinqServer) -> None:
    """DELETE answers 204 with no body; later GETs are 404 and the upload URL NoSuchKey."""
    slot = await api.slot()
    attachment_id = slot["attachment_id"]
    assert await api.call("DELETE", f"/v3/attachments/{attachment_id}") == (204, None)
    assert attachment_id not in fake.attachments
    status, body = await api.call("GET", f"/v3/attachments/{attachment_id}")
    assert status == 404
    status, body = await api.call("DELETE", f"/v3/attachments/{attachment_id}")
    assert status == 404
    _error(body, 404, 2003)
    status, text = await _put(api.http, slot, b"hello")
    assert (status, _s3_code(text)) == (404, "NoSuchKey")


async def test_delete_with_a_malformed_id_is_400(api: _Api) -> None:
    """DELETE /v3/attachments/{id} with a non-UUID id answers 400 (as documented), not 404."""
    status, body = await api.call("DELETE", "/v3/attachments/nope")
    assert status == 400
    _error(body, 400, 1005)


# The presigned PUT


async def test_upload_completes_the_attachment(api: _Api, fake: FakeLinqServer) -> None:
    """A PUT with the URL as issued and the required headers stores the body: 200 and ETag."""
    slot = await api.slot(size=5)
    status, text = await _put(api.http, slot, b"hello")
    assert (status, text) == (200, "")
    record = fake.attachments[slot["attachment_id"]]
    assert record.status == "complete"
    assert record.received_bytes == 5
    assert record.sha256 == hashlib.sha256(b"hello").hexdigest()
    assert record.upload_attempts == 1
    put = fake.requests[-1]
    assert (put.site, put.method, put.status, put.body) == ("storage", "PUT", 200, None)
    assert "Authorization" not in put.headers


async def test_upload_etag_is_the_body_md5(api: _Api) -> None:
    """The ETag is the quoted MD5 of the body, as S3 answers for a single PUT."""
    slot = await api.slot(size=5)
    url = yarl.URL(slot["upload_url"], encoded=True)
    async with api.http.put(url, data=b"hello", headers=slot["required_headers"]) as response:
        assert response.headers["ETag"] == f'"{hashlib.md5(b"hello").hexdigest()}"'


async def test_large_upload_is_streamed_in_chunks(api: _Api, fake: FakeLinqServer) -> None:
    """A multi-MiB body sent from a generator with an explicit Content-Length is stored."""
    size = 6 * MIB + 3
    chunk = bytes(range(256)) * 4096  # 1 MiB
    expected = hashlib.sha256()

    async def body() -> AsyncIterator[bytes]:
        sent = 0
        while sent < size:
            piece = chunk[: size - sent]
            expected.update(piece)
            sent += len(piece)
            yield piece

    slot = await api.slot(size=size, content_type="video/mp4")
    headers = dict(slot["required_headers"])
    status, _ = await _put(api.http, slot, body(), headers=headers)
    assert status == 200
    record = fake.attachments[slot["attachment_id"]]
    assert record.sha256 == expected.hexdigest()
    assert record.received_bytes == size


async def test_requoted_upload_url_fails_the_signature(api: _Api, fake: FakeLinqServer) -> None:
    """A client that re-quotes the URL (%2F to /) is refused with SignatureDoesNotMatch."""
    slot = await api.slot()
    requoted = yarl.URL(slot["upload_url"])
    assert "FAKEKEY/" in requoted.raw_query_string
    status, text = await _put(api.http, slot, b"hello", url=requoted)
    assert (status, _s3_code(text)) == (403, "SignatureDoesNotMatch")
    record = fake.attachments[slot["attachment_id"]]
    assert (record.status, record.upload_attempts) == ("pending", 1)


def _tamper(url: str, old: str, new: str) -> yarl.URL:
    assert old in url
    return yarl.URL(url.replace(old, new), encoded=True)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("X-Amz-Expires=900", "X-Amz-Expires=9000"),
        ("X-Amz-Signature=", "X-Amz-Signature=0"),
        ("&X-Amz-Signature=", "&X-Amz-Nothing="),
        ("X-Amz-Algorithm=AWS4-HMAC-SHA256&", ""),
        ("photo.png", "other.png"),
    ],
)
async def test_tampered_upload_urls_fail_the_signature(api: _Api, old: str, new: str) -> None:
    """Changing any part of the query or the key is refused with SignatureDoesNotMatch."""
    slot = await api.slot()
    status, text = await _put(api.http, slot, b"hello", url=_tamper(slot["upload_url"], old, new))
    assert (status, _s3_code(text)) == (403, "SignatureDoesNotMatch")


async def test_a_url_is_valid_only_for_its_own_attachment(api: _Api) -> None:
    """One slot's signature on another slot's key is refused with SignatureDoesNotMatch."""
    first, second = await api.slot(), await api.slot()
    swapped = _tamper(first["upload_url"], first["attachment_id"], second["attachment_id"])
    status, text = await _put(api.http, first, b"hello", url=swapped)
    assert (status, _s3_code(text)) == (403, "SignatureDoesNotMatch")


async def test_expired_upload_urls_are_access_denied(api: _Api, fake: FakeLinqServer) -> None:
    """After expire_upload_urls old URLs answer AccessDenied; new slots get a full TTL."""
    old = await api.slot()
    fake.expire_upload_urls()
    status, text = await _put(api.http, old, b"hello")
    assert (status, _s3_code(text)) == (403, "AccessDenied")
    assert "Request has expired" in text
    new = await api.slot()
    assert (await _put(api.http, new, b"hello"))[0] == 200
    assert fake.attachments[old["attachment_id"]].status == "pending"


@pytest.mark.parametrize(
    "headers",
    [
        {"Content-Type": "image/jpeg"},
        {"Content-Type": "image/png; charset=binary"},
        {},
    ],
)
async def test_upload_with_another_content_type_fails_the_signature(
    api: _Api, headers: dict[str, str]
) -> None:
    """A Content-Type other than the signed one (aiohttp's default included) is refused."""
    slot = await api.slot()
    status, text = await _put(api.http, slot, b"hello", headers=headers)
    assert (status, _s3_code(text)) == (403, "SignatureDoesNotMatch")


async def test_upload_with_another_host_header_fails_the_signature(api: _Api) -> None:
    """The Host header is signed: another value is refused."""
    slot = await api.slot()
    headers = {**slot["required_headers"], "Host": "localhost"}
    status, text = await _put(api.http, slot, b"hello", headers=headers)
    assert (status, _s3_code(text)) == (403, "SignatureDoesNotMatch")


@pytest.mark.parametrize("data", [b"hell", b"hello!"])
async def test_upload_of_another_length_fails_the_signature(
    api: _Api, fake: FakeLinqServer, data: bytes
) -> None:
    """A body whose Content-Length is not the declared size_bytes is refused with 403."""
    slot = await api.slot(size=5)
    headers = {"Content-Type": "image/png"}
    status, text = await _put(api.http, slot, data, headers=headers)
    assert (status, _s3_code(text)) == (403, "SignatureDoesNotMatch")
    assert fake.attachments[slot["attachment_id"]].status == "pending"


async def test_chunked_upload_is_not_implemented(api: _Api, fake: FakeLinqServer) -> None:
    """A body streamed without Content-Length (chunked) is refused with 501 before reading."""

    async def body() -> AsyncIterator[bytes]:
        yield b"hel"
        yield b"lo"

    slot = await api.slot(size=5)
    status, text = await _put(api.http, slot, body(), headers={"Content-Type": "image/png"})
    assert (status, _s3_code(text)) == (501, "NotImplemented")
    assert "implies functionality that is not implemented" in text
    put = fake.requests[-1]
    assert put.headers["Transfer-Encoding"] == "chunked"
    assert fake.attachments[slot["attachment_id"]].received_bytes == 0


async def test_upload_without_content_length_is_411(api: _Api, fake: FakeLinqServer) -> None:
    """A PUT with neither Content-Length nor chunked encoding is refused with 411."""
    slot = await api.slot(size=5)
    answer = await _raw_put(slot["upload_url"], ["Content-Type: image/png"])
    head, _, text = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 411")
    assert _s3_code(text.decode()) == "MissingContentLength"
    assert fake.attachments[slot["attachment_id"]].status == "pending"


async def test_upload_with_authorization_is_refused(api: _Api, fake: FakeLinqServer) -> None:
    """A client that sends its API key to the upload URL is refused with 400 InvalidArgument."""
    slot = await api.slot()
    headers = {**slot["required_headers"], "Authorization": f"Bearer {fake.api_key}"}
    status, text = await _put(api.http, slot, b"hello", headers=headers)
    assert (status, _s3_code(text)) == (400, "InvalidArgument")
    assert "Only one auth mechanism allowed" in text
    assert fake.requests[-1].headers["Authorization"] == f"Bearer {fake.api_key}"


async def test_short_upload_body_is_incomplete(api: _Api, fake: FakeLinqServer) -> None:
    """A body that ends before Content-Length is never stored; the attempt is recorded."""
    slot = await api.slot(size=10)
    headers = ["Content-Type: image/png", "Content-Length: 10"]
    answer = await _raw_put(slot["upload_url"], headers, b"hello", hang_up=True)
    await fake.wait_idle()
    # The client hung up, so there is nobody left to read the 400 IncompleteBody.
    assert answer == b"" or b"IncompleteBody" in answer
    record = fake.attachments[slot["attachment_id"]]
    assert (record.status, record.received_bytes, record.upload_attempts) == ("pending", 5, 1)
    # Recorded with the fake's answer: the client hung up, the fake dropped nothing.
    assert (fake.requests[-1].status, fake.requests[-1].dropped) == (400, False)


async def test_upload_url_accepts_only_put(api: _Api) -> None:
    """Any method other than PUT on an upload URL answers 405 MethodNotAllowed."""
    slot = await api.slot()
    status, text = await _put(api.http, slot, None, method="GET")
    assert (status, _s3_code(text)) == (405, "MethodNotAllowed")


@pytest.mark.parametrize("path", ["/linq-uploads/{id}/x.png", "/other/{id}/photo.png", "/"])
async def test_unknown_keys_are_no_such_key(api: _Api, fake: FakeLinqServer, path: str) -> None:
    """A PUT to a key the fake never issued answers 404 NoSuchKey."""
    slot = await api.slot()
    url = yarl.URL(fake.storage_url + path.format(id=uuid.uuid4()), encoded=True)
    status, text = await _put(api.http, slot, b"hello", url=url)
    assert (status, _s3_code(text)) == (404, "NoSuchKey")


async def test_a_second_upload_replaces_the_first(api: _Api, fake: FakeLinqServer) -> None:
    """Uploading again to a valid URL overwrites the body, as S3 does."""
    slot = await api.slot(size=5)
    await _put(api.http, slot, b"hello")
    await _put(api.http, slot, b"world")
    record = fake.attachments[slot["attachment_id"]]
    assert record.sha256 == hashlib.sha256(b"world").hexdigest()
    assert record.upload_attempts == 2


# Chats


async def test_create_chat_answers_the_documented_shape(api: _Api, fake: FakeLinqServer) -> None:
    """POST /v3/chats makes a direct chat and answers {chat: {..., message: SentMessage}}."""
    attachment_id = await api.uploaded(b"hello")
    _, attachment = await api.call("GET", f"/v3/attachments/{attachment_id}")
    parts = [{"type": "text", "value": "hi"}, {"type": "media", "attachment_id": attachment_id}]
    status, body = await api.chat(parts, preferred_service="iMessage", idempotency_key="k")
    assert status == 200
    chat = body["chat"]
    assert set(chat) == {
        "id",
        "display_name",
        "handles",
        "is_group",
        "service",
        "health_status",
        "message",
    }
    assert (chat["display_name"], chat["is_group"], chat["service"]) == (None, False, "iMessage")
    assert chat["health_status"]["status"] == "HEALTHY"
    assert set(chat["health_status"]) == {"status", "doc_url", "updated_at"}
    me, alice = chat["handles"]
    assert set(me) == {"id", "handle", "joined_at", "service", "is_me"}
    assert (me["handle"], me["is_me"], alice["handle"], alice["is_me"]) == (
        SENDER,
        True,
        ALICE,
        False,
    )
    message = chat["message"]
    assert set(message) == {
        "id",
        "created_at",
        "delivery_status",
        "is_read",
        "parts",
        "sent_at",
        "delivered_at",
        "from_handle",
        "preferred_service",
        "service",
    }
    assert (message["delivery_status"], message["is_read"]) == ("queued", False)
    assert (message["sent_at"], message["delivered_at"]) == (None, None)
    assert message["from_handle"] == me
    assert message["parts"] == [
        {"type": "text", "value": "hi", "reactions": None},
        {
            "type": "media",
            "id": attachment_id,
            "filename": "photo.png",
            "mime_type": "image/png",
            "size_bytes": 5,
            "url": attachment["download_url"],
        },
    ]
    stored_chat = fake.chats[chat["id"]]
    assert (stored_chat.from_handle, stored_chat.handles) == (SENDER, [ALICE])
    assert stored_chat.message_ids == [message["id"]]
    stored = fake.messages[message["id"]]
    assert stored.parts == parts
    assert (stored.chat_id, stored.idempotency_key, stored.preferred_service) == (
        chat["id"],
        "k",
        "iMessage",
    )


async def test_several_recipients_make_a_group(api: _Api) -> None:
    """Two or more handles in to make a group chat; emails are allowed as recipients."""
    status, body = await api.chat(to=[ALICE, "bob@example.com"])
    assert status == 200
    assert body["chat"]["is_group"] is True
    assert [h["handle"] for h in body["chat"]["handles"]] == [SENDER, ALICE, "bob@example.com"]


async def test_same_from_and_recipients_reuse_the_chat(api: _Api, fake: FakeLinqServer) -> None:
    """A repeat with the same from and the same set of to (any order) sends into the old chat."""
    _, first = await api.chat(to=[ALICE, BOB])
    _, again = await api.chat(to=[BOB, ALICE])
    _, other = await api.chat(to=[ALICE])
    assert again["chat"]["id"] == first["chat"]["id"]
    assert other["chat"]["id"] != first["chat"]["id"]
    assert len(fake.chats) == 2
    assert len(fake.chats[first["chat"]["id"]].message_ids) == 2


def _parts(count: int, kind: str = "media") -> list[dict[str, Any]]:
    if kind == "media":
        return [{"type": "media", "url": f"https://e.com/{i}.png"} for i in range(count)]
    return [
        {"type": "text", "value": str(i)}
        if i % 2 == 0
        else {"type": "media", "url": "https://e.com/a.png"}
        for i in range(count)
    ]


_TEXT = {"type": "text", "value": "hi"}
_LINK = {"type": "link", "value": "https://example.com"}
_CLIP = {"type": "app_clip", "value": "https://appclip.example.com"}
_APP = {
    "type": "imessage_app",
    "app": {"bundle_id": "a.b", "name": "App", "team_id": "ABCDE12345"},
    "layout": {"caption": "c"},
}


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"to": [ALICE], "message": {"parts": [_TEXT]}}, 1001),
        ({"from": SENDER, "message": {"parts": [_TEXT]}}, 1001),
        ({"from": SENDER, "to": [ALICE]}, 1001),
        ({"from": SENDER, "to": [ALICE], "message": {}}, 1001),
        ({"from": "me@example.com", "to": [ALICE], "message": {"parts": [_TEXT]}}, 1002),
        ({"from": "+1555", "to": [ALICE], "message": {"parts": [_TEXT]}}, 1002),
        ({"from": "15550001111", "to": [ALICE], "message": {"parts": [_TEXT]}}, 1002),
        ({"from": "+1555000111122223", "to": [ALICE], "message": {"parts": [_TEXT]}}, 1002),
        ({"from": SENDER, "to": ["5550002222"], "message": {"parts": [_TEXT]}}, 1002),
        ({"from": SENDER, "to": ["(555) 000-2222"], "message": {"parts": [_TEXT]}}, 1002),
        ({"from": 15550001111, "to": [ALICE], "message": {"parts": [_TEXT]}}, 1005),
        ({"from": SENDER, "to": [], "message": {"parts": [_TEXT]}}, 1005),
        ({"from": SENDER, "to": ALICE, "message": {"parts": [_TEXT]}}, 1005),
        ({"from": SENDER, "to": [ALICE, ALICE], "message": {"parts": [_TEXT]}}, 1005),
        ({"from": SENDER, "to": [SENDER], "message": {"parts": [_TEXT]}}, 1005),
        ({"from": SENDER, "to": [ALICE], "message": {"parts": [_TEXT]}, "x": 1}, 1005),
        (
            {"from": SENDER, "to": [ALICE], "message": {"parts": [_TEXT]}, "override_optout": "y"},
            1005,
        ),
        ({"from": SENDER, "to": [ALICE], "message": "hi"}, 1004),
    ],
)
async def test_bad_chat_requests_are_refused(
    api: _Api, fake: FakeLinqServer, body: dict[str, Any], code: int
) -> None:
    """Missing fields are 1001, non-E.164 handles 1002, other bad values 1005."""
    status, answer = await api.call("POST", "/v3/chats", json_body=body)
    assert status == 400
    _error(answer, 400, code)
    assert fake.chats == {}
    assert fake.messages == {}


@pytest.mark.parametrize(
    ("message", "code"),
    [
        ({"parts": [_TEXT], "experience": {"name": "agentpay", "action": "x"}}, 1004),
        ({"parts": []}, 1004),
        ({"parts": _TEXT}, 1004),
        ({"parts": _parts(101, "mixed")}, 1004),
        ({"parts": _parts(41)}, 1004),
        ({"parts": [_TEXT, {"type": "text", "value": "again"}]}, 1004),
        ({"parts": [_TEXT, _LINK]}, 1004),
        ({"parts": [_CLIP, _TEXT]}, 1004),
        ({"parts": [_APP, _TEXT]}, 1004),
        ({"parts": [{"type": "media"}]}, 1004),
        ({"parts": [{"type": "media", "url": "https://e.com/a.png", "attachment_id": "x"}]}, 1004),
        ({"parts": [{"type": "media", "url": "http://e.com/a.png"}]}, 1004),
        ({"parts": [{"type": "text"}]}, 1004),
        ({"parts": [{"type": "text", "value": ""}]}, 1004),
        ({"parts": [{"type": "text", "value": 3}]}, 1004),
        ({"parts": [{"type": "video", "url": "https://e.com/a.mp4"}]}, 1004),
        ({"parts": [{"value": "no type"}]}, 1004),
        ({"parts": ["hi"]}, 1004),
        ({"parts": [{"type": "text", "value": "hi", "bold": True}]}, 1004),
        ({"parts": [{"type": "link", "value": "not a url"}]}, 1004),
        ({"parts": [{"type": "imessage_app", "app": {}}]}, 1004),
        ({"parts": [_TEXT], "effect": {"type": "screen", "name": "slam"}}, 1005),
        ({"parts": [_TEXT], "effect": {"type": "sparkle", "name": "x"}}, 1005),
        ({"parts": [_TEXT], "preferred_service": "imessage"}, 1005),
        ({"parts": [_TEXT], "idempotency_key": ""}, 1005),
        ({"parts": [_TEXT], "reply_to": {"part_index": 0}}, 1001),
        ({"parts": [_TEXT], "subject": "x"}, 1005),
    ],
)
async def test_bad_message_content_is_refused(
    api: _Api, fake: FakeLinqServer, message: dict[str, Any], code: int
) -> None:
    """The part rules (fact sheet 4.3) are 1004; other bad message fields 1001/1005."""
    body = {"from": SENDER, "to": [ALICE], "message": message}
    status, answer = await api.call("POST", "/v3/chats", json_body=body)
    assert status == 400
    _error(answer, 400, code)
    assert fake.messages == {}


@pytest.mark.parametrize(
    "parts",
    [
        _parts(40),
        [_LINK],
        [_CLIP],
        [_APP],
        [_TEXT, {"type": "media", "url": "https://e.com/a.png", "sticker": True}, _TEXT],
    ],
)
async def test_valid_part_combinations_are_accepted(api: _Api, parts: list[dict[str, Any]]) -> None:
    """40 URL media parts, a lone link/app_clip/imessage_app and stickers are accepted."""
    _, created = await api.chat()
    status, body = await api.send(created["chat"]["id"], parts)
    assert status == 200, body
    assert len(body["message"]["parts"]) == len(parts)


async def test_a_hundred_parts_are_accepted(api: _Api, fake: FakeLinqServer) -> None:
    """100 alternating text and uploaded-media parts (an attachment is reusable) are accepted."""
    media = {"type": "media", "attachment_id": await api.uploaded()}
    parts = [_TEXT if index % 2 == 0 else media for index in range(100)]
    status, body = await api.chat(parts)
    assert status == 200, body
    assert len(body["chat"]["message"]["parts"]) == 100


@pytest.mark.parametrize(
    "message",
    [
        {"parts": [_LINK]},
        {"parts": [{"type": "text", "value": "see https://example.com"}]},
        {"parts": [{"type": "text", "value": "see www.example.com"}]},
        {"parts": [_TEXT], "effect": {"type": "screen", "name": "confetti"}},
        {"parts": [_TEXT], "reply_to": {"message_id": "00000000-0000-4000-8000-000000000000"}},
    ],
)
async def test_first_message_of_a_new_chat_is_restricted(
    api: _Api, fake: FakeLinqServer, message: dict[str, Any]
) -> None:
    """A new chat's first message may not hold a link, a URL in text, reply_to or an effect."""
    body = {"from": SENDER, "to": [ALICE], "message": message}
    status, answer = await api.call("POST", "/v3/chats", json_body=body)
    assert status == 400
    _error(answer, 400, 1005)
    assert fake.chats == {}


async def test_existing_chat_takes_links_effects_and_replies(
    api: _Api, fake: FakeLinqServer
) -> None:
    """Once the chat exists, POST /v3/chats may send links, effects and replies into it."""
    _, first = await api.chat()
    first_id = first["chat"]["message"]["id"]
    effect = {"type": "bubble", "name": "slam"}
    reply = {"message_id": first_id, "part_index": 0}
    status, body = await api.chat([_LINK])
    assert status == 200
    assert body["chat"]["message"]["parts"] == [{"type": "link", "value": "https://example.com"}]
    status, body = await api.chat(effect=effect, reply_to=reply)
    assert status == 200
    assert (body["chat"]["message"]["effect"], body["chat"]["message"]["reply_to"]) == (
        effect,
        reply,
    )
    assert len(fake.chats) == 1


async def test_reply_to_an_unknown_message_is_404_2002(api: _Api) -> None:
    """reply_to naming a message not in this chat answers 404, code 2002."""
    _, created = await api.chat()
    _, other = await api.chat(to=[BOB])
    for message_id in [str(uuid.uuid4()), other["chat"]["message"]["id"]]:
        status, body = await api.send(
            created["chat"]["id"], [_TEXT], reply_to={"message_id": message_id}
        )
        assert status == 404
        _error(body, 404, 2002)


async def test_media_attachment_must_exist(api: _Api, fake: FakeLinqServer) -> None:
    """A media part naming an unknown attachment answers 404, code 2003."""
    for attachment_id in [str(uuid.uuid4()), "nope"]:
        status, body = await api.chat([{"type": "media", "attachment_id": attachment_id}])
        assert status == 404
        _error(body, 404, 2003)
    assert fake.chats == {}


async def test_media_attachment_must_be_uploaded(api: _Api, fake: FakeLinqServer) -> None:
    """A media part naming a pending attachment answers 400, code 1004, naming it."""
    slot = await api.slot()
    status, body = await api.chat([{"type": "media", "attachment_id": slot["attachment_id"]}])
    assert status == 400
    assert slot["attachment_id"] in _error(body, 400, 1004)
    assert fake.chats == {}


async def test_experience_messages_are_accepted(api: _Api, fake: FakeLinqServer) -> None:
    """A message with experience instead of parts is sent with no parts."""
    experience = {"name": "agentpay", "action": "request_payment", "params": {"amount": 5}}
    body = {"from": SENDER, "to": [ALICE], "message": {"experience": experience}}
    status, answer = await api.call("POST", "/v3/chats", json_body=body)
    assert status == 200
    assert answer["chat"]["message"]["parts"] == []
    (message,) = fake.messages.values()
    assert message.experience == experience


async def test_get_chat_answers_the_chat_shape(api: _Api) -> None:
    """GET /v3/chats/{id} answers the documented Chat object."""
    _, created = await api.chat(to=[ALICE, BOB])
    chat_id = created["chat"]["id"]
    status, chat = await api.call("GET", f"/v3/chats/{chat_id}")
    assert status == 200
    assert set(chat) == {
        "id",
        "created_at",
        "updated_at",
        "display_name",
        "handles",
        "health_status",
        "is_group",
        "is_archived",
        "service",
    }
    assert (chat["id"], chat["is_group"], chat["is_archived"]) == (chat_id, True, False)
    assert chat["handles"] == created["chat"]["handles"]


@pytest.mark.parametrize("chat_id", [str(uuid.uuid4()), "not-a-uuid"])
async def test_unknown_chat_is_404_2001(api: _Api, chat_id: str) -> None:
    """GET, list-messages and send on an unknown or malformed chat id answer 404, code 2001."""
    for method, path, body in [
        ("GET", f"/v3/chats/{chat_id}", None),
        ("GET", f"/v3/chats/{chat_id}/messages", None),
        ("POST", f"/v3/chats/{chat_id}/messages", {"message": {"parts": [_TEXT]}}),
    ]:
        status, answer = await api.call(method, path, json_body=body)
        assert status == 404
        _error(answer, 404, 2001)


async def test_list_chats_pages_newest_first(api: _Api) -> None:
    """GET /v3/chats pages with limit and an opaque cursor until next_cursor is null."""
    created = []
    for index in range(5):
        _, body = await api.chat(to=[f"+1555000900{index}"])
        created.append(body["chat"]["id"])
    seen: list[str] = []
    cursors: list[str | None] = []
    params: dict[str, str] = {"limit": "2"}
    while True:
        status, page = await api.call("GET", "/v3/chats", params=params)
        assert status == 200
        assert set(page) == {"chats", "next_cursor"}
        seen += [chat["id"] for chat in page["chats"]]
        cursors.append(page["next_cursor"])
        if page["next_cursor"] is None:
            break
        params["cursor"] = page["next_cursor"]
    assert seen == created[::-1]
    assert cursors == ["2", "4", None]


async def test_list_chats_default_page_is_20(api: _Api) -> None:
    """Without limit a page holds 20 chats."""
    for index in range(21):
        await api.chat(to=[f"+155500090{index:02d}"])
    _, page = await api.call("GET", "/v3/chats")
    assert len(page["chats"]) == 20
    assert page["next_cursor"] == "20"
    _, page = await api.call("GET", "/v3/chats", params={"limit": "100"})
    assert (len(page["chats"]), page["next_cursor"]) == (21, None)


async def test_list_chats_filters_by_from_and_to(api: _Api, fake: FakeLinqServer) -> None:
    """from= and to= (repeated or comma-joined) keep chats with that line and those handles."""
    _, direct = await api.chat(to=[ALICE])
    _, group = await api.chat(to=[ALICE, BOB])
    other = {"from": "+15550009999", "to": [ALICE], "message": {"parts": [_TEXT]}}
    await api.call("POST", "/v3/chats", json_body=other)

    async def ids(query: str) -> list[str]:
        url = yarl.URL(f"{fake.base_url}/v3/chats?{query}", encoded=True)
        headers = {"Authorization": f"Bearer {fake.api_key}"}
        async with api.http.get(url, headers=headers) as response:
            assert response.status == 200
            return [chat["id"] for chat in (await response.json())["chats"]]

    assert await ids("from=%2B15550001111") == [group["chat"]["id"], direct["chat"]["id"]]
    assert await ids("to=%2B15550003333") == [group["chat"]["id"]]
    assert await ids("from=%2B15550001111&to=%2B15550002222,%2B15550003333") == [
        group["chat"]["id"]
    ]
    assert await ids("to=%2B15550002222&to=%2B15550003333") == [group["chat"]["id"]]
    assert len(await ids("to=%2B15550002222")) == 3


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("limit=0", 1005),
        ("limit=101", 1005),
        ("limit=ten", 1005),
        ("limit=-1", 1005),
        ("cursor=abc", 1005),
        ("cursor=", 1005),
        ("page=2", 1005),
        ("from=+15550001111", 1002),
        ("to=alice", 1002),
    ],
)
async def test_bad_list_parameters_are_refused(
    fake: FakeLinqServer, http: aiohttp.ClientSession, query: str, code: int
) -> None:
    """Out-of-range limits, bad cursors, unknown parameters and unencoded + are refused."""
    url = yarl.URL(f"{fake.base_url}/v3/chats?{query}", encoded=True)
    headers = {"Authorization": f"Bearer {fake.api_key}"}
    async with http.get(url, headers=headers) as response:
        assert response.status == 400
        _error(await response.json(), 400, code)


# Messages


async def test_send_message_answers_chat_id_and_message(api: _Api, fake: FakeLinqServer) -> None:
    """POST /v3/chats/{id}/messages answers {chat_id, message: SentMessage}."""
    _, created = await api.chat()
    chat_id = created["chat"]["id"]
    status, body = await api.send(chat_id, [_TEXT])
    assert status == 200
    assert set(body) == {"chat_id", "message"}
    assert body["chat_id"] == chat_id
    assert body["message"]["parts"] == [{"type": "text", "value": "hi", "reactions": None}]
    assert len(fake.chats[chat_id].message_ids) == 2
    path = f"/v3/chats/{chat_id}/messages"
    body = {"message": {"parts": [_TEXT]}, "override_optout": True}
    status, answer = await api.call("POST", path, json_body=body)
    assert status == 200
    assert fake.messages[answer["message"]["id"]].override_optout is True


async def test_send_message_validates_its_body(api: _Api, fake: FakeLinqServer) -> None:
    """POST /v3/chats/{id}/messages applies the same body rules (1001, 1004, 1005)."""
    _, created = await api.chat()
    path = f"/v3/chats/{created['chat']['id']}/messages"
    cases = [
        ({}, 1001),
        ({"message": {"parts": [_TEXT, _TEXT]}}, 1004),
        ({"message": {"parts": [_TEXT]}, "to": [ALICE]}, 1005),
        ({"message": {"parts": [_TEXT]}, "override_optout": 1}, 1005),
    ]
    for body, code in cases:
        status, answer = await api.call("POST", path, json_body=body)
        assert status == 400
        _error(answer, 400, code)
    assert len(fake.messages) == 1


async def test_get_message_answers_the_message_shape(api: _Api) -> None:
    """GET /v3/messages/{id} answers the documented Message object."""
    _, created = await api.chat()
    sent = created["chat"]["message"]
    status, message = await api.call("GET", f"/v3/messages/{sent['id']}")
    assert status == 200
    assert set(message) == {
        "id",
        "chat_id",
        "created_at",
        "updated_at",
        "delivery_status",
        "is_from_me",
        "is_delivered",
        "is_read",
        "parts",
        "from_handle",
        "service",
    }
    assert (message["chat_id"], message["is_from_me"], message["is_delivered"]) == (
        created["chat"]["id"],
        True,
        False,
    )
    assert message["parts"] == sent["parts"]


@pytest.mark.parametrize("message_id", [str(uuid.uuid4()), "not-a-uuid"])
async def test_unknown_message_is_404_2002(api: _Api, message_id: str) -> None:
    """GET /v3/messages/{id} of an unknown or malformed id answers 404, code 2002."""
    status, body = await api.call("GET", f"/v3/messages/{message_id}")
    assert status == 404
    _error(body, 404, 2002)


async def test_list_messages_pages_newest_first(api: _Api) -> None:
    """GET /v3/chats/{id}/messages pages newest first with cursor and limit."""
    _, created = await api.chat()
    chat_id = created["chat"]["id"]
    ids = [created["chat"]["message"]["id"]]
    for index in range(3):
        _, body = await api.send(chat_id, [{"type": "text", "value": str(index)}])
        ids.append(body["message"]["id"])
    path = f"/v3/chats/{chat_id}/messages"
    _, first = await api.call("GET", path, params={"limit": "3"})
    _, second = await api.call("GET", path, params={"limit": "3", "cursor": first["next_cursor"]})
    assert [m["id"] for m in first["messages"] + second["messages"]] == ids[::-1]
    assert second["next_cursor"] is None
    status, body = await api.call("GET", path, params={"limit": "500"})
    assert status == 400
    _error(body, 400, 1005)


# Idempotency


async def test_repeated_idempotency_key_replays_the_first_answer(
    api: _Api, fake: FakeLinqServer
) -> None:
    """A repeated message.idempotency_key answers exactly the first response and sends nothing."""
    body = {"from": SENDER, "to": [ALICE], "message": {"parts": [_TEXT], "idempotency_key": "k1"}}
    url = yarl.URL(fake.base_url + "/v3/chats")
    headers = {"Authorization": f"Bearer {fake.api_key}"}
    async with api.http.post(url, json=body, headers=headers) as response:
        first = await response.read()
    async with api.http.post(url, json=body, headers=headers) as response:
        assert response.status == 200
        assert await response.read() == first
    assert (len(fake.chats), len(fake.messages)) == (1, 1)
    chat_id = json.loads(first)["chat"]["id"]
    message = {"parts": [_TEXT], "idempotency_key": "k2"}
    status, sent = await api.send(chat_id, **message)
    again = await api.send(chat_id, **message)
    assert again == (status, sent)
    assert len(fake.messages) == 2


async def test_failed_requests_do_not_use_up_the_idempotency_key(
    api: _Api, fake: FakeLinqServer
) -> None:
    """An error is not replayed: the same key succeeds once the cause is fixed."""
    slot = await api.slot()
    parts = [{"type": "media", "attachment_id": slot["attachment_id"]}]
    status, _ = await api.chat(parts, idempotency_key="k")
    assert status == 400
    await _put(api.http, slot, b"hello")
    status, _ = await api.chat(parts, idempotency_key="k")
    assert status == 200
    assert len(fake.messages) == 1


# Fault injection


async def test_fail_next_answers_the_envelope_without_processing(
    api: _Api, fake: FakeLinqServer
) -> None:
    """fail_next answers the next request with the error envelope; nothing is created."""
    fake.fail_next(503)
    status, body = await api.chat()
    assert status == 503
    assert _error(body, 503, 3006) == "Service Unavailable"
    assert fake.chats == {}
    assert fake.requests[-1].status == 503
    assert fake.requests[-1].body is None
    status, _ = await api.chat()
    assert status == 200


async def test_fail_next_matches_method_path_and_count(api: _Api, fake: FakeLinqServer) -> None:
    """Only requests matching method and path glob fail, `times` times, with code and message."""
    fake.fail_next(
        500, times=2, method="POST", path="/v3/chats/*/messages", code=3006, message="boom"
    )
    _, created = await api.chat()
    chat_id = created["chat"]["id"]
    assert (await api.call("GET", f"/v3/chats/{chat_id}"))[0] == 200
    for _ in range(2):
        status, body = await api.send(chat_id, [_TEXT])
        assert status == 500
        assert _error(body, 500, 3006) == "boom"
    assert (await api.send(chat_id, [_TEXT]))[0] == 200


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ("<html><body>502 Bad Gateway</body></html>", "text/html"),
        (b'{"status": 502, "code": 3006, "message": "bare"}', "application/json"),
        (b"", None),
    ],
)
async def test_fail_next_can_send_any_body(
    fake: FakeLinqServer, http: aiohttp.ClientSession, body: str | bytes, content_type: str | None
) -> None:
    """body= and content_type= replace the envelope (proxy pages, bare objects, nothing)."""
    fake.fail_next(502, body=body, content_type=content_type, headers={"X-Test": "1"})
    headers = {"Authorization": f"Bearer {fake.api_key}"}
    async with http.get(f"{fake.base_url}/v3/chats", headers=headers) as response:
        assert response.status == 502
        assert response.headers["X-Test"] == "1"
        expected = body.encode() if isinstance(body, str) else body
        assert await response.read() == expected
        if content_type:
            assert response.content_type == content_type


async def test_fail_next_on_storage_answers_s3_xml(api: _Api, fake: FakeLinqServer) -> None:
    """A fault on the storage site answers S3's XML error, and the upload is not processed."""
    slot = await api.slot()
    fake.fail_next(503, site="storage")
    status, text = await _put(api.http, slot, b"hello")
    assert (status, _s3_code(text)) == (503, "ServiceUnavailable")
    assert fake.attachments[slot["attachment_id"]].upload_attempts == 0
    assert (await _put(api.http, slot, b"hello"))[0] == 200


async def test_fail_next_path_glob_reaches_storage_paths(api: _Api, fake: FakeLinqServer) -> None:
    """Storage paths (/linq-uploads/<id>/<name>) can be matched by glob; the API is untouched."""
    fake.fail_next(500, path="/linq-uploads/*")
    slot = await api.slot()
    status, text = await _put(api.http, slot, b"hello")
    assert (status, _s3_code(text)) == (500, "InternalError")


async def test_rate_limit_answers_429_with_retry_after(api: _Api, fake: FakeLinqServer) -> None:
    """rate_limit answers 429, code 1007, a Retry-After header and error.retry_after."""
    fake.rate_limit(retry_after=7, path="/v3/chats")
    headers = {"Authorization": f"Bearer {fake.api_key}"}
    async with api.http.get(f"{fake.base_url}/v3/chats", headers=headers) as response:
        assert response.status == 429
        assert response.headers["Retry-After"] == "7"
        body = await response.json()
    _error(body, 429, 1007)
    assert body["error"]["retry_after"] == 7
    assert (await api.call("GET", "/v3/chats"))[0] == 200


async def test_drop_next_response_processes_then_disconnects(
    api: _Api, fake: FakeLinqServer
) -> None:
    """drop_next_response makes the chat, then drops the connection; a keyed retry replays."""
    fake.drop_next_response(method="POST", path="/v3/chats")
    with pytest.raises(aiohttp.ClientConnectionError):
        await api.chat(idempotency_key="once")
    assert (len(fake.chats), len(fake.messages)) == (1, 1)
    dropped = fake.requests[-1]
    assert (dropped.dropped, dropped.status) == (True, None)
    status, body = await api.chat(idempotency_key="once")
    assert status == 200
    assert body["chat"]["message"]["id"] in fake.messages
    assert (len(fake.chats), len(fake.messages)) == (1, 1)


async def test_drop_upload_cuts_the_body(api: _Api, fake: FakeLinqServer) -> None:
    """drop_upload aborts the PUT after N bytes; the attachment stays pending; a retry works."""
    size = 2 * MIB
    slot = await api.slot(size=size)
    fake.drop_upload(after_bytes=64 * 1024)
    with pytest.raises(aiohttp.ClientConnectionError):
        await _put(api.http, slot, _zeros(size))
    record = fake.attachments[slot["attachment_id"]]
    assert record.status == "pending"
    assert 64 * 1024 <= record.received_bytes < size
    assert fake.requests[-1].dropped
    assert (await _put(api.http, slot, _zeros(size)))[0] == 200
    assert record.status == "complete"
    assert record.upload_attempts == 2


class _SlowExecutor(ThreadPoolExecutor):
    """A default executor whose every job starts 0.2 s late, as on a loaded machine."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        def late() -> Any:
            time.sleep(0.2)
            return fn(*args, **kwargs)

        return super().submit(late)


async def test_a_dropped_upload_is_recorded_before_the_client_sees_it(
    api: _Api, fake: FakeLinqServer
) -> None:
    """The record is final when the client's error arrives, however slow the clean-up.

    The fake's file clean-up runs in the default executor (aiofiles); made slow here, an
    await after the abort would let the client look before the drop is recorded.
    """
    asyncio.get_running_loop().set_default_executor(_SlowExecutor(max_workers=2))
    slot = await api.slot(size=MIB)
    fake.drop_upload(after_bytes=64 * 1024)
    with pytest.raises(aiohttp.ClientConnectionError):
        await _put(api.http, slot, _zeros(MIB))
    entry = fake.requests[-1]
    assert (entry.site, entry.method, entry.dropped) == ("storage", "PUT", True)


async def test_reset_faults_forgets_queued_faults(api: _Api, fake: FakeLinqServer) -> None:
    """reset_faults drops every queued failure, rate limit and drop."""
    fake.fail_next(500)
    fake.rate_limit()
    fake.drop_next_response()
    fake.drop_upload(after_bytes=0)
    fake.reset_faults()
    assert (await api.call("GET", "/v3/chats"))[0] == 200
    await api.uploaded()


@pytest.mark.parametrize(
    "inject",
    [
        lambda fake: fake.fail_next(99),
        lambda fake: fake.fail_next(100),  # no final answer: a client would wait forever
        lambda fake: fake.fail_next(500, times=0),
        lambda fake: fake.fail_next(503, site="API"),
        lambda fake: fake.fail_next(503, method=5),
        lambda fake: fake.fail_next(503, path=5),
        lambda fake: fake.fail_next(503, path=""),
        lambda fake: fake.fail_next(503, body=5),
        lambda fake: fake.fail_next(503, headers={"X-Test": 5}),
        lambda fake: fake.fail_next(503, code=True),
        lambda fake: fake.fail_next(503, message=5),
        lambda fake: fake.rate_limit(retry_after=-1),
        lambda fake: fake.drop_next_response(times=0),
        lambda fake: fake.drop_next_response(site="x"),
        lambda fake: fake.drop_next_response(method=""),
        lambda fake: fake.drop_upload(after_bytes=-1),
        lambda fake: fake.cut_download(after_bytes=-1),
        lambda fake: fake.cut_download(after_bytes=0, times=0),
    ],
)
def test_bad_fault_arguments_are_refused(inject: Any) -> None:
    """Fault methods refuse impossible statuses, counts, sizes and filters when queued."""
    with pytest.raises(ValueError):  # noqa: PT011
        inject(FakeLinqServer())


async def test_a_large_times_is_a_count_not_a_list(api: _Api, fake: FakeLinqServer) -> None:
    """cut_download(times=10**12) queues a counter: one download is cut, reset forgets it."""
    attachment_id = await api.uploaded(b"x" * 1000)
    fake.cut_download(after_bytes=10, times=10**12)
    url = fake.attachments[attachment_id].download_url
    with pytest.raises(aiohttp.ClientPayloadError):
        async with api.http.get(url) as response:
            await response.read()
    assert fake.requests[-1].dropped
    fake.reset_faults()
    async with api.http.get(url) as response:
        assert await response.read() == b"x" * 1000


async def test_a_client_hanging_up_is_no_drop_of_the_fake(api: _Api, fake: FakeLinqServer) -> None:
    """A PUT the client abandons mid-body is recorded with the fake's answer, not as dropped."""
    slot = await api.slot(size=MIB)
    record = fake.attachments[slot["attachment_id"]]
    stalled = asyncio.Event()

    async def first_chunk_then_stall() -> AsyncIterator[bytes]:
        yield bytes(64 * 1024)
        stalled.set()
        await asyncio.Event().wait()  # never more: the client gives up
        yield b""

    put = asyncio.ensure_future(_put(api.http, slot, first_chunk_then_stall()))
    await asyncio.wait_for(stalled.wait(), 10)
    while record.received_bytes < 64 * 1024:  # noqa: ASYNC110 (the fake sets no event)
        await asyncio.sleep(0.01)
    put.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await put
    await asyncio.wait_for(fake.wait_idle(), 10)
    entry = fake.requests[-1]
    assert (entry.site, entry.method, entry.dropped, entry.status) == ("storage", "PUT", False, 400)
    assert record.status == "pending"


# Recording


async def test_requests_are_recorded_in_order_with_raw_query(
    fake: FakeLinqServer, http: aiohttp.ClientSession
) -> None:
    """fake.requests keeps site, method, path, the raw query, headers, body and status."""
    headers = {"Authorization": f"Bearer {fake.api_key}"}
    url = yarl.URL(f"{fake.base_url}/v3/chats?from=%2B15550001111&limit=5", encoded=True)
    async with http.get(url, headers=headers) as response:
        assert response.status == 200
    body = {"from": SENDER, "to": [ALICE], "message": {"parts": [_TEXT]}}
    async with http.post(f"{fake.base_url}/v3/chats", json=body, headers=headers):
        pass
    listed, posted = fake.requests
    assert (listed.site, listed.method, listed.path) == ("api", "GET", "/api/partner/v3/chats")
    assert listed.query_string == "from=%2B15550001111&limit=5"
    assert listed.headers["authorization"] == f"Bearer {fake.api_key}"
    assert (listed.status, listed.dropped, listed.body) == (200, False, b"")
    assert posted.json() == body
    await fake.wait_idle()


async def test_recorded_paths_keep_their_encoding(
    fake: FakeLinqServer, http: aiohttp.ClientSession
) -> None:
    """A recorded path is the one sent, %2F included, and an encoded slash is no separator."""
    headers = {"Authorization": f"Bearer {fake.api_key}"}
    url = yarl.URL(f"{fake.base_url}/v3/chats/..%2Fattachments%2Fx", encoded=True)
    async with http.get(url, headers=headers) as response:
        assert response.status == 404
        _error(await response.json(), 404, 2001)
    assert fake.requests[-1].path == "/api/partner/v3/chats/..%2Fattachments%2Fx"
