"""Turn benchmark results into goals, a markdown report and an optional PNG chart of ratios."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

SEND_MAX_CPU_RATIO = 1.15
"""Every send path: linq-async's client CPU per call at most this times the bare client's."""
SEND_MIN_RATE_RATIO = 0.9
"""Every send path: linq-async's calls per second at least this times the bare client's,
where the bare client is not limited by the fake."""
FAKE_BOUND = 0.9
"""The fake's CPU (cores) during the bare client's run from which the fake, not the client,
counts as setting the pace: one Python process cannot go much above 1.0."""
UPLOAD_MIN_RATE_RATIO = 0.95
UPLOAD_MAX_CPU_RATIO = 1.15
UPLOAD_MAX_RSS_GROWTH_MIB = 4.0
IMPORT_MAX_RATIO = 0.6
"""``import linq_async`` at most this times ``import linq`` (the official SDK)."""


def _by_key(entries: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {entry["key"]: entry for entry in entries}


def _median(entry: dict[str, Any] | None, metric: str) -> float | None:
    if entry is None or metric not in entry.get("summary", {}):
        return None
    value: float = entry["summary"][metric]["median"]
    return value


def _paired(ours: dict[str, Any], theirs: dict[str, Any], metric: str) -> list[float]:
    """Per-round ratios of two interleaved clients (round i of one against round i of the
    other), for the spread of a ratio."""
    pairs = zip(ours.get("rounds", []), theirs.get("rounds", []), strict=False)
    return [a[metric] / b[metric] for a, b in pairs if b.get(metric)]


def send_ratios(path: dict[str, Any]) -> dict[str, Any] | None:
    """linq-async against the bare client on one path: CPU and rate ratios, fake-boundness."""
    clients = _by_key(path["clients"])
    ours, bare = clients.get("linq-async"), clients.get("bare")
    if ours is None or bare is None:
        return None
    cpu, bare_cpu = _median(ours, "cpu_ms_per_call"), _median(bare, "cpu_ms_per_call")
    rate, bare_rate = _median(ours, "messages_per_s"), _median(bare, "messages_per_s")
    if not (cpu and bare_cpu and rate and bare_rate):
        return None
    fake = _median(bare, "server_busy")
    return {
        "cpu": cpu / bare_cpu,
        "cpu_paired": _paired(ours, bare, "cpu_ms_per_call"),
        "rate": rate / bare_rate,
        "rate_paired": _paired(ours, bare, "messages_per_s"),
        "bare_fake_cpu": fake,
        "fake_bound": fake is not None and fake >= FAKE_BOUND,
    }


def cpu_ratios(results: dict[str, Any]) -> dict[str, float]:
    """Each measured path's CPU-per-call ratio (linq-async / bare)."""
    out = {}
    for path in results.get("send", {}).get("paths", []):
        ratios = send_ratios(path)
        if ratios is not None:
            out[path["path"]] = ratios["cpu"]
    return out


def _import_entry(results: dict[str, Any], module: str) -> dict[str, Any] | None:
    for entry in results.get("import", {}).get("modules", []):
        if entry["module"] == module:
            found: dict[str, Any] = entry
            return found
    return None


def _goal(workload: str, goal: str, measured: str, passed: bool | None) -> dict[str, Any]:
    return {"workload": workload, "goal": goal, "measured": measured, "passed": passed}


