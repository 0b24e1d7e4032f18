"""Presigned S3 URLs from ``linq_async.testing._sigv4``, checked by botocore and by SeaweedFS.

The ``s3`` tests talk to a real SeaweedFS over sockets (fixture ``s3_target`` from
``tests/s3_server.py``). What SeaweedFS 4.48 answers, as asserted below:

* a PUT with exactly the signed headers: 200, and a presigned GET returns the same bytes;
* the same PUT sent chunked (no ``Content-Length``): 403 ``SignatureDoesNotMatch``
  (``content-length`` is a signed header; AWS itself answers 411 ``MissingContentLength``);
* another ``Content-Type`` or ``Content-Length``, or an altered signature: 403
  ``SignatureDoesNotMatch``;
* an expired URL: 403 ``AccessDenied`` with the message ``Request has expired``.

The URL must go out byte for byte, so aiohttp gets ``yarl.URL(url, encoded=True)``: a plain
``yarl.URL(url)`` re-quotes the query (``%2F`` becomes ``/``) and resolves dot segments in the
path, which changes what the server hashes (see ``test_url_is_sent_byte_for_byte``).
"""

from __future__ import annotations

import hashlib
import uuid
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import datetime, timedelta, timezone

import aiohttp
import pytest
import yarl

from linq_async.testing._sigv4 import S3Target, presign_put

FIXED_NOW = datetime(2024, 5, 17, 12, 34, 56, tzinfo=timezone.utc)
BODY = bytes(range(256)) * 40 + b"tail"  # 10 244 bytes, not a multiple of anything handy
CONTENT_TYPE = "image/png"

Presigner = Callable[[str, str, str, int, str], str]
"""(endpoint, key, content_type, content_length, region) -> presigned PUT URL."""


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    """A plain aiohttp session, closed after the test."""
    async with aiohttp.ClientSession() as session:
        yield session


def _key(name: str = "photo.png") -> str:
    """A fresh object key, so tests never see each other's objects."""
    return f"presign-tests/{uuid.uuid4().hex}/{name}"


def _url(url: str) -> yarl.URL:
    """The presigned URL as aiohttp must use it: not re-quoted."""
    return yarl.URL(url, encoded=True)


def _error_code(text: str) -> tuple[str, str]:
    """(Code, Message) of an S3 XML error body."""
    root = ET.fromstring(text)
    return root.findtext("Code") or "", root.findtext("Message") or ""


async def _get(http: aiohttp.ClientSession, target: S3Target, key: str) -> tuple[int, bytes]:
    """Read an object back with a presigned GET; (status, body)."""
    async with http.get(_url(target.presign_get(key))) as resp:
        return resp.status, await resp.read()


# --- the signer against botocore (no server) ------------------------------------------------


@pytest.fixture
def botocore_presign(monkeypatch: pytest.MonkeyPatch) -> Iterator[Presigner]:
    """botocore's presigner for put_object, with its clock frozen at FIXED_NOW."""
    botocore_session = pytest.importorskip("botocore.session")
    config = pytest.importorskip("botocore.config")
    auth = pytest.importorskip("botocore.auth")
    frozen = FIXED_NOW.replace(tzinfo=None)  # botocore wants naive UTC
    monkeypatch.setattr(auth, "get_current_datetime", lambda *a, **k: frozen)
    clients = []

    def presign(endpoint: str, key: str, content_type: str, length: int, region: str) -> str:
        client = botocore_session.get_session().create_client(
            "s3",
            endpoint_url=endpoint,
            region_name=region,
            aws_access_key_id="AKIDEXAMPLE",
            aws_secret_access_key="wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            config=config.Config(signature_version="s3v4", s3={"addressing_style": "path"}),
        )
        clients.append(client)
        params: dict[str, object] = {"Bucket": "my-bucket", "Key": key}
        params.update(ContentType=content_type, ContentLength=length)
        return str(client.generate_presigned_url("put_object", Params=params, ExpiresIn=600))

    yield presign
    for client in clients:
        client.close()


