"""curl as an upload client: ``curl`` POSTs the slot request, then ``curl -T file`` PUTs it.

The PUT sends the slot's ``required_headers`` exactly (``-H``), streams the file from disk
(``-T``), and leaves the URL as issued (``--globoff --path-as-is``). This wrapper starts the two
curl processes and reports *their* CPU time and peak RSS (from ``os.wait4``), not its own.

Run by ``bench.run`` as ``python -m bench.client_curl upload ...``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from typing import Any

from bench._common import Spec, maxrss_kib, parse_spec, process_cpu_seconds, upload_figures


def _curl(args: list[str]) -> tuple[bytes, float, int]:
    """Run curl; return its stdout, CPU seconds and peak RSS (KiB). Raise if it fails."""
    process = subprocess.Popen(["curl", "--silent", "--show-error", *args], stdout=subprocess.PIPE)
    assert process.stdout is not None
    out = process.stdout.read()
    process.stdout.close()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise RuntimeError(f"curl exited with {process.returncode}: {out[:500]!r}")
    return out, usage.ru_utime + usage.ru_stime, maxrss_kib(usage)


def _upload_once(spec: Spec) -> tuple[float, float, int, str]:
    """Create a slot with one curl, PUT the file with another: wall and CPU seconds, peak
    RSS in KiB, and the attachment id."""
    size = spec.size
    body = {
        "filename": os.path.basename(spec.file),
        "content_type": spec.content_type,
        "size_bytes": size,
    }
    started = time.perf_counter()
    out, cpu_create, rss_create = _curl(
        [
            "--fail",
            "-X",
            "POST",
            f"{spec.base_url}/v3/attachments",
            "-H",
            f"Authorization: Bearer {spec.api_key}",
            "-H",
            "Content-Type: application/json",
            "--data-binary",
            json.dumps(body),
        ]
    )
    slot = json.loads(out)
    headers = [
        arg
        for name, value in slot["required_headers"].items()
        for arg in ("-H", f"{name}: {value}")
    ]
    status, cpu_put, rss_put = _curl(
        [
            "--globoff",
            "--path-as-is",
            "-T",
            spec.file,
            *headers,
            "--output",
            os.devnull,
            "--write-out",
            "%{http_code}",
            slot["upload_url"],
        ]
    )
    seconds = time.perf_counter() - started
    if status != b"200":
        raise RuntimeError(f"the PUT answered HTTP {status.decode()}")
    return seconds, cpu_create + cpu_put, max(rss_create, rss_put), slot["attachment_id"]


def upload(spec: Spec) -> dict[str, Any]:
    """Upload ``spec.file`` ``spec.n`` times (see `bench._common.upload_figures`)."""
    server_started = process_cpu_seconds(spec.server_pid)
    runs = [_upload_once(spec) for _ in range(spec.n)]
    seconds, cpu = [run[0] for run in runs], [run[1] for run in runs]
    result = upload_figures(spec, seconds, cpu, [run[3] for run in runs], server_started)
    # The curl processes' own CPU and peak RSS (this wrapper's are not curl's).
    result["process_cpu_s"] = sum(run[1] for run in runs)
    result["maxrss_kib"] = max(run[2] for run in runs)
    return result


def main() -> int:
    """Entry point: print the upload's figures as one JSON line."""
    spec = parse_spec()
    try:
        result = upload(spec)
    except Exception as exc:
        print(json.dumps({"failed": f"{type(exc).__name__}: {exc}"[:500]}), flush=True)
        return 1
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
