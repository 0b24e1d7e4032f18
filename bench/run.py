"""Run the benchmarks and write the results: ``python -m bench`` or ``python bench/run.py``.

Each measurement starts a fresh fake server process (``bench.lean_fake`` by default, or
``bench.fake_server``: ``--fake``) and one client process, so the client's CPU time and
peak RSS are its own. Clients take turns (A B A B, in separate processes) for several
rounds; the report gives medians and min-max, and every ratio is linq-async's median
against the bare client's from the same run.

Workloads (``--only``):

- ``send``: for every public send path (`bench._common.PATHS`), ``--n`` calls as a user
  writes them (``asyncio.gather`` + a semaphore of ``--concurrency``), by linq-async and by
  a bare aiohttp client making the same HTTP requests; the official SDK on ``chats.create``.
- ``upload``: one ``--upload-mib`` MiB file through POST /v3/attachments and the presigned
  PUT, ``--uploads`` times in each client process (each figure is their median);
  linq-async also uploads a 1 MiB file, to compare peak RSS.
- ``import``: ``import linq_async`` against ``import linq`` and ``import aiohttp`` in fresh
  interpreters, and which modules ``import linq_async`` loads.
- ``profile``: one more linq-async run of one path (``--profile-path``; the path with the
  highest CPU ratio by default) under cProfile: where its per-call CPU goes.
- ``callgrind`` (in a full run, when valgrind is installed): instructions per call of the
  timed phase (``--callgrind-paths``, all by default) for linq-async and the bare client,
  under ``valgrind --tool=callgrind``, and cycles modelled from its cache and branch
  simulation (`modelled_cycles`); stable to 1-3 % where CPU time is not.

Results go to stdout (a markdown table) and to ``bench/results/latest.{md,json,png}``; a
full run also copies the chart to ``docs/bench/latest.png``.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import importlib.util
import json
import os
import platform
import pstats
import re
import select
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from types import TracebackType
from typing import Any, NamedTuple

if __package__ in (None, ""):  # run as ``python bench/run.py``
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import report
from bench._common import PATHS, SMALL_FILENAME, load_json, maxrss_kib, stderr

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "bench" / "results"
DOCS_CHART = ROOT / "docs" / "bench" / "latest.png"
MIB = 1024 * 1024
SMALL_FILE_BYTES = 64 * 1024
SERVER_TIMEOUT = 30.0
"""Seconds the fake server may take to start or to answer a command."""
ALL_CLIENTS = ("linq-async", "bare", "official", "curl")
WORKLOADS = ("send", "upload", "import", "profile", "callgrind")

FULL: dict[str, Any] = {
    "n": 10000,
    "send_rounds": 11,
    "upload_rounds": 15,
    "uploads": 5,
    "upload_mib": 100,
    "import_runs": 9,
    "noise_retries": 2,
    "quiet_wait": 5.0,
    "noise_budget": 90.0,
    "only": "send,upload,import,profile,callgrind",
}
"""Defaults of a full run: 10,000 calls at 64 in flight, 11 rounds, and instructions per
call of every path. CPU time on a shared machine moves 10-20% between identical rounds of
3,000 calls (about 0.4 s, a few garbage collections); rounds of 10,000 spread about half as
much, and with 7 rounds a path's median ratio still moved by about 0.05 between runs."""
QUICK: dict[str, Any] = {
    "n": 200,
    "send_rounds": 1,
    "upload_rounds": 1,
    "uploads": 1,
    "upload_mib": 8,
    "import_runs": 3,
    "noise_retries": 0,
    "quiet_wait": 0.0,
    "noise_budget": 0.0,
    "only": "send,upload,import",
}
"""Defaults of ``--quick``: a smoke run of every path in well under a minute."""


def _both(key: str) -> str:
    """A default as the help texts give it: the full run's, then ``--quick``'s."""
    return f"{FULL[key]}; --quick {QUICK[key]}"


class Client(NamedTuple):
    """One client of one workload.

    Attributes:
        key: the name in the results (``"linq-async"``, ``"bare"`` ...).
        base: which ``--clients`` name selects it.
        label: the name in the table.
        module: the module run as ``python -m <module>``.
        file: which generated file it uploads (``"big"`` or ``"one"``).
        paths: the send paths it runs (``None``: every one).
    """

    key: str
    base: str
    label: str
    module: str
    file: str = "big"
    paths: tuple[str, ...] | None = None


SEND_CLIENTS = (
    Client("linq-async", "linq-async", "linq-async", "bench.client_linq_async"),
    Client("bare", "bare", "bare aiohttp", "bench.client_bare"),
    Client(
        "official",
        "official",
        "official SDK (linq-python)",
        "bench.client_official",
        paths=("chats.create",),
    ),
)
UPLOAD_CLIENTS = (
    Client("linq-async", "linq-async", "linq-async upload()", "bench.client_linq_async"),
    Client(
        "linq-async 1 MiB",
        "linq-async",
        "linq-async upload(), 1 MiB file",
        "bench.client_linq_async",
        file="one",
    ),
    Client("bare", "bare", "bare aiohttp, streamed PUT", "bench.client_bare"),
    Client("official", "official", "official SDK + httpx PUT", "bench.client_official"),
    Client("curl", "curl", "curl -T", "bench.client_curl"),
)
IMPORTS = (
    ("aiohttp", "bare", "aiohttp alone"),
    ("linq_async", "linq-async", "linq-async"),
    ("linq", "official", "official SDK (linq)"),
)
PATH_LABELS = {
    "chats.create": "`chats.create`",
    "chats.messages.send": "`chats.messages.send`",
    "messages.send": "`messages.send` (API picks the line)",
    "upload_and_send": "`upload_and_send(<Upload>)`",
    "broadcast": "`broadcast()` per recipient",
    "chats.get": "`chats.get` (read)",
}
SENDS_A_MESSAGE = frozenset(PATHS) - {"chats.get"}


