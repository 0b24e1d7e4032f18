"""Smoke test of the benchmark harness in bench/: a tiny run of every path completes and
writes its report.

Nothing about speed is asserted. The official SDK runs only where ``linq-python`` is
installed (the bench nox session installs it; the test environment does not), and the
harness says so when it skips it.
"""

from __future__ import annotations

import gc
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_tiny_bench_run_measures_every_path(tmp_path: Path) -> None:
    """A --quick run of 20 calls measures every path, the upload and the import; profiles one."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
            "--quick",
            "--n",
            "20",
            "--upload-mib",
            "1",
            "--uploads",
            "2",
            "--import-runs",
            "1",
            "--only",
            "send,upload,import,profile",
            "--profile-path",
            "chats.get",
            "--out",
            str(tmp_path),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    official = importlib.util.find_spec("linq") is not None
    if not official:
        assert "linq-python is not installed: skipping the official SDK" in done.stderr

    for row in (
        "| `chats.create` | linq-async |",
        "| `chats.create` | bare aiohttp |",
        "| `chats.messages.send` | linq-async |",
        "| `upload_and_send(<Upload>)` | bare aiohttp |",
        "| `broadcast()` per recipient | linq-async |",
        "| `chats.get` (read) | linq-async |",
        "| linq-async upload(), 1 MiB file |",
        "| bare aiohttp, streamed PUT |",
        "| linq-async |",
        "| aiohttp alone |",
        "### The garbage collector's part",
        "## Goals",
    ):
        assert row in done.stdout, f"{row!r} missing from:\n{done.stdout}"
    assert (tmp_path / "latest.md").read_text().strip() == done.stdout.strip()

    results = json.loads((tmp_path / "latest.json").read_text())
    measured = {item["path"]: item for item in results["send"]["paths"]}
    assert list(measured) == [
        "chats.create",
        "chats.messages.send",
        "messages.send",
        "upload_and_send",
        "broadcast",
        "chats.get",
    ]
    for path, item in measured.items():
        clients = {entry["key"]: entry for entry in item["clients"]}
        assert item["note"] is None, path
        expected = {"linq-async", "bare"} | (
            {"official"} if official and path == "chats.create" else set()
        )
        assert set(clients) == expected, path
        for entry in clients.values():
            assert entry["failures"] == [], (path, entry["failures"])
            (run,) = entry["rounds"]
            assert run["ok"] == 20, path
            assert run["p50_ms"] > 0, path
            assert run["cpu_ms_per_call"] > 0, path
            # The collector's time (part of the client's CPU), and collections by generation.
            assert run["gc_ms_per_call"] >= 0, path
            assert len(run["gc_collections"]) == 3, path
            assert run["gc_full"] == run["gc_collections"][2], path
    uploads = {entry["key"]: entry for entry in results["upload"]["clients"]}
    assert {"linq-async", "linq-async 1 MiB", "bare"} <= set(uploads)
    assert all(entry["checksum_ok"] for entry in uploads.values())
    # Each client process uploads twice; the runner checks each upload's digest at the fake.
    assert {r["uploads"] for entry in uploads.values() for r in entry["rounds"]} == {2}
    assert all(len(set(r["attachment_ids"])) == 2 for e in uploads.values() for r in e["rounds"])
    footprint = results["import"]["footprint"]
    assert "linq_async._session" in footprint["linq_async_modules"]
    profile = results["profile"]
    assert profile["path"] == "chats.get"
    assert set(profile["clients"]) == {"linq-async", "bare"}
    assert (tmp_path / profile["clients"]["linq-async"]["pstats"]).is_file()
    assert profile["top_extra"]
    goals = {(goal["workload"], goal["goal"].split(" ")[0]) for goal in results["goals"]}
    assert ("`chats.create`", "client") in goals


def test_the_timed_phase_counts_the_collector_and_only_inside_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """SendTimer times each collection between start and stop, by generation; a collection
    before start or after stop is not counted, and the hook is gone after stop."""
    monkeypatch.syspath_prepend(str(ROOT))  # bench/ is not installed with the package
    from bench._common import SendTimer, Spec

    spec = Spec(
        workload="send",
        path="chats.get",
        base_url="http://127.0.0.1:1",
        api_key="k",
        file="f",
        size=1,
        content_type="image/png",
        n=10,
        concurrency=1,
        server_pid=None,
        profile=None,
    )
    timer = SendTimer(spec)
    hooks = len(gc.callbacks)
    enabled = gc.isenabled()
    # Only the explicit collections below happen: an automatic one (set off by any
    # allocation, in any thread) inside the timed phase would change the counts.
    gc.disable()
    try:
        timer.start()
        assert len(gc.callbacks) == hooks + 1
        gc.collect(0)
        gc.collect(1)
        for _ in range(3):
            gc.collect()
        timer.stop()
        gc.collect()  # after stop: not counted
    finally:
        if enabled:
            gc.enable()
    assert len(gc.callbacks) == hooks
    assert timer.gc_collections == [1, 1, 3]
    assert timer.gc_seconds > 0
    result = timer.result()
    assert result["gc_collections"] == [1, 1, 3]
    assert result["gc_full"] == 3
    assert result["gc_ms_per_call"] == pytest.approx(timer.gc_seconds * 1000 / 10)
