"""Verifier: Standard Webhooks signatures, the published test vectors, typed errors only."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import pickle
import time
import traceback
from datetime import datetime, timezone
from typing import Any

import pytest
import standardwebhooks
from multidict import CIMultiDict

from linq_async import LinqError, LinqUsageError
from linq_async.testing._webhooks import sign_legacy, sign_standard
from linq_async.webhooks import (
    MessageEvent,
    Router,
    UnknownEvent,
    Verifier,
    WebhookHeaderError,
    WebhookPayloadError,
    WebhookSignatureError,
    WebhookTimestampError,
    WebhookVerificationError,
)

# The published vector of the Standard Webhooks reference libraries (their sign tests).
VECTOR_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
VECTOR_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
VECTOR_TIMESTAMP = 1614265330
VECTOR_BODY = b'{"test": 2432232314}'
VECTOR_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
# Signatures the reference tests use as wrong ones.
WRONG_SIGNATURE = "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc="


def vector_headers(signature: str = VECTOR_SIGNATURE) -> dict[str, str]:
    return {
        "webhook-id": VECTOR_ID,
        "webhook-timestamp": str(VECTOR_TIMESTAMP),
        "webhook-signature": signature,
    }


def at(timestamp: float) -> Verifier:
    """A verifier of the vector's secret whose clock reads ``timestamp``."""
    return Verifier(VECTOR_SECRET, clock=lambda: timestamp)


def envelope(event_type: str = "message.received", **data: Any) -> bytes:
    return json.dumps(
        {
            "event_id": "e1",
            "event_type": event_type,
            "created_at": "2026-02-05T19:52:18.101373886Z",
            "api_version": "v3",
            "webhook_version": "2026-02-03",
            "partner_id": "p",
            "trace_id": "t",
            "data": data,
        }
    ).encode()


def signed(secret: str, body: bytes, timestamp: int, webhook_id: str = "msg_1") -> dict[str, str]:
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign_standard(secret, webhook_id, timestamp, body),
    }


def test_published_vector_verifies_with_the_clock_fixed() -> None:
    """The reference libraries' vector (id, timestamp, body, secret -> signature) passes."""
    at(VECTOR_TIMESTAMP).check(VECTOR_BODY, vector_headers())


def test_published_vector_secret_without_prefix() -> None:
    """The secret works with or without its whsec_ prefix (as the reference tests check)."""
    verifier = Verifier(VECTOR_SECRET.removeprefix("whsec_"), clock=lambda: VECTOR_TIMESTAMP)
    verifier.check(VECTOR_BODY, vector_headers())


def test_published_multi_signature_vector() -> None:
    """Of several signatures (v1 wrong, v2, the right one, v1 wrong) one match suffices."""
    header = " ".join(
        [WRONG_SIGNATURE, "v2," + WRONG_SIGNATURE[3:], VECTOR_SIGNATURE, WRONG_SIGNATURE]
    )
    at(VECTOR_TIMESTAMP).check(VECTOR_BODY, vector_headers(header))


@pytest.mark.parametrize(
    "signature",
    [
        "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OA=",  # one bit off (reference test)
        "v1,dawfeoifkpqwoekfpqoekf",  # not a SHA-256 (reference test)
        VECTOR_SIGNATURE[:8],  # partial (reference test)
        "v1,",  # empty signature (reference test)
        WRONG_SIGNATURE,
        "v2," + VECTOR_SIGNATURE[3:],  # right bytes, unknown version
    ],
)
def test_published_invalid_signatures_are_refused(signature: str) -> None:
    """The reference tests' invalid signatures raise WebhookSignatureError."""
    with pytest.raises(WebhookSignatureError) as info:
        at(VECTOR_TIMESTAMP).check(VECTOR_BODY, vector_headers(signature))
    assert info.value.header == "webhook-signature"


@pytest.mark.parametrize(
    ("signature", "malformed"),
    [
        ("g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", 1),  # no comma
        ("v1g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", 1),  # no comma
        ("v1,!!!not*base64!!!", 1),
        ("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1O", 1),  # bad base64 length
        ("v1,ab\u00e9cd", 1),  # non-ASCII
        (f"{WRONG_SIGNATURE} nocomma v1,%%%", 2),
    ],
)
def test_malformed_signature_headers_raise_the_typed_error(signature: str, malformed: int) -> None:
    """No comma or bad base64: WebhookSignatureError counting the malformed entries."""
    with pytest.raises(WebhookSignatureError) as info:
        at(VECTOR_TIMESTAMP).check(VECTOR_BODY, vector_headers(signature))
    assert info.value.malformed == malformed
    assert "malformed" in str(info.value)


