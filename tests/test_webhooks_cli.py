"""``linq-async webhooks verify``/``listen`` and ``fake-server --webhook-url``, as subprocesses."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import time
from typing import Any

from _support import RECIPIENT, SENDER, free_port
from aiohttp import web
from test_cli import REPO, TIMEOUT, Result, finish, make_env, run_cli

from linq_async import LinqSession
from linq_async.testing import FakeLinqServer
from linq_async.testing._webhooks import sign_legacy, sign_standard
from linq_async.webhooks import MessageEvent, Verifier

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
BODY = json.dumps(
    {
        "event_id": "e-1",
        "event_type": "message.received",
        "webhook_version": "2026-02-03",
        "data": {"id": "m", "chat": {"id": "c"}, "direction": "inbound", "parts": []},
    },
    separators=(",", ":"),
).encode()


def capture(headers: dict[str, str], body: bytes = BODY) -> bytes:
    head = "POST /linq/webhooks HTTP/1.1\r\nHost: example.com\r\nContent-Type: application/json\r\n"
    head += "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    return head.encode() + b"\r\n" + body


def standard(stamp: int, secret: str = SECRET, body: bytes = BODY) -> dict[str, str]:
    return {
        "webhook-id": "msg_1",
        "webhook-timestamp": str(stamp),
        "webhook-signature": sign_standard(secret, "msg_1", stamp, body),
    }


async def run_verify(data: bytes, *args: str, **env: str) -> Result:
    variables = {"LINQ_WEBHOOK_SECRET": SECRET, **env}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "linq_async",
        "webhooks",
        "verify",
        *args,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=make_env(**variables),
        cwd=REPO,
    )
    out, err = await asyncio.wait_for(proc.communicate(data), TIMEOUT)
    return Result(proc.returncode, out.decode(), err.decode())


async def test_verify_accepts_a_good_capture() -> None:
    """A correctly signed capture: exit 0, the event named, the skew shown."""
    result = await run_verify(capture(standard(int(time.time()))))
    assert result.code == 0, result.err
    assert "OK: message.received event e-1 (2026-02-03 payload)" in result.out
    assert "within the 300 s tolerance" in result.out


async def test_verify_explains_a_bad_signature() -> None:
    """The wrong secret: exit 1, the signature error and what to check."""
    other = "whsec_" + "A" * 32
    result = await run_verify(capture(standard(int(time.time()), secret=other)))
    assert result.code == 1
    assert "FAILED (WebhookSignatureError)" in result.out
    assert "LINQ_WEBHOOK_SECRET holds this subscription's secret" in result.out
    assert SECRET not in result.out + result.err


async def test_verify_explains_a_stale_timestamp() -> None:
    """An old capture: exit 1, the skew and the tolerance; --now checks it as of its time."""
    stamp = int(time.time()) - 3600
    result = await run_verify(capture(standard(stamp)))
    assert result.code == 1
    assert "FAILED (WebhookTimestampError)" in result.out
    assert "in the past (OUTSIDE the 300 s tolerance)" in result.out
    assert "the signature itself is right" in result.out
    again = await run_verify(capture(standard(stamp)), "--now", str(stamp + 10))
    assert again.code == 0, again.out


async def test_verify_names_missing_headers_and_the_legacy_set() -> None:
    """Stripped webhook-* headers: MISSING shown, the legacy hint, and --legacy verifies."""
    stamp = int(time.time())
    legacy = {
        "X-Webhook-Timestamp": str(stamp),
        "X-Webhook-Signature": sign_legacy(SECRET, stamp, BODY),
    }
    result = await run_verify(capture(legacy))
    assert result.code == 1
    assert "webhook-id         MISSING" in result.out
    assert "a proxy may strip" in result.out
    assert (await run_verify(capture(legacy), "--legacy")).code == 0


async def test_verify_as_json_and_with_another_variable() -> None:
    """--json prints one object; --secret-env names the variable."""
    result = await run_verify(
        capture(standard(int(time.time()) + 900)),
        "--json",
        "--secret-env",
        "MY_SECRET",
        LINQ_WEBHOOK_SECRET="",
        MY_SECRET=SECRET,
    )
    assert result.code == 1
    report = json.loads(result.out)
    assert report["ok"] is False
    assert report["error"] == "WebhookTimestampError"
    assert report["header"] == "webhook-timestamp"
    assert report["skew_seconds"] < -800


async def test_verify_without_the_secret_or_a_body_is_a_usage_error() -> None:
    """No secret in the environment, or input without a blank line: exit 2."""
    assert (await run_verify(capture({}), LINQ_WEBHOOK_SECRET="")).code == 2
    result = await run_verify(b"webhook-id: x")
    assert result.code == 2
    assert "blank line" in result.err


async def read_json_line(stream: asyncio.StreamReader) -> Any:
    line = await asyncio.wait_for(stream.readline(), TIMEOUT)
    assert line, "the command exited early"
    return json.loads(line)


async def spawn_listen(
    fake: FakeLinqServer,
    port: int,
    events: str = "message.sent,message.received",
    *,
    json_mode: bool = True,
) -> asyncio.subprocess.Process:
    """``linq-async [--json] webhooks listen`` on ``port``, subscribing its own loopback URL."""
    env = make_env(LINQ_API_KEY=fake.api_key, LINQ_BASE_URL=fake.base_url)
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "linq_async",
        *(["--json"] if json_mode else []),
        "webhooks",
        "listen",
        "--public-url",
        f"http://127.0.0.1:{port}/hook",
        "--port",
        str(port),
        "--events",
        events,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
        cwd=REPO,
        limit=4 * 1024 * 1024,  # a JSON line per delivery, some large
    )


async def test_listen_subscribes_prints_deliveries_and_deletes_on_exit(
    fake: FakeLinqServer,
) -> None:
    """listen: a temporary subscription, each verified delivery printed, deleted on SIGINT."""
    port = free_port()
    public = f"http://127.0.0.1:{port}/hook"
    proc = await spawn_listen(fake, port)
    assert proc.stdout is not None
    try:
        ready = await read_json_line(proc.stdout)
        assert ready["listening"] == public
        (sub,) = fake.webhooks.subscriptions.values()
        assert sub.id == ready["subscription_id"]
        assert sub.subscribed_events == ["message.sent", "message.received"]
        fake.receive_message(sender=RECIPIENT, line=SENDER, text="hi listener")
        shown = await read_json_line(proc.stdout)
        assert shown["event_type"] == "message.received"
        assert (shown["sender"], shown["text"]) == (RECIPIENT, "hi listener")
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGINT)
        result = await finish(proc)
    assert result.code == 0, result.err
    assert fake.webhooks.subscriptions == {}
    assert f"deleted subscription {ready['subscription_id']}" in result.err


async def test_listen_verifies_a_body_that_arrives_in_several_reads(
    fake: FakeLinqServer,
) -> None:
    """A delivery larger than one socket read (asyncio reads at most 256 KiB at a time) is
    read to its end before it is verified: 200 and printed, not a truncated body's 401."""
    port = free_port()
    proc = await spawn_listen(fake, port)
    assert proc.stdout is not None
    text = "long message " * 50_000  # 650 KB: under the 1 MiB cap
    try:
        await read_json_line(proc.stdout)
        fake.receive_message(sender=RECIPIENT, line=SENDER, text=text)
        await fake.webhooks.wait()
        (delivery,) = fake.webhooks.deliveries
        assert len(delivery.body) > 512 * 1024
        assert [attempt.status for attempt in delivery.attempts] == [200]
        shown = await read_json_line(proc.stdout)
        assert shown["text"] == text
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGINT)
        result = await finish(proc)
    assert result.code == 0, result.err


