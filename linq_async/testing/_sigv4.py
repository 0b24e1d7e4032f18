"""A small AWS Signature Version 4 query-string presigner for S3 (stdlib only).

The fake Linq server uses it to hand out upload URLs that point at a real S3 implementation
(SeaweedFS in the test suite), so that the client's presigned ``PUT`` is checked by a server
that really verifies signatures, instead of by our own code grading itself.

Only what the fake server needs is here: path-style addressing (``{endpoint}/{bucket}/{key}``),
the ``s3`` service, ``UNSIGNED-PAYLOAD`` and signed headers. A presigned ``PUT`` signs
``content-length``, ``content-type`` and ``host``, so the upload must carry exactly the
``Content-Type`` and ``Content-Length`` it was issued for: a chunked body (no
``Content-Length``) or another content type does not match the signature.

The URL is returned in its final encoded form. Send it byte for byte (with aiohttp:
``yarl.URL(url, encoded=True)``); a client that re-quotes it changes what the server hashes.

The steps follow AWS's published description of SigV4 (canonical request, string to sign,
derived signing key); botocore is used in the tests to check the output, never at run time.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import urllib.parse
from collections.abc import Mapping
from datetime import datetime, timezone

import attrs

__all__ = [
    "S3Target",
    "presign_get",
    "presign_put",
    "presign_url",
]

ALGORITHM = "AWS4-HMAC-SHA256"
"""The only signing algorithm this module produces."""

UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
"""The payload hash a presigned S3 URL uses: the body is not part of the signature."""

MAX_EXPIRES = 7 * 24 * 3600
"""The longest lifetime S3 accepts for a SigV4 presigned URL (7 days), in seconds."""

_SERVICE = "s3"
_UNRESERVED = "-_.~"  # with ASCII letters and digits: the RFC 3986 unreserved set
_DEFAULT_PORTS = {"http": 80, "https": 443}
_SPACES = re.compile(r"\s+")
_BAD_HEADER_CHARS = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


@attrs.frozen(kw_only=True)
class S3Target:
    """Where presigned URLs point and the credentials that sign them.

    ``secret_key`` is left out of the repr (and so of test output and logs).
    """

    endpoint: str
    """Base URL of the S3 server, e.g. ``http://127.0.0.1:8333`` (no path)."""
    bucket: str
    """The bucket objects are written to."""
    access_key: str
    """The access key id (it appears in every presigned URL, so it is not secret)."""
    secret_key: str = attrs.field(repr=False)
    """The secret access key; never part of a URL or a repr."""
    region: str = "us-east-1"
    """The region in the credential scope (SeaweedFS accepts any)."""

    def _signing(self) -> dict[str, str]:
        return {
            "endpoint": self.endpoint,
            "bucket": self.bucket,
            "access_key": self.access_key,
            "secret_key": self.secret_key,
            "region": self.region,
        }

    def presign_url(
        self,
        method: str,
        key: str = "",
        *,
        headers: Mapping[str, str] | None = None,
        expires: int = 900,
        now: datetime | None = None,
    ) -> str:
        """Presign any request on this target's bucket; see `presign_url`."""
        return presign_url(
            method,
            key=key,
            **self._signing(),
            headers=headers,
            expires=expires,
            now=now,
        )

    def presign_put(
        self,
        key: str,
        *,
        content_type: str,
        content_length: int,
        expires: int = 900,
        now: datetime | None = None,
    ) -> tuple[str, dict[str, str]]:
        """Presign a ``PUT`` of ``key`` in this target's bucket; see `presign_put`."""
        return presign_put(
            key=key,
            **self._signing(),
            content_type=content_type,
            content_length=content_length,
            expires=expires,
            now=now,
        )

    def presign_get(self, key: str, *, expires: int = 900, now: datetime | None = None) -> str:
        """Presign a ``GET`` of ``key`` in this target's bucket; see `presign_get`."""
        return presign_get(
            key=key,
            **self._signing(),
            expires=expires,
            now=now,
        )


def presign_put(
    *,
    endpoint: str,
    bucket: str,
    key: str,
    access_key: str,
    secret_key: str,
    region: str = "us-east-1",
    content_type: str,
    content_length: int,
    expires: int = 900,
    now: datetime | None = None,
) -> tuple[str, dict[str, str]]:
    """Presign an S3 ``PutObject`` of exactly ``content_length`` bytes of ``content_type``.

    Returns ``(url, required_headers)``: the upload must send ``required_headers``
    (``Content-Type`` and ``Content-Length``) unchanged, plus the ``Host`` header any client
    sends. The signed headers are ``content-length;content-type;host``.

    ``now`` (timezone-aware; default: the current time) is when the URL's lifetime of
    ``expires`` seconds starts; pass a past time to make an already expired URL.
    Raises `ValueError` for an unusable argument.
    """
    if isinstance(content_length, bool) or not isinstance(content_length, int):
        raise ValueError(f"content_length must be an int, not {content_length!r}")
    if content_length < 0:
        raise ValueError(f"content_length must be >= 0, not {content_length}")
    if not key:
        raise ValueError("key must not be empty")
    required = {"Content-Type": content_type, "Content-Length": str(content_length)}
    url = presign_url(
        "PUT",
        endpoint=endpoint,
        bucket=bucket,
        key=key,
        access_key=access_key,
        secret_key=secret_key,
        region=region,
        headers=required,
        expires=expires,
        now=now,
    )
    return url, dict(required)


