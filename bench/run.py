"""Run the benchmarks and write the results: ``python -m bench`` or ``python bench/run.py``.

Each measurement starts a fresh fake server process (``bench.fake_server``) and one client
process, so the client's CPU time and peak RSS are its own. Clients take turns (A B C A B C)
for several rounds; the report gives medians and min-max.

Workloads:

- ``bulk``: one small upload, then ``--n`` sends, each a new 1:1 chat with a text part and a
  media part, at most ``--concurrency`` in flight.
- ``upload``: one ``--upload-mib`` MiB file through POST /v3/attachments and the presigned PUT;
  linq-async also uploads a 1 MiB file, to compare peak RSS.
- ``import``: ``import linq_async`` against ``import linq`` in fresh interpreters.

Results go to stdout (a markdown table) and to ``bench/results/latest.{md,json,png}``.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import importlib.util
import json
import os
import platform
import select
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from types import TracebackType
from typing import Any, NamedTuple

if __package__ in (None, ""):  # run as ``python bench/run.py``
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import report
from bench._common import BULK_FILENAME, load_json, maxrss_kib, stderr

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "bench" / "results"
MIB = 1024 * 1024
SMALL_FILE_BYTES = 64 * 1024
SERVER_TIMEOUT = 30.0
"""Seconds the fake server may take to start or to answer a command."""
ALL_CLIENTS = ("linq-async", "ceiling", "official", "curl")


class Client(NamedTuple):
    """One client of one workload.

    Attributes:
        key: the name in the results (``"linq-async"``, ``"ceiling"`` ...).
        base: which ``--clients`` name selects it.
        label: the name in the table.
        module: the module run as ``python -m <module>``.
        variant: passed as ``--variant``.
        file: which generated file it uploads (``"small"``, ``"big"`` or ``"one"``).
    """

    key: str
    base: str
    label: str
    module: str
    variant: str = "default"
    file: str = "big"


BULK_CLIENTS = (
    Client(
        "linq-async", "linq-async", "linq-async broadcast()", "bench.client_linq_async", "broadcast"
    ),
    Client(
        "linq-async per-call",
        "linq-async",
        "linq-async upload_and_send() x N",
        "bench.client_linq_async",
        "per-call",
    ),
    Client("ceiling", "ceiling", "ceiling (bare aiohttp)", "bench.ceiling"),
    Client("official", "official", "official SDK (linq-python)", "bench.client_official"),
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
    Client("ceiling", "ceiling", "ceiling (bare aiohttp)", "bench.ceiling"),
    Client("official", "official", "official SDK + httpx PUT", "bench.client_official"),
    Client("curl", "curl", "curl -T", "bench.client_curl"),
)
IMPORTS = (
    ("linq_async", "linq-async", "linq-async"),
    ("linq", "official", "official SDK (linq)"),
)


class Noise(NamedTuple):
    """When a measurement counts as disturbed by other work, and how often to retake it."""

    threshold: float
    retries: int


class BenchError(Exception):
    """A measurement could not be taken (a process failed or timed out)."""


class FakeServerProcess:
    """A ``bench.fake_server`` process: start it, query it over stdin/stdout, stop it."""

    def __init__(self) -> None:
        self._process: subprocess.Popen[str] | None = None
        self.base_url = ""
        self.api_key = ""

    def __enter__(self) -> FakeServerProcess:
        self._process = subprocess.Popen(
            [sys.executable, "-m", "bench.fake_server"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            env=_child_env(),
        )
        hello = self._read_line()
        self.base_url = hello["base_url"]
        self.api_key = hello["api_key"]
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
        """Send one command line (``stats``, ``sha256 <id>``) and return the JSON answer."""
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


def _warm_up(modules: Sequence[str]) -> None:
    """Import every module once, so that byte code is compiled before anything is measured."""
    statements = "; ".join(f"import {module}" for module in modules)
    subprocess.run(
        [sys.executable, "-c", statements], cwd=ROOT, env=_child_env(), check=True, timeout=120
    )


def _run_client(
    client: Client,
    workload: str,
    server: FakeServerProcess,
    *,
    file: Path,
    content_type: str,
    n: int,
    concurrency: int,
    timeout: float,
) -> dict[str, Any]:
    """Run one client process and return its JSON report."""
    command = [
        sys.executable,
        "-m",
        client.module,
        workload,
        "--base-url",
        server.base_url,
        "--api-key",
        server.api_key,
        "--file",
        str(file),
        "--content-type",
        content_type,
        "--n",
        str(n),
        "--concurrency",
        str(concurrency),
        "--variant",
        client.variant,
    ]
    try:
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=ROOT,
            env=_child_env(),
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise BenchError(f"{client.label} timed out after {timeout:.0f} s") from exc
    lines = done.stdout.strip().splitlines()
    if not lines:
        raise BenchError(f"{client.label} printed nothing (exit {done.returncode}):\n{done.stderr}")
    result = load_json(lines[-1])
    if done.returncode != 0 or "failed" in result:
        raise BenchError(f"{client.label}: {result.get('failed')}\n{done.stderr[-2000:]}")
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


def _measure(
    client: Client,
    workload: str,
    *,
    file: Path,
    content_type: str,
    n: int,
    concurrency: int,
    timeout: float,
    expected_sha256: str | None = None,
) -> dict[str, Any]:
    """One measurement: a fresh fake server, one client run, the server's side of it."""
    with FakeServerProcess() as server:
        before = server.query("stats")
        machine_before = machine_busy_seconds()
        started = time.perf_counter()
        result = _run_client(
            client,
            workload,
            server,
            file=file,
            content_type=content_type,
            n=n,
            concurrency=concurrency,
            timeout=timeout,
        )
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
            # CPU the server spent over the client's whole life, against the measured phase:
            # close to 100% means the single-threaded fake is what limits throughput.
            result["server_busy"] = result["server_cpu_s"] / result["seconds"]
            result["client_busy"] = result["cpu_s"] / result["seconds"]
        if workload == "bulk" and result.get("cpu_s"):
            # What the client could do if the server were free: sends per CPU second.
            result["client_bound_messages_per_s"] = result["ok"] / result["cpu_s"]
        if expected_sha256 is not None:
            stored = server.query(f"sha256 {result['attachment_id']}")
            result["server_sha256"] = stored["sha256"]
            result["sha256_ok"] = stored["sha256"] == expected_sha256
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


