"""Upload storage: the hook that presigns upload URLs, and the fake's own strict storage host.

`UploadStorage` is the strategy `FakeLinqServer` asks for upload URLs. The
default, `BuiltinStorage`, presigns URLs for the fake's second site and enforces S3's
presigned-PUT contract on them; another strategy could presign against a real S3 endpoint.

The storage site is also the fake's CDN: every attachment's ``download_url`` points at it
(``/cdn/attachments/partners/fake-partner/<id>/<filename>``). The built-in storage keeps
each completed upload's bytes in a temporary directory of its own (written as they arrive,
so memory stays one network read per upload; removed when the fake closes) and serves them
from there; for a strategy that stores elsewhere and has a ``download_url(attachment)``
method (`S3Storage`), the CDN answers with a redirect to it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import hmac
import os
import secrets
import shutil
import tempfile
import urllib.parse
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Protocol

import aiofiles
import aiofiles.os
import attrs
from aiofiles.threadpool.binary import AsyncBufferedIOBase
from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from ._envelope import S3Error, drop_connection, s3_error_response
from ._state import FakeAttachment, Store, utcnow

BUCKET = "linq-uploads"
CDN_PREFIX = "/cdn/attachments/partners/fake-partner"
"""The path under which the storage site serves attachments' bytes, like the real CDN."""
_REGION = "us-east-1"
_ACCESS_KEY = "FAKEKEY"
_DATE_FORMAT = "%Y%m%dT%H%M%SZ"
_SIGNATURE_PARAM = "X-Amz-Signature="
_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your key and signing method."
)


@attrs.frozen(kw_only=True)
class PresignedUpload:
    """Where and how a client uploads one attachment.

    Attributes:
        url: The presigned URL (sent as the response's ``upload_url``, verbatim).
        required_headers: Headers the PUT must carry with exactly these values.
        expires_at: When the URL stops working (aware UTC).
    """

    url: str
    required_headers: Mapping[str, str]
    expires_at: dt.datetime


class UploadStorage(Protocol):
    """Makes upload URLs for attachments: the fake's storage strategy.

    The default strategy serves the uploads itself, on the fake's storage site. Pass another
    one as ``FakeLinqServer(storage=...)``, e.g. to presign against a real S3 endpoint.
    """

    def presign(self, attachment: FakeAttachment, *, ttl: dt.timedelta) -> PresignedUpload:
        """Make the upload URL for a new attachment slot.

        Args:
            attachment: The slot, already recorded (``status == "pending"``).
            ttl: How long the URL must stay valid.

        Returns:
            The URL, the headers the PUT must carry, and the expiry.
        """
        ...

    async def refresh(self, attachment: FakeAttachment) -> None:
        """Bring ``attachment`` up to date before the fake reads its status.

        A strategy whose uploads go elsewhere (a real bucket) sets ``status``, ``sha256`` and
        ``received_bytes`` here; the built-in storage updates records as uploads arrive.

        Args:
            attachment: The record to update in place.
        """
        ...

    def expire_issued_urls(self) -> None:
        """Make every URL issued so far expired; later URLs get their full TTL.

        Raises:
            NotImplementedError: The strategy cannot revoke URLs it has issued.
        """
        ...