@pytest.mark.parametrize("signature", ["", "   ", "\t"])
def test_an_empty_signature_header_is_a_header_error(signature: str) -> None:
    """An empty webhook-signature is a WebhookHeaderError naming the header."""
    with pytest.raises(WebhookHeaderError) as info:
        at(VECTOR_TIMESTAMP).check(VECTOR_BODY, vector_headers(signature))
    assert info.value.header == "webhook-signature"


def test_a_malformed_entry_does_not_hide_a_valid_one() -> None:
    """Malformed entries are skipped: a valid v1 among them still verifies."""
    header = f"nocomma v1,%%% {VECTOR_SIGNATURE}"
    at(VECTOR_TIMESTAMP).check(VECTOR_BODY, vector_headers(header))


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_each_missing_header_is_named(missing: str) -> None:
    """A missing Standard header raises WebhookHeaderError naming it (reference tests)."""
    headers = vector_headers()
    del headers[missing]
    with pytest.raises(WebhookHeaderError, match=missing) as info:
        at(VECTOR_TIMESTAMP).check(VECTOR_BODY, headers)
    assert info.value.header == missing


@pytest.mark.parametrize("stamp", ["hello", "1614265330.5", "-5", "", "1e9", "\u0661\u0662"])
def test_a_malformed_timestamp_is_a_header_error(stamp: str) -> None:
    """A timestamp that is not whole Unix seconds raises WebhookHeaderError."""
    headers = vector_headers()
    headers["webhook-timestamp"] = stamp
    with pytest.raises(WebhookHeaderError) as info:
        at(VECTOR_TIMESTAMP).check(VECTOR_BODY, headers)
    assert info.value.header == "webhook-timestamp"


@pytest.mark.parametrize(("offset", "sign"), [(301, 1), (-301, -1), (86400, 1)])
def test_timestamps_beyond_the_tolerance_either_way_are_refused(offset: int, sign: int) -> None:
    """More than 300 s in the past or the future: WebhookTimestampError with the skew."""
    with pytest.raises(WebhookTimestampError) as info:
        at(VECTOR_TIMESTAMP + offset).check(VECTOR_BODY, vector_headers())
    assert info.value.skew == offset
    assert info.value.tolerance == 300
    assert ("in the past" if sign > 0 else "in the future") in str(info.value)


@pytest.mark.parametrize("offset", [300, -300, 0])
def test_timestamps_within_the_tolerance_pass(offset: int) -> None:
    """Exactly 300 s either way is still accepted."""
    at(VECTOR_TIMESTAMP + offset).check(VECTOR_BODY, vector_headers())


def test_the_tolerance_is_configurable() -> None:
    """tolerance=10 refuses an 11-second skew."""
    verifier = Verifier(VECTOR_SECRET, tolerance=10, clock=lambda: VECTOR_TIMESTAMP + 11)
    with pytest.raises(WebhookTimestampError):
        verifier.check(VECTOR_BODY, vector_headers())


def test_a_bad_signature_is_reported_before_a_stale_timestamp() -> None:
    """The signature is checked first: a timestamp error always means an authentic delivery."""
    with pytest.raises(WebhookSignatureError):
        at(VECTOR_TIMESTAMP + 10_000).check(VECTOR_BODY, vector_headers(WRONG_SIGNATURE))


def test_header_names_match_in_any_case() -> None:
    """Webhook-Id, WEBHOOK-TIMESTAMP ... are the same headers."""
    headers = {
        key.upper() if "id" in key else key.title(): v for key, v in vector_headers().items()
    }
    at(VECTOR_TIMESTAMP).check(VECTOR_BODY, headers)
    at(VECTOR_TIMESTAMP).check(VECTOR_BODY, list(headers.items()))


def test_bytes_header_names_and_values_are_accepted() -> None:
    """Raw ASGI-style (bytes, bytes) header pairs work."""
    pairs = [(k.encode(), v.encode()) for k, v in vector_headers().items()]
    at(VECTOR_TIMESTAMP).check(VECTOR_BODY, pairs)  # type: ignore[arg-type]


