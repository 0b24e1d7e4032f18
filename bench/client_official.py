"""The official SDK (``linq-python``, module ``linq``): ``AsyncLinqAPIV3`` with its defaults.

The SDK has no upload helper, so ``upload`` is what its docs leave a user to write:
``client.attachments.create(...)``, then an ``httpx`` PUT of the file's bytes, read whole into
memory, with the slot's ``required_headers``.

- ``send --path chats.create`` (its only path): ``n`` ``client.chats.create(...)`` calls
  with a text part, through the same ``asyncio.gather`` + ``asyncio.Semaphore`` loop as
  the other clients.
- ``upload``: one such upload.

Run by ``bench.run`` as ``python -m bench.client_official <workload> ...``; needs
``pip install linq-python`` (the bench nox session installs it).
"""

from __future__ import annotations

import asyncio
import os
import uuid
from pathlib import Path
from typing import Any

import httpx
from linq import AsyncLinqAPIV3

from bench._common import (
    SENDER,
    TEXT,
    SendTimer,
    Spec,
    gather_gated,
    recipients,
    run,
    timed_uploads,
)


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


async def send(spec: Spec) -> dict[str, Any]:
    """``spec.n`` chats.create calls to distinct recipients."""
    if spec.path != "chats.create":
        return {"skipped": "the official SDK is measured on chats.create only"}
    timer = SendTimer(spec)
    async with AsyncLinqAPIV3(api_key=spec.api_key, base_url=spec.base_url) as client:

        async def create_chat(handle: str) -> None:
            created = await client.chats.create(
                from_=SENDER,
                to=[handle],
                message={
                    "parts": [{"type": "text", "value": TEXT}],
                    "idempotency_key": str(uuid.uuid4()),
                },
            )
            if not (created.chat.id and created.chat.message.id):
                raise ValueError("a field the call returns is empty")

        timer.start()
        await gather_gated(recipients(spec.n), create_chat, timer)
        timer.stop()
    return timer.result()


async def upload(spec: Spec) -> dict[str, Any]:
    """Upload ``spec.file`` ``spec.n`` times, one after another (see `timed_uploads`)."""
    async with AsyncLinqAPIV3(api_key=spec.api_key, base_url=spec.base_url) as client:
        return await timed_uploads(spec, lambda each: _upload(client, each))


if __name__ == "__main__":
    raise SystemExit(run({"send": send, "upload": upload}))