def presign_get(
    *,
    endpoint: str,
    bucket: str,
    key: str,
    access_key: str,
    secret_key: str,
    region: str = "us-east-1",
    expires: int = 900,
    now: datetime | None = None,
) -> str:
    """Presign an S3 ``GetObject`` of ``key``; only ``host`` is signed."""
    if not key:
        raise ValueError("key must not be empty")
    return presign_url(
        "GET",
        endpoint=endpoint,
        bucket=bucket,
        key=key,
        access_key=access_key,
        secret_key=secret_key,
        region=region,
        expires=expires,
        now=now,
    )


def presign_url(
    method: str,
    *,
    endpoint: str,
    bucket: str,
    key: str = "",
    access_key: str,
    secret_key: str,
    region: str = "us-east-1",
    headers: Mapping[str, str] | None = None,
    expires: int = 900,
    now: datetime | None = None,
) -> str:
    """Presign any S3 request on ``{endpoint}/{bucket}[/{key}]`` and return the URL.

    ``headers`` are signed along with ``host`` (which is derived from ``endpoint``); the request
    must then carry each of them with the same value. An empty ``key`` addresses the bucket
    itself (e.g. ``PUT`` creates it). The query string is in canonical order and encoding, so
    the URL is exactly what was signed.
    """
    method = method.upper()
    if not method.isalpha():
        raise ValueError(f"bad HTTP method {method!r}")
    if isinstance(expires, bool) or not isinstance(expires, int):
        raise ValueError(f"expires must be an int, not {expires!r}")
    if not 1 <= expires <= MAX_EXPIRES:
        raise ValueError(f"expires must be within 1..{MAX_EXPIRES} seconds, not {expires}")
    if not bucket or "/" in bucket:
        raise ValueError(f"bad bucket name {bucket!r}")
    if not access_key or not secret_key:
        raise ValueError("access_key and secret_key must not be empty")
    if not region or "/" in region:
        raise ValueError(f"bad region {region!r}")
    if now is None:
        now = datetime.now(timezone.utc)
    elif now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    now = now.astimezone(timezone.utc)

    base, host = _split_endpoint(endpoint)
    path = "/" + _quote(bucket)
    if key:
        path += "/" + _quote(key)

    canonical_headers = {"host": host}
    for name, value in (headers or {}).items():
        lname = name.strip().lower()
        if not lname or lname == "host" or _BAD_HEADER_CHARS.search(name + value):
            raise ValueError(f"header {name!r} cannot be signed here")
        canonical_headers[lname] = _SPACES.sub(" ", value.strip())
    signed_headers = ";".join(sorted(canonical_headers))

    amz_date = now.strftime("%Y%m%dT%H%M%SZ")
    scope = f"{now.strftime('%Y%m%d')}/{region}/{_SERVICE}/aws4_request"
    query = {
        "X-Amz-Algorithm": ALGORITHM,
        "X-Amz-Credential": f"{access_key}/{scope}",
        "X-Amz-Date": amz_date,
        "X-Amz-Expires": str(expires),
        "X-Amz-SignedHeaders": signed_headers,
    }
    canonical_query = "&".join(
        f"{_quote(k, safe='')}={_quote(v, safe='')}" for k, v in sorted(query.items())
    )
    canonical_request = "\n".join(
        [
            method,
            path,
            canonical_query,
            "".join(f"{k}:{canonical_headers[k]}\n" for k in sorted(canonical_headers)),
            signed_headers,
            UNSIGNED_PAYLOAD,
        ]
    )
    string_to_sign = "\n".join(
        [ALGORITHM, amz_date, scope, hashlib.sha256(canonical_request.encode()).hexdigest()]
    )
    key_bytes = _signing_key(secret_key, now.strftime("%Y%m%d"), region)
    signature = hmac.new(key_bytes, string_to_sign.encode(), hashlib.sha256).hexdigest()
    return f"{base}{path}?{canonical_query}&X-Amz-Signature={signature}"


def _signing_key(secret_key: str, date: str, region: str) -> bytes:
    """Derive the SigV4 signing key: HMAC chain over date, region, service, terminator."""
    key = ("AWS4" + secret_key).encode()
    for part in (date, region, _SERVICE, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def _quote(text: str, safe: str = "/") -> str:
    """Percent-encode UTF-8 ``text`` leaving only unreserved characters (and ``safe``)."""
    return urllib.parse.quote(text, safe=_UNRESERVED + safe)


def _split_endpoint(endpoint: str) -> tuple[str, str]:
    """Return ``(scheme://netloc, host header value)`` for an endpoint URL without a path."""
    parts = urllib.parse.urlsplit(endpoint)
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        raise ValueError(f"endpoint must be an http(s) URL with a host, not {endpoint!r}")
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
        raise ValueError(f"endpoint must have no path, query, fragment or user: {endpoint!r}")
    try:
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"bad port in endpoint {endpoint!r}") from exc
    hostname = parts.hostname.lower()
    if ":" in hostname:  # IPv6 literal
        hostname = f"[{hostname}]"
    host = hostname if port is None or port == _DEFAULT_PORTS[scheme] else f"{hostname}:{port}"
    return f"{scheme}://{host}", host