def test_the_same_header_twice_with_different_values_is_refused() -> None:
    """Two different webhook-id values are ambiguous: WebhookHeaderError."""
    pairs = [*vector_headers().items(), ("Webhook-Id", "msg_other")]
    with pytest.raises(WebhookHeaderError, match="twice"):
        at(VECTOR_TIMESTAMP).check(VECTOR_BODY, pairs)


def test_the_raw_bytes_are_signed_not_reserialised_json() -> None:
    """Non-UTF-8 bytes verify; the same JSON re-serialised does not."""
    body = b'{"event": "x", "blob": "\xff\xfe"}'
    now = int(time.time())
    headers = signed(VECTOR_SECRET, body, now)
    Verifier(VECTOR_SECRET).check(body, headers)
    body = b'{"test":  2432232314}'
    headers = signed(VECTOR_SECRET, body, now)
    reserialised = json.dumps(json.loads(body)).encode()
    with pytest.raises(WebhookSignatureError, match="raw bytes"):
        Verifier(VECTOR_SECRET).check(reserialised, headers)


def test_a_str_body_is_refused_as_usage() -> None:
    """verify() wants bytes: a str body is a LinqUsageError, not a silent re-encoding."""
    with pytest.raises(LinqUsageError, match="bytes"):
        at(VECTOR_TIMESTAMP).check(VECTOR_BODY.decode(), vector_headers())  # type: ignore[arg-type]


def test_unpadded_base64_secrets_work() -> None:
    """A secret whose base64 padding was dropped verifies the same deliveries."""
    key = bytes(range(20))  # 20 bytes: base64 ends in one "="
    padded = "whsec_" + base64.b64encode(key).decode()
    assert padded.endswith("=")
    now = int(time.time())
    headers = signed(padded, b"{}", now)
    Verifier(padded.rstrip("=")).check(b"{}", headers)
    Verifier(key).check(b"{}", headers)


@pytest.mark.parametrize("secret", ["", "   ", "whsec_", "whsec_=", b""])
def test_an_empty_secret_is_refused_at_construction(secret: str | bytes) -> None:
    """No secret, no verifier: LinqUsageError when it is built."""
    with pytest.raises(LinqUsageError):
        Verifier(secret)


@pytest.mark.parametrize(
    "secret", ["whsec_not base64!!", "whsec_abcde", "whsec_\u00e9\u00e9\u00e9\u00e9"]
)
def test_a_secret_that_is_not_base64_is_refused_without_echoing_it(secret: str) -> None:
    """A malformed secret is refused, and the error text does not contain it."""
    with pytest.raises(LinqUsageError) as info:
        Verifier(secret)
    assert secret.removeprefix("whsec_") not in str(info.value)
    assert info.value.__cause__ is None
    assert info.value.__context__ is None or info.value.__suppress_context__


def test_the_secret_never_appears_in_repr_errors_or_pickles() -> None:
    """repr(), every verification error's text and pickling keep the secret out."""
    verifier = at(VECTOR_TIMESTAMP + 1000)
    assert "MfKQ9r8" not in repr(verifier)
    assert "redacted" in repr(verifier)
    for headers in (vector_headers(), vector_headers(WRONG_SIGNATURE), {}):
        with pytest.raises(WebhookVerificationError) as info:
            verifier.check(VECTOR_BODY, headers)
        text = str(info.value) + repr(info.value)
        assert "MfKQ9r8" not in text
        assert "g0hM9SsE" not in text  # nor the expected signature
    with pytest.raises(TypeError, match="secret"):
        pickle.dumps(verifier)


def test_errors_are_linq_errors_and_pickle() -> None:
    """Every verification error is a LinqError; attributes survive pickling."""
    with pytest.raises(WebhookTimestampError) as info:
        at(VECTOR_TIMESTAMP + 999).check(VECTOR_BODY, vector_headers())
    assert isinstance(info.value, LinqError)
    copy = pickle.loads(pickle.dumps(info.value))
    assert (copy.skew, copy.tolerance, copy.header) == (999, 300, "webhook-timestamp")
    assert str(copy) == str(info.value)


@pytest.mark.parametrize("tolerance", [0, -1, float("inf"), float("nan"), True, "300"])
def test_a_bad_tolerance_is_refused(tolerance: Any) -> None:
    """tolerance must be a positive finite number of seconds."""
    with pytest.raises(LinqUsageError):
        Verifier(VECTOR_SECRET, tolerance=tolerance)