class Noise:
    """When a measurement counts as disturbed by other work, and how much to do about it.

    Waiting for quiet and retaking measurements stop once ``budget`` seconds have gone into
    them, so that a machine that never falls quiet costs a bounded delay, not a run of
    unbounded length; measurements after that are kept as they come, and marked noisy.

    Args:
        threshold: cores other processes may use meanwhile.
        retries: times a disturbed measurement is taken again.
        wait: seconds to wait, before each measurement, for the machine to fall quiet.
        budget: seconds the whole run may spend waiting and retaking.
    """

    def __init__(self, *, threshold: float, retries: int, wait: float, budget: float) -> None:
        self.threshold = threshold
        self.retries = retries
        self.wait = wait
        self.budget = budget
        self.spent = 0.0

    @property
    def exhausted(self) -> bool:
        """Whether the budget for waiting and retaking is used up."""
        return self.spent >= self.budget

    def wait_for_quiet(self) -> None:
        """Wait up to ``wait`` seconds (within the budget) for the load to fall below the
        threshold."""
        if self.wait <= 0 or self.exhausted:
            return
        started = time.monotonic()
        deadline = started + min(self.wait, self.budget - self.spent)
        try:
            while True:
                before = machine_busy_seconds()
                time.sleep(0.25)
                after = machine_busy_seconds()
                if before is None or after is None:
                    return
                if (after - before) / 0.25 <= self.threshold or time.monotonic() >= deadline:
                    return
                time.sleep(0.5)
        finally:
            self.spent += time.monotonic() - started


class BenchError(Exception):
    """A measurement could not be taken (a process failed or timed out)."""


class Skipped(Exception):
    """A client reported that it cannot run this path in this build."""


class FakeServerProcess:
    """A fake server process (``bench.fake_server``, or ``bench.lean_fake`` for the send
    workloads): start it, query it over stdin/stdout, stop it."""

    def __init__(self, module: str = "bench.fake_server") -> None:
        self.module = module
        self._process: subprocess.Popen[str] | None = None
        self.base_url = ""
        self.api_key = ""
        self.pid = 0

    def __enter__(self) -> FakeServerProcess:
        self._process = subprocess.Popen(
            [sys.executable, "-m", self.module],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            env=_child_env(),
            preexec_fn=_pinned(1),
        )
        hello = self._read_line()
        self.base_url = hello["base_url"]
        self.api_key = hello["api_key"]
        self.pid = hello["pid"]
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        process = self._process
        if process is None:
            return
        try:
            if process.stdin is not None:
                process.stdin.write("quit\n")
                process.stdin.close()
            process.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()

    def _read_line(self) -> dict[str, Any]:
        assert self._process is not None
        assert self._process.stdout is not None
        # The fake writes one line per command, so nothing waits in the pipe's buffer unseen.
        ready, _, _ = select.select([self._process.stdout], [], [], SERVER_TIMEOUT)
        if not ready:
            self._process.kill()
            raise BenchError(f"the fake server did not answer within {SERVER_TIMEOUT:.0f} s")
        line = self._process.stdout.readline()
        if not line:
            raise BenchError(f"the fake server exited with {self._process.wait()}")
        return load_json(line)

    def query(self, command: str) -> dict[str, Any]:
        """Send one command line (``stats``, ``sha256 <id>``, ``crc32 <id>``) and return the
        JSON answer."""
        assert self._process is not None
        assert self._process.stdin is not None
        self._process.stdin.write(command + "\n")
        self._process.stdin.flush()
        return self._read_line()


_PYCACHE: list[str] = []
"""The byte-code cache directory of this run's child processes, once chosen."""


def _child_env() -> dict[str, str]:
    """The environment of every child: ``bench`` importable, byte code cached.

    Byte code goes to a private cache (``PYTHONPYCACHEPREFIX``) even when the caller set
    ``PYTHONDONTWRITEBYTECODE``: installed packages come with ``.pyc`` files, and compiling
    every module on every start would charge compile time and memory to whichever client
    imports the most source (an editable install of linq-async has no ``.pyc`` of its own).
    """
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    for name in ("PYTHONDONTWRITEBYTECODE", "PYTHONTRACEMALLOC", "PYTHONDEVMODE"):
        env.pop(name, None)
    if _PYCACHE:
        env["PYTHONPYCACHEPREFIX"] = _PYCACHE[0]
    return env


CLIENT_MALLOC = {
    "MALLOC_MMAP_THRESHOLD_": str(4 * MIB),
    "MALLOC_TRIM_THRESHOLD_": str(256 * MIB),
}
"""glibc's malloc thresholds, fixed for every client process (see `_client_env`)."""


def _client_env() -> dict[str, str]:
    """`_child_env`, with `CLIENT_MALLOC` (other C libraries ignore it).

    Over plain HTTP, asyncio reads each response into a fresh 256 KiB buffer. glibc serves an
    allocation that size by ``mmap`` until the process has once freed such a chunk; then its
    dynamic threshold rises above it and the heap serves it. Which client gets there depends
    on what its setup happened to allocate: in one run the bare client of ``chats.create``
    and linq-async's ``broadcast`` paid an ``mmap``, an ``mremap`` and a ``munmap`` per
    response (with their page faults) while their counterparts did not (``strace -c``), which
    moved CPU per call by up to 30% either way. With the thresholds fixed every client takes
    the heap, as every client does over TLS (the production API), whose reads are small.

    The upload's 512 KiB chunks are the same case: without fixed thresholds, the page faults
    of one 100 MiB upload ranged over 570-6,500 for either client (the heap grown and
    trimmed again as chunks come and go), and with them 340-390.
    """
    env = _child_env()
    env.update(CLIENT_MALLOC)
    return env


def _warm_up(modules: Sequence[str]) -> None:
    """Import every module once, so that byte code is compiled before anything is measured."""
    statements = "; ".join(f"import {module}" for module in modules)
    subprocess.run(
        [sys.executable, "-c", statements], cwd=ROOT, env=_child_env(), check=True, timeout=120
    )


FAKES = {"lean": "bench.lean_fake", "full": "bench.fake_server"}
"""The fakes the send and upload workloads can run against, by ``--fake`` name."""
CHECKSUMS = {"bench.lean_fake": "crc32", "bench.fake_server": "sha256"}
"""The checksum each fake gives of an uploaded body: the lean fake's CRC-32 costs it a
third of SHA-256's CPU (with SHA-256 it took 1.1 GB/s, with CRC-32 1.9-2.7 GB/s; it still
sets the upload's pace)."""


class Run(NamedTuple):
    """What one client process is asked to do."""

    client: Client
    workload: str
    path: str
    file: Path
    content_type: str
    n: int
    concurrency: int
    timeout: float
    profile: Path | None = None
    fake: str = "bench.fake_server"
    """The fake server's module: ``bench.lean_fake`` for the send and upload workloads by
    default."""


def _client_command(run: Run, server: FakeServerProcess) -> list[str]:
    command = [
        sys.executable,
        "-m",
        run.client.module,
        run.workload,
        "--path",
        run.path,
        "--base-url",
        server.base_url,
        "--api-key",
        server.api_key,
        "--file",
        str(run.file),
        "--content-type",
        run.content_type,
        "--n",
        str(run.n),
        "--concurrency",
        str(run.concurrency),
        "--server-pid",
        str(server.pid),
    ]
    if run.profile is not None:
        command += ["--profile", str(run.profile)]
    return command