def _send_goals(results: dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for path in results["send"]["paths"]:
        name = path["label"]
        cpu_goal = f"client CPU per call <= {SEND_MAX_CPU_RATIO}x bare"
        rate_goal = f"calls/s >= {SEND_MIN_RATE_RATIO}x bare (unless the fake limits bare)"
        if path["note"]:
            out.append(_goal(name, cpu_goal, f"not measured: {path['note']}", None))
            continue
        ratios = send_ratios(path)
        if ratios is None:
            out.append(_goal(name, cpu_goal, "not measured (a client failed or is missing)", None))
            continue
        clients = _by_key(path["clients"])
        ours, bare = clients["linq-async"], clients["bare"]
        cpu = ratios["cpu"]
        out.append(
            _goal(
                name,
                cpu_goal,
                f"{_median(ours, 'cpu_ms_per_call'):.3f} vs "
                f"{_median(bare, 'cpu_ms_per_call'):.3f} ms = {cpu:.2f}x",
                cpu <= SEND_MAX_CPU_RATIO,
            )
        )
        measured = (
            f"{_median(ours, 'messages_per_s'):,.0f} vs {_median(bare, 'messages_per_s'):,.0f}"
            f" = {ratios['rate']:.2f}x"
        )
        fake = ratios["bare_fake_cpu"]
        if ratios["fake_bound"]:
            measured += f"; the fake is at {fake:.0%} CPU during bare's run: fake-bound"
            out.append(_goal(name, rate_goal, measured, None))
        else:
            if fake is not None:
                measured += f"; fake at {fake:.0%} CPU during bare's run"
            out.append(_goal(name, rate_goal, measured, ratios["rate"] >= SEND_MIN_RATE_RATIO))
    return out


def _upload_goals(results: dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    clients = _by_key(results["upload"]["clients"])
    ours, bare = clients.get("linq-async"), clients.get("bare")
    rate_goal = f"MiB/s >= {UPLOAD_MIN_RATE_RATIO}x bare (unless the fake limits bare)"
    for metric, goal, limit, unit, higher in (
        ("mib_per_s", rate_goal, UPLOAD_MIN_RATE_RATIO, "", True),
        ("cpu_s", f"client CPU <= {UPLOAD_MAX_CPU_RATIO}x bare", UPLOAD_MAX_CPU_RATIO, " s", False),
    ):
        a, b = _median(ours, metric), _median(bare, metric)
        if a is None or b is None or not b:
            out.append(_goal("upload", goal, "not measured (linq-async or bare missing)", None))
            continue
        ratio = a / b
        fmt = ".0f" if higher else ".3f"
        measured = f"{a:{fmt}}{unit} vs {b:{fmt}}{unit} = {ratio:.2f}x"
        passed: bool | None = ratio >= limit if higher else ratio <= limit
        fake = _median(bare, "server_busy")
        if higher and fake is not None:
            # As on the send paths: a fake at its limit during bare's run caps bare's MiB/s,
            # and a ratio to a capped figure says nothing of the client.
            bound = fake >= FAKE_BOUND
            measured += f"; the fake at {fake:.0%} CPU during bare's run"
            if bound:
                measured += ": fake-bound"
                passed = None
        out.append(_goal("upload", goal, measured, passed))
    big, small = _median(ours, "maxrss_mib"), _median(clients.get("linq-async 1 MiB"), "maxrss_mib")
    mib = results["upload"]["file_mib"]
    goal = f"peak RSS, {mib} MiB vs 1 MiB file, within {UPLOAD_MAX_RSS_GROWTH_MIB:g} MiB"
    if big is None or small is None:
        out.append(_goal("upload", goal, "not measured", None))
    else:
        measured = f"{big:.1f} vs {small:.1f} MiB ({big - small:+.1f})"
        out.append(_goal("upload", goal, measured, abs(big - small) <= UPLOAD_MAX_RSS_GROWTH_MIB))
    entries = [
        e for e in results["upload"]["clients"] if e["key"].startswith("linq-async") and e["rounds"]
    ]
    goal = "the checksum at the server matches the file (linq-async, every upload)"
    if not entries:
        out.append(_goal("upload", goal, "not measured", None))
    else:
        uploads = sum(r.get("uploads", 1) for e in entries for r in e["rounds"])
        out.append(
            _goal(
                "upload", goal, f"{uploads} uploads checked", all(e["checksum_ok"] for e in entries)
            )
        )
    return out


def _import_goals(results: dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    ours = _median(_import_entry(results, "linq_async"), "import_ms")
    theirs = _median(_import_entry(results, "linq"), "import_ms")
    goal = f"import linq_async <= {IMPORT_MAX_RATIO}x import linq (official SDK)"
    if ours is None or theirs is None:
        out.append(_goal("import", goal, "not measured (linq-python missing)", None))
    else:
        ratio = ours / theirs
        measured = f"{ours:.0f} vs {theirs:.0f} ms = {ratio:.2f}x"
        out.append(_goal("import", goal, measured, ratio <= IMPORT_MAX_RATIO))
    footprint = results["import"].get("footprint")
    goal = "nothing optional imported eagerly (webhooks, testing, CLI, progress, integrations)"
    if footprint is None:
        out.append(_goal("import", goal, "not measured", None))
    else:
        loaded = footprint["optional_loaded"] + footprint["unexpected_third_party"]
        measured = "none loaded" if not loaded else "loaded: " + ", ".join(loaded)
        out.append(_goal("import", goal, measured, not loaded))
    return out


def goals(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Evaluate the issue's goals on the medians; ``passed`` is None when not measured."""
    out: list[dict[str, Any]] = []
    if "send" in results:
        out += _send_goals(results)
    if "upload" in results:
        out += _upload_goals(results)
    if "import" in results:
        out += _import_goals(results)
    if "callgrind" in results:
        out += _callgrind_goals(results["callgrind"])
    return out


def _callgrind_goals(callgrind: dict[str, Any]) -> list[dict[str, Any]]:
    """The CPU goal again on instructions per call, which other load on the machine does not
    move (CPU time on a shared machine can swing 10-20% between identical rounds)."""
    out: list[dict[str, Any]] = []
    for item in callgrind["paths"]:
        ratio = item.get("ratio")
        if ratio is None:
            continue
        ours = item["clients"]["linq-async"]["per_call"]
        bare = item["clients"]["bare"]["per_call"]
        out.append(
            _goal(
                f"`{item['path']}` (callgrind)",
                f"instructions per call <= {SEND_MAX_CPU_RATIO}x bare",
                f"{ours:,.0f} vs {bare:,.0f} = {ratio:.2f}x",
                ratio <= SEND_MAX_CPU_RATIO,
            )
        )
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


def _ratio_cell(ratio: float, paired: list[float]) -> str:
    if len(paired) < 2:
        return f"{ratio:.2f}x"
    return f"**{ratio:.2f}x** ({min(paired):.2f}-{max(paired):.2f})"


def _rounds(rounds: int) -> str:
    return f"{rounds} round" if rounds == 1 else f"{rounds} rounds"


def _failed(entry: dict[str, Any]) -> str:
    if not entry["failures"]:
        return ""
    first = entry["failures"][0].splitlines()[0][:120]
    return f" **{len(entry['failures'])} run(s) failed: {first}**"


def _noise_note(entries: list[dict[str, Any]]) -> str:
    retried = sum(entry.get("retried", 0) for entry in entries)
    noisy = sum(entry.get("noisy_rounds", 0) for entry in entries)
    loads = [
        entry["summary"]["other_load"]["max"]
        for entry in entries
        if "other_load" in entry.get("summary", {})
    ]
    if not loads:
        return ""
    return (
        f"Other processes' CPU load during the kept measurements: at most {max(loads):.2f} "
        f"cores. Measurements retaken for outside load: {retried}; kept although still "
        f"disturbed: {noisy}."
    )


def _send_table(send: dict[str, Any], rounds: int) -> list[str]:
    lines = [
        f"## Send paths: {send['n']:,} calls each, at most {send['concurrency']} in flight "
        f"(`asyncio.gather` + `asyncio.Semaphore`); {_rounds(rounds)}",
        "",
        "| path | client | calls/s | p50 ms | p99 ms | client CPU ms/call "
        "| CPU/call vs bare | calls/s vs bare | client CPU | fake CPU |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    notes = []
    entries: list[dict[str, Any]] = []
    for path in send["paths"]:
        if path["note"]:
            lines.append(f"| {path['label']} | - | skipped | | | | | | | |")
            notes.append(f"- {path['label']}: {path['note']}.")
            continue
        clients = _by_key(path["clients"])
        bare = clients.get("bare")
        for entry in path["clients"]:
            entries.append(entry)
            s = entry["summary"]
            cpu_ratio = rate_ratio = "-"
            if entry["key"] != "bare" and bare is not None and s and bare["summary"]:
                cpu, bare_cpu = _median(entry, "cpu_ms_per_call"), _median(bare, "cpu_ms_per_call")
                rate, bare_rate = _median(entry, "messages_per_s"), _median(bare, "messages_per_s")
                if cpu and bare_cpu and rate and bare_rate:
                    cpu_ratio = _ratio_cell(cpu / bare_cpu, _paired(entry, bare, "cpu_ms_per_call"))
                    rate_ratio = _ratio_cell(
                        rate / bare_rate, _paired(entry, bare, "messages_per_s")
                    )
            fake = _percent(s, "server_busy")
            if entry["key"] == "bare" and (_median(entry, "server_busy") or 0) >= FAKE_BOUND:
                fake = f"**{fake}** fake-bound"
            lines.append(
                f"| {path['label']} | {entry['label']}{_failed(entry)} "
                f"| {_cell(s, 'messages_per_s', ',.0f')} "
                f"| {_cell(s, 'p50_ms', '.1f', spread=False)} "
                f"| {_cell(s, 'p99_ms', '.1f', spread=False)} "
                f"| {_cell(s, 'cpu_ms_per_call', '.3f')} | {cpu_ratio} | {rate_ratio} "
                f"| {_percent(s, 'client_busy')} | {fake} |"
            )
    lines += [
        "",
        "Cells are medians (min-max over the rounds); ratios are linq-async's median over the "
        "bare client's, (min-max) of the per-round ratios of interleaved runs. *client CPU "
        "ms/call* is the client process's CPU time over the timed phase divided by the calls. "
        "*client CPU* and *fake CPU* are each process's CPU time over the phase's wall time; "
        f"where the fake is at {FAKE_BOUND:.0%} or more during the bare client's run "
        "(*fake-bound*), the fake sets the pace and calls/s says little about the client.",
        "",
        "The bare client sends the same HTTP request with dicts and stdlib `json` and reads "
        "back what the call returns (the ids; for `chats.get` the id and first handle). "
        "`broadcast()`'s bare counterpart is the per-recipient `POST /v3/chats` loop of "
        "`concurrency` workers; its latency comes from completion order (see "
        "`bench/client_linq_async.py`).",
    ]
    if notes:
        lines += ["", "Skipped:", "", *notes]
    note = _noise_note(entries)
    if note:
        lines += ["", note]
    return lines


def _count(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"


def _collector_table(send: dict[str, Any]) -> list[str]:
    """linq-async's CPU per call beyond the bare client's, and the collector's part of it."""
    rows = []
    for path in send["paths"]:
        clients = _by_key(path["clients"])
        ours, bare = clients.get("linq-async"), clients.get("bare")
        cpu, bare_cpu = _median(ours, "cpu_ms_per_call"), _median(bare, "cpu_ms_per_call")
        spent, bare_spent = _median(ours, "gc_ms_per_call"), _median(bare, "gc_ms_per_call")
        full, bare_full = _median(ours, "gc_full"), _median(bare, "gc_full")
        if cpu is None or bare_cpu is None or spent is None or bare_spent is None:
            continue
        rows.append(
            f"| {path['label']} | {cpu * 1000:.1f} | {bare_cpu * 1000:.1f} "
            f"| {(cpu - bare_cpu) * 1000:+.1f} | {spent * 1000:.1f} | {bare_spent * 1000:.1f} "
            f"| {(spent - bare_spent) * 1000:+.1f} | {_count(full)} / {_count(bare_full)} |"
        )
    if not rows:
        return []
    return [
        "### The garbage collector's part (`gc.callbacks` in each client's timed phase)",
        "",
        "| path | linq-async CPU us/call | bare | extra | in the collector: linq-async "
        "us/call | bare | extra | full collections per round (linq-async / bare) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
        *rows,
        "",
        "Medians over the rounds. The collector's time is part of the client CPU; how many "
        "collections a round gets varies from round to round for either client (allocations "
        "and frees interleave differently with each run's timing).",
    ]


def _upload_table(upload: dict[str, Any], rounds: int, uploads: int) -> list[str]:
    each = f"; {uploads} timed uploads per round, their median" if uploads > 1 else ""
    lines = [
        f"## Upload: one {upload['file_mib']} MiB file, POST /v3/attachments + presigned PUT; "
        f"{_rounds(rounds)}{each}",
        "",
        "| client | file MiB | MiB/s | seconds | client CPU s (upload / process) "
        "| client peak RSS MiB | fake CPU | checksum at server |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for entry in upload["clients"]:
        s = entry["summary"]
        sha = "-" if not entry["rounds"] else ("match" if entry["checksum_ok"] else "MISMATCH")
        cpu = f"{_cell(s, 'cpu_s', '.3f')} / {_cell(s, 'process_cpu_s', '.2f', False)}"
        lines.append(
            f"| {entry['label']}{_failed(entry)} | {entry['file_mib']:g} "
            f"| {_cell(s, 'mib_per_s', ',.0f')} | {_cell(s, 'seconds', '.3f', spread=False)} "
            f"| {cpu} | {_cell(s, 'maxrss_mib', '.1f')} | {_percent(s, 'server_busy')} | {sha} |"
        )
    return [*lines, "", _noise_note(upload["clients"])]


def _import_table(imports: dict[str, Any]) -> list[str]:
    lines = [
        f"## Import: a fresh interpreter, {imports['runs']} runs each (after a warm-up)",
        "",
        "| import | import ms | import CPU ms | RSS after import MiB | process peak RSS MiB "
        "| whole process ms |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for entry in imports["modules"]:
        s = entry["summary"]
        lines.append(
            f"| {entry['label']} | {_cell(s, 'import_ms', '.1f')} "
            f"| {_cell(s, 'import_cpu_ms', '.1f', spread=False)} "
            f"| {_cell(s, 'rss_after_mib', '.1f', spread=False)} "
            f"| {_cell(s, 'maxrss_mib', '.1f', spread=False)} "
            f"| {_cell(s, 'process_ms', '.1f', spread=False)} |"
        )
    by_module = {entry["module"]: entry for entry in imports["modules"]}
    ours, aiohttp = by_module.get("linq_async"), by_module.get("aiohttp")
    if ours is not None and aiohttp is not None:
        dt = _median(ours, "import_ms") or 0.0
        da = _median(aiohttp, "import_ms") or 0.0
        rss = (_median(ours, "rss_after_mib") or 0.0) - (_median(aiohttp, "rss_after_mib") or 0.0)
        lines += [
            "",
            f"`import linq_async` over `import aiohttp` alone: {dt - da:+.0f} ms, "
            f"{rss:+.1f} MiB RSS.",
        ]
    footprint = imports.get("footprint")
    if footprint:
        own = footprint["linq_async_modules"]
        lines += [
            "",
            f"After `import linq_async`: {footprint['modules_loaded']} new modules "
            f"(`import aiohttp` alone: {footprint['modules_loaded_by_aiohttp']}), "
            f"{len(own)} of them linq_async's: {', '.join(f'`{m}`' for m in own)}.",
            "",
            "Third-party packages loaded: "
            + ", ".join(f"`{m}`" for m in footprint["third_party"])
            + "; beyond what `import aiohttp` loads: "
            + (", ".join(f"`{m}`" for m in footprint["third_party_beyond_aiohttp"]) or "none")
            + ". Optional modules loaded eagerly: "
            + (", ".join(f"`{m}`" for m in footprint["optional_loaded"]) or "none")
            + "; unexpected third-party: "
            + (", ".join(f"`{m}`" for m in footprint["unexpected_third_party"]) or "none")
            + ".",
        ]
    return lines


def _profile_section(profile: dict[str, Any]) -> list[str]:
    path = profile["path"]
    if "note" in profile:
        return [f"## Profile of `{path}`", "", f"Not taken: {profile['note']}."]
    clients = profile["clients"]
    ours, bare = clients.get("linq-async"), clients.get("bare")
    if ours is None:
        return []
    lines = [
        f"## Profile: `{path}`, {profile['calls']:,} calls under cProfile (timed phase only, "
        "CPU time)",
        "",
        "cProfile charges every Python call, so profiled figures are several times the real "
        f"ones: linq-async {ours['cpu_ms_per_call_profiled']:.3f} CPU ms per call profiled"
        + (f", the bare client {bare['cpu_ms_per_call_profiled']:.3f}" if bare else "")
        + ". Self time per call, by where the code lives:",
        "",
        "| where | linq-async us/call | share | bare us/call | linq-async - bare |",
        "|---|---:|---:|---:|---:|",
    ]
    total = ours["total_us_per_call"] or 1.0
    names = set(ours["groups"]) | set(bare["groups"] if bare else ())
    order = sorted(
        names,
        key=lambda g: ours["groups"].get(g, 0.0) - (bare["groups"].get(g, 0.0) if bare else 0),
        reverse=True,
    )
    for group in order:
        mine = ours["groups"].get(group, 0.0)
        theirs = bare["groups"].get(group, 0.0) if bare else None
        lines.append(
            f"| {group} | {mine:.1f} | {mine / total:.0%} "
            f"| {'-' if theirs is None else f'{theirs:.1f}'} "
            f"| {'-' if theirs is None else f'{mine - theirs:+.1f}'} |"
        )
    if bare:
        lines.append(
            f"| **all** | {ours['total_us_per_call']:.1f} | 100% "
            f"| {bare['total_us_per_call']:.1f} "
            f"| {ours['total_us_per_call'] - bare['total_us_per_call']:+.1f} |"
        )
    if profile.get("top_extra"):
        lines += [
            "",
            "Where linq-async spends more than the bare client (self time per call; "
            "*calls per call* counts coroutine resumptions too):",
            "",
            "| function | calls per call | linq-async us/call | bare us/call | extra |",
            "|---|---:|---:|---:|---:|",
        ]
        for row in profile["top_extra"]:
            lines.append(
                f"| `{row['function']}` | {row['calls_per_call']:.2f} "
                f"| {row['self_us_per_call']:.1f} | {row['bare_self_us_per_call']:.1f} "
                f"| {row['extra_us_per_call']:+.1f} |"
            )
    lines += [
        "",
        "linq-async's top functions by self time:",
        "",
        "| function | calls per call | self us/call | cumulative us/call |",
        "|---|---:|---:|---:|",
    ]
    for row in profile["top"]:
        lines.append(
            f"| `{row['function']}` | {row['calls_per_call']:.2f} "
            f"| {row['self_us_per_call']:.1f} | {row['cum_us_per_call']:.1f} |"
        )
    lines += [
        "",
        f"Full listings: `{ours['text']}`" + (f", `{bare['text']}`" if bare else "") + "; raw: "
        f"`{ours['pstats']}` (`python -m pstats`, snakeviz).",
    ]
    return lines


def _callgrind_section(callgrind: dict[str, Any]) -> list[str]:
    lines = [
        f"## Instructions per call under callgrind ({callgrind.get('calls', '-')} calls, "
        "timed phase only)",
        "",
    ]
    if "note" in callgrind:
        return [*lines, f"Not counted: {callgrind['note']}."]
    lines += [
        "| path | linq-async | bare aiohttp | linq-async / bare | modelled cycles, linq-async "
        "/ bare | timed-phase dump |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for item in callgrind["paths"]:
        if "note" in item:
            lines.append(f"| `{item['path']}` | skipped: {item['note']} | | | | |")
            continue
        cells = []
        for key in ("linq-async", "bare"):
            value = item["clients"].get(key, {})
            cells.append(f"{value['per_call']:,.0f}" if "per_call" in value else "failed")
        ratio = f"{item['ratio']:.2f}x" if item.get("ratio") else "-"
        cycles = "-"
        if item.get("cycles_ratio"):
            ours, bare = (item["clients"][key]["cycles_per_call"] for key in ("linq-async", "bare"))
            cycles = f"{ours:,.0f} / {bare:,.0f} = {item['cycles_ratio']:.2f}x"
        dump = item["clients"].get("linq-async", {}).get("file", "-")
        lines.append(
            f"| `{item['path']}` | {cells[0]} | {cells[1]} | {ratio} | {cycles} | `{dump}` |"
        )
    lines += [
        "",
        "Instruction counts do not depend on other load on the machine; CPU time does. "
        "*Modelled cycles* add what instructions leave out, from valgrind's cache and branch "
        "simulation: 10 cycles per first-level cache miss, 100 per last-level miss, 15 per "
        "mispredicted branch (rough costs, the orders of size valgrind's manual gives); "
        "other load does not move them either. `callgrind_annotate <dump>` lists where the "
        "instructions go.",
    ]
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
        "# linq-async benchmarks" + (" (quick run)" if params.get("quick") else ""),
        "",
        f"{meta['date']}; Python {meta['python']} on {meta['platform']}, {meta['cpus']} CPUs; "
        f"{versions}" + (f"; {meta['curl']}" if meta.get("curl") else "") + ".",
        "",
        "Each run is one client process against a fresh fake Linq API process on 127.0.0.1 "
        + (
            "(`linq_async.testing.FakeLinqServer`, `--fake full`)"
            if params.get("fake") == "full"
            else "(`bench/lean_fake.py`, which replays `linq_async.testing.FakeLinqServer`'s "
            "answers and checks and checksums each upload as it arrives)"
        )
        + "; clients take turns every round (A B A B ...). Client CPU and peak RSS are the "
        "client process's own (`getrusage`); *fake CPU* is the fake's CPU time over the "
        "measured phase's wall time.",
        "",
    ]
    if "send" in results:
        lines += [*_send_table(results["send"], params["send_rounds"]), ""]
        collector = _collector_table(results["send"])
        if collector:
            lines += [*collector, ""]
    if "upload" in results:
        lines += [
            *_upload_table(results["upload"], params["upload_rounds"], params.get("uploads", 1)),
            "",
        ]
    if "import" in results:
        lines += [*_import_table(results["import"]), ""]
    if "profile" in results:
        lines += [*_profile_section(results["profile"]), ""]
    if "callgrind" in results:
        lines += [*_callgrind_section(results["callgrind"]), ""]
    lines += _goals_table(results["goals"])
    duration = meta.get("duration_s")
    if duration is not None:
        lines += ["", f"The whole run took {duration:.0f} s."]
    return "\n".join(lines)


def _bars(
    axis: Any,
    rows: list[tuple[str, float, list[float], bool]],
    goal: float,
    title: str,
    goal_label: str,
) -> None:
    labels = [row[0] for row in rows]
    values = [row[1] for row in rows]
    low = [max(0.0, row[1] - min(row[2])) if row[2] else 0.0 for row in rows]
    high = [max(0.0, max(row[2]) - row[1]) if row[2] else 0.0 for row in rows]
    positions = list(range(len(rows)))
    bars = axis.barh(
        positions, values, xerr=[low, high], color="tab:blue", capsize=3, edgecolor="black"
    )
    for bar, row in zip(bars, rows, strict=True):
        if row[3]:
            bar.set_facecolor("lightgray")
            bar.set_hatch("//")
    axis.axvline(1.0, color="black", linewidth=0.8)
    axis.axvline(goal, color="tab:red", linestyle="--", linewidth=1.2, label=goal_label)
    axis.set_yticks(positions, labels, fontsize=8)
    axis.invert_yaxis()
    axis.set_title(title, fontsize=10)
    axis.grid(axis="x", alpha=0.3)
    axis.legend(fontsize=7, loc="lower right")
    for position, value, above in zip(positions, values, high, strict=True):
        axis.annotate(
            f"{value:.2f}x",
            (value + above, position),
            xytext=(4, 0),
            textcoords="offset points",
            va="center",
            fontsize=7,
        )
    right = max([goal, *(v + h for v, h in zip(values, high, strict=True))])
    axis.set_xlim(0, right * 1.18)


def chart(results: dict[str, Any], path: Path) -> bool:
    """Draw the ratios into a PNG; return False when matplotlib is missing or nothing ran."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    cpu_rows: list[tuple[str, float, list[float], bool]] = []
    rate_rows: list[tuple[str, float, list[float], bool]] = []
    for item in results.get("send", {}).get("paths", []):
        ratios = send_ratios(item) if not item["note"] else None
        if ratios is None:
            continue
        name = item["path"]
        cpu_rows.append((name, ratios["cpu"], ratios["cpu_paired"], False))
        label = f"{name} (fake-bound)" if ratios["fake_bound"] else name
        rate_rows.append((label, ratios["rate"], ratios["rate_paired"], ratios["fake_bound"]))
    if "upload" in results:
        clients = _by_key(results["upload"]["clients"])
        ours, bare = clients.get("linq-async"), clients.get("bare")
        if ours and bare and ours["summary"] and bare["summary"]:
            mib = results["upload"]["file_mib"]
            cpu = (_median(ours, "cpu_s") or 0) / (_median(bare, "cpu_s") or 1)
            rate = (_median(ours, "mib_per_s") or 0) / (_median(bare, "mib_per_s") or 1)
            cpu_rows.append((f"upload {mib} MiB, CPU", cpu, _paired(ours, bare, "cpu_s"), False))
            rate_rows.append(
                (
                    f"upload {mib} MiB, MiB/s (goal {UPLOAD_MIN_RATE_RATIO}x)",
                    rate,
                    _paired(ours, bare, "mib_per_s"),
                    False,
                )
            )
    import_rows: list[tuple[str, float, list[float], bool]] = []
    official = _import_entry(results, "linq")
    if official is not None:
        base = _median(official, "import_ms") or 1.0
        for module, label in (("linq_async", "import linq_async"), ("aiohttp", "import aiohttp")):
            entry = _import_entry(results, module)
            if entry is not None:
                runs = [run["import_ms"] / base for run in entry["runs"]]
                import_rows.append((label, (_median(entry, "import_ms") or 0) / base, runs, False))
    panels = [
        (
            cpu_rows,
            SEND_MAX_CPU_RATIO,
            "client CPU per call, linq-async / bare (lower is better)",
            f"goal <= {SEND_MAX_CPU_RATIO}x",
        ),
        (
            rate_rows,
            SEND_MIN_RATE_RATIO,
            "calls/s, linq-async / bare (higher is better)",
            f"goal >= {SEND_MIN_RATE_RATIO}x (hatched: the fake sets the pace)",
        ),
        (
            import_rows,
            IMPORT_MAX_RATIO,
            "import time / import linq (official SDK)",
            f"goal <= {IMPORT_MAX_RATIO}x",
        ),
    ]
    panels = [panel for panel in panels if panel[0]]
    if not panels:
        return False
    heights = [max(1.2, 0.42 * len(panel[0]) + 0.9) for panel in panels]
    figure, axes = plt.subplots(
        len(panels),
        1,
        figsize=(8.5, sum(heights)),
        squeeze=False,
        gridspec_kw={"height_ratios": heights},
    )
    for axis, (rows, goal, title, goal_label) in zip(axes.flat, panels, strict=True):
        _bars(axis, rows, goal, title, goal_label)
    params = results["params"]
    figure.suptitle(
        f"linq-async against a bare aiohttp client ({params['n']:,} calls, "
        f"{params['concurrency']} in flight; medians, bars = per-round range)",
        fontsize=10,
    )
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return True
