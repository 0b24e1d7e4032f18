"""linq-async, called the way its README tells a user to call it.

- ``bulk`` (variant ``broadcast``, the default): ``upload()`` once, then
  ``broadcast(upload, recipients=..., concurrency=C)``. Per-send latency is each
  ``POST /v3/chats`` exchange, timed by an aiohttp trace on a ClientSession passed in with
  ``session=`` (public API: nothing inside linq-async is patched).
- ``bulk`` (variant ``per-call``): ``upload()`` once, then one ``upload_and_send(upload, ...)``
  per recipient under an ``asyncio.Semaphore(C)``.
- ``upload``: ``upload(path)`` (POST /v3/attachments, then the streamed PUT).

Run by ``bench.run`` as ``python -m bench.client_linq_async <workload> ...``.
"""

from __future__ import annotations

import asyncio
import time
from types import SimpleNamespace
from typing import Any

import aiohttp

from bench._common import SENDER, TEXT, BulkTimer, Spec, UploadTimer, recipients, run
from linq_async import LinqSession
from linq_async.models import RecipientOutcome


async def bulk(spec: Spec) -> dict[str, Any]:
    """One small upload, then ``spec.n`` sends to distinct recipients."""
    timer = BulkTimer()
    handles = recipients(spec.n)
    # Per-call sends are timed around each call; broadcast's sends by the trace.
    traces = [] if spec.variant == "per-call" else [_send_timer(timer)]
    async with (
        aiohttp.ClientSession(trace_configs=traces) as client,
        LinqSession(spec.api_key, base_url=spec.base_url, session=client) as linq,
    ):
        upload = await linq.upload(spec.file, content_type=spec.content_type)
        if spec.variant == "per-call":
            gate = asyncio.Semaphore(spec.concurrency)

            async def send(handle: str) -> None:
                async with gate:
                    started = time.perf_counter()
                    try:
                        await linq.upload_and_send(upload, from_=SENDER, to=handle, text=TEXT)
                    except Exception as exc:
                        timer.error(exc)
                    else:
                        timer.latencies.append(time.perf_counter() - started)

            timer.start()
            await asyncio.gather(*(send(handle) for handle in handles))
            timer.stop()
        else:

            def on_recipient(outcome: RecipientOutcome) -> None:
                if outcome.error is not None:
                    timer.error(outcome.error)

            timer.start()
            await linq.broadcast(
                upload,
                from_=SENDER,
                recipients=handles,
                text=TEXT,
                concurrency=spec.concurrency,
                on_recipient=on_recipient,
            )
            timer.stop()
    return timer.result(spec.n)


def _send_timer(timer: BulkTimer) -> aiohttp.TraceConfig:
    """Times every POST /v3/chats exchange of the broadcast variant."""
    trace = aiohttp.TraceConfig()

    async def start(_: object, context: SimpleNamespace, params: Any) -> None:
        context.started = time.perf_counter()

    async def end(_: object, context: SimpleNamespace, params: Any) -> None:
        if params.method == "POST" and params.url.path.endswith("/v3/chats"):
            timer.latencies.append(time.perf_counter() - context.started)

    trace.on_request_start.append(start)
    trace.on_request_end.append(end)
    return trace


async def upload(spec: Spec) -> dict[str, Any]:
    """Upload ``spec.file`` once."""
    async with LinqSession(spec.api_key, base_url=spec.base_url) as linq:
        await linq.open()
        timer = UploadTimer()
        done = await linq.upload(spec.file, content_type=spec.content_type)
        return timer.result(done.size_bytes, done.attachment_id)


if __name__ == "__main__":
    raise SystemExit(run({"bulk": bulk, "upload": upload}))
