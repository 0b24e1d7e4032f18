"""Turn benchmark results into goals, a markdown report and an optional PNG chart."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

BULK_MIN_VS_CEILING = 0.8
BULK_MIN_VS_OFFICIAL = 5.0
BULK_MAX_P99_OVER_P50 = 3.0
UPLOAD_MIN_VS_CEILING = 0.95
UPLOAD_MAX_RSS_OVER_CEILING_MIB = 8.0
UPLOAD_MAX_RSS_GROWTH_MIB = 4.0


def _entry(results: dict[str, Any], workload: str, key: str) -> dict[str, Any] | None:
    for entry in results.get(workload, {}).get("clients", []):
        if entry["key"] == key:
            found: dict[str, Any] = entry
            return found
    return None


def _median(results: dict[str, Any], workload: str, key: str, metric: str) -> float | None:
    entry = _entry(results, workload, key)
    if entry is None or metric not in entry.get("summary", {}):
        return None
    value: float = entry["summary"][metric]["median"]
    return value


def _import_median(results: dict[str, Any], module: str) -> float | None:
    for entry in results.get("import", {}).get("modules", []):
        if entry["module"] == module:
            value: float = entry["summary"]["import_ms"]["median"]
            return value
    return None


def _goal(workload: str, goal: str, measured: str, passed: bool | None) -> dict[str, Any]:
    return {"workload": workload, "goal": goal, "measured": measured, "passed": passed}


def _ratio_goal(
    workload: str,
    goal: str,
    ours: float | None,
    theirs: float | None,
    minimum: float,
    unit: str,
    who: str,
) -> dict[str, Any]:
    if ours is None or theirs is None or theirs <= 0:
        return _goal(workload, goal, f"not measured ({who} or linq-async missing)", None)
    ratio = ours / theirs
    measured = f"{ours:,.0f} vs {theirs:,.0f} {unit} = {ratio:.2f}x"
    return _goal(workload, goal, measured, ratio >= minimum)


def goals(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Evaluate the issue's goals on the medians; ``passed`` is None when not measured."""
    out: list[dict[str, Any]] = []
    if "bulk" in results:
        ours = _median(results, "bulk", "linq-async", "messages_per_s")
        out.append(
            _ratio_goal(
                "bulk",
                f"linq-async msgs/s >= {BULK_MIN_VS_CEILING}x the ceiling's",
                ours,
                _median(results, "bulk", "ceiling", "messages_per_s"),
                BULK_MIN_VS_CEILING,
                "msg/s",
                "ceiling",
            )
        )
        out.append(
            _ratio_goal(
                "bulk",
                f"linq-async msgs/s >= {BULK_MIN_VS_OFFICIAL:g}x the official SDK's",
                ours,
                _median(results, "bulk", "official", "messages_per_s"),
                BULK_MIN_VS_OFFICIAL,
                "msg/s",
                "official SDK",
            )
        )
        out.append(
            _ratio_goal(
                "bulk",
                f"(client-bound) linq-async sends per client CPU second >= "
                f"{BULK_MIN_VS_CEILING}x the ceiling's",
                _median(results, "bulk", "linq-async", "client_bound_messages_per_s"),
                _median(results, "bulk", "ceiling", "client_bound_messages_per_s"),
                BULK_MIN_VS_CEILING,
                "msg/CPU s",
                "ceiling",
            )
        )
        p50 = _median(results, "bulk", "linq-async", "p50_ms")
        p99 = _median(results, "bulk", "linq-async", "p99_ms")
        goal = f"linq-async p99 <= {BULK_MAX_P99_OVER_P50:g}x p50"
        if p50 is None or p99 is None:
            out.append(_goal("bulk", goal, "not measured", None))
        else:
            measured = f"p50 {p50:.1f} ms, p99 {p99:.1f} ms = {p99 / p50:.2f}x"
            out.append(_goal("bulk", goal, measured, p99 <= BULK_MAX_P99_OVER_P50 * p50))
    if "upload" in results:
        out.append(
            _ratio_goal(
                "upload",
                f"linq-async MiB/s >= {UPLOAD_MIN_VS_CEILING}x the ceiling's",
                _median(results, "upload", "linq-async", "mib_per_s"),
                _median(results, "upload", "ceiling", "mib_per_s"),
                UPLOAD_MIN_VS_CEILING,
                "MiB/s",
                "ceiling",
            )
        )
        ours = _median(results, "upload", "linq-async", "maxrss_mib")
        ceiling = _median(results, "upload", "ceiling", "maxrss_mib")
        goal = f"linq-async peak RSS <= ceiling's + {UPLOAD_MAX_RSS_OVER_CEILING_MIB:g} MiB"
        if ours is None or ceiling is None:
            out.append(_goal("upload", goal, "not measured", None))
        else:
            measured = f"{ours:.1f} vs {ceiling:.1f} MiB (+{ours - ceiling:.1f})"
            passed = ours <= ceiling + UPLOAD_MAX_RSS_OVER_CEILING_MIB
            out.append(_goal("upload", goal, measured, passed))
        small = _median(results, "upload", "linq-async 1 MiB", "maxrss_mib")
        mib = results["upload"]["file_mib"]
        goal = (
            f"linq-async peak RSS, {mib} MiB vs 1 MiB file, "
            f"within {UPLOAD_MAX_RSS_GROWTH_MIB:g} MiB"
        )
        if ours is None or small is None:
            out.append(_goal("upload", goal, "not measured", None))
        else:
            measured = f"{ours:.1f} vs {small:.1f} MiB ({ours - small:+.1f})"
            passed = abs(ours - small) <= UPLOAD_MAX_RSS_GROWTH_MIB
            out.append(_goal("upload", goal, measured, passed))
        entries = [
            e
            for e in results["upload"]["clients"]
            if e["key"].startswith("linq-async") and e["rounds"]
        ]
        goal = "sha256 at the server matches the file (linq-async, every round)"
        if not entries:
            out.append(_goal("upload", goal, "not measured", None))
        else:
            rounds = sum(len(e["rounds"]) for e in entries)
            passed = all(e["sha256_ok"] for e in entries)
            out.append(_goal("upload", goal, f"{rounds} uploads checked", passed))
    if "import" in results:
        ours = _import_median(results, "linq_async")
        theirs = _import_median(results, "linq")
        goal = "import linq_async faster than import linq"
        if ours is None or theirs is None:
            out.append(_goal("import", goal, "not measured (linq-python missing)", None))
        else:
            measured = f"{ours:.0f} vs {theirs:.0f} ms ({theirs / ours:.1f}x faster)"
            out.append(_goal("import", goal, measured, ours < theirs))
    return out


