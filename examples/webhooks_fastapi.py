"""Receive Linq webhooks in a FastAPI (or any Starlette) app, through the same Router.

linq-async does not depend on FastAPI: ``Router.handle(body, headers)`` takes the raw body
and the headers and says what to answer, so any framework is a few lines. Shows:

- reading the raw body in chunks with a cap (never ``await request.json()``: the signature
  covers the exact bytes), then ``router.handle``;
- draining the running handlers in the app's lifespan, on shutdown.

Run it (``pip install fastapi uvicorn``)::

    LINQ_WEBHOOK_SECRET=whsec_... uvicorn webhooks_fastapi:default_app --factory --port 8000
    python examples/webhooks_fastapi.py --self-test

The self-test serves the app with uvicorn on a free port and has an embedded
``FakeLinqServer`` deliver a message to it (no key, no network).
"""

from __future__ import annotations

import argparse
import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn
from fastapi import FastAPI, Request, Response

from linq_async.testing import FakeLinqServer
from linq_async.webhooks import MessageEvent, Router, Verifier

PATH = "/linq/webhooks"


def create_app(router: Router) -> FastAPI:
    """The FastAPI application: POST /linq/webhooks goes to ``router``."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        await router.drain(timeout=30)  # let running handlers finish on shutdown

    app = FastAPI(lifespan=lifespan)

    @app.post(PATH)
    async def linq_webhooks(request: Request) -> Response:
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > router.max_body:
                return Response(status_code=413)
        status, payload = await router.handle(bytes(body), request.headers)
        return Response(status_code=status, content=payload)

    return app


def build_router(router: Router, seen: list[str]) -> Router:
    """One handler: record who wrote what."""

    @router.on("message.received")
    async def on_message(event: MessageEvent) -> None:
        seen.append(f"{event.sender} wrote {event.text!r}")

    return router


async def self_test() -> int:
    """Serve with uvicorn on a free port; the embedded fake delivers one message to it."""
    seen: list[str] = []
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    async with FakeLinqServer() as fake:
        sub = fake.webhooks.subscribe(f"http://127.0.0.1:{port}{PATH}", events=["message.received"])
        router = build_router(Router(Verifier(sub.signing_secret)), seen)
        config = uvicorn.Config(create_app(router), log_level="warning", lifespan="on")
        server = uvicorn.Server(config)
        serving = asyncio.create_task(server.serve(sockets=[listener]))
        while not server.started:
            if serving.done():
                return 1
            await asyncio.sleep(0.01)
        fake.receive_message(sender="+15556667777", line="+12223334444", text="Hello FastAPI")
        await fake.webhooks.wait()
        server.should_exit = True
        await serving
        statuses = [a.status for d in fake.webhooks.deliveries for a in d.attempts]
    print(f"POST {PATH} -> {statuses}; handler saw: {seen}")
    return 0 if seen == ["+15556667777 wrote 'Hello FastAPI'"] and statuses == [200] else 1


def default_app() -> FastAPI:
    """The app uvicorn serves (``--factory``): 503 to every delivery until
    ``LINQ_WEBHOOK_SECRET`` is set."""
    return create_app(build_router(Router.from_env(), []))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--self-test", action="store_true", help="deliver from a fake, then exit")
    args = parser.parse_args()
    if not args.self_test:
        parser.error("serve it with: uvicorn webhooks_fastapi:default_app --factory")
    return asyncio.run(self_test())


if __name__ == "__main__":
    raise SystemExit(main())
