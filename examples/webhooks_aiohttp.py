"""Receive Linq webhooks in an aiohttp app: verified, deduplicated, typed, answered at once.

Shows:

- a `Router` keyed with the subscription's signing secret (``LINQ_WEBHOOK_SECRET``); without
  it every delivery is answered 503, so nothing is accepted unverified (and Linq redelivers
  once the secret is set);
- handlers registered by event type (``message.received``, ``reaction.*``) and a fallback;
- ``setup_aiohttp``: the route, a 1 MiB body cap, and draining the running handlers when the
  app shuts down;
- message events read the same way in both payload versions (``event.sender``,
  ``event.text``).

Run it::

    LINQ_WEBHOOK_SECRET=whsec_... python examples/webhooks_aiohttp.py   # serve on :8000
    python examples/webhooks_aiohttp.py --self-test

The self-test needs no key and no network: it starts an embedded ``FakeLinqServer``,
subscribes this app's URL through the API (the fake accepts ``http://127.0.0.1``), then has
a customer write in, react, and a reply sent, and prints what the handlers saw.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
from collections.abc import Callable

from aiohttp import web

from linq_async import LinqSession
from linq_async.testing import FakeLinqServer
from linq_async.webhooks import (
    MessageEvent,
    ReactionEvent,
    Router,
    Verifier,
    WebhookEvent,
    setup_aiohttp,
)

PATH = "/linq/webhooks"
LINE = "+12223334444"  # the examples' made-up Linq line
CUSTOMER = "+15556667777"


def build_router(router: Router, say: Callable[[str], None]) -> Router:
    """Register the handlers; each reports with ``say`` (a real app would store or reply)."""

    @router.on("message.received")
    async def on_message(event: MessageEvent) -> None:
        say(f"{event.event_type}: {event.sender} wrote {event.text!r} in {event.chat_id}")

    @router.on("message.sent", "message.delivered", "message.read")
    async def on_receipt(event: MessageEvent) -> None:
        say(f"{event.event_type}: message {event.message_id}")

    @router.on("reaction.*")
    async def on_reaction(event: ReactionEvent) -> None:
        say(f"{event.event_type}: {event.data.reaction_type} on {event.data.message_id}")

    @router.fallback
    async def on_other(event: WebhookEvent) -> None:
        say(f"{event.event_type}: not handled here")

    return router


def make_app(router: Router) -> web.Application:
    """The application: POST /linq/webhooks goes to the router."""
    app = web.Application()
    setup_aiohttp(app, router, PATH)
    return app


async def self_test() -> int:
    """Serve on a free port, let the embedded fake deliver to it, print what arrived."""
    log: list[str] = []
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))  # bound first: the subscription needs the port
    port = listener.getsockname()[1]
    async with (
        FakeLinqServer() as fake,
        LinqSession(fake.api_key, base_url=fake.base_url) as linq,
    ):
        sub = await linq.webhook_subscriptions.create(
            target_url=f"http://127.0.0.1:{port}{PATH}?version=2026-02-03",
            events=["message.received", "message.sent", "reaction.added"],
        )
        # Shown once: a real app stores it (LINQ_WEBHOOK_SECRET) and builds Router.from_env().
        router = build_router(Router(Verifier(sub.signing_secret)), log.append)
        runner = web.AppRunner(make_app(router))
        await runner.setup()
        try:
            await web.SockSite(runner, listener).start()
            incoming = fake.receive_message(sender=CUSTOMER, line=LINE, text="Is my order ready?")
            await fake.webhooks.wait()
            await linq.chats.messages.send(incoming.chat_id, text="Yes, come by at 5")
            fake.receive_reaction(incoming.id, sender=CUSTOMER, type="love")
            await fake.webhooks.wait()
        finally:
            await runner.cleanup()  # drains the handlers still running
        statuses = [a.status for d in fake.webhooks.deliveries for a in d.attempts]
    for line in log:
        print(line)
    print(f"deliveries answered: {statuses}")
    return 0 if len(log) == 3 and statuses == [200, 200, 200] else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--self-test", action="store_true", help="deliver from a fake, then exit")
    parser.add_argument("--port", type=int, default=8000, help="the port to serve on (8000)")
    args = parser.parse_args()
    if args.self_test:
        return asyncio.run(self_test())
    router = build_router(Router.from_env(), print)  # 503 to every delivery until the secret is set
    web.run_app(make_app(router), host="127.0.0.1", port=args.port)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
