"""The fake Linq API in a process of its own, driven over stdin/stdout.

Starts ``linq_async.testing.FakeLinqServer`` on 127.0.0.1 and prints one JSON line,
``{"base_url": ..., "api_key": ..., "pid": ...}``. Then it answers one JSON line per command
line read from stdin:

- ``sha256 <attachment_id>``: ``{"sha256", "status", "received_bytes"}`` of the attachment
  (``null`` fields when there is no such attachment);
- ``stats``: this process's CPU seconds and peak RSS, and how many requests, chats and
  messages the fake holds;
- ``quit`` (or end of input): stops the server and exits.

Run it by hand with ``python -m bench.fake_server``.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import sys
from typing import Any

from bench._common import maxrss_kib
from linq_async.testing import FakeLinqServer


def _stats(fake: FakeLinqServer) -> dict[str, Any]:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "maxrss_kib": maxrss_kib(usage),
        "requests": len(fake.requests),
        "chats": len(fake.chats),
        "messages": len(fake.messages),
    }


def _sha256(fake: FakeLinqServer, attachment_id: str) -> dict[str, Any]:
    record = fake.attachments.get(attachment_id)
    if record is None:
        return {"sha256": None, "status": None, "received_bytes": None}
    return {
        "sha256": record.sha256,
        "status": record.status,
        "received_bytes": record.received_bytes,
    }


def _answer(fake: FakeLinqServer, line: str) -> dict[str, Any] | None:
    words = line.split()
    if not words or words[0] == "quit":
        return None
    if words[0] == "stats":
        return _stats(fake)
    if words[0] == "sha256" and len(words) == 2:
        return _sha256(fake, words[1])
    return {"error": f"unknown command {line.strip()!r}"}


async def serve() -> None:
    """Serve until ``quit`` or the end of stdin."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    async with FakeLinqServer() as fake:
        hello = {"base_url": fake.base_url, "api_key": fake.api_key, "pid": os.getpid()}
        print(json.dumps(hello), flush=True)
        while True:
            line = (await reader.readline()).decode()
            answer = _answer(fake, line)
            if answer is None:
                break
            print(json.dumps(answer), flush=True)


def main() -> int:
    """Entry point."""
    asyncio.run(serve())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
