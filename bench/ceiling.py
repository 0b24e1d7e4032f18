"""The ceiling: the least a Python asyncio client must do, hand-written on bare aiohttp.

No models, no validation, no retries, no error mapping: JSON in, JSON out over one
``aiohttp.ClientSession``. Whatever linq-async adds on top costs the difference between
its figures and these.

- ``bulk``: POST /v3/attachments, PUT the small file, then ``n`` POST /v3/chats from
  ``concurrency`` workers sharing an iterator of recipients.
- ``upload``: POST /v3/attachments, then a PUT that streams the file in 512 KiB chunks with an
  explicit ``Content-Length`` (never chunked) to the URL exactly as issued.

Run by ``bench.run`` as ``python -m bench.ceiling <workload> ...``.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
from yarl import URL

from bench._common import (
    CHUNK_SIZE,
    SENDER,
    TEXT,
    BulkTimer,
    Spec,
    UploadTimer,
    recipients,
    run,
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


async def bulk(spec: Spec) -> dict[str, Any]:
    """One small upload, then ``spec.n`` sends to distinct recipients."""
    timer = BulkTimer()
    headers = {"Authorization": f"Bearer {spec.api_key}"}
    chats_url = URL(f"{spec.base_url}/v3/chats")
    queue = iter(recipients(spec.n))
    async with _session() as http:
        attachment_id = await _upload(http, spec, headers)
        parts = [{"type": "text", "value": TEXT}, {"type": "media", "attachment_id": attachment_id}]

        async def worker() -> None:
            for handle in queue:
                body = {
                    "from": SENDER,
                    "to": [handle],
                    "message": {"parts": parts, "idempotency_key": str(uuid.uuid4())},
                }
                started = time.perf_counter()
                try:
                    async with http.post(chats_url, json=body, headers=headers) as resp:
                        data = await resp.read()
                        resp.raise_for_status()
                    if not json.loads(data)["chat"]["id"]:
                        raise ValueError("no chat id in the response")
                except Exception as exc:
                    timer.error(exc)
                else:
                    timer.latencies.append(time.perf_counter() - started)

        timer.start()
        await asyncio.gather(*(worker() for _ in range(min(spec.concurrency, spec.n))))
        timer.stop()
    return timer.result(spec.n)


async def upload(spec: Spec) -> dict[str, Any]:
    """Upload ``spec.file`` once."""
    headers = {"Authorization": f"Bearer {spec.api_key}"}
    async with _session() as http:
        timer = UploadTimer()
        attachment_id = await _upload(http, spec, headers)
        return timer.result(spec.size, attachment_id)


if __name__ == "__main__":
    raise SystemExit(run({"bulk": bulk, "upload": upload}))