async def test_listen_prints_every_kind_of_event_and_answers_200() -> None:
    """--json: a reaction, a typing event and a reaction whose payload does not fit the model
    are each printed with their data as received and answered 200 (a display problem must
    not become a 5xx, which Linq would redeliver for 30 minutes)."""
    port = free_port()
    reaction = {"reaction_type": "love", "is_from_me": False, "chat_id": "c", "message_id": "m"}
    async with FakeLinqServer(webhook_retry_delays=()) as fake:
        proc = await spawn_listen(fake, port, "reaction.added,chat.typing_indicator.started")
        assert proc.stdout is not None
        try:
            await read_json_line(proc.stdout)
            fake.webhooks.emit("reaction.added", reaction)
            fake.webhooks.emit("reaction.added", {"chat_id": "c"})  # no reaction_type
            fake.webhooks.emit("chat.typing_indicator.started", {"chat_id": "c"})
            await fake.webhooks.wait()
            statuses = [[a.status for a in d.attempts] for d in fake.webhooks.deliveries]
            assert statuses == [[200], [200], [200]]
            shown = [await read_json_line(proc.stdout) for _ in range(3)]
        finally:
            if proc.returncode is None:
                proc.send_signal(signal.SIGINT)
            result = await finish(proc)
    assert result.code == 0, result.err
    assert [line["event_type"] for line in shown] == [
        "reaction.added",
        "reaction.added",
        "chat.typing_indicator.started",
    ]
    assert [line["data"] for line in shown] == [reaction, {"chat_id": "c"}, {"chat_id": "c"}]