@attrs.define(kw_only=True, eq=False)
class BuiltinStorage:
    """The fake's own storage host: presigns URLs to itself and checks every PUT like S3.

    Its clock runs ahead of the wall clock by ``clock_offset``, which is how
    `expire_issued_urls` ages every URL issued so far without waiting.
    """

    store: Store
    take_upload_drop: Callable[[], int | None]
    take_download_cut: Callable[[], int | None]
    secret: bytes = attrs.field(factory=lambda: secrets.token_bytes(32))
    host: str | None = None
    clock_offset: dt.timedelta = dt.timedelta(0)
    longest_ttl: dt.timedelta = dt.timedelta(0)
    # The strategy that issues upload URLs, when it is not this storage (downloads redirect).
    remote: UploadStorage | None = None
    _directory: Path | None = attrs.field(default=None, init=False)
    sign_content_type: bool = True
    """Whether upload URLs require (and sign) a ``Content-Type``; when not, the signature
    covers an empty one, so a PUT that sends any ``Content-Type`` is refused, as a URL
    presigned without a content type (signature V2 style) refuses it."""

    def now(self) -> dt.datetime:
        """Return the storage clock's time."""
        return utcnow() + self.clock_offset

    def presign(self, attachment: FakeAttachment, *, ttl: dt.timedelta) -> PresignedUpload:
        """Presign a PUT to this host (see `UploadStorage.presign`)."""
        if self.host is None:
            raise RuntimeError("the storage site is not started")
        issued = self.now().replace(microsecond=0)
        seconds = int(ttl.total_seconds())
        self.longest_ttl = max(self.longest_ttl, dt.timedelta(seconds=seconds))
        path = f"/{BUCKET}/{attachment.id}/{urllib.parse.quote(attachment.filename, safe='')}"
        query = "&".join(
            [
                "X-Amz-Algorithm=AWS4-HMAC-SHA256",
                f"X-Amz-Credential={_ACCESS_KEY}%2F{issued:%Y%m%d}%2F{_REGION}%2Fs3%2Faws4_request",
                f"X-Amz-Date={issued.strftime(_DATE_FORMAT)}",
                f"X-Amz-Expires={seconds}",
                f"X-Amz-SignedHeaders={self._signed_header_names()}",
            ]
        )
        signature = self._sign(path, query, attachment)
        required = {"Content-Length": str(attachment.size_bytes)}
        if self.sign_content_type:
            required = {"Content-Type": attachment.content_type, **required}
        return PresignedUpload(
            url=f"http://{self.host}{path}?{query}&{_SIGNATURE_PARAM}{signature}",
            required_headers=required,
            expires_at=issued + dt.timedelta(seconds=seconds),
        )

    def _signed_header_names(self) -> str:
        names = ["content-length", "content-type", "host"]
        return "%3B".join(names if self.sign_content_type else [names[0], names[2]])

    def _content_type(self, attachment: FakeAttachment) -> str | None:
        return attachment.content_type if self.sign_content_type else None

    async def refresh(self, attachment: FakeAttachment) -> None:
        """Do nothing: this host updates records while it receives uploads."""

    def expire_issued_urls(self) -> None:
        """Move this host's clock past the expiry of every URL issued so far."""
        self.clock_offset += self.longest_ttl + dt.timedelta(seconds=1)

    def _sign(self, raw_path: str, raw_query: str, attachment: FakeAttachment) -> str:
        # Binds the URL, exactly as issued, to the slot it was issued for.
        text = "\n".join(
            [
                "PUT",
                raw_path,
                raw_query,
                attachment.id,
                self._content_type(attachment) or "",
                str(attachment.size_bytes),
                self.host or "",
            ]
        )
        return hmac.new(self.secret, text.encode("utf-8", "surrogateescape"), "sha256").hexdigest()

    def download_url(self, attachment: FakeAttachment) -> str:
        """The attachment's ``download_url``: its path under `CDN_PREFIX` on this host."""
        if self.host is None:
            raise RuntimeError("the storage site is not started")
        name = urllib.parse.quote(attachment.filename, safe="")
        return f"http://{self.host}{CDN_PREFIX}/{attachment.id}/{name}"

    def close(self) -> None:
        """Delete the stored uploads. The storage may be used again afterwards."""
        directory, self._directory = self._directory, None
        if directory is not None:
            shutil.rmtree(directory, ignore_errors=True)

    def _files(self) -> Path:
        if self._directory is None:
            self._directory = Path(tempfile.mkdtemp(prefix="linq-fake-storage-"))
        return self._directory

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """Serve one request to the storage host (the presigned PUT, or a CDN download).

        Args:
            request: Any request to the storage site.

        Returns:
            200 with an ``ETag`` once the whole body is stored, the file for a download,
            else S3's XML error.
        """
        try:
            if request.method in ("GET", "HEAD") and request.raw_path.startswith(f"{CDN_PREFIX}/"):
                return await self._get(request)
            return await self._put(request)
        except S3Error as exc:
            return s3_error_response(exc)

    async def _get(self, request: web.Request) -> web.StreamResponse:
        if "Authorization" in request.headers:
            # The CDN is not the API: a client that sends its API key here leaks it.
            raise S3Error(
                400,
                "InvalidArgument",
                "Unsupported Authorization Type (fake: the API key must never be sent to the "
                "download URL)",
            )
        raw_path = request.raw_path.partition("?")[0]
        segments = raw_path[len(CDN_PREFIX) + 1 :].split("/")
        attachment = self.store.attachments.get(segments[0]) if len(segments) == 2 else None
        if attachment is None or segments[1] != urllib.parse.quote(attachment.filename, safe=""):
            raise S3Error(404, "NoSuchKey", "The specified key does not exist.")
        remote_url = getattr(self.remote, "download_url", None)
        if self.remote is not None and remote_url is not None:
            await self.remote.refresh(attachment)
            if attachment.status != "complete":
                raise S3Error(404, "NoSuchKey", "The specified key does not exist.")
            raise web.HTTPTemporaryRedirect(remote_url(attachment))
        path = self._files() / attachment.id
        if attachment.status != "complete" or not await aiofiles.os.path.isfile(path):
            raise S3Error(404, "NoSuchKey", "The specified key does not exist.")
        headers = {"Content-Type": attachment.content_type}
        cut = self.take_download_cut() if request.method == "GET" else None
        if cut is not None:
            return await _cut_download(request, path, cut, headers)
        return web.FileResponse(path, headers=headers)

    async def _put(self, request: web.Request) -> web.StreamResponse:
        if request.method != "PUT":
            raise S3Error(
                405,
                "MethodNotAllowed",
                "The specified method is not allowed against this resource.",
            )
        if "Authorization" in request.headers:
            raise S3Error(
                400,
                "InvalidArgument",
                "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, "
                "Signature query string parameter or the Authorization header should be specified",
            )
        # Refused before a byte of the body is read.
        if "Transfer-Encoding" in request.headers:
            raise S3Error(
                501,
                "NotImplemented",
                "A header you provided implies functionality that is not implemented",
            )
        if request.content_length is None:
            raise S3Error(
                411, "MissingContentLength", "You must provide the Content-Length HTTP header."
            )
        raw_path, _, raw_query = request.raw_path.partition("?")
        attachment = self._lookup(raw_path)
        attachment.upload_attempts += 1
        self._check_signature(raw_path, raw_query, attachment, request)
        return await self._receive(request, attachment)

    def _lookup(self, raw_path: str) -> FakeAttachment:
        segments = raw_path.split("/")
        attachment = None
        if len(segments) == 4 and segments[0] == "" and segments[1] == BUCKET:
            attachment = self.store.attachments.get(segments[2])
        if attachment is None:
            raise S3Error(404, "NoSuchKey", "The specified key does not exist.")
        return attachment

    def _check_signature(
        self, raw_path: str, raw_query: str, attachment: FakeAttachment, request: web.Request
    ) -> None:
        # Verified against the query string as received: a client that re-quotes the URL
        # (``%2F`` to ``/``) changes the bytes and fails, as it would against S3.
        items = raw_query.split("&") if raw_query else []
        given = [item for item in items if item.startswith(_SIGNATURE_PARAM)]
        signed = "&".join(item for item in items if not item.startswith(_SIGNATURE_PARAM))
        expected = self._sign(raw_path, signed, attachment)
        if len(given) != 1 or not hmac.compare_digest(
            expected.encode(),
            given[0][len(_SIGNATURE_PARAM) :].encode("utf-8", "surrogateescape"),
        ):
            raise S3Error(403, "SignatureDoesNotMatch", _MISMATCH)
        params = dict(item.partition("=")[::2] for item in items)
        issued = dt.datetime.strptime(params["X-Amz-Date"], _DATE_FORMAT)
        expires_at = issued.replace(tzinfo=dt.timezone.utc) + dt.timedelta(
            seconds=int(params["X-Amz-Expires"])
        )
        if self.now() > expires_at:
            raise S3Error(403, "AccessDenied", "Request has expired")
        # Without a signed Content-Type the signature covers an empty one: any value sent
        # (an HTTP client's default, say) breaks it.
        signed_headers = {
            "Host": self.host,
            "Content-Type": self._content_type(attachment),
            "Content-Length": str(attachment.size_bytes),
        }
        for name, value in signed_headers.items():
            sent = request.headers.get(name)
            if sent != value:
                raise S3Error(
                    403,
                    "SignatureDoesNotMatch",
                    f"{_MISMATCH} (fake: {name} {sent!r} is not the signed {value!r})",
                )

    async def _receive(self, request: web.Request, attachment: FakeAttachment) -> web.Response:
        drop_after = self.take_upload_drop()
        sha256 = hashlib.sha256()
        md5 = hashlib.md5(usedforsecurity=False)
        received = 0
        attachment.received_bytes = 0
        if request.transport is None and not request.content.is_eof():
            # The client hung up before this handler started: the body can never complete.
            raise S3Error(400, "IncompleteBody", _incomplete(0, attachment))
        # Written beside the kept copy and renamed over it once complete: a failed upload
        # leaves the previous one in place, as on S3.
        part = self._files() / f"{attachment.id}.{secrets.token_hex(4)}.part"
        out = None
        kept = discarded = False
        try:
            try:
                # Streamed: memory stays at one network read, whatever the upload size.
                async for chunk in request.content.iter_any():
                    sha256.update(chunk)
                    md5.update(chunk)
                    received += len(chunk)
                    attachment.received_bytes = received
                    # Opened once the body starts: no await may come before the first read,
                    # or a client that hangs up right away would not be counted.
                    if out is None:
                        out = await aiofiles.open(part, "wb")
                    if chunk.count(0) == len(chunk):
                        # Zeros become a hole: big test files are mostly sparse zeros.
                        await out.seek(len(chunk), os.SEEK_CUR)
                    else:
                        await out.write(chunk)
                    if drop_after is not None and received >= drop_after:
                        break
            except (ConnectionError, HttpProcessingError) as exc:
                raise S3Error(400, "IncompleteBody", _incomplete(received, attachment)) from exc
            if drop_after is not None:
                # Clean up first and abort last, with no await after it (the `finally` below
                # has nothing left to do): once the connection is aborted the client moves
                # on, and the records must be final by then.
                await _discard(out, part)
                discarded = True
                return _abort(request)
            if out is None or received != attachment.size_bytes:
                raise S3Error(400, "IncompleteBody", _incomplete(received, attachment))
            await out.truncate(received)
            await out.close()
            await aiofiles.os.replace(part, self._files() / attachment.id)
            kept = True
        finally:
            if not (kept or discarded):
                await _discard(out, part)
        attachment.status = "complete"
        attachment.sha256 = sha256.hexdigest()
        return web.Response(status=200, headers={"ETag": f'"{md5.hexdigest()}"'})


