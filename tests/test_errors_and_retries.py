"""Error mapping and retries, over real sockets against FakeLinqServer."""

from __future__ import annotations

import asyncio
import copy
import email.utils
import logging
import pickle
import time
from collections.abc import AsyncIterator

import pytest
from _support import RECIPIENT, SENDER, SleepRecorder

from linq_async import (
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    LineIneligibleError,
    LinqConnectionError,
    LinqSession,
    LinqTimeoutError,
    NotFoundError,
    OptedOutError,
    PermissionDeniedError,
    RateLimitError,
    RetryPolicy,
    ServerError,
    Timeouts,
)
from linq_async._transport import Pool, status_error
from linq_async.testing import FakeLinqServer


@pytest.fixture
async def once(fake: FakeLinqServer) -> AsyncIterator[LinqSession]:
    """A session that never retries, to see each error as the server sent it."""
    async with LinqSession(fake.api_key, base_url=fake.base_url, retry=RetryPolicy.never()) as s:
        yield s


@pytest.mark.parametrize(
    ("status", "code", "cls"),
    [
        (400, 1002, BadRequestError),
        (401, 2004, AuthenticationError),
        (403, 2005, PermissionDeniedError),
        (403, 2024, OptedOutError),
        (403, 2027, LineIneligibleError),
        (404, 2001, NotFoundError),
        (409, 1006, ConflictError),
        (422, 4005, BadRequestError),
        (429, 1007, RateLimitError),
        (500, 3006, ServerError),
        (503, 4004, ServerError),
        (418, 9999, APIStatusError),
    ],
)
async def test_each_status_maps_to_its_class(
    once: LinqSession, fake: FakeLinqServer, status: int, code: int, cls: type[APIStatusError]
) -> None:
    """Status and code pick the class; code, message and trace id are carried and shown."""
    fake.fail_next(status, code=code, message="it went wrong")
    with pytest.raises(cls) as info:
        await once.chats.get("c1")
    err = info.value
    assert type(err) is cls
    assert (err.status, err.code, err.message) == (status, code, "it went wrong")
    assert err.trace_id is not None
    assert len(err.trace_id) == 32
    assert err.method == "GET"
    assert err.path == "/v3/chats/c1"
    text = str(err)
    for piece in (str(status), str(code), "it went wrong", err.trace_id):
        assert piece in text


async def test_real_401_from_a_wrong_key(fake: FakeLinqServer) -> None:
    """A wrong key is refused by the fake with 401 / 2004, mapped to AuthenticationError."""
    async with LinqSession("wrong-key", base_url=fake.base_url) as linq:
        with pytest.raises(AuthenticationError) as info:
            await linq.chats.get("c1")
    assert info.value.code == 2004
    assert "wrong-key" not in str(info.value)


async def test_proxy_html_page_is_kept_as_text(once: LinqSession, fake: FakeLinqServer) -> None:
    """An HTML error page from a proxy becomes ServerError with the reason as message."""
    page = "<html><body><h1>502 Bad Gateway</h1></body></html>"
    fake.fail_next(502, body=page, content_type="text/html")
    with pytest.raises(ServerError) as info:
        await once.chats.get("c1")
    assert info.value.status == 502
    assert info.value.code is None
    assert info.value.message == "Bad Gateway"
    assert info.value.body == page


async def test_empty_body_error(once: LinqSession, fake: FakeLinqServer) -> None:
    """An error with no body at all still maps by status."""
    fake.fail_next(404, body=b"", content_type="text/plain")
    with pytest.raises(NotFoundError) as info:
        await once.chats.get("c1")
    assert (info.value.code, info.value.body, info.value.message) == (None, None, "Not Found")


async def test_bare_error_object(once: LinqSession, fake: FakeLinqServer) -> None:
    """A bare {status, code, message} body (no envelope) is understood."""
    fake.fail_next(
        400,
        body='{"status": 400, "code": 1004, "message": "bad parts"}',
        content_type="application/json",
    )
    with pytest.raises(BadRequestError) as info:
        await once.chats.get("c1")
    assert (info.value.code, info.value.message) == (1004, "bad parts")


def test_status_error_survives_odd_bodies() -> None:
    """Non-object JSON, wrong-typed fields and binary garbage never crash the parser."""
    odd = (b"[1, 2]", b'"text"', b"5", b"null", b"true", b'{"error": "nope"}', b'{"code": "x"}')
    for raw in (*odd, b"\xff\xfe", b"[" * 100_000):
        for redact in (None, str.upper):  # with redaction too (as the transport calls it)
            err = status_error(500, "Internal Server Error", {}, raw, redact=redact)
            assert isinstance(err, ServerError)
            assert err.code is None


