"""What the examples share: a session on the real Linq API, or on an embedded fake of it.

``open_linq()`` decides once, the same way for every example:

- ``LINQ_API_KEY`` (or ``LINQ_API_V3_API_KEY``) is set: ``LinqSession.from_env()``, on the
  API that ``LINQ_BASE_URL`` names (the real Linq API when it is unset). The examples then
  also need ``LINQ_FROM``, your Linq line, and a recipient from ``--to`` or ``LINQ_TO``,
  because they send real messages.
- The same, but ``LINQ_BASE_URL`` is on this machine (127.0.0.1, ``localhost``): a local
  server such as ``linq-async fake-server``, whose ``export`` lines set all four variables.
  Nothing real is sent, so the made-up line and recipient are the defaults.
- No key: a ``FakeLinqServer`` embedded in the example, on 127.0.0.1, with a made-up line
  and recipient. Nothing leaves the machine, and a line on stderr says so.

Progress bars need tqdm (``pip install 'linq-async[progress]'``); without it the examples
run without bars and say so once.

This module is part of the examples, not of the SDK: in your own code, build one
``LinqSession`` at start-up, usually with ``LinqSession.from_env()``.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractContextManager, asynccontextmanager, contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ParamSpec, TypeVar
from urllib.parse import urlsplit

from linq_async import LinqSession
from linq_async.testing import FakeLinqServer

KEY_VARS = ("LINQ_API_KEY", "LINQ_API_V3_API_KEY")
BASE_URL_VARS = ("LINQ_BASE_URL", "LINQ_API_V3_BASE_URL")
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
# The same made-up numbers `linq-async fake-server` exports as LINQ_FROM and LINQ_TO.
FAKE_SENDER = "+12223334444"
FAKE_RECIPIENT = "+15556667777"

P = ParamSpec("P")
T = TypeVar("T")


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


def _env(names: tuple[str, ...]) -> str:
    """The first of ``names`` set to something in the environment, else ``""``."""
    return next((os.environ[n].strip() for n in names if os.environ.get(n, "").strip()), "")


def using_env_api() -> bool:
    """Whether an API key is in the environment, so the examples use the API it is for."""
    return bool(_env(KEY_VARS))


def using_local_api() -> bool:
    """Whether that API is a server on this machine (``LINQ_BASE_URL`` on a loopback host)."""
    return using_env_api() and urlsplit(_env(BASE_URL_VARS)).hostname in LOCAL_HOSTS


def using_real_api() -> bool:
    """Whether the examples send real messages: a key, and an API that is not on this machine."""
    return using_env_api() and not using_local_api()


def note(text: str) -> None:
    """Print a diagnostic line on stderr, so stdout keeps only the example's results."""
    print(text, file=sys.stderr, flush=True)


@asynccontextmanager
async def open_linq(**options: Any) -> AsyncIterator[Target]:
    """Open a session on the real API or on an embedded fake (see the module docstring).

    Args:
        **options: passed on to ``LinqSession`` (``retry=``, ``timeout=`` ...).
    """
    if using_env_api():
        local = using_local_api()
        sender = _env(("LINQ_FROM",)) or (FAKE_SENDER if local else "")
        if not sender:
            raise SystemExit(
                "error: LINQ_API_KEY is set, so this example uses the real Linq API: "
                "set LINQ_FROM to your Linq line (E.164, such as +12223334444)"
            )
        recipient = _env(("LINQ_TO",)) or (FAKE_RECIPIENT if local else None)
        async with LinqSession.from_env(**options) as linq:
            if local:
                note(
                    f"Using the Linq API server on this machine at {linq.base_url} "
                    "(LINQ_BASE_URL, e.g. `linq-async fake-server`): nothing real is sent"
                )
            else:
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


def have_tqdm() -> bool:
    """Whether tqdm, which the progress bars need, is installed."""
    try:
        import tqdm  # noqa: F401
    except ImportError:
        return False
    return True


def progress(
    make_bar: Callable[P, AbstractContextManager[T]], *args: P.args, **kwargs: P.kwargs
) -> AbstractContextManager[T | None]:
    """``make_bar(*args, **kwargs)`` (a `linq_async.progress` bar), or no bar without tqdm.

    The bar's callback is then ``None``, which the SDK takes as "no progress reports".
    """
    if have_tqdm():
        return make_bar(*args, **kwargs)
    note("No progress bar: tqdm is not installed (pip install 'linq-async[progress]')")
    return nullcontext()


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