@pytest.mark.parametrize(
    ("endpoint", "key", "region"),
    [
        ("http://127.0.0.1:8333", "a/photo.png", "us-east-1"),
        ("https://s3.example.com", "dir/a b+c=d~ü(1)!*'@$;,&.txt", "eu-west-3"),
        ("http://LOCALHOST:9000", "100%/x//y.bin", "us-east-1"),
    ],
)
def test_signer_matches_botocore(
    botocore_presign: Presigner, endpoint: str, key: str, region: str
) -> None:
    """For the same inputs and clock, our presigned PUT URL equals botocore's byte for byte."""
    ours, headers = presign_put(
        endpoint=endpoint,
        bucket="my-bucket",
        key=key,
        access_key="AKIDEXAMPLE",
        secret_key="wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        region=region,
        content_type="image/png",
        content_length=12345,
        expires=600,
        now=FIXED_NOW,
    )
    theirs = botocore_presign(endpoint.lower(), key, "image/png", 12345, region)
    assert ours == theirs
    assert headers == {"Content-Type": "image/png", "Content-Length": "12345"}
    assert "X-Amz-SignedHeaders=content-length%3Bcontent-type%3Bhost" in ours


def test_secret_stays_out_of_repr() -> None:
    """S3Target's repr shows the access key but never the secret key."""
    target = S3Target(endpoint="http://h", bucket="b", access_key="AK", secret_key="s3cr3t")
    assert "s3cr3t" not in repr(target)
    assert "AK" in repr(target)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"endpoint": "ftp://h"},
        {"endpoint": "http://h/prefix"},
        {"content_length": -1},
        {"expires": 0},
        {"expires": 7 * 24 * 3600 + 1},
        {"now": datetime(2024, 1, 1)},  # naive
        {"key": ""},
        {"content_type": "text/plain\r\nX-Evil: 1"},
    ],
    ids=[
        "ftp-scheme",
        "endpoint-path",
        "negative-length",
        "zero-expires",
        "over-7-days",
        "naive-now",
        "empty-key",
        "crlf-in-header",
    ],
)
def test_signer_rejects_bad_arguments(kwargs: dict[str, object]) -> None:
    """Unusable arguments raise ValueError instead of producing a URL that cannot work."""
    args: dict[str, object] = {
        "endpoint": "http://127.0.0.1:1",
        "bucket": "b",
        "key": "k",
        "access_key": "AK",
        "secret_key": "SK",
        "content_type": "text/plain",
        "content_length": 1,
    }
    args.update(kwargs)
    with pytest.raises(ValueError):  # noqa: PT011 - each case has its own message
        presign_put(**args)  # type: ignore[arg-type]


# --- against SeaweedFS ---------------------------------------------------------------------


@pytest.mark.s3
async def test_presigned_put_round_trip(s3_target: S3Target, http: aiohttp.ClientSession) -> None:
    """A PUT with exactly the required headers succeeds and reads back with the same sha256."""
    key = _key()
    url, headers = s3_target.presign_put(key, content_type=CONTENT_TYPE, content_length=len(BODY))
    async with http.put(_url(url), data=BODY, headers=headers) as resp:
        assert resp.status == 200, await resp.text()
        sent = resp.request_info.headers
        assert sent["Content-Length"] == str(len(BODY))
        assert sent["Content-Type"] == CONTENT_TYPE
        assert "Transfer-Encoding" not in sent
    async with http.get(_url(s3_target.presign_get(key))) as resp:
        assert resp.status == 200
        assert resp.headers["Content-Type"] == CONTENT_TYPE
        got = await resp.read()
    assert hashlib.sha256(got).hexdigest() == hashlib.sha256(BODY).hexdigest()


@pytest.mark.s3
async def test_chunked_upload_is_refused(s3_target: S3Target, http: aiohttp.ClientSession) -> None:
    """The same upload streamed chunked (no Content-Length) gets 403 SignatureDoesNotMatch."""
    key = _key()
    url, headers = s3_target.presign_put(key, content_type=CONTENT_TYPE, content_length=len(BODY))

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(BODY), 4096):
            yield BODY[start : start + 4096]

    async with http.put(
        _url(url), data=chunks(), headers={"Content-Type": headers["Content-Type"]}
    ) as resp:
        sent = resp.request_info.headers
        assert sent.get("Transfer-Encoding") == "chunked"
        assert "Content-Length" not in sent
        assert resp.status == 403
        assert _error_code(await resp.text())[0] == "SignatureDoesNotMatch"
    status, _ = await _get(http, s3_target, key)
    assert status == 404  # nothing was stored