def test_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """from_env reads LINQ_WEBHOOK_SECRET; unset or blank is a LinqUsageError."""
    monkeypatch.setenv("LINQ_WEBHOOK_SECRET", VECTOR_SECRET)
    Verifier.from_env(clock=lambda: VECTOR_TIMESTAMP).check(VECTOR_BODY, vector_headers())
    monkeypatch.setenv("LINQ_WEBHOOK_SECRET", " ")
    with pytest.raises(LinqUsageError, match="LINQ_WEBHOOK_SECRET"):
        Verifier.from_env()
    monkeypatch.delenv("LINQ_WEBHOOK_SECRET")
    with pytest.raises(LinqUsageError, match="LINQ_WEBHOOK_SECRET"):
        Verifier.from_env()


# The legacy scheme


def legacy_headers(secret: str, body: bytes, timestamp: int) -> dict[str, str]:
    return {
        "X-Webhook-Event": "message.received",
        "X-Webhook-Subscription-ID": "sub",
        "X-Webhook-Timestamp": str(timestamp),
        "X-Webhook-Signature": sign_legacy(secret, timestamp, body),
    }


def test_legacy_headers_alone_are_refused_unless_allowed() -> None:
    """Only X-Webhook-* headers: refused by default with a hint; accepted with allow_legacy."""
    body = envelope()
    headers = legacy_headers(VECTOR_SECRET, body, 1000)
    with pytest.raises(WebhookHeaderError, match="allow_legacy"):
        Verifier(VECTOR_SECRET, clock=lambda: 1000).verify(body, headers)
    event = Verifier(VECTOR_SECRET, clock=lambda: 1000, allow_legacy=True).verify(body, headers)
    assert event.event_type == "message.received"


def test_the_legacy_signature_is_the_hex_hmac_of_the_secret_string() -> None:
    """Legacy: hex HMAC-SHA256 of "<timestamp>.<body>" keyed with the secret's text."""
    body = envelope()
    expected = hmac.new(VECTOR_SECRET.encode(), b"1000." + body, hashlib.sha256).hexdigest()
    headers = {"x-webhook-timestamp": "1000", "x-webhook-signature": expected}
    Verifier(VECTOR_SECRET, clock=lambda: 1000, allow_legacy=True).check(body, headers)
    headers["x-webhook-signature"] = expected[:-1] + ("0" if expected[-1] != "0" else "1")
    with pytest.raises(WebhookSignatureError):
        Verifier(VECTOR_SECRET, clock=lambda: 1000, allow_legacy=True).check(body, headers)
    headers["x-webhook-signature"] = "zz"
    with pytest.raises(WebhookSignatureError, match="hex"):
        Verifier(VECTOR_SECRET, clock=lambda: 1000, allow_legacy=True).check(body, headers)
    with pytest.raises(WebhookTimestampError):
        Verifier(VECTOR_SECRET, clock=lambda: 5000, allow_legacy=True).check(
            body, {**legacy_headers(VECTOR_SECRET, body, 1000)}
        )


def test_allow_legacy_needs_a_text_secret() -> None:
    """The legacy scheme keys with the secret's text, so a bytes secret cannot allow it."""
    with pytest.raises(LinqUsageError, match="legacy"):
        Verifier(b"key", allow_legacy=True)


def test_no_headers_at_all() -> None:
    """No webhook-* nor X-Webhook-* header: WebhookHeaderError."""
    with pytest.raises(WebhookHeaderError, match="not a Linq delivery"):
        at(VECTOR_TIMESTAMP).check(VECTOR_BODY, {"content-type": "application/json"})


# Decoding