async def test_503_then_success(
    linq: LinqSession, fake: FakeLinqServer, sleeps: SleepRecorder
) -> None:
    """A 503 is retried after a backoff, and the retry succeeds with one chat created."""
    fake.fail_next(503, method="POST", path="/v3/chats")
    created = await linq.chats.create(from_=SENDER, to=RECIPIENT, text="hi")
    assert created.chat.id in fake.chats
    assert len(fake.chats) == 1
    assert len(sleeps.delays) == 1
    assert 0.375 <= sleeps.delays[0] <= 0.5


async def test_retries_give_up_after_the_attempts(
    linq: LinqSession, fake: FakeLinqServer, sleeps: SleepRecorder
) -> None:
    """Persistent 5xx raises the last error after `attempts` tries, backing off each time."""
    fake.fail_next(500, times=10)
    with pytest.raises(ServerError):
        await linq.chats.get("c1")
    assert len(fake.requests) == 4
    assert len(sleeps.delays) == 3
    assert sleeps.delays[0] < sleeps.delays[1] < sleeps.delays[2]


async def test_429_retry_after_header_is_honoured(
    linq: LinqSession, fake: FakeLinqServer, sleeps: SleepRecorder
) -> None:
    """429 waits exactly Retry-After seconds (via the injected sleep), then succeeds."""
    fake.rate_limit(retry_after=7)
    await linq.chats.create(from_=SENDER, to=RECIPIENT, text="hi")
    assert sleeps.delays == [7.0]
    assert len(fake.chats) == 1


async def test_a_retry_after_beyond_the_cap_ends_the_call_at_once(
    fake: FakeLinqServer, sleeps: SleepRecorder
) -> None:
    """An hour-long HTTP-date Retry-After is not slept through (nor cut short and retried,
    which the server would refuse again): the RateLimitError says how long to wait."""
    when = email.utils.formatdate(time.time() + 3600, usegmt=True)
    fake.fail_next(429, code=1007, headers={"Retry-After": when})
    retry = RetryPolicy(retry_after_max=30.0, sleep=sleeps)
    async with LinqSession(fake.api_key, base_url=fake.base_url, retry=retry) as linq:
        with pytest.raises(RateLimitError) as info:
            await linq.chats.create(from_=SENDER, to=RECIPIENT, text="hi")
    assert sleeps.delays == []
    assert info.value.retry_after is not None
    assert 3500 < info.value.retry_after <= 3600
    assert len(fake.messages) == 0


async def test_body_retry_after_is_used_without_header(
    fake: FakeLinqServer, once: LinqSession
) -> None:
    """The body's error.retry_after is exposed when there is no header."""
    fake.fail_next(
        429,
        body='{"success": false, "error": {"status": 429, "code": 1007, '
        '"message": "slow down", "retry_after": 12}}',
        content_type="application/json",
    )
    with pytest.raises(RateLimitError) as info:
        await once.chats.get("c1")
    assert info.value.retry_after == 12.0


async def test_lost_response_is_retried_without_a_second_chat(
    linq: LinqSession, fake: FakeLinqServer, sleeps: SleepRecorder
) -> None:
    """The server creates the chat but the response is lost: the retry reuses the key."""
    fake.drop_next_response(method="POST", path="/v3/chats")
    created = await linq.chats.create(from_=SENDER, to=RECIPIENT, text="exactly once")
    assert len(fake.chats) == 1
    assert len(fake.messages) == 1
    assert created.message.id in fake.messages
    posts = [r for r in fake.requests if r.method == "POST"]
    assert len(posts) == 2
    assert len(sleeps.delays) == 1


async def test_same_idempotency_key_sends_once(linq: LinqSession, fake: FakeLinqServer) -> None:
    """A caller's repeated idempotency_key returns the first message and sends nothing new."""
    first = await linq.chats.create(from_=SENDER, to=RECIPIENT, text="a", idempotency_key="k-1")
    again = await linq.chats.create(from_=SENDER, to=RECIPIENT, text="a", idempotency_key="k-1")
    assert again.message.id == first.message.id
    assert len(fake.messages) == 1


async def test_a_post_without_a_key_is_never_retried_once_it_may_have_arrived(
    linq: LinqSession, fake: FakeLinqServer, sleeps: SleepRecorder
) -> None:
    """participants.add carries no idempotency key: a 503 or a lost answer is final, and only a
    refused connection or a 429 (never processed) would be retried."""
    created = await linq.chats.create(from_=SENDER, to=[RECIPIENT, "+15550001111"], text="hi")
    chat_id = created.chat.id
    path = f"/v3/chats/{chat_id}/participants"
    fake.requests.clear()
    fake.fail_next(503, times=5, path=path)
    with pytest.raises(ServerError):
        await linq.chats.participants.add(chat_id, "+15550002222")
    assert len(fake.requests) == 1
    fake.reset_faults()
    fake.drop_next_response(path=path)
    with pytest.raises(LinqConnectionError):
        await linq.chats.participants.add(chat_id, "+15550002222")
    assert len(fake.requests) == 2
    assert "+15550002222" in fake.chats[chat_id].handles  # it did arrive: a retry would fail
    fake.rate_limit(path=path, retry_after=0)
    await linq.chats.participants.add(chat_id, "+15550003333")
    assert len(fake.requests) == 4
    assert sleeps.delays == [0.0]