BULK_METRICS = (
    "messages_per_s",
    "p50_ms",
    "p90_ms",
    "p99_ms",
    "max_ms",
    "cpu_ms_per_msg",
    "client_bound_messages_per_s",
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


def _run_rounds(
    workload: str,
    clients: Sequence[Client],
    rounds: int,
    metrics: Sequence[str],
    measure: Callable[[Client], dict[str, Any]],
    noise: Noise,
) -> list[dict[str, Any]]:
    """Run ``clients`` in turn for ``rounds`` rounds; return one entry per client.

    A measurement during which other processes used more than ``noise.threshold`` cores is
    taken again, up to ``noise.retries`` times; the quietest attempt is kept.
    """
    entries: list[dict[str, Any]] = [
        {"key": c.key, "label": c.label, "rounds": [], "failures": [], "retried": 0}
        for c in clients
    ]
    for number in range(1, rounds + 1):
        for client, entry in zip(clients, entries, strict=True):
            where = f"[{workload}] round {number}/{rounds} {client.label}"
            kept: dict[str, Any] | None = None
            try:
                for attempt in range(noise.retries + 1):
                    result = measure(client)
                    if kept is None or result.get("other_load", 0) < kept.get("other_load", 0):
                        kept = result
                    if kept.get("other_load", 0) <= noise.threshold:
                        break
                    stderr(
                        f"{where}: {result['other_load']:.2f} cores busy elsewhere"
                        + (", measuring again" if attempt < noise.retries else ", kept")
                    )
                    entry["retried"] += 1
            except BenchError as exc:
                stderr(f"{where}: FAILED {exc}")
                entry["failures"].append(str(exc))
                continue
            assert kept is not None
            kept["noisy"] = kept.get("other_load", 0) > noise.threshold
            entry["rounds"].append(kept)
            stderr(f"{where}: {_brief(kept)}")
    for entry in entries:
        entry["summary"] = _summarise(entry["rounds"], (*metrics, "other_load"))
        entry["noisy_rounds"] = sum(1 for r in entry["rounds"] if r["noisy"])
    return entries


def _brief(result: dict[str, Any]) -> str:
    if "messages_per_s" in result:
        return (
            f"{result['messages_per_s']:.0f} msg/s, p50 {result['p50_ms']:.1f} ms, "
            f"p99 {result['p99_ms']:.1f} ms, {result['cpu_ms_per_msg']:.3f} CPU ms/msg, "
            f"{result['maxrss_mib']:.1f} MiB, errors {result['errors']}"
        )
    return (
        f"{result['mib_per_s']:.0f} MiB/s, {result['maxrss_mib']:.1f} MiB RSS, "
        f"sha256 {'ok' if result.get('sha256_ok') else 'MISMATCH'}"
    )


def _write_file(path: Path, mib: int, block: bytes) -> None:
    with path.open("wb") as handle:
        for _ in range(mib):
            handle.write(block)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(MIB):
            digest.update(chunk)
    return digest.hexdigest()


def run_bulk(args: argparse.Namespace, clients: Sequence[Client], small: Path) -> dict[str, Any]:
    """The bulk workload, every client, every round."""

    def measure(client: Client) -> dict[str, Any]:
        result = _measure(
            client,
            "bulk",
            file=small,
            content_type="image/jpeg",
            n=args.n,
            concurrency=args.concurrency,
            timeout=args.timeout,
        )
        if result["errors"] or result["server_messages"] != args.n:
            raise BenchError(
                f"{result['errors']} failed sends, {result['server_messages']} messages at the "
                f"server (first error: {result['first_error']})"
            )
        return result

    entries = _run_rounds("bulk", clients, args.bulk_rounds, BULK_METRICS, measure, _noise(args))
    return {"n": args.n, "concurrency": args.concurrency, "clients": entries}


def run_upload(
    args: argparse.Namespace, clients: Sequence[Client], files: dict[str, Path]
) -> dict[str, Any]:
    """The upload workload, every client, every round."""
    digests = {name: _sha256(path) for name, path in files.items()}

    def measure(client: Client) -> dict[str, Any]:
        result = _measure(
            client,
            "upload",
            file=files[client.file],
            content_type="video/mp4",
            n=1,
            concurrency=1,
            timeout=args.timeout,
            expected_sha256=digests[client.file],
        )
        if not result["sha256_ok"]:
            raise BenchError(f"sha256 at the server is {result['server_sha256']}")
        return result

    entries = _run_rounds(
        "upload", clients, args.upload_rounds, UPLOAD_METRICS, measure, _noise(args)
    )
    for entry, client in zip(entries, clients, strict=True):
        entry["file_mib"] = files[client.file].stat().st_size / MIB
        entry["sha256_ok"] = bool(entry["rounds"]) and all(r["sha256_ok"] for r in entry["rounds"])
    return {"file_mib": args.upload_mib, "clients": entries}


def _import_once(module: str | None) -> dict[str, float]:
    statement = f"import {module}" if module else "pass"
    code = f"import time; t = time.perf_counter()\n{statement}\nprint(time.perf_counter() - t)"
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
    return {
        "import_ms": float(out) * 1000,
        "process_ms": wall * 1000,
        "maxrss_mib": maxrss_kib(usage) / 1024,
        "cpu_ms": (usage.ru_utime + usage.ru_stime) * 1000,
    }


def run_import(args: argparse.Namespace, selected: set[str]) -> dict[str, Any]:
    """``import linq_async`` against ``import linq`` (and bare ``python``), in turns."""
    modules: list[tuple[str | None, str]] = [(None, "python (no import)")]
    for module, base, label in IMPORTS:
        if base in selected and importlib.util.find_spec(module) is not None:
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
        entry["summary"] = _summarise(entry["runs"], ("import_ms", "process_ms", "maxrss_mib"))
        summary = entry["summary"]
        stderr(
            f"[import] {entry['label']}: {summary['import_ms']['median']:.1f} ms import, "
            f"{summary['process_ms']['median']:.1f} ms process, "
            f"{summary['maxrss_mib']['median']:.1f} MiB"
        )
    return {"runs": args.import_runs, "modules": entries}


def _noise(args: argparse.Namespace) -> Noise:
    return Noise(threshold=args.noise_threshold, retries=args.noise_retries)


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
            "Benchmark linq-async against a bare-aiohttp ceiling, the official SDK and curl, "
            "each client in its own process against the fake Linq API in another."
        ),
    )
    parser.add_argument("--n", type=int, default=2000, help="bulk sends per run (2000)")
    parser.add_argument(
        "--concurrency", type=int, default=64, help="bulk sends in flight at most (64)"
    )
    parser.add_argument(
        "--rounds", type=int, help="rounds of every workload (default: bulk 5, upload 3)"
    )
    parser.add_argument("--bulk-rounds", type=int, help="rounds of bulk (5)")
    parser.add_argument("--upload-rounds", type=int, help="rounds of upload (3)")
    parser.add_argument("--upload-mib", type=int, default=100, help="upload file size (100)")
    parser.add_argument(
        "--only", default="bulk,upload,import", help="workloads to run (bulk,upload,import)"
    )
    parser.add_argument(
        "--clients",
        help=f"clients to run, from {','.join(ALL_CLIENTS)} (default: every one installed)",
    )
    parser.add_argument("--import-runs", type=int, default=9, help="imports timed per module (9)")
    parser.add_argument(
        "--timeout", type=float, default=600.0, help="seconds a client run may take (600)"
    )
    parser.add_argument(
        "--noise-threshold",
        type=float,
        default=0.3,
        help="cores other processes may use during a measurement before it is retaken (0.3)",
    )
    parser.add_argument(
        "--noise-retries", type=int, default=2, help="times a disturbed measurement is retaken (2)"
    )
    parser.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help="where latest.{md,json,png} go"
    )
    parser.add_argument("--no-chart", action="store_true", help="skip the PNG chart")
    args = parser.parse_args(argv)
    args.bulk_rounds = args.bulk_rounds or args.rounds or 5
    args.upload_rounds = args.upload_rounds or args.rounds or 3
    args.only = {name.strip() for name in args.only.split(",") if name.strip()}
    if args.only - {"bulk", "upload", "import"}:
        parser.error(f"--only takes bulk, upload and import, not {args.only}")
    if not 1 <= args.upload_mib <= 100:
        parser.error("--upload-mib must be 1 to 100 (the API's limit is 100 MiB)")
    if args.n < 1 or args.concurrency < 1:
        parser.error("--n and --concurrency must be positive")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run the selected workloads, print the table, write the results. Exit 1 on failures."""
    args = parse_args(argv)
    selected = _available_clients(args.clients)
    started = time.perf_counter()
    results: dict[str, Any] = {"meta": _meta(), "params": {}}
    results["params"] = {
        "n": args.n,
        "concurrency": args.concurrency,
        "bulk_rounds": args.bulk_rounds,
        "upload_rounds": args.upload_rounds,
        "upload_mib": args.upload_mib,
        "only": sorted(args.only),
        "clients": sorted(selected),
        "noise_threshold_cores": args.noise_threshold,
        "noise_retries": args.noise_retries,
    }
    with tempfile.TemporaryDirectory(prefix="linq-bench-") as tmp:
        _PYCACHE[:] = [str(Path(tmp) / "pycache")]
        modules = ["bench.fake_server"]
        modules += sorted(
            {c.module for c in (*BULK_CLIENTS, *UPLOAD_CLIENTS) if c.base in selected}
        )
        modules += [m for m, base, _ in IMPORTS if base in selected and importlib.util.find_spec(m)]
        _warm_up(modules)
        block = os.urandom(MIB)
        small = Path(tmp) / BULK_FILENAME
        small.write_bytes(block[:SMALL_FILE_BYTES])
        if "bulk" in args.only:
            clients = [c for c in BULK_CLIENTS if c.base in selected]
            results["bulk"] = run_bulk(args, clients, small)
        if "upload" in args.only:
            files = {"big": Path(tmp) / f"bench-{args.upload_mib}mib.mp4"}
            files["one"] = Path(tmp) / "bench-1mib.mp4"
            _write_file(files["big"], args.upload_mib, block)
            _write_file(files["one"], 1, block)
            clients = [c for c in UPLOAD_CLIENTS if c.base in selected]
            results["upload"] = run_upload(args, clients, files)
        if "import" in args.only:
            results["import"] = run_import(args, selected)
        _PYCACHE.clear()
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
        else:
            stderr("matplotlib is not installed: no chart (pip install matplotlib)")
    stderr(f"wrote {args.out / 'latest.md'} and {args.out / 'latest.json'}")
    failed = any(
        entry["failures"]
        for workload in ("bulk", "upload")
        for entry in results.get(workload, {}).get("clients", [])
    )
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
