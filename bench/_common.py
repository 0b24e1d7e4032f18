"""What every benchmark client process shares: its command line, the workload's constants,
the user's send loop, latency percentiles and the final JSON report with the process's own
CPU time and peak RSS.

Standard library only, so importing it costs every client the same few hundred KiB.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import resource
import sys
import time
import traceback
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Sequence
from typing import Any, NamedTuple

SENDER = "+12223334444"
"""The sending line of every benchmark message."""
TEXT = "Your benchmark message"
"""The text part of every message."""
SMALL_FILENAME = "bench-small.jpg"
"""The small attachment that `upload_and_send` and `broadcast` send (image/jpeg)."""
CHUNK_SIZE = 512 * 1024
"""Upload chunk size of the hand-written clients, the same as linq-async's."""

PATHS = (
    "chats.create",
    "chats.messages.send",
    "messages.send",
    "upload_and_send",
    "broadcast",
    "chats.get",
)
"""Every public send path, and one read, in the order the report lists them."""
POOL_PATHS = frozenset({"chats.messages.send", "chats.get"})
"""Paths that work on existing chats: the client creates a pool of them before timing."""
MEDIA_PATHS = frozenset({"upload_and_send", "broadcast"})
"""Paths that send the small attachment: the client uploads it once before timing."""


def recipients(n: int, prefix: str = "+1555") -> list[str]:
    """``n`` distinct E.164 recipients, so that each send creates a new 1:1 chat."""
    return [f"{prefix}{index:07d}" for index in range(n)]


WARMUP_PREFIX = "+1444"
"""Recipients of the untimed warm-up calls (distinct from the timed ones)."""


def warmup_items(spec: Spec) -> list[Any]:
    """The items of the untimed warm-up: one call per lane, ``concurrency`` in all.

    Before the clock starts, each client makes ``concurrency`` calls of the path it is about
    to time, so the timed calls are those of a running program: every connection open, the
    resolver's threads started, each code path run once. (Without it, opening 64
    connections and starting the resolver's thread pool cost a client about as much as
    1,000 calls, a fixed cost that made every ratio look smaller.)
    """
    if spec.path in POOL_PATHS:
        return list(range(spec.concurrency))
    return recipients(spec.concurrency, prefix=WARMUP_PREFIX)


def pool_size(spec: Spec) -> int:
    """How many chats a pool path creates before timing (one per send in flight)."""
    return min(spec.n, spec.concurrency)


class Spec(NamedTuple):
    """One client run, as given on the command line.

    Attributes:
        workload: ``"send"`` (``n`` calls of one path) or ``"upload"`` (one file).
        path: the send path (one of `PATHS`); ignored by ``upload``.
        base_url: the fake API root (``http://127.0.0.1:<port>/api/partner``).
        api_key: the fake's bearer token.
        file: the file to upload (the small attachment for the media paths).
        size: its size in bytes.
        content_type: its MIME type.
        n: timed calls.
        concurrency: the most calls in flight.
        server_pid: the fake server's pid, to read its CPU time around the timed phase.
        profile: write a cProfile of the timed phase to this file (``None``: no profile).
    """

    workload: str
    path: str
    base_url: str
    api_key: str
    file: str
    size: int
    content_type: str
    n: int
    concurrency: int
    server_pid: int | None
    profile: str | None


def parse_spec(argv: Sequence[str] | None = None) -> Spec:
    """Parse a client process's command line."""
    parser = argparse.ArgumentParser(description="One benchmark client run; prints JSON.")
    parser.add_argument("workload", choices=["send", "upload"])
    parser.add_argument("--path", choices=PATHS, default="chats.create")
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--api-key", required=True)
    parser.add_argument("--file", required=True)
    parser.add_argument("--content-type", required=True)
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--server-pid", type=int)
    parser.add_argument("--profile")
    args = parser.parse_args(argv)
    return Spec(
        workload=args.workload,
        path=args.path,
        base_url=args.base_url.rstrip("/"),
        api_key=args.api_key,
        file=args.file,
        size=os.path.getsize(args.file),
        content_type=args.content_type,
        n=args.n,
        concurrency=args.concurrency,
        server_pid=args.server_pid,
        profile=args.profile,
    )