@pytest.mark.s3
@pytest.mark.parametrize(
    ("header", "value", "body"),
    [
        ("Content-Type", "application/octet-stream", BODY),
        ("Content-Length", str(len(BODY) - 1), BODY[:-1]),
    ],
    ids=["content-type", "content-length"],
)
async def test_other_header_value_is_refused(
    s3_target: S3Target, http: aiohttp.ClientSession, header: str, value: str, body: bytes
) -> None:
    """Another Content-Type or Content-Length than signed gets 403 SignatureDoesNotMatch."""
    key = _key()
    url, headers = s3_target.presign_put(key, content_type=CONTENT_TYPE, content_length=len(BODY))
    async with http.put(_url(url), data=body, headers={**headers, header: value}) as resp:
        assert resp.request_info.headers[header] == value
        assert resp.status == 403
        assert _error_code(await resp.text())[0] == "SignatureDoesNotMatch"


@pytest.mark.s3
async def test_tampered_signature_is_refused(
    s3_target: S3Target, http: aiohttp.ClientSession
) -> None:
    """A URL whose signature was altered by one hex digit gets 403 SignatureDoesNotMatch."""
    url, headers = s3_target.presign_put(
        _key(), content_type=CONTENT_TYPE, content_length=len(BODY)
    )
    tampered = url[:-1] + ("0" if url[-1] != "0" else "1")
    async with http.put(_url(tampered), data=BODY, headers=headers) as resp:
        assert resp.status == 403
        assert _error_code(await resp.text())[0] == "SignatureDoesNotMatch"


@pytest.mark.s3
async def test_wrong_secret_is_refused(s3_target: S3Target, http: aiohttp.ClientSession) -> None:
    """A URL signed with another secret for the same access key gets 403 SignatureDoesNotMatch."""
    forged = S3Target(
        endpoint=s3_target.endpoint,
        bucket=s3_target.bucket,
        access_key=s3_target.access_key,
        secret_key=s3_target.secret_key + "x",
        region=s3_target.region,
    )
    url, headers = forged.presign_put(_key(), content_type=CONTENT_TYPE, content_length=len(BODY))
    async with http.put(_url(url), data=BODY, headers=headers) as resp:
        assert resp.status == 403
        assert _error_code(await resp.text())[0] == "SignatureDoesNotMatch"


@pytest.mark.s3
async def test_expired_url_is_refused(s3_target: S3Target, http: aiohttp.ClientSession) -> None:
    """A URL whose lifetime ended (signed 10 minutes ago for 60 s) gets 403 AccessDenied."""
    url, headers = s3_target.presign_put(
        _key(),
        content_type=CONTENT_TYPE,
        content_length=len(BODY),
        expires=60,
        now=datetime.now(timezone.utc) - timedelta(minutes=10),
    )
    async with http.put(_url(url), data=BODY, headers=headers) as resp:
        assert resp.status == 403
        assert _error_code(await resp.text()) == ("AccessDenied", "Request has expired")


@pytest.mark.s3
async def test_url_is_sent_byte_for_byte(s3_target: S3Target, http: aiohttp.ClientSession) -> None:
    """encoded=True keeps the URL as signed; plain yarl.URL re-quotes it and breaks dot keys."""
    url, headers = s3_target.presign_put(
        _key("photo (1).png"), content_type=CONTENT_TYPE, content_length=len(BODY)
    )
    assert str(_url(url)) == url
    assert str(yarl.URL(url)) != url  # e.g. X-Amz-Credential=AK%2F2024... becomes AK/2024...
    async with http.put(_url(url), data=BODY, headers=headers) as resp:
        assert resp.status == 200
        sent = resp.request_info.url
        assert f"{s3_target.endpoint}{sent.raw_path_qs}" == url

    # A key with a dot segment: re-quoting resolves "x/../y" to "y", a path that was not signed.
    url, headers = s3_target.presign_put(
        _key("x/../y.png"), content_type=CONTENT_TYPE, content_length=len(BODY)
    )
    assert "/../" not in yarl.URL(url).raw_path
    async with http.put(yarl.URL(url), data=BODY, headers=headers) as resp:
        assert resp.status == 403
        assert _error_code(await resp.text())[0] == "SignatureDoesNotMatch"
