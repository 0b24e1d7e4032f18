"""What the examples share: a session on the real Linq API, or on an embedded fake of it.

``open_linq()`` decides once, the same way for every example:

- ``LINQ_API_KEY`` (or ``LINQ_API_V3_API_KEY``) is set: a real ``LinqSession.from_env()``.
  The examples then also need ``LINQ_FROM``, your Linq line, and a recipient from ``--to`` or
  ``LINQ_TO``, because they send real messages.
- Otherwise: a ``FakeLinqServer`` on 127.0.0.1 and a session pointed at it, with a made-up
  line and recipient. Nothing leaves the machine, and a line on stderr says so.

This module is part of the examples, not of the SDK: in your own code, build one
``LinqSession`` at start-up, usually with ``LinqSession.from_env()``.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from linq_async import LinqSession
from linq_async.testing import FakeLinqServer

KEY_VARS = ("LINQ_API_KEY", "LINQ_API_V3_API_KEY")
FAKE_SENDER = "+12223334444"
FAKE_RECIPIENT = "+15556667777"


@dataclass(frozen=True)
class Target:
    """Where an example sends: the session, the sending line, and the fake if there is one."""

    linq: LinqSession
    sender: str
    recipient: str | None
    """``LINQ_TO`` on the real API (``None`` if unset); a made-up handle on the fake."""
    fake: FakeLinqServer | None
    """The embedded fake server, for fault injection and records; ``None`` on the real API."""

    def recipient_or_exit(self, given: str | None) -> str:
        """The recipient to use: ``given`` (from ``--to``), else the default, else exit."""
        recipient = given or self.recipient
        if recipient is None:
            raise SystemExit("error: pass --to or set LINQ_TO: the recipient of the message")
        return recipient


def using_real_api() -> bool:
    """Whether an API key is in the environment, so the examples talk to the real API."""
    return any(os.environ.get(name, "").strip() for name in KEY_VARS)


def note(text: str) -> None:
    """Print a diagnostic line on stderr, so stdout keeps only the example's results."""
    print(text, file=sys.stderr, flush=True)


@asynccontextmanager
async def open_linq(**options: Any) -> AsyncIterator[Target]:
    """Open a session on the real API or on an embedded fake (see the module docstring).

    Args:
        **options: passed on to ``LinqSession`` (``retry=``, ``timeout=`` ...).
    """
    if using_real_api():
        sender = os.environ.get("LINQ_FROM", "").strip()
        if not sender:
            raise SystemExit(
                "error: LINQ_API_KEY is set, so this example uses the real Linq API: "
                "set LINQ_FROM to your Linq line (E.164, such as +12223334444)"
            )
        recipient = os.environ.get("LINQ_TO", "").strip() or None
        async with LinqSession.from_env(**options) as linq:
            note(f"Using the real Linq API at {linq.base_url}")
            yield Target(linq=linq, sender=sender, recipient=recipient, fake=None)
        return

    async with FakeLinqServer() as fake:
        note(
            f"LINQ_API_KEY is not set: using the embedded FakeLinqServer at {fake.base_url} "
            "(no API key, nothing leaves this machine)"
        )
        async with LinqSession(fake.api_key, base_url=fake.base_url, **options) as linq:
            yield Target(linq=linq, sender=FAKE_SENDER, recipient=FAKE_RECIPIENT, fake=fake)


@contextmanager
def sample_file(name: str, size: int) -> Iterator[Path]:
    """Write a text file of about ``size`` bytes in a temporary folder; remove it afterwards.

    It runs before the event loop starts, so its blocking writes stall nothing.
    """
    line = b"linq-async example: this file was generated to show a streamed upload.\n"
    with tempfile.TemporaryDirectory(prefix="linq-example-") as folder:
        path = Path(folder) / name
        with path.open("wb") as out:
            for _ in range(max(1, size // len(line))):
                out.write(line)
        yield path