def _cell(summary: dict[str, Any], metric: str, fmt: str, spread: bool = True) -> str:
    if metric not in summary:
        return "-"
    values = summary[metric]
    median = format(values["median"], fmt)
    if not spread or math.isclose(values["min"], values["max"]):
        return median
    return f"{median} ({format(values['min'], fmt)}-{format(values['max'], fmt)})"


def _percent(summary: dict[str, Any], metric: str) -> str:
    return f"{summary[metric]['median']:.0%}" if metric in summary else "-"


def _failed(entry: dict[str, Any]) -> str:
    if not entry["failures"]:
        return ""
    first = entry["failures"][0].splitlines()[0][:120]
    return f" **{len(entry['failures'])} run(s) failed: {first}**"


def _noise_note(entries: list[dict[str, Any]]) -> str:
    retried = sum(entry.get("retried", 0) for entry in entries)
    noisy = sum(entry.get("noisy_rounds", 0) for entry in entries)
    loads = [
        f"{entry['label']} {entry['summary']['other_load']['max']:.2f}"
        for entry in entries
        if "other_load" in entry.get("summary", {})
    ]
    if not loads:
        return ""
    return (
        f"Other processes' CPU load during the kept measurements, worst round, in cores: "
        f"{'; '.join(loads)}. Measurements retaken for outside load: {retried}; kept "
        f"although still disturbed: {noisy}."
    )


