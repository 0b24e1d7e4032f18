"""Webhook verification: bytes and headers in, a typed event or a typed error out.

Pure and framework-free, on the standard library's ``hmac``, ``hashlib`` and ``base64``: the
router and every web framework adapter call the same `Verifier.verify`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from .._errors import (
    LinqUsageError,
    WebhookHeaderError,
    WebhookSignatureError,
    WebhookTimestampError,
)
from ._events import WebhookEvent, parse_event

__all__ = ["SECRET_ENV", "Headers", "Verifier"]

SECRET_ENV = "LINQ_WEBHOOK_SECRET"
"""The environment variable `Verifier.from_env` reads (the one the official SDKs read too)."""

_PREFIX = "whsec_"
_TIMESTAMP = re.compile(r"[0-9]{1,15}")
_MAX_SHOWN = 40

Headers = Mapping[str, Any] | Iterable[tuple[str, Any]]
"""Request headers: any mapping (a dict, aiohttp's ``request.headers``, Starlette's
``request.headers``) or ``(name, value)`` pairs. Names match in any case; values may be
``str`` or ``bytes``."""


def _shown(value: str) -> str:
    return repr(value if len(value) <= _MAX_SHOWN else value[:_MAX_SHOWN] + "...")


def _lowercase(headers: Headers) -> dict[str, str]:
    """The headers by lowercased name; the same name twice with different values is refused."""
    items: Iterable[tuple[Any, Any]] = headers.items() if isinstance(headers, Mapping) else headers
    found: dict[str, str] = {}
    for name, value in items:
        key = (name.decode("latin-1") if isinstance(name, bytes) else str(name)).lower()
        text = value.decode("latin-1") if isinstance(value, bytes) else str(value)
        text = text.strip()
        if key in found and found[key] != text:
            raise WebhookHeaderError(
                f"the {key} header was sent twice, with different values", header=key
            )
        found[key] = text
    return found


def _encode(value: str, header: str) -> bytes:
    try:
        return value.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        raise WebhookHeaderError(f"the {header} header is not valid text", header=header) from None


class Verifier:
    """Checks that a webhook delivery comes from Linq, untouched and recent.

    It implements Standard Webhooks, the scheme Linq signs with: the ``webhook-signature``
    header holds space-separated ``v1,<base64>`` entries, each an HMAC-SHA256 of
    ``<webhook-id>.<webhook-timestamp>.<raw body>`` keyed with the base64-decoded secret;
    any ``v1`` entry may match (entries of other versions and malformed ones are skipped),
    compared in constant time. The timestamp must be within ``tolerance`` seconds of
    ``clock()``, in the past or the future, so a captured delivery cannot be replayed later.

    ```python
    verifier = Verifier.from_env()          # LINQ_WEBHOOK_SECRET=whsec_...
    event = verifier.verify(raw_body, request.headers)
    ```

    The secret never appears in a repr, a log line or an error message.

    Args:
        secret: the subscription's ``signing_secret``: ``whsec_`` and base64, the prefix
            and the base64 padding both optional (surrounding whitespace is ignored). Raw key
            bytes are accepted too.
        tolerance: the largest difference, in seconds, between the signed timestamp and
            ``clock()`` (300, as the API documents).
        clock: the current Unix time (``time.time``); inject one in tests.
        allow_legacy: also accept deliveries carrying only the deprecated legacy headers
            (``X-Webhook-Timestamp`` and ``X-Webhook-Signature``, a hex HMAC-SHA256 of
            ``<timestamp>.<raw body>`` keyed with the secret string as given). Off by
            default: the Standard headers are what Linq documents now, and a receiver that
            sees only the legacy ones usually sits behind a proxy that strips the others.

    Raises:
        LinqUsageError: the secret is empty or not base64, ``tolerance`` is not a positive
            number, or ``allow_legacy`` is asked with a bytes secret (the legacy scheme keys
            with the secret's text).
    """

    __slots__ = ("_clock", "_key", "_legacy_key", "allow_legacy", "tolerance")

    def __init__(
        self,
        secret: str | bytes,
        *,
        tolerance: float = 300,
        clock: Callable[[], float] = time.time,
        allow_legacy: bool = False,
    ) -> None:
        # Tracebacks with locals (error trackers) show this frame: the secret leaves it
        # before anything can raise, and is decoded by a helper that never raises.
        keys: tuple[bytes, bytes | None] | str | None = _decode_secret(secret, allow_legacy)
        del secret
        problem = keys if isinstance(keys, str) else None
        if (
            isinstance(tolerance, bool)
            or not isinstance(tolerance, (int, float))
            or not (0 < tolerance < float("inf"))
        ):
            problem = f"tolerance must be a positive number of seconds, got {tolerance!r}"
        if problem is not None:
            keys = None  # the decoded key must not stay in this frame either
            raise LinqUsageError(problem) from None
        assert isinstance(keys, tuple)
        key, legacy = keys
        self._key = key
        self._legacy_key = legacy
        self._clock = clock
        self.tolerance = float(tolerance)
        """The largest skew accepted, in seconds."""
        self.allow_legacy = allow_legacy
        """Whether the legacy ``X-Webhook-*`` scheme is accepted."""

    @classmethod
    def from_env(
        cls,
        *,
        tolerance: float = 300,
        clock: Callable[[], float] = time.time,
        allow_legacy: bool = False,
    ) -> Verifier:
        """A verifier keyed with ``LINQ_WEBHOOK_SECRET``.

        Raises:
            LinqUsageError: the variable is unset, empty or not a valid secret.
        """
        # Never bound to a local here: a traceback's locals would show it.
        if not os.environ.get(SECRET_ENV, "").strip():
            raise LinqUsageError(
                f"{SECRET_ENV} is not set: export the subscription's signing_secret (whsec_...)"
            )
        return cls(
            os.environ[SECRET_ENV], tolerance=tolerance, clock=clock, allow_legacy=allow_legacy
        )

    def __repr__(self) -> str:
        # Also shown for a Verifier whose __init__ raised (a traceback's locals hold it).
        tolerance = getattr(self, "tolerance", None)
        shown = "?" if tolerance is None else f"{tolerance:g}"
        return (
            f"Verifier(secret=<redacted>, tolerance={shown}, "
            f"allow_legacy={getattr(self, 'allow_legacy', '?')})"
        )

    def __reduce__(self) -> Any:
        # Pickling would write the key wherever the pickle goes: refuse, as for a file handle.
        raise TypeError("a Verifier holds a secret and cannot be pickled")

    def verify(self, body: bytes, headers: Headers) -> WebhookEvent:
        """Verify one delivery and decode its event.

        Args:
            body: the raw request body, byte for byte as received. Never re-serialised JSON:
                a parsed-and-dumped body has other bytes and fails.
            headers: the request headers (any mapping or ``(name, value)`` pairs; names in
                any case).

        Returns:
            The event, as its typed class (`MessageEvent`, `ReactionEvent` ... or
            `UnknownEvent` for a type this release does not know).

        Raises:
            WebhookHeaderError: a required header is missing, empty or malformed.
            WebhookSignatureError: no signature matches (wrong secret, changed body, forgery).
            WebhookTimestampError: the signature matches but the timestamp is more than
                ``tolerance`` seconds away from now.
            WebhookPayloadError: the body is authentic but not a JSON event envelope.
            LinqUsageError: ``body`` is not bytes.
        """
        self.check(body, headers)
        return parse_event(bytes(body))

    def check(self, body: bytes, headers: Headers) -> None:
        """Verify the signature and the timestamp only, without decoding the body.

        The signature is checked first, so a `WebhookTimestampError` always means an
        authentic delivery that is too old (or too new).

        Raises:
            WebhookHeaderError, WebhookSignatureError, WebhookTimestampError: as `verify`.
            LinqUsageError: ``body`` is not bytes.
        """
        if not isinstance(body, (bytes, bytearray, memoryview)):
            raise LinqUsageError(
                f"verify() takes the raw request body as bytes, not {type(body).__name__}: "
                "the signature covers the exact bytes received"
            )
        raw = bytes(body)
        found = _lowercase(headers)
        standard = ("webhook-id", "webhook-timestamp", "webhook-signature")
        if any(name in found for name in standard):
            timestamp = self._check_standard(raw, found)
            self._check_time(timestamp, "webhook-timestamp")
            return
        if "x-webhook-signature" not in found:
            raise WebhookHeaderError(
                "no webhook-id, webhook-timestamp or webhook-signature header: this is not "
                "a Linq delivery, or a proxy removed its headers",
                header="webhook-signature",
            )
        if not self.allow_legacy:
            raise WebhookHeaderError(
                "the delivery has only the legacy X-Webhook-* headers, not webhook-id, "
                "webhook-timestamp and webhook-signature: a proxy may be stripping them "
                "(Verifier(allow_legacy=True) accepts the legacy scheme)",
                header="webhook-signature",
            )
        timestamp = self._check_legacy(raw, found)
        self._check_time(timestamp, "x-webhook-timestamp")

    def _check_standard(self, body: bytes, found: Mapping[str, str]) -> int:
        values: dict[str, str] = {}
        for name in ("webhook-id", "webhook-timestamp", "webhook-signature"):
            value = found.get(name)
            if value is None:
                raise WebhookHeaderError(f"the {name} header is missing", header=name)
            if not value:
                raise WebhookHeaderError(f"the {name} header is empty", header=name)
            values[name] = value
        stamp = values["webhook-timestamp"]
        timestamp = _parse_timestamp(stamp, "webhook-timestamp")
        signed = _encode(values["webhook-id"], "webhook-id") + b"." + stamp.encode() + b"." + body
        expected = hmac.new(self._key, signed, hashlib.sha256).digest()
        entries = values["webhook-signature"].split()
        checked = malformed = 0
        matched = False
        for entry in entries:
            version, comma, encoded = entry.partition(",")
            if not comma or not encoded:
                malformed += 1
                continue
            if version != "v1":
                continue
            try:
                candidate = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
            except (binascii.Error, ValueError):
                malformed += 1
                continue
            if len(candidate) != len(expected):
                malformed += 1
                continue
            checked += 1
            matched |= hmac.compare_digest(expected, candidate)
        if not matched:
            raise WebhookSignatureError(
                _no_match(len(entries), checked, malformed),
                header="webhook-signature",
                signatures=len(entries),
                malformed=malformed,
            )
        return timestamp

    def _check_legacy(self, body: bytes, found: Mapping[str, str]) -> int:
        assert self._legacy_key is not None  # allow_legacy with bytes is refused in __init__
        stamp = found.get("x-webhook-timestamp")
        if not stamp:
            raise WebhookHeaderError(
                "the X-Webhook-Timestamp header is missing", header="x-webhook-timestamp"
            )
        timestamp = _parse_timestamp(stamp, "x-webhook-timestamp")
        sent = found.get("x-webhook-signature", "").removeprefix("sha256=")
        expected = hmac.new(self._legacy_key, stamp.encode() + b"." + body, hashlib.sha256).digest()
        try:
            candidate = bytes.fromhex(sent)
        except ValueError:
            candidate = b""
        if len(candidate) != len(expected):
            raise WebhookSignatureError(
                "the X-Webhook-Signature header is not a hex HMAC-SHA256",
                header="x-webhook-signature",
                signatures=1,
                malformed=1,
            )
        if not hmac.compare_digest(expected, candidate):
            raise WebhookSignatureError(
                "X-Webhook-Signature does not match the body: the secret may be wrong, or the "
                "body was changed on the way (it must be the raw bytes received)",
                header="x-webhook-signature",
                signatures=1,
            )
        return timestamp

    def _check_time(self, timestamp: int, header: str) -> None:
        skew = self._clock() - timestamp
        if abs(skew) > self.tolerance:
            when = "in the past" if skew > 0 else "in the future"
            raise WebhookTimestampError(
                f"the {header} header is {abs(skew):.0f} s {when}, more than the "
                f"{self.tolerance:g} s tolerated: a replayed delivery, or a wrong clock here or "
                "at the sender",
                header=header,
                skew=skew,
                tolerance=self.tolerance,
            )


def _decode_secret(secret: object, allow_legacy: bool) -> tuple[bytes, bytes | None] | str:
    """The HMAC keys of a signing secret, or what is wrong with it (never raises).

    Returns ``(key, legacy_key)``, or an error message that does not quote the secret.
    """
    legacy: bytes | None = None
    if isinstance(secret, (bytes, bytearray)):
        key = bytes(secret)
        if allow_legacy:
            return (
                "allow_legacy needs the secret as text (whsec_...): the legacy scheme keys "
                "its HMAC with the secret string"
            )
    elif isinstance(secret, str):
        text = secret.strip()
        encoded = text.removeprefix(_PREFIX)
        try:
            key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
        except (binascii.Error, ValueError):
            return (
                "the webhook secret is not whsec_ followed by base64: copy the "
                "signing_secret the subscription was created with"
            )
        legacy = text.encode()
    else:
        return f"secret must be a str or bytes, not {type(secret).__name__}"
    if not key:
        return "the webhook secret is empty: verification needs the signing secret"
    return key, legacy


def _parse_timestamp(value: str, header: str) -> int:
    if _TIMESTAMP.fullmatch(value) is None:
        raise WebhookHeaderError(
            f"the {header} header is not a Unix time in whole seconds: {_shown(value)}",
            header=header,
        )
    return int(value)


def _no_match(entries: int, checked: int, malformed: int) -> str:
    detail = [f"{checked} v1 checked"]
    if malformed:
        detail.append(f"{malformed} malformed (not v1,<base64 SHA-256>)")
    others = entries - checked - malformed
    if others:
        detail.append(f"{others} of another version")
    return (
        f"no signature in the webhook-signature header matches the body ({entries} "
        f"entr{'y' if entries == 1 else 'ies'}: {', '.join(detail)}): the secret may be "
        "wrong, or the body was changed on the way (it must be the raw bytes received)"
    )
