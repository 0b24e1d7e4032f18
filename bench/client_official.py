"""The official SDK (``linq-python``, module ``linq``): ``AsyncLinqAPIV3`` with its defaults.

The SDK has no upload helper, so ``upload`` is what its docs leave a user to write:
``client.attachments.create(...)``, then an ``httpx`` PUT of the file's bytes, read whole into
memory, with the slot's ``required_headers``.

- ``bulk``: one such upload, then ``n`` ``client.chats.create(...)`` calls under an
  ``asyncio.Semaphore(concurrency)``.
- ``upload``: one such upload.

Run by ``bench.run`` as ``python -m bench.client_official <workload> ...``; needs
``pip install linq-python`` (the bench nox session installs it).
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from linq import AsyncLinqAPIV3

from bench._common import SENDER, TEXT, BulkTimer, Spec, UploadTimer, recipients, run


async def _upload(client: AsyncLinqAPIV3, spec: Spec) -> str:
    """Create an attachment slot and PUT the whole file to it; return the attachment id."""
    data = await asyncio.to_thread(Path(spec.file).read_bytes)
    slot = await client.attachments.create(
        content_type=spec.content_type,  # type: ignore[arg-type]  # a str, checked by the API
        filename=os.path.basename(spec.file),
        size_bytes=len(data),
    )
    async with httpx.AsyncClient() as http:
        response = await http.put(slot.upload_url, content=data, headers=slot.required_headers)
        response.raise_for_status()
    return slot.attachment_id


async def bulk(spec: Spec) -> dict[str, Any]:
    """One small upload, then ``spec.n`` sends to distinct recipients."""
    timer = BulkTimer()
    async with AsyncLinqAPIV3(api_key=spec.api_key, base_url=spec.base_url) as client:
        attachment_id = await _upload(client, spec)
        gate = asyncio.Semaphore(spec.concurrency)

        async def send(handle: str) -> None:
            async with gate:
                started = time.perf_counter()
                try:
                    await client.chats.create(
                        from_=SENDER,
                        to=[handle],
                        message={
                            "parts": [
                                {"type": "text", "value": TEXT},
                                {"type": "media", "attachment_id": attachment_id},
                            ],
                            "idempotency_key": str(uuid.uuid4()),
                        },
                    )
                except Exception as exc:
                    timer.error(exc)
                else:
                    timer.latencies.append(time.perf_counter() - started)

        timer.start()
        await asyncio.gather(*(send(handle) for handle in recipients(spec.n)))
        timer.stop()
    return timer.result(spec.n)


async def upload(spec: Spec) -> dict[str, Any]:
    """Upload ``spec.file`` once."""
    async with AsyncLinqAPIV3(api_key=spec.api_key, base_url=spec.base_url) as client:
        timer = UploadTimer()
        attachment_id = await _upload(client, spec)
        return timer.result(spec.size, attachment_id)


if __name__ == "__main__":
    raise SystemExit(run({"bulk": bulk, "upload": upload}))