def maxrss_kib(usage: resource.struct_rusage) -> int:
    """Peak RSS in KiB from ``getrusage``/``wait4`` (Linux counts KiB, macOS bytes)."""
    return usage.ru_maxrss // 1024 if sys.platform == "darwin" else usage.ru_maxrss


def peak_rss_kib() -> int:
    """This process's peak RSS in KiB since it started its program.

    Linux's ``VmHWM`` where there is one: ``ru_maxrss`` also counts the memory of the
    process that forked this one, up to the ``exec``, so a large parent would inflate it.
    """
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return maxrss_kib(resource.getrusage(resource.RUSAGE_SELF))


def cpu_seconds() -> float:
    """User plus system CPU time of this process so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def process_cpu_seconds(pid: int | None) -> float | None:
    """CPU time of another process's live threads (Linux ``/proc``); ``None`` elsewhere.

    From each thread's ``schedstat`` (nanoseconds on a CPU), or, where there is none, from
    ``stat``'s user and system time, which counts in clock ticks (10 ms): too coarse for a
    40 ms upload. A thread that exits takes its ``schedstat`` with it, so a difference of
    two readings holds only for a process whose threads outlive it (the fakes' do).
    """
    if pid is None:
        return None
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
        with open(f"/proc/{pid}/task/{tasks[0]}/schedstat"):
            pass  # schedstat exists here: read it for every thread
    except (OSError, IndexError):
        tasks = []
    if tasks:
        total_ns = 0
        for task in tasks:
            try:
                with open(f"/proc/{pid}/task/{task}/schedstat") as handle:
                    total_ns += int(handle.read().split()[0])
            except FileNotFoundError:  # a thread that ended since the listing
                continue
            except (OSError, ValueError, IndexError):
                return None
        return total_ns / 1e9
    try:
        with open(f"/proc/{pid}/stat") as handle:
            # The command name (field 2) may hold spaces; the fields after it do not.
            fields = handle.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    # utime and stime are fields 14 and 15 of the whole line, 12 and 13 after the name.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile of already sorted values (``fraction`` in 0..1)."""
    if not sorted_values:
        return float("nan")
    rank = max(1, round(fraction * len(sorted_values) + 0.4999999))
    return sorted_values[min(rank, len(sorted_values)) - 1]


class SendTimer:
    """The timed phase: per-call latencies, wall time, this process's and the fake's CPU,
    and the garbage collector's share of that CPU.

    With ``spec.profile`` set, a cProfile runs between `start` and `stop` only, so the
    profile shows the calls and nothing of the imports and the setup.

    The collector is timed through ``gc.callbacks`` (CPU time from the start of each
    collection to its end, and collections by generation) between `start` and `stop`:
    the same hook in every client, two ``time.process_time()`` readings per collection
    (a few hundred collections in 10,000 calls).
    """

    def __init__(self, spec: Spec) -> None:
        self.latencies: list[float] = []
        self.errors = 0
        self.first_error: str | None = None
        self.seconds = 0.0
        self.cpu = 0.0
        self.server_cpu: float | None = None
        self.setup_messages = 0
        self.spec = spec
        self._started = 0.0
        self._cpu_started = 0.0
        self._server_started: float | None = None
        self._profiler: Any = None
        self.gc_seconds = 0.0
        """CPU time inside the garbage collector during the timed phase."""
        self.gc_collections = [0, 0, 0]
        """Collections of each generation (young, middle, full) during the timed phase."""
        self._gc_started = 0.0

    def start(self) -> None:
        """Mark the start of the timed phase."""
        if self.spec.profile:
            import cProfile

            # CPU time, not wall time: on a shared machine, time spent descheduled would
            # otherwise be charged to whichever function happened to be running.
            self._profiler = cProfile.Profile(time.process_time)
        # Every client enters the timed phase with the collector in the same state, owing
        # nothing to the setup: what it collects inside is what the timed calls made.
        gc.collect()
        gc.callbacks.append(self._collecting)
        self._server_started = process_cpu_seconds(self.spec.server_pid)
        self._cpu_started = cpu_seconds()
        self._started = time.perf_counter()
        if self._profiler is not None:
            self._profiler.enable()

    def stop(self) -> None:
        """Mark its end."""
        if self._profiler is not None:
            self._profiler.disable()
        self.seconds = time.perf_counter() - self._started
        self.cpu = cpu_seconds() - self._cpu_started
        gc.callbacks.remove(self._collecting)
        server = process_cpu_seconds(self.spec.server_pid)
        if server is not None and self._server_started is not None:
            self.server_cpu = server - self._server_started
        if self._profiler is not None:
            self._profiler.dump_stats(self.spec.profile)

    def _collecting(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._gc_started = time.process_time()
        else:
            self.gc_seconds += time.process_time() - self._gc_started
            self.gc_collections[info["generation"]] += 1

    def error(self, exc: BaseException) -> None:
        """Count a failed call, keeping the first failure's description."""
        self.errors += 1
        if self.first_error is None:
            self.first_error = f"{type(exc).__name__}: {exc}"[:500]

    def result(self) -> dict[str, Any]:
        """The timed phase's figures as JSON-ready data."""
        n = self.spec.n
        ordered = sorted(self.latencies)
        busy = None
        if self.server_cpu is not None and self.seconds:
            busy = self.server_cpu / self.seconds
        return {
            "path": self.spec.path,
            "calls": n,
            "ok": n - self.errors,
            "errors": self.errors,
            "first_error": self.first_error,
            "setup_messages": self.setup_messages,
            "seconds": self.seconds,
            "messages_per_s": (n - self.errors) / self.seconds if self.seconds else 0.0,
            "p50_ms": percentile(ordered, 0.50) * 1000,
            "p90_ms": percentile(ordered, 0.90) * 1000,
            "p99_ms": percentile(ordered, 0.99) * 1000,
            "max_ms": (ordered[-1] if ordered else float("nan")) * 1000,
            "cpu_s": self.cpu,
            "cpu_ms_per_call": self.cpu * 1000 / n if n else 0.0,
            "gc_ms_per_call": self.gc_seconds * 1000 / n if n else 0.0,
            "gc_collections": self.gc_collections,
            "gc_full": self.gc_collections[2],
            "server_busy": busy,
        }


async def warm_up(calls: Awaitable[object], count: int, timer: SendTimer) -> None:
    """The untimed warm-up (see `warmup_items`): await ``calls``, ``count`` calls of the
    path made as the timed ones will be, then forget their latencies and count the
    messages they sent as setup."""
    await calls
    timer.latencies.clear()
    if timer.spec.path != "chats.get":
        timer.setup_messages += count


async def gather_gated(
    items: Iterable[Any], call: Callable[[Any], Awaitable[object]], timer: SendTimer
) -> None:
    """Run ``call(item)`` for every item as a user's bulk loop does: ``asyncio.gather`` over
    all of them, at most ``concurrency`` inside an ``asyncio.Semaphore`` at a time.

    Both clients run their calls through this same loop, so the loop's own cost is the same
    on both sides. A call's latency is timed inside the semaphore.
    """
    gate = asyncio.Semaphore(timer.spec.concurrency)
    clock = time.perf_counter
    latencies = timer.latencies

    async def one(item: Any) -> None:
        async with gate:
            started = clock()
            try:
                await call(item)
            except Exception as exc:
                timer.error(exc)
            else:
                latencies.append(clock() - started)

    await asyncio.gather(*(one(item) for item in items))


WARMUP_BYTES = 1024
"""Size of the untimed upload each Python client makes before the timed ones."""


def warmup_spec(spec: Spec) -> Spec:
    """A 1 KiB file beside ``spec.file``, for the untimed warm-up upload.

    The timed upload is then an upload in a running program: the client's first-use costs
    (lazy imports, the first connections) are paid before the clock starts, by every Python
    client alike. What importing costs is measured by the import workload.
    """
    path = f"{spec.file}.warmup-{os.getpid()}"
    with open(path, "wb") as out:
        out.write(b"w" * WARMUP_BYTES)
    return spec._replace(file=path, size=WARMUP_BYTES)


async def timed_uploads(
    spec: Spec, upload_once: Callable[[Spec], Awaitable[str]]
) -> dict[str, Any]:
    """An untimed warm-up upload, then ``spec.n`` timed uploads of ``spec.file``, in turn.

    ``upload_once(spec)`` uploads ``spec.file`` (slot request and PUT) and returns the
    attachment id. Each figure is the median over the timed uploads: one upload's CPU time
    is about 40 ms, most of it the kernel's copying, and varies up to 3x between uploads of
    the same client, so one upload per process left the round's figure to chance.
    """
    warmup = warmup_spec(spec)
    await upload_once(warmup)  # untimed
    os.unlink(warmup.file)
    seconds: list[float] = []
    cpu: list[float] = []
    attachment_ids: list[str] = []
    server_started = process_cpu_seconds(spec.server_pid)
    for _ in range(spec.n):
        started, cpu_started = time.perf_counter(), cpu_seconds()
        attachment_ids.append(await upload_once(spec))
        seconds.append(time.perf_counter() - started)
        cpu.append(cpu_seconds() - cpu_started)
    return upload_figures(spec, seconds, cpu, attachment_ids, server_started)


def upload_figures(
    spec: Spec,
    seconds: Sequence[float],
    cpu: Sequence[float],
    attachment_ids: list[str],
    server_started: float | None,
) -> dict[str, Any]:
    """The JSON figures of ``spec.n`` timed uploads, just made: the median wall and CPU time
    of one, every attachment id (the runner checks each upload), and the fake's load: its
    CPU since ``server_started`` (its CPU seconds before the first upload) over the
    uploads' whole wall time."""
    server_ended = process_cpu_seconds(spec.server_pid)
    median = _median(seconds)
    result: dict[str, Any] = {
        "bytes": spec.size,
        "uploads": spec.n,
        "seconds": median,
        "mib_per_s": spec.size / (1024 * 1024) / median if median else 0.0,
        "cpu_s": _median(cpu),
        "attachment_ids": attachment_ids,
    }
    wall = sum(seconds, 0.0)
    if server_started is not None and server_ended is not None and wall:
        result["server_busy"] = (server_ended - server_started) / wall
    return result


def _median(values: Sequence[float]) -> float:
    """The median (not ``statistics.median``: that module imports ``decimal`` and
    ``fractions``, 800 objects more for every full garbage collection of the client)."""
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def report(result: dict[str, Any]) -> None:
    """Print ``result`` as one JSON line, with this process's peak RSS and total CPU time.

    Read at the very end, so the figures cover everything the client did, imports included.
    """
    usage = resource.getrusage(resource.RUSAGE_SELF)
    result["process_cpu_s"] = usage.ru_utime + usage.ru_stime
    result["maxrss_kib"] = peak_rss_kib()
    print(json.dumps(result), flush=True)


def run(workloads: dict[str, Callable[[Spec], Coroutine[Any, Any, dict[str, Any]]]]) -> int:
    """Entry point of a client process: run the workload the command line names, report it."""
    spec = parse_spec()
    try:
        result: dict[str, Any] = asyncio.run(workloads[spec.workload](spec))
    except Exception as exc:
        traceback.print_exc()
        report({"failed": f"{type(exc).__name__}: {exc}"[:500]})
        return 1
    report(result)
    return 0


def load_json(line: str) -> dict[str, Any]:
    """Decode one JSON object line (for the runner)."""
    value = json.loads(line)
    if not isinstance(value, dict):
        raise ValueError(f"expected a JSON object, got {line[:200]!r}")
    return value


def stderr(message: str) -> None:
    """Print progress to stderr, flushed."""
    print(message, file=sys.stderr, flush=True)