def _pinned(cpu: int) -> Callable[[], None] | None:
    """Keep a child on one CPU (the client on the first, the fake on the second).

    The scheduler otherwise moves the two busy processes between the cores, and each move
    costs the mover its warm caches: noise in CPU per call of up to 10% between rounds.
    ``None`` (no pinning) with fewer than two CPUs or no ``sched_setaffinity``.
    """
    if not hasattr(os, "sched_setaffinity") or len(os.sched_getaffinity(0)) < 2:
        return None
    target = sorted(os.sched_getaffinity(0))[cpu]
    return lambda: os.sched_setaffinity(0, {target})


def _run_client(run: Run, server: FakeServerProcess, prefix: Sequence[str] = ()) -> dict[str, Any]:
    """Run one client process (under ``prefix``, e.g. valgrind) and return its JSON report."""
    try:
        done = subprocess.run(
            [*prefix, *_client_command(run, server)],
            capture_output=True,
            text=True,
            timeout=run.timeout,
            cwd=ROOT,
            env=_client_env(),
            check=False,
            preexec_fn=_pinned(0),
        )
    except subprocess.TimeoutExpired as exc:
        raise BenchError(f"{run.client.label} timed out after {run.timeout:.0f} s") from exc
    lines = done.stdout.strip().splitlines()
    if not lines:
        raise BenchError(
            f"{run.client.label} printed nothing (exit {done.returncode}):\n{done.stderr}"
        )
    result = load_json(lines[-1])
    if "skipped" in result:
        raise Skipped(result["skipped"])
    if done.returncode != 0 or "failed" in result:
        raise BenchError(f"{run.client.label}: {result.get('failed')}\n{done.stderr[-2000:]}")
    return result


def machine_busy_seconds() -> float | None:
    """CPU seconds every process on the machine has used since boot (``/proc/stat``).

    ``None`` where there is no ``/proc/stat``: then outside load is not measured.
    """
    try:
        with open("/proc/stat") as handle:
            fields = handle.readline().split()
    except OSError:
        return None
    if not fields or fields[0] != "cpu":
        return None
    # user nice system idle iowait irq softirq steal (guest time is already in user).
    ticks = [int(value) for value in fields[1:9]]
    busy = sum(ticks) - ticks[3] - ticks[4]
    return busy / os.sysconf("SC_CLK_TCK")


def _measure(run: Run, expected: dict[str, Any] | None = None) -> dict[str, Any]:
    """One measurement: a fresh fake server, one client run, the server's side of it."""
    with FakeServerProcess(run.fake) as server:
        before = server.query("stats")
        machine_before = machine_busy_seconds()
        started = time.perf_counter()
        result = _run_client(run, server)
        wall = time.perf_counter() - started
        machine_after = machine_busy_seconds()
        after = server.query("stats")
        result["server_cpu_s"] = after["cpu_s"] - before["cpu_s"]
        if machine_before is not None and machine_after is not None:
            # CPU used by anything but this client and this server while the client ran,
            # in cores: other work on the machine competing for its CPUs.
            other = machine_after - machine_before - result["process_cpu_s"]
            result["other_load"] = max(0.0, other - result["server_cpu_s"]) / wall
        result["server_maxrss_kib"] = after["maxrss_kib"]
        result["server_messages"] = after["messages"] - before["messages"]
        if result.get("seconds"):
            # ``server_busy``: the fake's load during the timed phase, as the client read
            # it from /proc (close to 100%: the single-threaded fake limits throughput).
            # Where it could not, it stays unknown: the fake's CPU over the client's whole
            # life (imports, setup, warm-up) against the timed phase came out at 180-760%.
            result["client_busy"] = result["cpu_s"] / result["seconds"]
        if expected is not None:
            # Every upload of the round, each to its own attachment, each checked.
            kind = CHECKSUMS[run.fake]
            ids = result["attachment_ids"]
            stored = [server.query(f"{kind} {i}")[kind] for i in ids]
            wrong = [digest for digest in stored if digest != expected[kind]]
            result["checksum"] = kind
            result["server_checksum"] = wrong[0] if wrong else expected[kind]
            result["checksum_ok"] = len(set(ids)) == len(ids) == run.n and not wrong
    result["maxrss_mib"] = result["maxrss_kib"] / 1024
    return result