def test_verify_returns_the_typed_event() -> None:
    """verify() decodes the envelope into its class; an unknown type is an UnknownEvent."""
    now = int(time.time())
    body = envelope(direction="inbound", chat={"id": "c"}, parts=[], id="m")
    event = Verifier(VECTOR_SECRET).verify(body, signed(VECTOR_SECRET, body, now))
    assert isinstance(event, MessageEvent)
    body = envelope("brand.new_event", anything=[1, 2])
    event = Verifier(VECTOR_SECRET).verify(body, signed(VECTOR_SECRET, body, now))
    assert isinstance(event, UnknownEvent)
    assert event.data == {"anything": [1, 2]}


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"\xff\xfe\x00garbage",
        b"[1, 2]",
        b'{"event_id": "e", "event_type": "message.sent"}',
        b'{"event_id": "e", "event_type": 5, "data": {}}',
        b'{"event_id": 1, "event_type": "message.sent", "data": {}}',
        b'{"event_id": "e", "event_type": "message.sent", "data": []}',
        b"[" * 100_000,
        b"",
    ],
)
def test_a_malformed_authentic_body_is_a_payload_error(body: bytes) -> None:
    """A signed body that is not an event envelope raises WebhookPayloadError, nothing else."""
    now = int(time.time())
    with pytest.raises(WebhookPayloadError):
        Verifier(VECTOR_SECRET).verify(body, signed(VECTOR_SECRET, body, now))


# Cross-checks with the reference implementation (the standardwebhooks package)


@pytest.mark.parametrize("seed", range(8))
def test_the_reference_signer_and_this_verifier_agree(seed: int) -> None:
    """Signatures made by standardwebhooks.Webhook.sign verify here, for random inputs."""
    secret = (
        "whsec_" + base64.b64encode(hashlib.sha256(bytes([seed])).digest()[: 16 + seed]).decode()
    )
    body = json.dumps({"n": seed, "text": "é" * seed}).encode()
    now = datetime.now(tz=timezone.utc)
    reference = standardwebhooks.Webhook(secret)
    signature = reference.sign(msg_id=f"msg_{seed}", timestamp=now, data=body.decode())
    headers = {
        "webhook-id": f"msg_{seed}",
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signature,
    }
    Verifier(secret).check(body, headers)
    Verifier(secret.rstrip("=")).check(body, headers)


@pytest.mark.parametrize("seed", range(4))
def test_the_fake_signer_and_the_reference_verifier_agree(seed: int) -> None:
    """The fake's deliveries verify with standardwebhooks.Webhook.verify too."""
    secret = "whsec_" + base64.b64encode(bytes(range(seed, seed + 24))).decode()
    body = envelope(n=seed)
    headers = signed(secret, body, int(time.time()), f"msg_{seed}")
    assert standardwebhooks.Webhook(secret).verify(body, headers)["data"] == {"n": seed}


def test_the_reference_signs_the_published_vector() -> None:
    """Sanity: the installed reference reproduces the published vector too."""
    reference = standardwebhooks.Webhook(VECTOR_SECRET)
    stamp = datetime.fromtimestamp(VECTOR_TIMESTAMP, tz=timezone.utc)
    assert reference.sign(VECTOR_ID, stamp, VECTOR_BODY.decode()) == VECTOR_SIGNATURE
    assert (
        sign_standard(VECTOR_SECRET, VECTOR_ID, VECTOR_TIMESTAMP, VECTOR_BODY) == VECTOR_SIGNATURE
    )


# Hardening: what a real receiver's headers, captures and logs look like


def test_unrelated_headers_sent_twice_do_not_fail_verification() -> None:
    """Repeated X-Forwarded-For, Cookie or Via headers (proxies add them) are not ambiguity."""
    pairs = [
        *vector_headers().items(),
        ("X-Forwarded-For", "203.0.113.7"),
        ("X-Forwarded-For", "10.0.0.2"),
        ("Via", "1.1 edge"),
        ("via", "1.1 lb"),
        ("Cookie", "a=1"),
        ("Cookie", "b=2"),
    ]
    at(VECTOR_TIMESTAMP).check(VECTOR_BODY, pairs)
    at(VECTOR_TIMESTAMP).check(VECTOR_BODY, CIMultiDict(pairs))


def test_bytes_header_values_are_taken_as_the_wire_bytes() -> None:
    """A UTF-8 webhook-id given as raw bytes is signed as those bytes, not re-encoded."""
    webhook_id = "msg_\u00e9t\u00e9"
    now = int(time.time())
    headers = signed(VECTOR_SECRET, b"{}", now, webhook_id)
    pairs = [(name.encode(), value.encode()) for name, value in headers.items()]
    Verifier(VECTOR_SECRET).check(b"{}", pairs)  # type: ignore[arg-type]


