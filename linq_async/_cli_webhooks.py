"""``linq-async webhooks verify`` and ``webhooks listen``, and the fake server's webhook option.

Kept apart from ``_cli.py`` (which only calls `register`, `add_fake_server_options` and
`start_fake_webhooks`); the shared console, session and exit statuses come from
``_cli_common.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import textwrap
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ._cli_common import (
    EXIT_FAILED,
    EXIT_OK,
    CommandError,
    Console,
    add_common,
    open_session,
    port_number,
)
from ._errors import LinqUsageError, WebhookTimestampError, WebhookVerificationError

if TYPE_CHECKING:
    from .testing import FakeLinqServer

__all__ = ["add_fake_server_options", "register", "start_fake_webhooks"]

_SECRET_ENV = "LINQ_WEBHOOK_SECRET"
_STANDARD = ("webhook-id", "webhook-timestamp", "webhook-signature")
_HOP_BY_HOP = frozenset(
    {"host", "content-length", "connection", "transfer-encoding", "keep-alive", "upgrade"}
)
_MAX_BODY = 1024 * 1024
_TIMESTAMP = re.compile(r"[0-9]{1,15}")


# webhooks verify


def parse_capture(raw: bytes) -> tuple[list[tuple[str, str]], bytes]:
    """Split a captured HTTP request (request line optional) into headers and the exact body.

    Raises:
        LinqUsageError: there is no blank line between the headers and the body.
    """
    for separator in (b"\r\n\r\n", b"\n\n"):
        head, found, body = raw.partition(separator)
        if found:
            break
    else:
        raise LinqUsageError(
            "the input has no blank line between headers and body: give the whole request "
            "(headers, a blank line, then the body exactly as received)"
        )
    headers: list[tuple[str, str]] = []
    for number, line in enumerate(head.decode("latin-1").splitlines()):
        if not line.strip():
            continue
        name, colon, value = line.partition(":")
        if not colon or " " in name.strip():
            if number == 0:  # "POST /path HTTP/1.1"
                continue
            raise LinqUsageError(f"line {number + 1} of the headers is not 'Name: value': {line!r}")
        headers.append((name.strip(), value.strip()))
    return headers, body


def _when(stamp: str) -> str:
    try:
        moment = datetime.fromtimestamp(int(stamp), tz=timezone.utc)
    except (ValueError, OverflowError, OSError):
        return "not a Unix time"
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def _skew_text(skew: float, tolerance: float) -> str:
    direction = "in the past" if skew >= 0 else "in the future"
    verdict = "within" if abs(skew) <= tolerance else "OUTSIDE"
    return f"{abs(skew):.0f} s {direction} ({verdict} the {tolerance:g} s tolerance)"


async def _verify(args: argparse.Namespace, console: Console) -> int:
    import sys

    from .webhooks import MessageEvent, Verifier

    if not os.environ.get(args.secret_env, "").strip():
        raise LinqUsageError(
            f"{args.secret_env} is not set: export the subscription's signing secret (whsec_...) "
            f"or name another variable with --secret-env"
        )
    now: float | None = None if args.now is None else float(args.now)
    options: dict[str, Any] = {"tolerance": args.tolerance, "allow_legacy": args.legacy}
    if now is not None:
        fixed = now
        options["clock"] = lambda: fixed
    verifier = Verifier(os.environ[args.secret_env], **options)  # no local holds the secret
    headers, body = parse_capture(sys.stdin.buffer.read())
    found = {name.lower(): value for name, value in headers}
    report: dict[str, Any] = {"body_bytes": len(body)}
    lines = [f"body               {len(body)} bytes"]
    for name in _STANDARD:
        value = found.get(name)
        shown = "MISSING" if value is None else (value or "EMPTY")
        if name == "webhook-signature" and value:
            shown = f"{len(value.split())} entr{'y' if len(value.split()) == 1 else 'ies'}"
        lines.append(f"{name:<18} {shown}")
        report[name] = value
    stamp = found.get("webhook-timestamp") or found.get("x-webhook-timestamp")
    current = now if now is not None else datetime.now(timezone.utc).timestamp()
    if stamp and _TIMESTAMP.fullmatch(stamp):  # not isdigit(): "²" is a digit int() refuses
        skew = current - int(stamp)
        report["skew_seconds"] = skew
        lines.append(f"{'signed at':<18} {_when(stamp)}, {_skew_text(skew, args.tolerance)}")
    legacy = [name for name in found if name.startswith("x-webhook-")]
    if legacy:
        lines.append(f"{'legacy headers':<18} {', '.join(sorted(legacy))}")
    try:
        event = verifier.verify(body, headers)
    except WebhookVerificationError as exc:
        report.update(ok=False, error=type(exc).__name__, reason=str(exc), header=exc.header)
        lines.append(f"{'result':<18} FAILED ({type(exc).__name__}): {exc}")
        lines.extend(_hints(exc, body, found, args))
        console.json(report)
        console.lines(*lines)
        return EXIT_FAILED
    report.update(ok=True, event_type=event.event_type, event_id=event.event_id)
    summary = f"OK: {event.event_type} event {event.event_id}"
    if isinstance(event, MessageEvent):
        summary += f" ({event.payload_version} payload)"
    lines.append(f"{'result':<18} {summary}")
    console.json(report)
    console.lines(*lines)
    return EXIT_OK


def _hints(
    exc: WebhookVerificationError, body: bytes, found: Mapping[str, str], args: argparse.Namespace
) -> list[str]:
    from ._errors import WebhookHeaderError, WebhookSignatureError

    hints: list[str] = []
    standard = any(name in found for name in _STANDARD)
    legacy = any(name.startswith("x-webhook-") for name in found)
    if isinstance(exc, WebhookHeaderError) and legacy and not standard:
        hints.append(
            "hint: only the legacy X-Webhook-* headers are there; a proxy may strip the "
            "webhook-* ones (or pass --legacy to check the legacy signature)"
        )
    if isinstance(exc, WebhookSignatureError):
        hints.append(
            f"hint: check that {args.secret_env} holds this subscription's secret, and that "
            "the body is the exact bytes received (not re-serialised JSON)"
        )
        if body.endswith(b"\n"):
            hints.append(
                "hint: the captured body ends with a newline; if the capture added it, "
                "remove it (Linq's bodies end with '}')"
            )
    if isinstance(exc, WebhookTimestampError):
        hints.append(
            "hint: the signature itself is right; compare this machine's clock with the "
            "timestamp, or pass --now to check a delivery captured earlier"
        )
    return hints


# webhooks listen


async def _listen(args: argparse.Namespace, console: Console) -> int:
    from aiohttp import ClientSession, web

    from .webhooks import EVENT_TYPES, MessageEvent, Verifier

    url = urlsplit(args.public_url)
    if url.scheme not in ("https", "http") or not url.hostname:
        raise LinqUsageError(f"--public-url must be an https:// URL, got {args.public_url!r}")
    path = args.path or url.path or "/"
    events = sorted(EVENT_TYPES) if not args.events else args.events
    verifier: list[Verifier] = []  # set once the subscription (and its secret) exists
    http: list[ClientSession] = []

    async def receive(request: web.Request) -> web.StreamResponse:
        # Read to the end: one read() returns only what has arrived so far.
        body = bytearray()
        async for chunk in request.content.iter_chunked(64 * 1024):
            body += chunk
            if len(body) > _MAX_BODY:
                return web.Response(status=413)
        if not verifier:
            return web.Response(status=503)
        try:
            event = verifier[0].verify(bytes(body), request.headers)
        except WebhookVerificationError as exc:
            console.note(f"refused a delivery ({type(exc).__name__}): {exc}")
            return web.Response(status=401)
        try:
            _show(console, event, request.headers.get("webhook-id"), bytes(body), MessageEvent)
        except Exception as exc:  # verified: showing it must not turn into a 5xx Linq retries
            console.note(f"could not show {event.event_type} {event.event_id}: {exc}")
        if args.forward_to:
            await _forward(console, http, args.forward_to, bytes(body), request.headers)
        return web.Response(status=200)

    app = web.Application()
    app.router.add_post(path, receive)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    handled: list[signal.Signals] = []
    try:
        try:
            await web.TCPSite(runner, args.host, args.port).start()
        except OSError as exc:
            raise CommandError(
                f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}", 1
            ) from exc
        for signum in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(signum, stop.set)
            except (NotImplementedError, RuntimeError):
                continue
            handled.append(signum)
        async with open_session(args, console) as linq, ClientSession() as forwarder:
            http.append(forwarder)
            sub = await linq.webhook_subscriptions.create(target_url=args.public_url, events=events)
            try:
                verifier.append(Verifier(sub.signing_secret))
                local = f"http://{args.host}:{runner.addresses[0][1]}{path}"
                console.json({"listening": local, "subscription_id": sub.id, "events": events})
                console.lines(
                    f"listening on {local} for deliveries to {args.public_url}",
                    f"temporary subscription {sub.id} ({len(events)} event types); "
                    "Ctrl-C deletes it and stops",
                )
                if args.forward_to:
                    console.note(
                        f"forwarding to {args.forward_to}; verify there with "
                        f"{_SECRET_ENV}={sub.signing_secret} (this subscription's secret, "
                        "valid until it is deleted on exit)"
                    )
                await stop.wait()
            finally:
                await linq.webhook_subscriptions.delete(sub.id)
                console.note(f"deleted subscription {sub.id}")
    finally:
        for signum in handled:
            loop.remove_signal_handler(signum)
        await runner.cleanup()
    return EXIT_OK


def _show(
    console: Console, event: Any, webhook_id: str | None, body: bytes, message_cls: type[Any]
) -> None:
    # Other events show their data as received (JSON as it came, whether or not it fits the
    # model); message events their version-independent fields.
    envelope = json.loads(body)
    stamp = datetime.now(timezone.utc).strftime("%H:%M:%S")
    record: dict[str, Any] = {
        "event_type": event.event_type,
        "event_id": event.event_id,
        "webhook_id": webhook_id,
        "webhook_version": envelope.get("webhook_version"),
        "data": None if isinstance(event, message_cls) else envelope.get("data"),
    }
    detail = ""
    if isinstance(event, message_cls):
        fields = _message_fields(event)
        record.update(fields)
        if "error" in fields:
            detail = f" (not readable in either payload version: {fields['error']})"
        else:
            detail = (
                f" {fields['direction']} {fields['sender']} in {fields['chat_id']}: "
                f"{fields['text']!r}"
            )
    console.json(record)
    console.lines(f"{stamp} {event.event_type} {event.event_id}{detail}")


def _message_fields(event: Any) -> dict[str, Any]:
    try:
        return {
            "direction": event.direction,
            "sender": event.sender,
            "chat_id": event.chat_id,
            "message_id": event.message_id,
            "text": event.text,
            "payload_version": event.payload_version,
        }
    except Exception as exc:  # a payload of neither version: show it, do not crash
        return {"error": str(exc)}


async def _forward(
    console: Console, http: list[Any], target: str, body: bytes, headers: Mapping[str, str]
) -> None:
    kept = {name: value for name, value in headers.items() if name.lower() not in _HOP_BY_HOP}
    try:
        async with http[0].post(target, data=body, headers=kept) as response:
            await response.read()
            console.note(f"forwarded to {target}: HTTP {response.status}")
    except Exception as exc:
        console.note(f"forwarding to {target} failed: {type(exc).__name__}: {exc}")


# fake-server --webhook-url


def add_fake_server_options(parser: argparse.ArgumentParser) -> None:
    """Add ``--webhook-url`` to ``linq-async fake-server``."""
    parser.add_argument(
        "--webhook-url",
        action="append",
        default=[],
        metavar="URL",
        help="deliver signed webhooks of every event to this local URL (http://127.0.0.1:...); "
        "repeatable. Add ?version=2025-01-01 for the older message payloads",
    )


def start_fake_webhooks(fake: FakeLinqServer, args: argparse.Namespace, console: Console) -> None:
    """Subscribe each ``--webhook-url`` on the running fake and print its signing secret."""
    for url in getattr(args, "webhook_url", []):
        sub = fake.webhooks.subscribe(url)
        console.json(
            {"webhook_url": url, "subscription_id": sub.id, "signing_secret": sub.signing_secret}
        )
        console.lines(f"  webhooks     {url} (subscription {sub.id})")
        if not console.json_mode:
            print(f"export {_SECRET_ENV}={sub.signing_secret}", file=console.stdout, flush=True)


# Registration


def register(commands: Any) -> None:
    """Add ``webhooks verify`` and ``webhooks listen`` to the top-level subparsers."""
    formatter = argparse.RawDescriptionHelpFormatter
    webhooks = commands.add_parser(
        "webhooks",
        help="check a captured webhook delivery, or receive deliveries on this machine",
        description="Check a captured webhook delivery, or receive deliveries on this machine.",
        formatter_class=formatter,
    )
    actions = webhooks.add_subparsers(title="webhook commands", metavar="ACTION")
    verify = actions.add_parser(
        "verify",
        help="verify a captured request read from standard input, and say why it fails",
        description=textwrap.fill(
            "Verify a captured webhook request (headers, a blank line, then the body exactly "
            "as received; a request line first is fine) read from standard input, with the "
            "secret from an environment variable. Says which header is missing or wrong, the "
            "timestamp's skew, and whether the signature matches. Exit 0 when it verifies, 1 "
            "when it does not.",
            width=79,
        ),
        epilog=f"Example:\n  linq-async webhooks verify --secret-env {_SECRET_ENV} < request.txt",
        formatter_class=formatter,
    )
    verify.set_defaults(handler=_verify)
    verify.add_argument(
        "--secret-env",
        default=_SECRET_ENV,
        metavar="VAR",
        help=f"the environment variable holding the whsec_ secret (default: {_SECRET_ENV})",
    )
    verify.add_argument(
        "--tolerance", type=float, default=300.0, metavar="S", help="allowed skew (300 s)"
    )
    verify.add_argument(
        "--now",
        type=int,
        metavar="UNIX",
        help="check the timestamp against this time instead of now (for old captures)",
    )
    verify.add_argument(
        "--legacy", action="store_true", help="also accept the legacy X-Webhook-* signature"
    )
    add_common(verify, top=False)

    listen = actions.add_parser(
        "listen",
        help="subscribe a public URL for a while, verify and print what arrives",
        description=textwrap.fill(
            "Listen on this machine, subscribe --public-url (a tunnel to this port, such as an "
            "https URL your tunnel tool gives) to every event type, verify each delivery with "
            "the new subscription's secret and print it; with --forward-to, pass each verified "
            "delivery on unchanged to a local app. Ctrl-C deletes the subscription and stops. "
            "Needs the API key in the environment, as the other commands.",
            width=79,
        ),
        epilog="Example:\n  linq-async webhooks listen \\\n"
        "      --public-url https://abc.example-tunnel.dev/hook --port 8787 \\\n"
        "      --forward-to http://127.0.0.1:8000/linq/webhooks",
        formatter_class=formatter,
    )
    listen.set_defaults(handler=_listen)
    listen.add_argument(
        "--public-url", required=True, metavar="URL", help="the URL Linq can reach (https)"
    )
    listen.add_argument(
        "--forward-to", metavar="URL", help="also POST each verified delivery to this URL"
    )
    listen.add_argument("--host", default="127.0.0.1", help="the address to listen on")
    listen.add_argument(
        "--port", type=port_number, default=8787, metavar="N", help="the port to listen on (8787)"
    )
    listen.add_argument(
        "--path", metavar="PATH", help="the path to listen on (default: --public-url's path)"
    )
    listen.add_argument(
        "--events",
        type=lambda text: [name for name in text.split(",") if name],
        metavar="A,B",
        help="the event types to subscribe to (default: all)",
    )
    add_common(listen, top=False)