def _spread(values: Sequence[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def _summarise(rounds: list[dict[str, Any]], metrics: Sequence[str]) -> dict[str, Any]:
    summary: dict[str, Any] = {}
    for metric in metrics:
        values = [r[metric] for r in rounds if isinstance(r.get(metric), (int, float))]
        if values:
            summary[metric] = _spread(values)
    return summary


SEND_METRICS = (
    "messages_per_s",
    "p50_ms",
    "p90_ms",
    "p99_ms",
    "max_ms",
    "cpu_ms_per_call",
    "gc_ms_per_call",
    "gc_full",
    "maxrss_mib",
    "client_busy",
    "server_busy",
    "seconds",
)
UPLOAD_METRICS = (
    "mib_per_s",
    "seconds",
    "maxrss_mib",
    "cpu_s",
    "process_cpu_s",
    "client_busy",
    "server_busy",
)


class Job(NamedTuple):
    """One line of a workload's table: something measured once per round."""

    key: str
    label: str
    measure: Callable[[], dict[str, Any]]


def _run_rounds(
    workload: str, jobs: Sequence[Job], rounds: int, metrics: Sequence[str], noise: Noise
) -> dict[str, dict[str, Any]]:
    """Run every job once per round, in turn, for ``rounds`` rounds; one entry per job.

    A measurement during which other processes used more than ``noise.threshold`` cores is
    taken again, up to ``noise.retries`` times; the quietest attempt is kept. A job whose
    client reports that it cannot run here is skipped from then on.
    """
    entries: dict[str, dict[str, Any]] = {
        job.key: {
            "key": job.key,
            "label": job.label,
            "rounds": [],
            "failures": [],
            "retried": 0,
            "skipped": None,
        }
        for job in jobs
    }
    for number in range(1, rounds + 1):
        for job in jobs:
            entry = entries[job.key]
            if entry["skipped"]:
                continue
            where = f"[{workload}] round {number}/{rounds} {job.label}"
            kept: dict[str, Any] | None = None
            try:
                for attempt in range(noise.retries + 1):
                    noise.wait_for_quiet()
                    began = time.monotonic()
                    result = job.measure()
                    if attempt:
                        noise.spent += time.monotonic() - began
                    if kept is None or result.get("other_load", 0) < kept.get("other_load", 0):
                        kept = result
                    if kept.get("other_load", 0) <= noise.threshold:
                        break
                    again = attempt < noise.retries and not noise.exhausted
                    stderr(
                        f"{where}: {result['other_load']:.2f} cores busy elsewhere"
                        + (", measuring again" if again else ", kept")
                    )
                    if not again:
                        break
                    entry["retried"] += 1
            except Skipped as exc:
                stderr(f"{where}: skipped ({exc})")
                entry["skipped"] = str(exc)
                continue
            except BenchError as exc:
                stderr(f"{where}: FAILED {exc}")
                entry["failures"].append(str(exc))
                continue
            assert kept is not None
            kept["noisy"] = kept.get("other_load", 0) > noise.threshold
            entry["rounds"].append(kept)
            stderr(f"{where}: {_brief(kept)}")
    for entry in entries.values():
        entry["summary"] = _summarise(entry["rounds"], (*metrics, "other_load"))
        entry["noisy_rounds"] = sum(1 for r in entry["rounds"] if r["noisy"])
    return entries


def _brief(result: dict[str, Any]) -> str:
    if "messages_per_s" in result:
        return (
            f"{result['messages_per_s']:.0f} calls/s, p50 {result['p50_ms']:.1f} ms, "
            f"p99 {result['p99_ms']:.1f} ms, {result['cpu_ms_per_call']:.3f} CPU ms/call, "
            f"fake {_share(result.get('server_busy'))}, errors {result['errors']}"
        )
    return (
        f"{result['mib_per_s']:.0f} MiB/s, {result['cpu_s']:.3f} CPU s, "
        f"{result['maxrss_mib']:.1f} MiB RSS, "
        f"{result.get('checksum', 'checksum')} {'ok' if result.get('checksum_ok') else 'MISMATCH'}"
    )


def _share(value: float | None) -> str:
    return "?" if value is None else f"{value:.0%}"


def _write_file(path: Path, mib: int, block: bytes) -> None:
    with path.open("wb") as handle:
        for _ in range(mib):
            handle.write(block)


def _checksums(path: Path) -> dict[str, Any]:
    """The file's SHA-256 (hex) and CRC-32 (an int), as the fakes report them."""
    digest, crc32 = hashlib.sha256(), 0
    with path.open("rb") as handle:
        while chunk := handle.read(MIB):
            digest.update(chunk)
            crc32 = zlib.crc32(chunk, crc32)
    return {"sha256": digest.hexdigest(), "crc32": crc32}


def _send_run(args: argparse.Namespace, client: Client, path: str, small: Path) -> Run:
    return Run(
        client=client,
        workload="send",
        path=path,
        file=small,
        content_type="image/jpeg",
        n=args.n,
        concurrency=args.concurrency,
        timeout=args.timeout,
        fake=FAKES[args.fake],
    )


def run_send(args: argparse.Namespace, selected: set[str], small: Path) -> dict[str, Any]:
    """Every send path, every client, every round: rounds outermost, so A B A B ..."""
    paths: list[dict[str, Any]] = []
    jobs: list[Job] = []
    for path in args.paths:
        clients = [
            c for c in SEND_CLIENTS if c.base in selected and (c.paths is None or path in c.paths)
        ]
        paths.append({"path": path, "label": PATH_LABELS[path], "note": None, "clients": clients})
        for client in clients:
            jobs.append(
                Job(
                    key=f"{path}|{client.key}",
                    label=f"{path} {client.label}",
                    measure=_send_measure(_send_run(args, client, path, small)),
                )
            )
    entries = _run_rounds("send", jobs, args.send_rounds, SEND_METRICS, _noise(args))
    out = []
    for item in paths:
        measured: list[dict[str, Any]] = []
        for client in item["clients"]:
            entry = entries.get(f"{item['path']}|{client.key}")
            if entry is not None:
                measured.append({**entry, "key": client.key, "label": client.label})
        note = item["note"] or next((e["skipped"] for e in measured if e["skipped"]), None)
        out.append(
            {"path": item["path"], "label": item["label"], "note": note, "clients": measured}
        )
    return {"n": args.n, "concurrency": args.concurrency, "paths": out}


def _send_measure(run: Run) -> Callable[[], dict[str, Any]]:
    def measure() -> dict[str, Any]:
        result = _measure(run)
        expected = result["setup_messages"] + (run.n if run.path in SENDS_A_MESSAGE else 0)
        if result["errors"] or result["server_messages"] != expected:
            raise BenchError(
                f"{result['errors']} failed calls, {result['server_messages']} messages at the "
                f"server, {expected} expected (first error: {result['first_error']})"
            )
        return result

    return measure


def run_upload(
    args: argparse.Namespace, clients: Sequence[Client], files: dict[str, Path]
) -> dict[str, Any]:
    """The upload workload, every client, every round."""
    checksums = {name: _checksums(path) for name, path in files.items()}

    def job(client: Client) -> Job:
        run = Run(
            client=client,
            workload="upload",
            path="chats.create",
            file=files[client.file],
            content_type="video/mp4",
            n=args.uploads,
            concurrency=1,
            timeout=args.timeout,
            fake=FAKES[args.fake],
        )

        def measure() -> dict[str, Any]:
            result = _measure(run, expected=checksums[client.file])
            if not result["checksum_ok"]:
                ids = result["attachment_ids"]
                raise BenchError(
                    f"{len(set(ids))} distinct attachment ids for {run.n} uploads (want "
                    f"{run.n}); {result['checksum']} at the server: "
                    f"{result['server_checksum']} (the file's: {checksums[client.file]})"
                )
            return result

        return Job(key=client.key, label=client.label, measure=measure)

    entries = _run_rounds(
        "upload", [job(c) for c in clients], args.upload_rounds, UPLOAD_METRICS, _noise(args)
    )
    out = []
    for client in clients:
        entry = entries[client.key]
        entry["file_mib"] = files[client.file].stat().st_size / MIB
        rounds = entry["rounds"]
        entry["checksum_ok"] = bool(rounds) and all(r["checksum_ok"] for r in rounds)
        out.append(entry)
    return {"file_mib": args.upload_mib, "clients": out}


_IMPORT_PROBE = """\
import resource, time
def rss_kib(field="VmRSS:"):
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith(field):
                    return int(line.split()[1])
    except OSError:
        pass
    return -1
usage = resource.getrusage(resource.RUSAGE_SELF)
cpu = usage.ru_utime + usage.ru_stime
rss = rss_kib()
t = time.perf_counter()
{statement}
wall = time.perf_counter() - t
usage = resource.getrusage(resource.RUSAGE_SELF)
print(wall, usage.ru_utime + usage.ru_stime - cpu, rss_kib(), rss, rss_kib("VmHWM:"))
"""


def _import_once(module: str | None) -> dict[str, float]:
    statement = f"import {module}" if module else "pass"
    code = _IMPORT_PROBE.format(statement=statement)
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-c", code],
        stdout=subprocess.PIPE,
        text=True,
        cwd=tempfile.gettempdir(),
        env=_child_env(),
    )
    assert process.stdout is not None
    out = process.stdout.read()
    process.stdout.close()
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise BenchError(f"python -c {statement!r} exited with {process.returncode}")
    import_s, import_cpu_s, rss_after, rss_before, peak = out.split()
    result = {
        "import_ms": float(import_s) * 1000,
        "import_cpu_ms": float(import_cpu_s) * 1000,
        "process_ms": wall * 1000,
        # VmHWM where there is one: ru_maxrss would count the parent's memory before exec.
        "maxrss_mib": (int(peak) if int(peak) >= 0 else maxrss_kib(usage)) / 1024,
    }
    if int(rss_after) >= 0:
        result["rss_after_mib"] = int(rss_after) / 1024
        result["rss_added_mib"] = (int(rss_after) - int(rss_before)) / 1024
    return result


_MODULES_PROBE = """\
import sys
before = set(sys.modules)
import {module}
print("\\n".join(sorted(set(sys.modules) - before)))
"""

OPTIONAL_SUBMODULES = (
    "linq_async.testing",
    "linq_async.webhooks",
    "linq_async._cli",
    "linq_async.__main__",
    "linq_async._demo",
    "linq_async.progress",
    "linq_async.campaign",
    "linq_async.integrations",
    "linq_async.contrib",
)
"""linq-async modules that only some users need: none may load on ``import linq_async``."""
RUNTIME_DEPENDENCIES = frozenset(
    {"attr", "attrs", "cattrs", "aiofiles", "typing_extensions", "exceptiongroup", "orjson"}
)
"""Third-party packages ``import linq_async`` may load besides what ``import aiohttp`` does:
the runtime dependencies and what they import, and the optional JSON speedup."""


def _new_modules(module: str) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", _MODULES_PROBE.format(module=module)],
        capture_output=True,
        text=True,
        cwd=tempfile.gettempdir(),
        env=_child_env(),
        check=True,
        timeout=60,
    )
    return done.stdout.split()


