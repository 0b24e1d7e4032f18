"""The embedded demo: upload_and_send of a generated file against FakeLinqServer.

Runs with no API key and no network: ``python -m linq_async demo``.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
from typing import TextIO

import aiofiles

from ._session import LinqSession
from .testing import FakeLinqServer

DEMO_SENDER = "+12223334444"
DEMO_RECIPIENT = "+15556667777"


async def run_demo(*, size: int = 5 * 1024 * 1024, out: TextIO = sys.stdout) -> None:
    """Start a FakeLinqServer, send a generated file through it, and print what happened."""

    def say(text: str) -> None:
        print(text, file=out, flush=True)

    with tempfile.TemporaryDirectory(prefix="linq-demo-") as folder:
        path = os.path.join(folder, "demo-report.pdf")
        content = os.urandom(size)
        digest = hashlib.sha256(content).hexdigest()
        async with aiofiles.open(path, "wb") as handle:
            await handle.write(content)
        del content

        async with FakeLinqServer() as fake:
            say(f"FakeLinqServer listening at {fake.base_url} (no API key, no network)")
            async with LinqSession(fake.api_key, base_url=fake.base_url) as linq:
                marks: set[int] = set()

                def progress(sent: int, total: int) -> None:
                    quarter = sent * 4 // total
                    if quarter not in marks:
                        marks.add(quarter)
                        say(f"  uploaded {sent:>10,} of {total:,} bytes")

                say(f"Sending {os.path.basename(path)} ({size:,} bytes) to {DEMO_RECIPIENT}")
                result = await linq.upload_and_send(
                    path,
                    from_=DEMO_SENDER,
                    to=DEMO_RECIPIENT,
                    text="Here is your report.",
                    on_progress=progress,
                )
            stored = fake.attachments[result.upload.attachment_id]
            say(f"attachment  {result.upload.attachment_id} ({result.upload.content_type})")
            say(f"chat        {result.chat.id} with {DEMO_RECIPIENT}")
            say(f"message     {result.message.id} status={result.message.delivery_status}")
            say(f"parts       {[type(part).__name__ for part in result.message.parts]}")
            match = "matches" if stored.sha256 == digest else "DOES NOT MATCH"
            say(f"sha256      {digest[:16]}... {match} what the server stored")
            if stored.sha256 != digest:
                raise SystemExit(1)