async def _discard(out: AsyncBufferedIOBase | None, part: Path) -> None:
    if out is not None:
        await out.close()
    with contextlib.suppress(OSError):
        await aiofiles.os.remove(part)


def _incomplete(received: int, attachment: FakeAttachment) -> str:
    return (
        "You did not provide the number of bytes specified by the Content-Length HTTP header. "
        f"(fake: got {received} of {attachment.size_bytes})"
    )


def _abort(request: web.Request) -> web.Response:
    # The answer is never written: the recorder sees the mark and records a drop.
    drop_connection(request)
    return web.Response(status=500)


async def _cut_download(
    request: web.Request, path: Path, after_bytes: int, headers: Mapping[str, str]
) -> web.StreamResponse:
    """Send the file's headers and its first ``after_bytes`` bytes, then drop the connection."""
    size = (await aiofiles.os.stat(path)).st_size
    response = web.StreamResponse(headers={**headers, "Content-Length": str(size)})
    await response.prepare(request)
    async with aiofiles.open(path, "rb") as source:
        sent = 0
        while sent < min(after_bytes, size):
            chunk = await source.read(min(64 * 1024, after_bytes - sent))
            if not chunk:
                break
            await response.write(chunk)
            sent += len(chunk)
    drop_connection(request)
    return response