def _top_level(modules: Sequence[str]) -> set[str]:
    return {name.split(".", 1)[0] for name in modules}


def module_footprint() -> dict[str, Any]:
    """What ``import linq_async`` loads, against ``import aiohttp`` alone."""
    ours = _new_modules("linq_async")
    aiohttp = set(_new_modules("aiohttp"))
    stdlib = set(sys.stdlib_module_names)
    own = [m for m in ours if m == "linq_async" or m.startswith("linq_async.")]
    third = sorted(_top_level([m for m in ours if m not in own]) - stdlib)
    beyond = sorted(set(third) - _top_level(sorted(aiohttp)))
    optional = [m for m in own if m.startswith(OPTIONAL_SUBMODULES)]
    unexpected = [m for m in beyond if m not in RUNTIME_DEPENDENCIES and not m.startswith("_")]
    return {
        "modules_loaded": len(ours),
        "modules_loaded_by_aiohttp": len(aiohttp),
        "linq_async_modules": own,
        "third_party": third,
        "third_party_beyond_aiohttp": beyond,
        "optional_loaded": optional,
        "unexpected_third_party": unexpected,
        "stdlib_beyond_aiohttp": sorted(_top_level([m for m in ours if m not in aiohttp]) & stdlib),
    }


def run_import(args: argparse.Namespace, selected: set[str]) -> dict[str, Any]:
    """``import linq_async`` against ``import linq`` and ``import aiohttp``, in turns."""
    modules: list[tuple[str | None, str]] = [(None, "python (no import)")]
    for module, base, label in IMPORTS:
        wanted = base in selected or module in ("aiohttp", "linq_async")
        if wanted and importlib.util.find_spec(module) is not None:
            modules.append((module, label))
    entries: list[dict[str, Any]] = [
        {"module": m, "label": label, "runs": []} for m, label in modules
    ]
    for name, _ in modules:
        _import_once(name)  # warm-up: byte-compile, fill the page cache
    for _ in range(args.import_runs):
        for (name, _), entry in zip(modules, entries, strict=True):
            entry["runs"].append(_import_once(name))
    for entry in entries:
        entry["summary"] = _summarise(
            entry["runs"],
            ("import_ms", "import_cpu_ms", "process_ms", "maxrss_mib", "rss_after_mib"),
        )
        summary = entry["summary"]
        stderr(
            f"[import] {entry['label']}: {summary['import_ms']['median']:.1f} ms import, "
            f"{summary['process_ms']['median']:.1f} ms process, "
            f"{summary['maxrss_mib']['median']:.1f} MiB"
        )
    footprint = module_footprint()
    stderr(
        f"[import] linq_async loads {len(footprint['linq_async_modules'])} linq_async modules; "
        f"optional ones: {footprint['optional_loaded'] or 'none'}"
    )
    return {"runs": args.import_runs, "modules": entries, "footprint": footprint}


def _worst_path(results: dict[str, Any]) -> str:
    """The path whose CPU per call is furthest above the bare client's in this run."""
    ratios = report.cpu_ratios(results)
    if not ratios:
        return "upload_and_send"
    return max(ratios, key=lambda path: ratios[path])


def _profile_table(stats: pstats.Stats, calls: int, limit: int) -> list[dict[str, Any]]:
    rows = []
    table: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    for (filename, line, name), (_, ncalls, tottime, cumtime, _) in table.items():
        rows.append(
            {
                "function": f"{_short_file(filename)}:{line}({name})",
                "group": _group(filename, name),
                "calls_per_call": ncalls / calls,
                "self_us_per_call": tottime / calls * 1e6,
                "cum_us_per_call": cumtime / calls * 1e6,
            }
        )
    rows.sort(key=lambda row: row["self_us_per_call"], reverse=True)
    return rows[:limit] if limit else rows


def _short_file(filename: str) -> str:
    for marker in ("site-packages/", "/lib/python3", str(ROOT) + "/"):
        if marker in filename:
            tail = filename.split(marker, 1)[1]
            return tail.split("/", 1)[1] if marker == "/lib/python3" else tail
    return filename