async def test_refused_connection_is_retried_then_raised(sleeps: SleepRecorder) -> None:
    """A port nobody listens on gives LinqConnectionError after the retries."""
    async with FakeLinqServer() as gone:
        base_url = gone.base_url
    retry = RetryPolicy(attempts=2, sleep=sleeps)
    async with LinqSession("key", base_url=base_url, retry=retry) as linq:
        with pytest.raises(LinqConnectionError):
            await linq.chats.get("c1")
    assert len(sleeps.delays) == 1


async def test_retries_are_logged_without_headers_or_key(
    linq: LinqSession, fake: FakeLinqServer, caplog: pytest.LogCaptureFixture
) -> None:
    """Each retry logs method, path, attempt, delay and status, and never the key."""
    caplog.set_level(logging.DEBUG)
    fake.fail_next(503, times=2)
    with pytest.raises(NotFoundError):
        await linq.chats.get("c1")
    retries = [r for r in caplog.records if r.name == "linq_async" and r.levelno == logging.INFO]
    assert len(retries) == 2
    message = retries[0].getMessage()
    assert "GET /v3/chats/c1" in message
    assert "attempt 2 of 4" in message
    assert "HTTP 503" in message
    for record in caplog.records:
        assert fake.api_key not in record.getMessage()
        assert "Bearer" not in record.getMessage()


async def test_key_never_appears_in_reprs_or_errors(
    fake: FakeLinqServer, caplog: pytest.LogCaptureFixture
) -> None:
    """The API key is in no repr, exception text or log record, whatever happens."""
    caplog.set_level(logging.DEBUG)
    key = fake.api_key
    async with LinqSession(key, base_url=fake.base_url, retry=RetryPolicy.never()) as linq:
        texts = [repr(linq), repr(linq.chats), repr(vars(linq)), repr(vars(linq._transport))]
        fake.fail_next(500)
        for call in (linq.chats.get("c1"), linq.chats.get("c2")):
            with pytest.raises(APIStatusError) as info:
                await call
            texts += [str(info.value), repr(info.value), repr(info.value.body)]
    texts += [record.getMessage() for record in caplog.records]
    assert all(key not in text for text in texts)


def _everything_shown(error: BaseException) -> list[str]:
    """What an error shows: its text, repr and body, and the locals of the SDK's frames in
    its traceback (which error trackers capture)."""
    import os
    import traceback

    import linq_async

    package = os.path.dirname(linq_async.__file__) + os.sep
    shown = [str(error), repr(error), repr(getattr(error, "body", None))]
    for frame, _ in traceback.walk_tb(error.__traceback__):
        if frame.f_code.co_filename.startswith(package):
            shown += [f"{name}={value!r}" for name, value in frame.f_locals.items()]
    return shown


async def test_a_key_echoed_by_the_server_is_written_out_of_errors() -> None:
    """A server or proxy quoting the request's Authorization back: the key is written out of
    the error's text, body and repr, and no frame of its traceback holds the answer, whether
    the answer is JSON (escaped or not), text, or a 2xx that is not JSON."""
    from linq_async import ResponseValidationError

    key = "sk_live/abc+def/XYZ==" + "k" * 16  # a '/' that JSON encoders may escape
    server = FakeLinqServer(api_key=key)
    async with (
        server,
        LinqSession(key, base_url=server.base_url, retry=RetryPolicy.never()) as linq,
    ):
        server.fail_next(400, message=f"bad header Authorization: Bearer {key}")
        escaped = key.replace("/", "\\/")
        server.fail_next(
            401, body=f'{{"message": "bad token {escaped}"}}', content_type="application/json"
        )
        server.fail_next(502, body=f"upstream refused Bearer {key}", content_type="text/plain")
        server.fail_next(200, body=f"ok {key}", content_type="text/plain")
        server.fail_next(404, headers={"X-Echo": f"Bearer {key}", "X-Trace-Id": key})
        server.fail_next(  # the key as an object key
            400, body=f'{{"message": "bad", "details": {{"{key}": "revoked"}}}}'
        )
        server.fail_next(  # cut short, so not decoded: the key as JSON spelled it
            400, body=f'{{"message": "bad token {escaped}", "d', content_type="application/json"
        )
        errors = []
        kinds = (
            BadRequestError,
            AuthenticationError,
            ServerError,
            ResponseValidationError,
            NotFoundError,
            BadRequestError,
            BadRequestError,
        )
        for expected in kinds:
            with pytest.raises(expected) as info:
                await linq.chats.get("c1")
            errors.append(info.value)
    for error in errors:
        texts = _everything_shown(error)
        assert all(key not in text for text in texts), texts
        assert all(escaped not in text for text in texts), texts
    for error in errors[:4]:
        assert "<the API key>" in str(error), str(error)
    assert "<the API key>" in repr(errors[5].body)
    assert errors[6].body == "<not shown: it quotes the API key>"  # escaped, undecoded