async def test_listen_shows_a_message_event_of_neither_version_and_answers_200() -> None:
    """Without --json: a message event that fits neither payload version is printed as
    such, and answered 200."""
    port = free_port()
    async with FakeLinqServer(webhook_retry_delays=()) as fake:
        proc = await spawn_listen(fake, port, json_mode=False)
        assert proc.stdout is not None
        try:
            await asyncio.wait_for(proc.stdout.readline(), TIMEOUT)  # listening on ...
            await asyncio.wait_for(proc.stdout.readline(), TIMEOUT)  # temporary subscription
            fake.webhooks.emit("message.received", {"chat_id": "c"})
            await fake.webhooks.wait()
            statuses = [[a.status for a in d.attempts] for d in fake.webhooks.deliveries]
            assert statuses == [[200]]
            line = (await asyncio.wait_for(proc.stdout.readline(), TIMEOUT)).decode()
        finally:
            if proc.returncode is None:
                proc.send_signal(signal.SIGINT)
            result = await finish(proc)
    assert result.code == 0, result.err
    assert "message.received" in line
    assert "not readable in either payload version" in line


async def test_fake_server_delivers_to_a_local_url() -> None:
    """fake-server --webhook-url: prints the secret; a send is delivered there, verifiable."""
    received: list[MessageEvent] = []
    arrived = asyncio.Event()
    secret: dict[str, str] = {}

    async def hook(request: web.Request) -> web.Response:
        event = Verifier(secret["value"]).verify(await request.read(), request.headers)
        assert isinstance(event, MessageEvent)
        received.append(event)
        arrived.set()
        return web.Response()

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    hook_url = f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "linq_async",
        "fake-server",
        "--webhook-url",
        hook_url,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=make_env(),
        cwd=REPO,
    )
    assert proc.stdout is not None
    exports: dict[str, str] = {}
    try:
        while "LINQ_WEBHOOK_SECRET" not in exports:
            line = (await asyncio.wait_for(proc.stdout.readline(), TIMEOUT)).decode()
            assert line, "fake-server exited early"
            if line.startswith("export "):
                name, _, value = line[len("export ") :].strip().partition("=")
                exports[name] = value
        secret["value"] = exports["LINQ_WEBHOOK_SECRET"]
        async with LinqSession(exports["LINQ_API_KEY"], base_url=exports["LINQ_BASE_URL"]) as linq:
            await linq.chats.create(from_=SENDER, to=RECIPIENT, text="to the hook")
        await asyncio.wait_for(arrived.wait(), TIMEOUT)
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGINT)
        result = await finish(proc)
        await runner.cleanup()
    assert result.code == 0, result.err
    (event,) = received
    assert (event.event_type, event.text) == ("message.sent", "to the hook")


async def test_verify_explains_a_timestamp_in_other_digits() -> None:
    """A timestamp of non-ASCII digits (a latin-1 "\u00b2" byte here): the header error
    explained, exit 1, not a crash."""
    data = capture(standard(int(time.time())))
    start = data.index(b"webhook-timestamp: ") + len(b"webhook-timestamp: ")
    end = data.index(b"\r\n", start)
    result = await run_verify(data[:start] + b"\xb2" + data[end:])
    assert result.code == 1, result.err
    assert "FAILED (WebhookHeaderError)" in result.out
    assert "unexpected" not in result.err


async def test_verify_accepts_a_capture_with_repeated_proxy_headers() -> None:
    """Repeated X-Forwarded-For lines in the capture do not make it fail."""
    data = capture(standard(int(time.time())))
    head, _, body = data.partition(b"\r\n\r\n")
    proxied = head + b"\r\nX-Forwarded-For: 203.0.113.7\r\nX-Forwarded-For: 10.0.0.2"
    result = await run_verify(proxied + b"\r\n\r\n" + body)
    assert result.code == 0, result.out


async def test_listen_refuses_a_port_out_of_range_before_anything() -> None:
    """--port 99999 is a usage error (exit 2) from the argument parser, before any request."""
    result = await run_cli(
        "webhooks", "listen", "--public-url", "https://example.com/hook", "--port", "99999",
        env=make_env(LINQ_API_KEY="k", LINQ_BASE_URL="http://127.0.0.1:9/api/partner"),
    )  # fmt: skip
    assert result.code == 2
    assert "port must be 0 to 65535, got 99999" in result.err
    assert "Traceback" not in result.err