_GROUPS = (
    ("linq_async/_model", "linq-async models (structuring)"),
    ("linq_async/_transport", "linq-async transport"),
    ("linq_async/resources", "linq-async endpoint layer"),
    ("linq_async/_compose", "linq-async request assembly"),
    ("linq_async/_validation", "linq-async validation"),
    ("linq_async/_sending", "linq-async workflows"),
    ("linq_async/models", "linq-async models (structuring)"),
    ("linq_async/", "linq-async (other)"),
    ("cattrs/", "cattrs"),
    ("cattr/", "cattrs"),
    ("attr/", "attrs"),
    ("attrs/", "attrs"),
    ("<attrs generated", "attrs"),
    ("aiohttp/", "aiohttp"),
    ("yarl/", "yarl/multidict"),
    ("multidict/", "yarl/multidict"),
    ("asyncio/", "asyncio"),
    ("json/", "json"),
    ("uuid", "uuid"),
    ("datetime", "datetime"),
    ("bench/", "benchmark loop"),
)


def _group(filename: str, name: str) -> str:
    if filename == "~":
        if "json" in name or "encode" in name or "scanner" in name:
            return "json"
        if "socket" in name or "epoll" in name or "select" in name:
            return "socket and epoll (system calls)"
        if "_asyncio" in name:
            return "asyncio"
        return "builtins (C calls)"
    for marker, group in _GROUPS:
        if marker in filename:
            return group
    return "other"


def run_profile(
    args: argparse.Namespace, selected: set[str], results: dict[str, Any], small: Path
) -> dict[str, Any]:
    """One path under cProfile (timed phase only), linq-async and the bare client: where
    linq-async's per-call CPU goes, and where it spends more than the bare client."""
    path = args.profile_path
    if path == "worst":
        path = _worst_path(results)
    args.out.mkdir(parents=True, exist_ok=True)
    out: dict[str, Any] = {"path": path, "calls": args.n, "clients": {}}
    functions: dict[str, dict[str, dict[str, Any]]] = {}
    for client in SEND_CLIENTS[:2]:
        if client.base not in selected:
            continue
        target = args.out / f"profile-{path}-{client.key}.pstats"
        run = _send_run(args, client, path, small)._replace(profile=target)
        stderr(f"[profile] {path}: {client.label} under cProfile, {args.n} calls")
        result = _measure(run)
        stats = pstats.Stats(str(target))
        rows = _profile_table(stats, args.n, 0)
        functions[client.key] = {row["function"]: row for row in rows}
        groups: dict[str, float] = {}
        for row in rows:
            groups[row["group"]] = groups.get(row["group"], 0.0) + row["self_us_per_call"]
        text = target.with_suffix(".txt")
        with text.open("w") as handle:
            stats.stream = handle  # type: ignore[attr-defined]
            stats.sort_stats("tottime").print_stats(80)
            stats.sort_stats("cumulative").print_stats(80)
        stderr(f"[profile] wrote {target} and {text}")
        out["clients"][client.key] = {
            "pstats": target.name,
            "text": text.name,
            "cpu_ms_per_call_profiled": result["cpu_ms_per_call"],
            "total_us_per_call": sum(groups.values()),
            "groups": groups,
        }
    ours = functions.get("linq-async", {})
    bare = functions.get("bare", {})
    out["top"] = sorted(ours.values(), key=lambda row: row["self_us_per_call"], reverse=True)[
        : args.profile_top
    ]
    extra = []
    for name, row in ours.items():
        theirs = bare.get(name)
        extra.append(
            {
                **row,
                "bare_self_us_per_call": theirs["self_us_per_call"] if theirs else 0.0,
                "extra_us_per_call": row["self_us_per_call"]
                - (theirs["self_us_per_call"] if theirs else 0.0),
            }
        )
    extra.sort(key=lambda row: row["extra_us_per_call"], reverse=True)
    out["top_extra"] = extra[: args.profile_top] if bare else []
    return out


def run_callgrind(args: argparse.Namespace, results: dict[str, Any], small: Path) -> dict[str, Any]:
    """Instructions per call, linq-async and the bare client, under callgrind.

    Callgrind dumps its counts each time the client enters libc's ``getrusage``, which it
    calls only when its timed phase starts and stops and when it reports: the second dump
    holds the timed phase alone, free of start-up, imports and setup. Open it with
    ``callgrind_annotate <file>.2`` or kcachegrind.
    """
    if shutil.which("valgrind") is None:
        return {"note": "valgrind is not installed", "paths": []}
    paths = _callgrind_paths(args, results)
    args.out.mkdir(parents=True, exist_ok=True)
    out: dict[str, Any] = {"calls": args.callgrind_n, "paths": []}
    for path in paths:
        item: dict[str, Any] = {"path": path, "clients": {}}
        out["paths"].append(item)
        for client in SEND_CLIENTS[:2]:
            target = args.out / f"callgrind-{path}-{client.key}.out"
            for stale in args.out.glob(f"{target.name}*"):
                stale.unlink()
            run = _send_run(args, client, path, small)._replace(
                n=args.callgrind_n, timeout=max(args.timeout, 1800.0)
            )
            stderr(f"[callgrind] {path} {client.label}, {run.n} calls (slow)")
            prefix = [
                "valgrind",
                "--tool=callgrind",
                "--cache-sim=yes",
                "--branch-sim=yes",
                f"--callgrind-out-file={target}",
                "--dump-before=getrusage",
            ]
            try:
                with FakeServerProcess(run.fake) as server:
                    _run_client(run, server, prefix)
                events = _callgrind_events(target.with_name(f"{target.name}.2"))
            except (BenchError, OSError) as exc:
                stderr(f"[callgrind] {path} {client.label}: FAILED {exc}")
                item["clients"][client.key] = {"failed": str(exc)[:500]}
                continue
            per_call = events["Ir"] / run.n
            item["clients"][client.key] = {
                "phase_instructions": events["Ir"],
                "per_call": per_call,
                "cycles_per_call": modelled_cycles(events) / run.n,
                "file": f"{target.name}.2",
            }
            stderr(f"[callgrind] {path} {client.label}: {per_call:,.0f} instructions per call")
        for figure, ratio in (("per_call", "ratio"), ("cycles_per_call", "cycles_ratio")):
            ours = item["clients"].get("linq-async", {}).get(figure)
            bare = item["clients"].get("bare", {}).get(figure)
            item[ratio] = ours / bare if ours and bare else None
    return out


def _callgrind_paths(args: argparse.Namespace, results: dict[str, Any]) -> list[str]:
    if args.callgrind_paths == "all":
        return list(args.paths)
    if args.callgrind_paths == "worst":
        return [_worst_path(results)]
    return [name.strip() for name in args.callgrind_paths.split(",") if name.strip()]