def test_redaction_keeps_a_deep_error_envelope_and_reaches_the_reason_phrase() -> None:
    """The body is looked through at any depth json.loads takes, without losing what the
    envelope says; the reason phrase and the trace id header are redacted too."""
    key = "sk_live_" + "q" * 24

    def redact(text: str) -> str:
        return text.replace(key, "<the API key>")

    deep = "[" * 900 + f'"{key}"' + "]" * 900
    raw = (
        f'{{"error": {{"code": 1007, "message": "slow down", "retry_after": 3, '
        f'"details": {deep}}}}}'
    ).encode()
    err = status_error(429, "Too Many Requests", {}, raw, redact=redact)
    assert (err.code, err.message, err.retry_after) == (1007, "slow down", 3.0)
    assert err.body is None  # not kept: the error still pickles and copies
    assert pickle.loads(pickle.dumps(err)).code == 1007
    assert copy.deepcopy(err).retry_after == 3.0
    echoed = status_error(
        400, f"Refused Bearer {key}", {"x-trace-id": f"Bearer {key}"}, b"", redact=redact
    )
    assert key not in str(echoed)
    assert key not in (echoed.trace_id or "")
    assert echoed.message == "Refused Bearer <the API key>"


def test_a_key_spelled_with_any_json_escape_is_not_shown() -> None:
    """An answer that could not be decoded (cut short, or nested too deep) may spell the
    key with JSON escapes of any encoder's choosing: such text is withheld whole, and a
    body nested too deep is not kept, whatever the route."""
    key = "sk_live/abc+def/" + "x" * 20
    # The pool's redaction, as the transport passes it to status_error.
    redact = Pool(api_key=key, base_url="http://127.0.0.1:9", session=None).redact
    spellings = [key.replace("+", "\\u002B"), key.replace("/", "\\u002F")]
    for spelled in spellings:
        cut = f'{{"error": {{"code": 2004, "message": "bad token {spelled}"}}, "d'
        deep = (
            f'{{"error": {{"code": 2004, "message": "bad token {spelled}"}}, "d": '
            + "[" * 101
            + "]" * 101
            + "}"
        )
        for raw in (cut, deep):
            for secret in (False, True):
                err = status_error(
                    401, "Unauthorized", {}, raw.encode(), secret=secret, redact=redact
                )
                shown = [str(err), repr(err), repr(err.body), err.message]
                assert all(spelled not in text for text in shown), shown
                assert all(key not in text for text in shown), shown
        err = status_error(401, "Unauthorized", {}, deep.encode(), secret=True, redact=redact)
        assert err.code == 2004
        assert err.body == {"error": {"code": 2004, "message": "bad token <the API key>"}}


async def test_a_short_key_leaves_error_answers_alone() -> None:
    """A key too short to be a real one (a test key) is not written out of answers: it
    would mangle their words and numbers."""
    server = FakeLinqServer(api_key="key")
    async with (
        server,
        LinqSession("key", base_url=server.base_url, retry=RetryPolicy.never()) as linq,
    ):
        server.fail_next(409, code=1006, message="idempotency_key reused with another body")
        with pytest.raises(ConflictError) as info:
            await linq.chats.get("c1")
    assert info.value.code == 1006
    assert info.value.message == "idempotency_key reused with another body"


async def test_a_silent_server_times_out_as_linq_timeout_error(sleeps: SleepRecorder) -> None:
    """A server that never answers raises LinqTimeoutError (also a TimeoutError) per policy."""
    from aiohttp import web

    hang = asyncio.Event()

    async def silent(request: web.Request) -> web.Response:
        await hang.wait()
        return web.Response()

    app = web.Application()
    app.router.add_get("/v3/chats/c1", silent)
    runner = web.AppRunner(app, shutdown_timeout=0)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        retry = RetryPolicy(attempts=2, sleep=sleeps)
        timeout = Timeouts(total=0.05)
        async with LinqSession(
            "key", base_url=f"http://127.0.0.1:{port}", timeout=timeout, retry=retry
        ) as linq:
            with pytest.raises(LinqTimeoutError) as info:
                await linq.chats.get("c1")
        assert isinstance(info.value, TimeoutError)
        assert "GET /v3/chats/c1 timed out" in str(info.value)
        assert len(sleeps.delays) == 1
    finally:
        hang.set()
        await runner.cleanup()
