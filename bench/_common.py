"""What every benchmark client process shares: its command line, the workload's constants,
latency percentiles and the final JSON report with the process's own CPU time and peak RSS.

Standard library only, so importing it costs every client the same few hundred KiB.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import sys
import time
import traceback
from collections.abc import Callable, Coroutine, Sequence
from typing import Any, NamedTuple

SENDER = "+12223334444"
"""The sending line of every benchmark message."""
TEXT = "Your benchmark attachment"
"""The text part of every bulk message."""
BULK_FILENAME = "bench-small.jpg"
"""The small attachment every bulk message references (its content type is image/jpeg)."""
CHUNK_SIZE = 512 * 1024
"""Upload chunk size of the hand-written clients, the same as linq-async's."""


def recipients(n: int) -> list[str]:
    """``n`` distinct E.164 recipients, so that each send creates a new 1:1 chat."""
    return [f"+1555{index:07d}" for index in range(n)]


class Spec(NamedTuple):
    """One client run, as given on the command line.

    Attributes:
        workload: ``"bulk"`` (one small upload, then ``n`` sends) or ``"upload"`` (one file).
        base_url: the fake API root (``http://127.0.0.1:<port>/api/partner``).
        api_key: the fake's bearer token.
        file: the file to upload.
        size: its size in bytes.
        content_type: its MIME type.
        n: bulk sends.
        concurrency: the most bulk sends in flight.
        variant: a client-specific way of doing the workload (e.g. ``"per-call"``).
    """

    workload: str
    base_url: str
    api_key: str
    file: str
    size: int
    content_type: str
    n: int
    concurrency: int
    variant: str


def parse_spec(argv: Sequence[str] | None = None) -> Spec:
    """Parse a client process's command line."""
    parser = argparse.ArgumentParser(description="One benchmark client run; prints JSON.")
    parser.add_argument("workload", choices=["bulk", "upload"])
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--api-key", required=True)
    parser.add_argument("--file", required=True)
    parser.add_argument("--content-type", required=True)
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--variant", default="default")
    args = parser.parse_args(argv)
    return Spec(
        workload=args.workload,
        base_url=args.base_url.rstrip("/"),
        api_key=args.api_key,
        file=args.file,
        size=os.path.getsize(args.file),
        content_type=args.content_type,
        n=args.n,
        concurrency=args.concurrency,
        variant=args.variant,
    )


def maxrss_kib(usage: resource.struct_rusage) -> int:
    """Peak RSS in KiB from ``getrusage``/``wait4`` (Linux counts KiB, macOS bytes)."""
    return usage.ru_maxrss // 1024 if sys.platform == "darwin" else usage.ru_maxrss


def cpu_seconds() -> float:
    """User plus system CPU time of this process so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile of already sorted values (``fraction`` in 0..1)."""
    if not sorted_values:
        return float("nan")
    rank = max(1, round(fraction * len(sorted_values) + 0.4999999))
    return sorted_values[min(rank, len(sorted_values)) - 1]


class BulkTimer:
    """Collects per-send latencies and the send phase's wall and CPU time."""

    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.errors = 0
        self.first_error: str | None = None
        self._started = 0.0
        self._cpu_started = 0.0
        self.seconds = 0.0
        self.cpu = 0.0

    def start(self) -> None:
        """Mark the start of the send phase."""
        self._cpu_started = cpu_seconds()
        self._started = time.perf_counter()

    def stop(self) -> None:
        """Mark its end."""
        self.seconds = time.perf_counter() - self._started
        self.cpu = cpu_seconds() - self._cpu_started

    def error(self, exc: BaseException) -> None:
        """Count a failed send, keeping the first failure's description."""
        self.errors += 1
        if self.first_error is None:
            self.first_error = f"{type(exc).__name__}: {exc}"[:500]

    def result(self, n: int) -> dict[str, Any]:
        """The send phase's figures as JSON-ready data."""
        ordered = sorted(self.latencies)
        return {
            "sends": n,
            "ok": n - self.errors,
            "errors": self.errors,
            "first_error": self.first_error,
            "seconds": self.seconds,
            "messages_per_s": (n - self.errors) / self.seconds if self.seconds else 0.0,
            "p50_ms": percentile(ordered, 0.50) * 1000,
            "p90_ms": percentile(ordered, 0.90) * 1000,
            "p99_ms": percentile(ordered, 0.99) * 1000,
            "max_ms": (ordered[-1] if ordered else float("nan")) * 1000,
            "cpu_s": self.cpu,
            "cpu_ms_per_msg": self.cpu * 1000 / n if n else 0.0,
        }


class UploadTimer:
    """Wall and CPU time of one upload (slot request and PUT)."""

    def __init__(self) -> None:
        self._started = time.perf_counter()
        self._cpu_started = cpu_seconds()

    def result(self, size: int, attachment_id: str) -> dict[str, Any]:
        """Stop the clock; return the upload's figures as JSON-ready data."""
        seconds = time.perf_counter() - self._started
        return {
            "bytes": size,
            "seconds": seconds,
            "mib_per_s": size / (1024 * 1024) / seconds if seconds else 0.0,
            "cpu_s": cpu_seconds() - self._cpu_started,
            "attachment_id": attachment_id,
        }


def report(result: dict[str, Any]) -> None:
    """Print ``result`` as one JSON line, with this process's peak RSS and total CPU time.

    Read at the very end, so the figures cover everything the client did, imports included.
    """
    usage = resource.getrusage(resource.RUSAGE_SELF)
    result["process_cpu_s"] = usage.ru_utime + usage.ru_stime
    result["maxrss_kib"] = maxrss_kib(usage)
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