def _callgrind_events(path: Path) -> dict[str, int]:
    """A callgrind dump's totals by event (``Ir``, ``I1mr``, ``Bcm`` ...)."""
    names: list[str] = []
    for line in path.read_text(errors="replace").splitlines():
        if line.startswith("events:"):
            names = line.split()[1:]
        match = re.match(r"(?:totals|summary):\s+([\d ]+)$", line)
        if match and names:
            # (a dump may leave out trailing zero totals)
            return dict(zip(names, map(int, match.group(1).split()), strict=False))
    raise BenchError(f"no event totals in {path}")


CYCLES_PER_L1_MISS = 10
CYCLES_PER_LL_MISS = 100
CYCLES_PER_MISPREDICT = 15


def modelled_cycles(events: dict[str, int]) -> int:
    """Cycles by a rough model of valgrind's cache and branch simulation: one per
    instruction, `CYCLES_PER_L1_MISS` per first-level miss, `CYCLES_PER_LL_MISS` per
    last-level miss, `CYCLES_PER_MISPREDICT` per mispredicted branch (the orders of size
    valgrind's manual gives). Like the instruction count, other load does not move it."""
    l1 = events.get("I1mr", 0) + events.get("D1mr", 0) + events.get("D1mw", 0)
    last = events.get("ILmr", 0) + events.get("DLmr", 0) + events.get("DLmw", 0)
    mispredicted = events.get("Bcm", 0) + events.get("Bim", 0)
    return (
        events["Ir"]
        + CYCLES_PER_L1_MISS * l1
        + CYCLES_PER_LL_MISS * last
        + CYCLES_PER_MISPREDICT * mispredicted
    )


_NOISE: list[Noise] = []


def _noise(args: argparse.Namespace) -> Noise:
    """The run's one `Noise`, whose budget every workload shares."""
    if not _NOISE:
        _NOISE.append(
            Noise(
                threshold=args.noise_threshold,
                retries=args.noise_retries,
                wait=args.quiet_wait,
                budget=args.noise_budget,
            )
        )
    return _NOISE[0]


def _available_clients(requested: str | None) -> set[str]:
    names = set(ALL_CLIENTS) if requested is None else set(requested.split(","))
    unknown = names - set(ALL_CLIENTS)
    if unknown:
        raise SystemExit(f"unknown --clients {sorted(unknown)}; choose from {ALL_CLIENTS}")
    if "official" in names and importlib.util.find_spec("linq") is None:
        if requested is not None:
            raise SystemExit("--clients official needs linq-python: pip install linq-python")
        stderr("linq-python is not installed: skipping the official SDK")
        names.discard("official")
    if "curl" in names and shutil.which("curl") is None:
        if requested is not None:
            raise SystemExit("--clients curl needs curl on PATH")
        stderr("curl is not on PATH: skipping it")
        names.discard("curl")
    return names


