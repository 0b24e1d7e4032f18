"""Smoke test of the benchmark harness in bench/: a tiny run completes and writes its report.

Only linq-async and the bare-aiohttp ceiling run (the official SDK is not installed in the
test environment); nothing about speed is asserted.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_tiny_bench_run_produces_a_table(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
            "--n",
            "20",
            "--upload-mib",
            "1",
            "--rounds",
            "1",
            "--import-runs",
            "1",
            "--clients",
            "linq-async,ceiling",
            "--noise-retries",
            "0",
            "--out",
            str(tmp_path),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]

    for row in (
        "| linq-async broadcast() |",
        "| linq-async upload_and_send() x N |",
        "| ceiling (bare aiohttp) |",
        "| linq-async upload() |",
        "| linq-async upload(), 1 MiB file |",
        "| linq-async |",
        "## Goals",
    ):
        assert row in done.stdout, f"{row!r} missing from:\n{done.stdout}"
    assert (tmp_path / "latest.md").read_text().strip() == done.stdout.strip()

    results = json.loads((tmp_path / "latest.json").read_text())
    bulk = {entry["key"]: entry for entry in results["bulk"]["clients"]}
    assert set(bulk) == {"linq-async", "linq-async per-call", "ceiling"}
    for entry in bulk.values():
        assert entry["failures"] == []
        (measured,) = entry["rounds"]
        assert measured["ok"] == 20
        assert measured["server_messages"] == 20
    uploads = {entry["key"]: entry for entry in results["upload"]["clients"]}
    assert set(uploads) == {"linq-async", "linq-async 1 MiB", "ceiling"}
    assert all(entry["sha256_ok"] for entry in uploads.values())
    assert "official" not in results["params"]["clients"]
