"""An aiohttp web app whose handler sends files through Linq, sharing one LinqSession.

Shows:

- one ``LinqSession`` for the whole application, opened when the app starts and closed when
  it stops, by a cleanup context (``app.cleanup_ctx``), and never one per request: every
  request shares its connection pool;
- a handler that awaits the SDK: ``POST /send?to=+15556667777&filename=report.pdf`` with the
  file as the request body streams the body to a temporary file, sends it with
  ``upload_and_send``, and answers with the ids as JSON;
- turning SDK errors into HTTP answers: the caller's mistakes (``LinqUsageError``) become
  400, a recipient who opted out 409, and failures upstream 502.

Run it::

    python examples/aiohttp_app.py                 # serve on 127.0.0.1:8080 until Ctrl-C
    curl -X POST --data-binary @report.pdf \\
        'http://127.0.0.1:8080/send?to=%2B15556667777&filename=report.pdf&text=Hello'

    python examples/aiohttp_app.py --self-test     # start on a free port, call itself once

Without ``LINQ_API_KEY`` the app sends through the embedded ``FakeLinqServer`` (no key, no
network) and says so on stderr; with it, through the real API from ``LINQ_FROM``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import aiofiles
import aiofiles.tempfile
import aiohttp
from _session import Target, open_linq
from aiohttp import web

from linq_async import (
    APIStatusError,
    LinqConnectionError,
    LinqUsageError,
    OptedOutError,
    UploadError,
)

TARGET = web.AppKey("target", Target)
"""Where the app keeps the shared session, set by ``linq_session`` for the app's lifetime."""

MAX_UPLOAD = 104_857_600  # Linq's limit for one attachment: 100 MiB
CHUNK = 256 * 1024


async def linq_session(app: web.Application) -> AsyncIterator[None]:
    """Cleanup context: open the one shared session at start-up, close it at shutdown."""
    async with open_linq() as target:
        app[TARGET] = target
        yield


async def save_body(request: web.Request, path: Path) -> int:
    """Stream the request body to ``path`` in chunks (never whole in memory); return its size."""
    size = 0
    async with aiofiles.open(path, "wb") as out:
        async for chunk in request.content.iter_chunked(CHUNK):
            size += len(chunk)
            if size > MAX_UPLOAD:
                raise web.HTTPRequestEntityTooLarge(max_size=MAX_UPLOAD, actual_size=size)
            await out.write(chunk)
    return size


def error_response(status: int, exc: Exception) -> web.Response:
    """A JSON error answer that names the SDK error, with Linq's code and trace id if any."""
    body: dict[str, object] = {"error": type(exc).__name__, "message": str(exc)}
    if isinstance(exc, APIStatusError):
        body.update(code=exc.code, trace_id=exc.trace_id)
    return web.json_response(body, status=status)


async def send(request: web.Request) -> web.Response:
    """``POST /send?to=HANDLE&filename=NAME[&text=TEXT]``: send the body as a file."""
    target = request.app[TARGET]
    to = request.query.get("to")
    filename = request.query.get("filename")
    if not to or not filename:
        raise web.HTTPBadRequest(text="query parameters 'to' and 'filename' are required\n")
    async with aiofiles.tempfile.TemporaryDirectory(prefix="linq-app-") as folder:
        path = Path(folder) / "upload"
        await save_body(request, path)
        try:
            result = await target.linq.upload_and_send(
                path,
                filename=filename,  # the name recipients see, not the temporary one
                from_=target.sender,
                to=to,
                text=request.query.get("text"),
            )
        except LinqUsageError as exc:  # the caller's mistake: nothing was sent
            return error_response(400, exc)
        except OptedOutError as exc:
            return error_response(409, exc)
        except (APIStatusError, UploadError, LinqConnectionError) as exc:
            return error_response(502, exc)
    return web.json_response(
        {
            "attachment_id": result.upload.attachment_id,
            "chat_id": result.chat.id,
            "message_id": result.message.id,
            "delivery_status": result.message.delivery_status,
        }
    )


def make_app() -> web.Application:
    """The application: one route, and the shared session's lifetime."""
    app = web.Application()
    app.cleanup_ctx.append(linq_session)
    app.router.add_post("/send", send)
    return app


async def self_test() -> int:
    """Start the app on a free port, send one request to it, print the answer, stop."""
    runner = web.AppRunner(make_app())
    await runner.setup()  # runs the cleanup context's start-up half: the session opens
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        host, port = runner.addresses[0][:2]
        target = runner.app[TARGET]
        to = target.recipient_or_exit(None)  # the fake's made-up handle, or LINQ_TO
        url = f"http://{host}:{port}/send"
        params = {"to": to, "filename": "hello.txt", "text": "Sent from an aiohttp handler"}
        body = b"Hello from aiohttp_app.py\n"
        async with (
            aiohttp.ClientSession() as http,
            http.post(url, params=params, data=body) as resp,
        ):
            answer = await resp.json()
            print(f"POST /send -> HTTP {resp.status}")
            print(json.dumps(answer, indent=2))
            return 0 if resp.status == 200 else 1
    finally:
        await runner.cleanup()  # the cleanup context's shutdown half: the session closes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--self-test", action="store_true", help="call the app once, then exit")
    parser.add_argument("--port", type=int, default=8080, help="the port to serve on (8080)")
    args = parser.parse_args()
    if args.self_test:
        return asyncio.run(self_test())
    web.run_app(make_app(), host="127.0.0.1", port=args.port)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