def _version(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def _curl_version() -> str | None:
    if shutil.which("curl") is None:
        return None
    out = subprocess.run(["curl", "--version"], capture_output=True, text=True, check=False)
    return out.stdout.split("\n", 1)[0] or None


def _meta() -> dict[str, Any]:
    return {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "versions": {
            name: _version(name)
            for name in ("linq-async", "linq-python", "aiohttp", "httpx", "pydantic")
        },
        "curl": _curl_version(),
        "load_average_at_start": os.getloadavg()[0],
    }


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description=(
            "Benchmark every public send path of linq-async against a bare aiohttp client "
            "making the same requests (and the official SDK and curl), each client in its "
            "own process against the fake Linq API in another."
        ),
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"a smoke run: {QUICK['n']} calls, {QUICK['send_rounds']} round, an upload of "
        f"{QUICK['upload_mib']} MiB, no profile (explicit options still win)",
    )
    parser.add_argument("--n", type=int, help=f"calls per send-path run ({_both('n')})")
    parser.add_argument("--concurrency", type=int, default=64, help="calls in flight (%(default)s)")
    parser.add_argument(
        "--paths",
        default=",".join(PATHS),
        help=f"send paths to measure, from {','.join(PATHS)} (all)",
    )
    parser.add_argument("--rounds", type=int, help="rounds of every workload")
    parser.add_argument("--send-rounds", type=int, help=f"rounds of send ({_both('send_rounds')})")
    parser.add_argument(
        "--upload-rounds", type=int, help=f"rounds of upload ({_both('upload_rounds')})"
    )
    parser.add_argument(
        "--upload-mib", type=int, help=f"upload file size in MiB ({_both('upload_mib')})"
    )
    parser.add_argument(
        "--uploads",
        type=int,
        help=f"timed uploads per client process and round; each figure is their median "
        f"({_both('uploads')})",
    )
    parser.add_argument(
        "--only",
        help=f"workloads to run, from {','.join(WORKLOADS)} ({_both('only')})",
    )
    parser.add_argument(
        "--clients",
        help=f"clients to run, from {','.join(ALL_CLIENTS)} (default: every one installed)",
    )
    parser.add_argument(
        "--import-runs", type=int, help=f"imports timed per module ({_both('import_runs')})"
    )
    parser.add_argument(
        "--profile-path",
        default="worst",
        help="the send path the profile workload profiles (worst: the highest CPU ratio)",
    )
    parser.add_argument(
        "--profile-top", type=int, default=25, help="functions listed in the profile (%(default)s)"
    )
    parser.add_argument(
        "--callgrind-paths",
        default="all",
        help="send paths the callgrind workload counts: a list, all (default), or worst (the "
        "highest CPU ratio of this run's send workload)",
    )
    parser.add_argument(
        "--callgrind-n", type=int, default=512, help="calls per callgrind run (%(default)s)"
    )
    parser.add_argument(
        "--timeout", type=float, default=600.0, help="seconds a client run may take (%(default)s)"
    )
    parser.add_argument(
        "--noise-threshold",
        type=float,
        default=0.3,
        help="cores other processes may use during a measurement before it is retaken "
        "(%(default)s)",
    )
    parser.add_argument(
        "--noise-retries",
        type=int,
        help=f"times a disturbed measurement is retaken ({_both('noise_retries')})",
    )
    parser.add_argument(
        "--quiet-wait",
        type=float,
        help="seconds to wait before each measurement for other load to fall below the "
        f"threshold ({_both('quiet_wait')})",
    )
    parser.add_argument(
        "--noise-budget",
        type=float,
        help="seconds the whole run may spend waiting for quiet and retaking disturbed "
        f"measurements ({_both('noise_budget')})",
    )
    parser.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help="where latest.{md,json,png} go"
    )
    parser.add_argument(
        "--fake",
        choices=sorted(FAKES),
        default="lean",
        help="the fake the send and upload workloads run against: lean (canned answers "
        "recorded from the full fake, so every client runs flat out; default) or full "
        "(FakeLinqServer)",
    )
    parser.add_argument("--no-chart", action="store_true", help="skip the PNG chart")
    parser.add_argument(
        "--docs-chart",
        choices=("auto", "yes", "no"),
        default="auto",
        help="copy the chart to docs/bench/latest.png (auto: on full runs into the default --out)",
    )
    args = parser.parse_args(argv)
    defaults = QUICK if args.quick else FULL

    def given(*values: int | None) -> int | None:
        return next((value for value in values if value is not None), None)

    # Explicit values win, 0 included (and refused below): ``or`` would replace a 0 silently.
    args.n = given(args.n, defaults["n"])
    args.send_rounds = given(args.send_rounds, args.rounds, defaults["send_rounds"])
    args.upload_rounds = given(args.upload_rounds, args.rounds, defaults["upload_rounds"])
    args.upload_mib = given(args.upload_mib, defaults["upload_mib"])
    args.uploads = given(args.uploads, defaults["uploads"])
    args.import_runs = given(args.import_runs, defaults["import_runs"])
    if args.noise_retries is None:
        args.noise_retries = defaults["noise_retries"]
    if args.quiet_wait is None:
        args.quiet_wait = defaults["quiet_wait"]
    if args.noise_budget is None:
        args.noise_budget = defaults["noise_budget"]
    only = args.only if args.only is not None else defaults["only"]
    args.only = {name.strip() for name in only.split(",") if name.strip()}
    if args.only - set(WORKLOADS):
        parser.error(f"--only takes {', '.join(WORKLOADS)}, not {sorted(args.only)}")
    args.paths = [name.strip() for name in args.paths.split(",") if name.strip()]
    if set(args.paths) - set(PATHS):
        parser.error(f"--paths takes {', '.join(PATHS)}, not {args.paths}")
    if args.profile_path not in (*PATHS, "worst"):
        parser.error(f"--profile-path takes worst or one of {', '.join(PATHS)}")
    if args.callgrind_paths not in ("all", "worst") and not set(
        args.callgrind_paths.split(",")
    ) <= set(PATHS):
        parser.error(f"--callgrind-paths takes all, worst or some of {', '.join(PATHS)}")
    if not 1 <= args.upload_mib <= 100:
        parser.error("--upload-mib must be 1 to 100 (the API's limit is 100 MiB)")
    if args.rounds is not None and args.rounds < 1:
        parser.error("--rounds must be at least 1")
    for name in ("uploads", "send_rounds", "upload_rounds", "import_runs"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    if args.n < 1 or args.concurrency < 1:
        parser.error("--n and --concurrency must be positive")
    if args.docs_chart == "auto":
        args.docs_chart = (
            "yes"
            if not args.quick
            and args.out.resolve() == DEFAULT_OUT.resolve()
            and {"send", "upload", "import"} <= args.only
            and args.paths == list(PATHS)
            else "no"
        )
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run the selected workloads, print the table, write the results. Exit 1 on failures."""
    args = parse_args(argv)
    selected = _available_clients(args.clients)
    started = time.perf_counter()
    results: dict[str, Any] = {"meta": _meta(), "params": {}}
    results["params"] = {
        "quick": args.quick,
        "n": args.n,
        "concurrency": args.concurrency,
        "paths": args.paths,
        "send_rounds": args.send_rounds,
        "upload_rounds": args.upload_rounds,
        "upload_mib": args.upload_mib,
        "uploads": args.uploads,
        "fake": args.fake,
        "import_runs": args.import_runs,
        "only": sorted(args.only),
        "clients": sorted(selected),
        "noise_threshold_cores": args.noise_threshold,
        "noise_retries": args.noise_retries,
        "quiet_wait_s": args.quiet_wait,
        "noise_budget_s": args.noise_budget,
    }
    with tempfile.TemporaryDirectory(prefix="linq-bench-") as tmp:
        _PYCACHE[:] = [str(Path(tmp) / "pycache")]
        modules = ["bench.fake_server", "bench.lean_fake"]
        modules += sorted(
            {c.module for c in (*SEND_CLIENTS, *UPLOAD_CLIENTS) if c.base in selected}
        )
        modules += [m for m, _, _ in IMPORTS if importlib.util.find_spec(m)]
        _warm_up(modules)
        block = os.urandom(MIB)
        small = Path(tmp) / SMALL_FILENAME
        small.write_bytes(block[:SMALL_FILE_BYTES])
        if "send" in args.only:
            results["send"] = run_send(args, selected, small)
        if "upload" in args.only:
            files = {"big": Path(tmp) / f"bench-{args.upload_mib}mib.mp4"}
            files["one"] = Path(tmp) / "bench-1mib.mp4"
            _write_file(files["big"], args.upload_mib, block)
            _write_file(files["one"], 1, block)
            clients = [c for c in UPLOAD_CLIENTS if c.base in selected]
            results["upload"] = run_upload(args, clients, files)
        if "import" in args.only:
            results["import"] = run_import(args, selected)
        if "profile" in args.only and "linq-async" in selected:
            results["profile"] = run_profile(args, selected, results, small)
        if "callgrind" in args.only and {"linq-async", "bare"} <= selected:
            results["callgrind"] = run_callgrind(args, results, small)
        _PYCACHE.clear()
    if _NOISE:
        results["meta"]["noise_seconds_spent"] = _NOISE[0].spent
    results["goals"] = report.goals(results)
    results["meta"]["duration_s"] = time.perf_counter() - started
    results["meta"]["load_average_at_end"] = os.getloadavg()[0]

    text = report.markdown(results)
    print(text)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "latest.md").write_text(text + "\n")
    (args.out / "latest.json").write_text(json.dumps(results, indent=2) + "\n")
    if not args.no_chart:
        chart = args.out / "latest.png"
        if report.chart(results, chart):
            stderr(f"wrote {chart}")
            if args.docs_chart == "yes":
                DOCS_CHART.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(chart, DOCS_CHART)
                stderr(f"copied it to {DOCS_CHART}")
        else:
            stderr("matplotlib is not installed or nothing to draw: no chart")
    stderr(f"wrote {args.out / 'latest.md'} and {args.out / 'latest.json'}")
    failed = any(
        entry["failures"]
        for path in results.get("send", {}).get("paths", [])
        for entry in path["clients"]
    ) or any(entry["failures"] for entry in results.get("upload", {}).get("clients", []))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
