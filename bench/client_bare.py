"""The bare client: the least a Python asyncio client must do, hand-written on aiohttp.

No models, no validation, no retries, no error mapping: the same HTTP request as the
linq-async call it stands beside, a body built with dicts, stdlib ``json`` both ways, and
the fields the linq-async call returns read back from the decoded response. Whatever
linq-async adds on top costs the difference between its figures and these.

- ``send --path P``: ``n`` requests of path P (see `bench._common.PATHS`), each as a user
  writes a bulk loop (``asyncio.gather`` + ``asyncio.Semaphore``), except ``broadcast``,
  whose counterpart is the per-recipient loop a broadcast runs: ``concurrency`` workers
  sharing an iterator of recipients.
- ``upload``: POST /v3/attachments, then a PUT that streams the file in 512 KiB chunks with
  an explicit ``Content-Length`` (never chunked) to the URL exactly as issued.

Run by ``bench.run`` as ``python -m bench.client_bare <workload> ...``.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
from yarl import URL

from bench._common import (
    CHUNK_SIZE,
    MEDIA_PATHS,
    POOL_PATHS,
    SENDER,
    TEXT,
    SendTimer,
    Spec,
    gather_gated,
    pool_size,
    recipients,
    run,
    timed_uploads,
    warm_up,
    warmup_items,
)


async def _file_chunks(path: str) -> AsyncIterator[bytes]:
    # Blocking reads: the file is local and a 512 KiB read from the page cache takes
    # tens of microseconds, less than handing it to a thread would.
    with open(path, "rb") as handle:  # noqa: ASYNC230
        while chunk := handle.read(CHUNK_SIZE):
            yield chunk


async def _upload(http: aiohttp.ClientSession, spec: Spec, headers: dict[str, str]) -> str:
    """Create an attachment slot and stream the file to it; return the attachment id."""
    body = {
        "filename": os.path.basename(spec.file),
        "content_type": spec.content_type,
        "size_bytes": spec.size,
    }
    async with http.post(f"{spec.base_url}/v3/attachments", json=body, headers=headers) as resp:
        resp.raise_for_status()
        slot = await resp.json()
    put_headers = dict(slot["required_headers"])
    put_headers["Content-Length"] = str(spec.size)
    async with http.put(
        URL(slot["upload_url"], encoded=True), data=_file_chunks(spec.file), headers=put_headers
    ) as resp:
        await resp.read()
        resp.raise_for_status()
    attachment_id: str = slot["attachment_id"]
    return attachment_id


def _session() -> aiohttp.ClientSession:
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))


def _check(value: object) -> None:
    if not value:
        raise ValueError("a field the call returns is missing from the response")


async def send(spec: Spec) -> dict[str, Any]:
    """Setup (an upload or a pool of chats, untimed), then ``spec.n`` calls of the path."""
    timer = SendTimer(spec)
    headers = {"Authorization": f"Bearer {spec.api_key}"}
    base = spec.base_url
    chats_url = f"{base}/v3/chats"
    text_part = {"type": "text", "value": TEXT}
    async with _session() as http:

        async def post(url: str, body: dict[str, Any], request_headers: Any = headers) -> Any:
            async with http.post(url, json=body, headers=request_headers) as resp:
                data = await resp.read()
                resp.raise_for_status()
            return json.loads(data)

        parts: list[dict[str, Any]] = [text_part]
        if spec.path in MEDIA_PATHS:
            attachment_id = await _upload(http, spec, headers)
            parts = [text_part, {"type": "media", "attachment_id": attachment_id}]
        pool: list[str] = []
        if spec.path in POOL_PATHS:
            for handle in recipients(pool_size(spec), prefix="+1666"):
                body = {"from": SENDER, "to": [handle], "message": {"parts": parts}}
                pool.append((await post(chats_url, body))["chat"]["id"])
            timer.setup_messages = len(pool)

        async def create_chat(handle: str) -> None:
            body = {
                "from": SENDER,
                "to": [handle],
                "message": {"parts": parts, "idempotency_key": str(uuid.uuid4())},
            }
            chat = (await post(chats_url, body))["chat"]
            _check(chat["id"] and chat["message"]["id"])

        async def send_in_chat(index: int) -> None:
            body = {"message": {"parts": parts, "idempotency_key": str(uuid.uuid4())}}
            data = await post(f"{base}/v3/chats/{pool[index % len(pool)]}/messages", body)
            _check(data["message"]["id"])

        async def send_auto(handle: str) -> None:
            # The key goes in the body and the header, as linq-async sends it on this route.
            key = str(uuid.uuid4())
            body = {"to": [handle], "message": {"parts": parts, "idempotency_key": key}}
            data = await post(f"{base}/v3/messages", body, {**headers, "Idempotency-Key": key})
            _check(data["chat_id"] and data["message"]["id"])

        async def get_chat(index: int) -> None:
            url = f"{base}/v3/chats/{pool[index % len(pool)]}"
            async with http.get(url, headers=headers) as resp:
                data = await resp.read()
                resp.raise_for_status()
            chat = json.loads(data)
            _check(chat["id"] and chat["handles"][0]["handle"])

        calls: dict[str, tuple[Callable[[Any], Awaitable[None]], list[Any]]] = {
            "chats.create": (create_chat, recipients(spec.n)),
            "upload_and_send": (create_chat, recipients(spec.n)),
            "chats.messages.send": (send_in_chat, list(range(spec.n))),
            "messages.send": (send_auto, recipients(spec.n)),
            "chats.get": (get_chat, list(range(spec.n))),
        }
        warm = warmup_items(spec)
        if spec.path == "broadcast":
            await warm_up(_worker_loop(create_chat, warm, timer), len(warm), timer)
            timer.start()
            await _worker_loop(create_chat, recipients(spec.n), timer)
            timer.stop()
        else:
            call, items = calls[spec.path]
            await warm_up(gather_gated(warm, call, timer), len(warm), timer)
            timer.start()
            await gather_gated(items, call, timer)
            timer.stop()
    return timer.result()


async def _worker_loop(
    call: Callable[[str], Awaitable[None]], handles: list[str], timer: SendTimer
) -> None:
    """A broadcast's loop: ``concurrency`` workers taking recipients from one iterator."""
    queue = iter(handles)
    clock = time.perf_counter

    async def worker() -> None:
        for handle in queue:
            started = clock()
            try:
                await call(handle)
            except Exception as exc:
                timer.error(exc)
            else:
                timer.latencies.append(clock() - started)

    await asyncio.gather(*(worker() for _ in range(min(timer.spec.concurrency, len(handles)))))


async def upload(spec: Spec) -> dict[str, Any]:
    """Upload ``spec.file`` ``spec.n`` times, one after another (see `timed_uploads`)."""
    headers = {"Authorization": f"Bearer {spec.api_key}"}
    async with _session() as http:
        return await timed_uploads(spec, lambda each: _upload(http, each, headers))


if __name__ == "__main__":
    raise SystemExit(run({"send": send, "upload": upload}))
