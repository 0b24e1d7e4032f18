"""S3Storage: the fake's upload URLs presigned against a real S3 endpoint.

With ``FakeLinqServer(storage=S3Storage(target))`` (or ``FakeLinqServer(s3=target)``) the
fake's ``upload_url`` is a SigV4 presigned ``PUT`` to a real S3 implementation, so the upload
is graded by a server that really verifies signatures. The fake learns what was uploaded by
asking S3 itself whenever it reads an attachment's status.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from typing import NoReturn

import aiohttp
import attrs
from yarl import URL

from ._sigv4 import MAX_EXPIRES, S3Target
from ._state import FakeAttachment, utcnow
from ._storage import PresignedUpload

_READ_CHUNK = 1024 * 1024
_ERROR_PEEK = 4096
_S3_CODE = re.compile(rb"<Code>([^<]{1,100})</Code>")
_S3_MESSAGE = re.compile(rb"<Message>([^<]{1,500})</Message>")


def _storable(name: str) -> bool:
    """Whether SeaweedFS's filer keeps ``name`` as a key: each ``/`` or ``\\`` segment is
    neither ``.`` nor ``..`` nor over 255 bytes, and there is no NUL."""
    if "\x00" in name:
        return False
    segments = name.replace("\\", "/").split("/")
    return all(
        segment not in (".", "..") and len(segment.encode("utf-8", "surrogatepass")) <= 255
        for segment in segments
    )


@attrs.define(eq=False)
class S3Storage:
    """An `UploadStorage` whose upload URLs are presigned PUTs to a real S3 bucket.

    Each attachment is stored under the key ``<attachment_id>/<filename>`` of
    ``target.bucket``. The URL signs ``content-length``, ``content-type`` and ``host``, so S3
    itself refuses a chunked body, another content type or another length.

    `refresh` reads the object back with a presigned ``GET`` (streamed through SHA-256,
    never held in memory) and records ``status``, ``received_bytes`` and ``sha256``; the
    object's ``ETag`` is remembered, so later refreshes of an unchanged object cost one
    ``304 Not Modified`` instead of a second download.

    What the built-in storage does and this one cannot: ``FakeLinqServer.expire_upload_urls``
    raises `NotImplementedError` (S3 checks expiry against its own clock);
    ``upload_attempts`` stays 0 and ``fail_next(site="storage")``, ``drop_upload`` and the
    ``"storage"`` records never see the uploads, which go to S3, not to the fake; deleting an
    attachment leaves its object in the bucket. A filename SeaweedFS cannot keep as a key
    (``.`` or ``..`` segments, a NUL, a segment over 255 bytes) is stored under its SHA-256
    instead (see `key`), so every name the API takes uploads.

    Args:
        target: The S3 endpoint, bucket and credentials to presign with.
        timeout: Timeouts of the reads from S3 (connect 10 s, 60 s between reads by default).

    """

    target: S3Target
    timeout: aiohttp.ClientTimeout = attrs.field(
        kw_only=True,
        factory=lambda: aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=60),
    )
    # attachment id -> (key, ETag) of the object last hashed for it.
    _hashed: dict[str, tuple[str, str]] = attrs.field(init=False, factory=dict, repr=False)

    def key(self, attachment: FakeAttachment) -> str:
        """Return the object key an attachment is uploaded to.

        Args:
            attachment: The attachment slot.

        Returns:
            ``<attachment_id>/<filename>`` (the filename as declared, not quoted), so odd
            names reach the signature; ``<attachment_id>/<sha256 of the filename>`` for a
            name SeaweedFS cannot store as a key although the API takes it (a ``.`` or
            ``..`` segment, a NUL, a segment over 255 bytes).
        """
        name = attachment.filename
        if not _storable(name):
            name = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()
        return f"{attachment.id}/{name}"

    def presign(self, attachment: FakeAttachment, *, ttl: dt.timedelta) -> PresignedUpload:
        """Presign a PUT of the attachment's exact type and size to S3.

        Args:
            attachment: The slot, already recorded (``status == "pending"``).
            ttl: How long the URL stays valid (whole seconds, at most 7 days).

        Returns:
            The URL, the ``Content-Type`` and ``Content-Length`` the PUT must carry (both
            signed), and the expiry.

        Raises:
            ValueError: ``ttl`` is outside 1 s to 7 days.
        """
        seconds = int(ttl.total_seconds())
        if not 1 <= seconds <= MAX_EXPIRES:
            raise ValueError(f"ttl must be from 1 s to 7 days: {ttl}")
        issued = utcnow().replace(microsecond=0)
        url, headers = self.target.presign_put(
            self.key(attachment),
            content_type=attachment.content_type,
            content_length=attachment.size_bytes,
            expires=seconds,
            now=issued,
        )
        return PresignedUpload(
            url=url,
            required_headers=headers,
            expires_at=issued + dt.timedelta(seconds=seconds),
        )

    async def refresh(self, attachment: FakeAttachment) -> None:
        """Set the record from what S3 holds under its key.

        An object of exactly ``size_bytes`` bytes makes the attachment ``"complete"`` with
        its ``sha256``; a missing object or one of another size leaves (or makes) it
        ``"pending"`` with ``sha256`` None. ``received_bytes`` is the object's size (0 when
        there is none).

        Args:
            attachment: The record to update in place.

        Raises:
            RuntimeError: S3 answered something other than the object, 304 or
                ``NoSuchKey`` (e.g. a missing bucket or bad credentials).
            aiohttp.ClientError: S3 could not be reached.
        """
        key = self.key(attachment)
        headers = {}
        seen = self._hashed.get(attachment.id)
        if seen is not None and seen[0] == key and attachment.status == "complete":
            headers["If-None-Match"] = seen[1]
        url = URL(self.target.presign_get(key), encoded=True)
        async with (
            aiohttp.ClientSession(timeout=self.timeout) as http,
            http.get(url, headers=headers, allow_redirects=False) as resp,
        ):
            if resp.status == 304:
                return
            if resp.status != 200:
                await self._absent(attachment, resp)
                return
            if resp.content_length is not None and resp.content_length != attachment.size_bytes:
                # Not the declared size: no need to read it to know it does not count.
                self._set(attachment, resp.content_length, None)
                return
            digest = hashlib.sha256()
            received = 0
            async for chunk in resp.content.iter_chunked(_READ_CHUNK):
                digest.update(chunk)
                received += len(chunk)
            etag = resp.headers.get("ETag")
        if received != attachment.size_bytes:
            self._set(attachment, received, None)
            return
        self._set(attachment, received, digest.hexdigest())
        if etag:
            self._hashed[attachment.id] = (key, etag)

    def download_url(self, attachment: FakeAttachment) -> str:
        """A presigned ``GET`` of the attachment's object (15 minutes), where the fake's CDN
        redirects downloads.

        Args:
            attachment: The attachment.

        Returns:
            The URL.
        """
        return self.target.presign_get(self.key(attachment))

    def expire_issued_urls(self) -> NoReturn:
        """Refuse: presigned S3 URLs cannot be revoked, and S3 keeps its own clock.

        Raises:
            NotImplementedError: Always. Test expiry with the built-in storage instead.
        """
        raise NotImplementedError(
            "S3Storage cannot expire the URLs it issued: S3 checks them against its own clock"
        )

    async def _absent(self, attachment: FakeAttachment, resp: aiohttp.ClientResponse) -> None:
        raw = await resp.content.read(_ERROR_PEEK)
        code = _S3_CODE.search(raw)
        if resp.status == 404 and code is not None and code.group(1) == b"NoSuchKey":
            self._set(attachment, 0, None)
            return
        message = _S3_MESSAGE.search(raw)
        raise RuntimeError(
            f"S3 answered {resp.status} to the GET of {self.key(attachment)!r} in bucket "
            f"{self.target.bucket!r}: "
            f"{(code.group(1) if code else b'no code').decode('utf-8', 'replace')} "
            f"{(message.group(1) if message else b'').decode('utf-8', 'replace')}".rstrip()
        )

    def _set(self, attachment: FakeAttachment, received: int, sha256: str | None) -> None:
        attachment.received_bytes = received
        attachment.sha256 = sha256
        attachment.status = "complete" if sha256 is not None else "pending"
        if sha256 is None:
            self._hashed.pop(attachment.id, None)