@pytest.mark.parametrize("headers", [None, 5, ["webhook-id"], [("a", "b", "c")]])
def test_headers_of_the_wrong_shape_are_a_usage_error(headers: Any) -> None:
    """Not a mapping nor (name, value) pairs: LinqUsageError, not TypeError or ValueError."""
    with pytest.raises(LinqUsageError, match="headers"):
        at(VECTOR_TIMESTAMP).check(VECTOR_BODY, headers)


def test_a_fractional_skew_is_not_rounded_into_the_tolerance() -> None:
    """300.5 s is refused, and the error says 300.5 s, not a confusing "300 s"."""
    with pytest.raises(WebhookTimestampError) as info:
        at(VECTOR_TIMESTAMP + 300.5).check(VECTOR_BODY, vector_headers())
    assert "300.5 s in the past" in str(info.value)
    assert info.value.skew == 300.5


def _forms(secret: bytes) -> list[str]:
    """How bytes can show up in a rendered traceback: repr text, base64, hex."""
    return [repr(secret)[2:-1], base64.b64encode(secret).decode()[:20], secret.hex()[:20]]


def _rendered(exc: BaseException) -> str:
    """The traceback's frames inside linq_async, with their locals, as a logger or an error
    tracker that captures locals renders them (the test's own frames are left out)."""
    report = traceback.TracebackException.from_exception(exc, capture_locals=True)
    "".join(report.format())  # rendering must not fail either
    # The package's own frames: a directory named linq_async (not the sdist's linq_async-x.y).
    package = f"{os.sep}linq_async{os.sep}"
    frames = [frame for frame in report.stack if package in frame.filename]
    assert frames
    shown = [f"{name}={value}" for frame in frames for name, value in (frame.locals or {}).items()]
    return "\n".join(shown) + str(exc)


def test_a_failed_signature_leaves_no_valid_signature_in_traceback_locals() -> None:
    """With locals captured, a refused delivery's traceback holds neither the key nor the
    signature that would have matched (that would let a log reader forge the delivery)."""
    key = base64.b64decode(VECTOR_SECRET.removeprefix("whsec_"))
    now = VECTOR_TIMESTAMP
    forged = b'{"event_id":"e","event_type":"x","data":{}}'
    expected = hmac.new(key, f"{VECTOR_ID}.{now}.".encode() + forged, hashlib.sha256).digest()
    legacy = hmac.new(VECTOR_SECRET.encode(), f"{now}.".encode() + forged, hashlib.sha256)
    verifier = Verifier(VECTOR_SECRET, clock=lambda: now, allow_legacy=True)
    attempts = [
        vector_headers(WRONG_SIGNATURE),
        {"X-Webhook-Timestamp": str(now), "X-Webhook-Signature": "00" * 32},
    ]
    for headers in attempts:
        with pytest.raises(WebhookSignatureError) as info:
            verifier.check(forged, headers)
        text = _rendered(info.value)
        assert "Verifier(secret=<redacted>" in text  # the locals were rendered
        for needle in [*_forms(key), *_forms(expected), *_forms(legacy.digest())]:
            assert needle not in text
        assert VECTOR_SECRET.removeprefix("whsec_")[:12] not in text


@pytest.mark.parametrize(
    ("secret", "options"),
    [
        ("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS!", {}),  # a typo in a real secret
        (VECTOR_SECRET, {"tolerance": 0}),
        (VECTOR_SECRET.encode(), {"allow_legacy": True}),
    ],
)
def test_a_refused_construction_leaves_the_secret_out_of_traceback_locals(
    secret: str | bytes, options: dict[str, Any]
) -> None:
    """Rendering the construction error with locals works and does not show the secret."""
    with pytest.raises(LinqUsageError) as info:
        Verifier(secret, **options)
    text = _rendered(info.value)
    assert "MfKQ9r8GKYqrTwjUPD8IL" not in text
    assert "<redacted>" in text  # repr(self) of the half-built verifier did not fail


def test_from_env_with_a_malformed_secret_keeps_it_out_of_traceback_locals(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Verifier.from_env and Router.from_env: a malformed secret is not in the locals."""
    monkeypatch.setenv("LINQ_WEBHOOK_SECRET", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS!")
    for build in (Verifier.from_env, Router.from_env):
        with pytest.raises(LinqUsageError) as info:
            build()
        assert "MfKQ9r8GKYqrTwjUPD8IL" not in _rendered(info.value)