def _bulk_table(bulk: dict[str, Any], rounds: int) -> list[str]:
    lines = [
        f"## Bulk: one small upload, then {bulk['n']:,} sends (a new 1:1 chat each, text + "
        f"media), at most {bulk['concurrency']} in flight; {rounds} rounds",
        "",
        "| client | msgs/s | p50 ms | p99 ms | client CPU ms/msg | client-bound msgs/s "
        "| client peak RSS MiB | client CPU | fake server CPU |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for entry in bulk["clients"]:
        s = entry["summary"]
        lines.append(
            f"| {entry['label']}{_failed(entry)} | {_cell(s, 'messages_per_s', ',.0f')} "
            f"| {_cell(s, 'p50_ms', '.1f')} | {_cell(s, 'p99_ms', '.1f')} "
            f"| {_cell(s, 'cpu_ms_per_msg', '.3f')} "
            f"| {_cell(s, 'client_bound_messages_per_s', ',.0f', spread=False)} "
            f"| {_cell(s, 'maxrss_mib', '.1f')} | {_percent(s, 'client_busy')} "
            f"| {_percent(s, 'server_busy')} |"
        )
    lines += [
        "",
        "*client-bound msgs/s* is sends per second of client CPU (`1 / CPU per message`): the "
        "rate the client alone could sustain if the server answered instantly. *client CPU* and "
        "*fake server CPU* are each process's CPU time over the send phase's wall time.",
        "",
        _noise_note(bulk["clients"]),
    ]
    return lines


def _upload_table(upload: dict[str, Any], rounds: int) -> list[str]:
    lines = [
        f"## Upload: one {upload['file_mib']} MiB file, POST /v3/attachments + presigned PUT; "
        f"{rounds} rounds",
        "",
        "| client | file MiB | MiB/s | seconds | client peak RSS MiB "
        "| client CPU s (upload / process) | fake server CPU | sha256 at server |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for entry in upload["clients"]:
        s = entry["summary"]
        sha = "-" if not entry["rounds"] else ("match" if entry["sha256_ok"] else "MISMATCH")
        cpu = f"{_cell(s, 'cpu_s', '.3f', False)} / {_cell(s, 'process_cpu_s', '.2f', False)}"
        lines.append(
            f"| {entry['label']}{_failed(entry)} | {entry['file_mib']:g} "
            f"| {_cell(s, 'mib_per_s', ',.0f')} | {_cell(s, 'seconds', '.3f', spread=False)} "
            f"| {_cell(s, 'maxrss_mib', '.1f')} | {cpu} | {_percent(s, 'server_busy')} | {sha} |"
        )
    return [*lines, "", _noise_note(upload["clients"])]


def _import_table(imports: dict[str, Any]) -> list[str]:
    lines = [
        f"## Import: a fresh interpreter, {imports['runs']} runs each (after a warm-up)",
        "",
        "| import | import ms | whole process ms | peak RSS MiB |",
        "|---|---:|---:|---:|",
    ]
    for entry in imports["modules"]:
        s = entry["summary"]
        lines.append(
            f"| {entry['label']} | {_cell(s, 'import_ms', '.1f')} "
            f"| {_cell(s, 'process_ms', '.1f')} | {_cell(s, 'maxrss_mib', '.1f')} |"
        )
    return lines


def _goals_table(items: list[dict[str, Any]]) -> list[str]:
    lines = [
        "## Goals",
        "",
        "| workload | goal | measured (medians) | result |",
        "|---|---|---|---|",
    ]
    marks = {True: "PASS", False: "**FAIL**", None: "n/a"}
    for item in items:
        lines.append(
            f"| {item['workload']} | {item['goal']} | {item['measured']} "
            f"| {marks[item['passed']]} |"
        )
    return lines


def markdown(results: dict[str, Any]) -> str:
    """The whole report as markdown: context, one table per workload, the goals."""
    meta, params = results["meta"], results["params"]
    versions = ", ".join(f"{name} {v}" for name, v in meta["versions"].items() if v is not None)
    lines = [
        "# linq-async benchmarks",
        "",
        f"{meta['date']}; Python {meta['python']} on {meta['platform']}, {meta['cpus']} CPUs; "
        f"{versions}" + (f"; {meta['curl']}" if meta.get("curl") else "") + ".",
        "",
        "Each run is one client process against a fresh fake Linq API process "
        "(`linq_async.testing.FakeLinqServer`, one Python process) on 127.0.0.1; clients take "
        "turns every round. Cells are medians, (min-max) over the rounds. Client CPU and peak "
        "RSS are the client process's own (`getrusage`); *fake server CPU* is the fake's CPU "
        "time over the measured phase's wall time: near 100% means the fake, not the client, "
        "sets the pace.",
        "",
    ]
    if "bulk" in results:
        lines += [*_bulk_table(results["bulk"], params["bulk_rounds"]), ""]
    if "upload" in results:
        lines += [*_upload_table(results["upload"], params["upload_rounds"]), ""]
    if "import" in results:
        lines += [*_import_table(results["import"]), ""]
    lines += _goals_table(results["goals"])
    duration = meta.get("duration_s")
    if duration is not None:
        lines += ["", f"The whole run took {duration:.0f} s."]
    return "\n".join(lines)


def chart(results: dict[str, Any], path: Path) -> bool:
    """Draw the headline figures into a PNG; return False when matplotlib is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    panels: list[tuple[str, list[str], list[float], list[tuple[float, float]]]] = []

    def add(title: str, entries: list[dict[str, Any]], metric: str, scale: float = 1.0) -> None:
        labels, medians, errors = [], [], []
        for entry in entries:
            values = entry["summary"].get(metric)
            if values is None:
                continue
            labels.append(entry["label"])
            medians.append(values["median"] * scale)
            errors.append(
                (
                    (values["median"] - values["min"]) * scale,
                    (values["max"] - values["median"]) * scale,
                )
            )
        if labels:
            panels.append((title, labels, medians, errors))

    if "bulk" in results:
        bulk = results["bulk"]["clients"]
        add("bulk: messages/s (higher is better)", bulk, "messages_per_s")
        add("bulk: p99 latency ms", bulk, "p99_ms")
        add("bulk: client CPU ms per message", bulk, "cpu_ms_per_msg")
    if "upload" in results:
        upload = results["upload"]["clients"]
        mib = results["upload"]["file_mib"]
        same_size = [e for e in upload if e["file_mib"] == mib]
        add(f"upload {mib} MiB: MiB/s", same_size, "mib_per_s")
        add("upload: client peak RSS MiB", upload, "maxrss_mib")
    if "import" in results:
        modules = [e for e in results["import"]["modules"] if e["module"]]
        add("import: ms", modules, "import_ms")
    if not panels:
        return False
    columns = min(3, len(panels))
    rows = math.ceil(len(panels) / columns)
    figure, axes = plt.subplots(rows, columns, figsize=(6 * columns, 3.2 * rows), squeeze=False)
    for axis in axes.flat[len(panels) :]:
        axis.set_visible(False)
    for axis, (title, labels, medians, errors) in zip(axes.flat, panels, strict=False):
        positions = list(range(len(labels)))
        low = [e[0] for e in errors]
        high = [e[1] for e in errors]
        colors = ["tab:blue" if label.startswith("linq-async") else "tab:gray" for label in labels]
        axis.barh(positions, medians, xerr=[low, high], color=colors, capsize=3)
        axis.set_yticks(positions, labels, fontsize=8)
        axis.invert_yaxis()
        axis.set_title(title, fontsize=10)
        axis.grid(axis="x", alpha=0.3)
        for position, value, above in zip(positions, medians, high, strict=True):
            axis.annotate(
                f"{value:,.3g}" if value < 10 else f"{value:,.0f}",
                (value + above, position),
                xytext=(4, 0),
                textcoords="offset points",
                va="center",
                fontsize=7,
            )
    params = results["params"]
    figure.suptitle(
        f"linq-async benchmarks (bulk n={params['n']}, concurrency={params['concurrency']}; "
        f"medians, bars = min-max)",
        fontsize=11,
    )
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return True
