"""Targets, the printed tables (Markdown, readable on a terminal too) and the files in
bench/results/."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# Targets from /work/shared/reference/perf-reliability.md, sections 0 and A5.
MIN_RATIO_VS_BARE = 0.4  # P1: saturated req/s >= 40 % of bare FastAPI + asyncpg
MAX_P99_SCALING = 1.5  # P1: p99(100k) / p99(10k)
MAX_LAST_PAGE = 2.0  # P1b: p99(last page) / p99(page 1)
MIN_GRABS = 500.0  # P2: grabs/s sustained, on the reference box
MAX_GRAB_P99_MS = 50.0  # P2
# The reference box served FastAPI hello at 10,769 req/s (section 1), so 500 grabs/s
# there is this fraction of the same-run FastAPI hello: the machine-independent target.
REFERENCE_FASTAPI_HELLO = 10_769.0
MIN_GRABS_VS_HELLO = MIN_GRABS / REFERENCE_FASTAPI_HELLO
# Issue 18: grabs/s >= 0.8x a bare FastAPI + asyncpg insert (bench/bare_grab.py), same
# load generator; server CPU per grab <= 2 ms.
MIN_GRABS_VS_INSERT = 0.8
MAX_GRAB_CPU_MS = 2.0
INSERT_REFS = {"postgres": ("bare-pg-insert", "FastAPI+asyncpg"),
               "sqlite": ("bare-sqlite-insert", "FastAPI+sqlite3")}
MAX_RSS_MIB = 150.0  # P5, with 100k items
ABS_MIN_RPS = 1000.0  # P1 absolute, reference box (informative: machines differ)
ABS_MAX_P99_MS = 25.0  # P1 absolute, reference box (informative)

PAGE_INC = "page 1 +unknown"
PAGE_DEFAULT = "page 1 default"


def _find(points: list[dict[str, Any]], group: str, backend: str, size: int | None,
          endpoint: str, conns: int) -> dict[str, Any] | None:
    for p in points:
        if (p["group"] == group and p["backend"] == backend and p["size"] == size
                and p["endpoint"].startswith(endpoint) and p["conns"] == conns):
            return p
    return None


def ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def print_medians(medians: dict[str, float], runs: dict[str, list[float]], base: float,
                  unit: str, against: str, width: int = 40, digits: int = 3) -> None:
    """One row per name: its median, the ratio to `base`, and every run."""
    print(f"  {'':{width}} {unit:>9} {against:>7}   runs")
    for name, value in medians.items():
        each = ", ".join(f"{v:.2f}" for v in runs[name])
        print(f"  {name:{width}} {value:9.{digits}f} {ratio(value, base) or 0:7.2f}   {each}")


def status(value: float | None, op: str, target: float) -> str:
    """A check's result: PASS when `value op target` holds (op ">=" or "<="), else FAIL;
    n/a without a value."""
    if value is None:
        return "n/a"
    return "PASS" if (value >= target if op == ">=" else value <= target) else "FAIL"


class Checks(list[dict[str, Any]]):
    """The targets a section benchmark checks, each a {"check", "value", "op", "target",
    "unit", "status", "informative"} dict (as results["checks"] holds them)."""

    def add(self, name: str, value: float | None, op: str, target: float, unit: str,
            informative: bool = False) -> None:
        self.append({"check": name, "value": value, "op": op, "target": target,
                     "unit": unit, "status": status(value, op, target),
                     "informative": informative})


def checks(results: dict[str, Any], sizes: list[int], backends: list[str]
           ) -> list[dict[str, Any]]:
    points = results["points"]
    env = results["environment"]
    c, lc, gc = (env["connections"][k] for k in ("saturated", "latency", "grab"))
    small = 10_000 if 10_000 in sizes else sizes[0]
    large = max(sizes)
    out: list[dict[str, Any]] = []

    def add(backend: str, name: str, value: float | None, op: str, target: float,
            unit: str, informative: bool = False) -> None:
        short = re.sub(r", (c=\d+|[\d,]+)(?=,|$)", "", name)  # without conns and size
        out.append({"backend": backend, "check": name, "short": short, "value": value,
                    "op": op,
                    "target": target, "unit": unit, "status": status(value, op, target),
                    "informative": informative})

    for b in backends:
        def q(size: int, endpoint: str, conns: int, backend: str = b) -> dict[str, Any] | None:
            return _find(points, "queuarr", backend, size, endpoint, conns)

        bare = _find(points, "ref", "bare-pg", small, "GET page 1", c)
        for endpoint, informative in ((PAGE_INC, False), (PAGE_DEFAULT, True)):
            p = q(small, endpoint, c)
            add(b, f"P1 req/s ÷ bare FastAPI+asyncpg, {endpoint}, c={c}, {small:,}",
                ratio(p and p["rps"], bare and bare["rps"]), ">=", MIN_RATIO_VS_BARE, "x",
                informative)
        if b == "sqlite":
            # Context; it is the target itself when bare-pg did not run (--backend sqlite).
            lite = _find(points, "ref", "bare-sqlite", small, "GET page 1", c)
            p = q(small, PAGE_INC, c)
            add(b, f"P1 req/s ÷ bare FastAPI+aiosqlite, {PAGE_INC}, c={c}, {small:,}",
                ratio(p and p["rps"], lite and lite["rps"]), ">=", MIN_RATIO_VS_BARE, "x",
                bare is not None)
        if large != small:
            for endpoint, informative in ((PAGE_INC, False), (PAGE_DEFAULT, True)):
                hi, lo = q(large, endpoint, lc), q(small, endpoint, lc)
                add(b, f"P1 p99({large:,}) ÷ p99({small:,}), {endpoint}, c={lc}",
                    ratio(hi and hi["p99_ms"], lo and lo["p99_ms"]), "<=", MAX_P99_SCALING,
                    "x", informative)
        for size in sizes:
            last, first = q(size, "last page", lc), q(size, PAGE_INC, lc)
            add(b, f"P1b p99(last page) ÷ p99(page 1), c={lc}, {size:,}",
                ratio(last and last["p99_ms"], first and first["p99_ms"]), "<=",
                MAX_LAST_PAGE, "x")
        for size in sizes:
            after, first = q(size, "page 1 after grabs", lc), q(size, PAGE_INC, lc)
            add(b, f"P1 p99(page 1 after the grab runs) ÷ p99(page 1 before), c={lc}, "
                f"{size:,}", ratio(after and after["p99_ms"], first and first["p99_ms"]),
                "<=", MAX_P99_SCALING, "x", True)
        hello = _find(points, "ref", "FastAPI hello", None, "GET", c)
        for size in sizes:
            g = q(size, "POST grab", gc)
            add(b, f"P2 grabs/s ÷ FastAPI hello req/s (same run), c={gc}, {size:,}",
                ratio(g and g["rps"], hello and hello["rps"]), ">=", MIN_GRABS_VS_HELLO, "x")
            add(b, f"abs (reference box) P2 grabs/s, c={gc}, {size:,}", g and g["rps"], ">=",
                MIN_GRABS, "/s", True)
            add(b, f"P2 grab p99, c={gc}, {size:,}", g and g["p99_ms"], "<=",
                MAX_GRAB_P99_MS, "ms")
            ref, what = INSERT_REFS[b]
            ins = _find(points, "ref", ref, size, "POST grab", gc)
            add(b, f"P2b grabs/s ÷ bare {what} insert (same run), c={gc}, {size:,}",
                ratio(g and g["rps"], ins and ins["rps"]), ">=", MIN_GRABS_VS_INSERT, "x",
                b == "sqlite")
            add(b, f"P2b server CPU per grab, c={gc}, {size:,}",
                g and g.get("cpu_ms_per_grab"), "<=", MAX_GRAB_CPU_MS, "ms", True)
        mem = next((m for m in results["memory"] if m["backend"] == b and m["size"] == large),
                   None)
        rss = max(mem["rss_after_runs_mib"], mem["rss_after_big_get_mib"]) if mem else None
        add(b, f"P5 server RSS after the runs and a pageSize=100000 GET, {large:,}", rss,
            "<=", MAX_RSS_MIB, "MiB", informative=large < 100_000)
        if mem:
            add(b, f"P5 pageSize=100000 GET answered 200, {large:,}",
                1.0 if mem["big_get_status"] == 200 else 0.0, ">=", 1.0, "bool")
        errors = sum(p["errors"] for p in points if p["group"] == "queuarr"
                     and p["backend"] == b)
        add(b, "no failed requests under load (non-2xx, socket errors, timeouts)",
            float(errors), "<=", 0.0, "count")
        for acc in results.get("grab_accounting", ()):
            if acc["backend"] == b:
                add(b, f"grab accounting: rows added match 201s, {acc['size']:,}",
                    1.0 if acc["ok"] else 0.0, ">=", 1.0, "bool")
        for size in sizes:
            p, lat = q(size, PAGE_INC, c), q(size, PAGE_INC, lc)
            add(b, f"abs (reference box) page 1 req/s, c={c}, {size:,}", p and p["rps"],
                ">=", ABS_MIN_RPS, "/s", True)
            add(b, f"abs (reference box) page 1 p99, c={lc}, {size:,}",
                lat and lat["p99_ms"], "<=", ABS_MAX_P99_MS, "ms", True)
    return out


def _num(value: float | None, digits: int = 2) -> str:
    if value is None:
        return "-"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 100:
        return f"{value:.0f}"
    return f"{value:.{digits}f}"


def _cpu_ms(p: dict[str, Any]) -> str:
    """Server CPU milliseconds per successful request."""
    if p.get("server_cpu_pct") is None or not p["rps"]:
        return "-"
    return f"{p['server_cpu_pct'] * 10 / p['rps']:.2f}"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def _fmt(value: float | None, unit: str, op: str = "") -> str:
    if unit == "bool":
        text = "-" if value is None else "yes" if value >= 1 else "no"
        return "yes" if op else text
    if unit == "count":
        text = "-" if value is None else f"{value:.0f}"
    else:
        text = f"{_num(value)} {unit}"
    return f"{op} {text}" if op else text


def _table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h)
              for i, h in enumerate(header)]

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    sep = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(header), sep, *(line(r) for r in rows)])


def targets_table(checks: list[dict[str, Any]], fmt: Callable[..., str],
                  lead: Sequence[str] = (),
                  no_target: Callable[[dict[str, Any]], bool] | None = None) -> str:
    """The targets table: the `lead` fields of each check (e.g. "backend"), then check,
    value, target and result. `fmt(value, unit[, op])` writes a value and a target;
    `no_target(check)` true writes the target as "-"."""
    return _table([*lead, "check", "value", "target", "result"], [
        [*(c[k] for k in lead), c["check"], fmt(c["value"], c["unit"]),
         "-" if no_target and no_target(c) else fmt(c["target"], c["unit"], c["op"]),
         c["status"] + (" (info)" if c["informative"] else "")]
        for c in checks])


def render(results: dict[str, Any]) -> str:
    env = results["environment"]
    points = results["points"]
    out = ["# Queuarr benchmark", ""]
    pkgs = ", ".join(f"{k} {v}" for k, v in env["packages"].items())
    pg = env.get("postgres") or {}
    out += [
        f"- {env['when']} on {env['host']}: {env['cpu']}, {env['cpus']} CPUs, "
        f"Python {env['python']}; {env['idle_before_pct']:.0f} % idle before the run",
        f"- {pkgs}",
        (f"- PostgreSQL {pg.get('server_version', '?')} (shared_buffers "
         f"{pg.get('shared_buffers', '?')}, synchronous_commit "
         f"{pg.get('synchronous_commit', '?')}); " if pg else "- ")
        + f"SQLite {env['sqlite']}",
        f"- Load: {env['load_generator']} ({env['wrk']}); pinning: {env['pinning']}",
        f"- Each point: median of {env['repeats']} runs of {env['duration_s']:g} s; "
        f"saturated c={env['connections']['saturated']}, latency "
        f"c={env['connections']['latency']}, grabs c={env['connections']['grab']}",
        f"- Whole run: {results['elapsed_s']:.0f} s",
        "",
        "## Same-machine references",
        "",
    ]
    refs = [p for p in points if p["group"] == "ref"]
    out.append(_table(
        ["reference", "items", "conns", "req/s", "p50 ms", "p99 ms", "server CPU %",
         "CPU ms/req", "new PG conns", "other CPU %"],
        [[p["backend"], f"{p['size']:,}" if p["size"] else "-", str(p["conns"]),
          _num(p["rps"]), _num(p["p50_ms"]), _num(p["p99_ms"]), _pct(p["server_cpu_pct"]),
          _cpu_ms(p),
          "-" if p.get("pg_sessions") is None else str(p["pg_sessions"]),
          _pct(p["noise_pct"])] for p in refs]))
    out += ["", "## Queuarr (ratios against the bare FastAPI + asyncpg page, or insert for "
            "grabs, same items and "
            "connections)", ""]
    rows = []
    for p in (p for p in points if p["group"] == "queuarr"):
        bare = lite = None
        if p["endpoint"].startswith(("page 1", "last page")):
            bare = _find(points, "ref", "bare-pg", p["size"], "GET page 1", p["conns"])
            lite = _find(points, "ref", "bare-sqlite", p["size"], "GET page 1", p["conns"])
        elif p["endpoint"] == "POST grab":
            bare = _find(points, "ref", "bare-pg-insert", p["size"], "POST grab", p["conns"])
            lite = _find(points, "ref", "bare-sqlite-insert", p["size"], "POST grab",
                         p["conns"])
        rps_ratio = _num(ratio(p["rps"], bare and bare["rps"]))
        cpu_ratio = "-"
        if bare and _cpu_ms(bare) != "-" and _cpu_ms(p) != "-":
            cpu_ratio = _num(float(_cpu_ms(p)) / float(_cpu_ms(bare)))
        p99r = _num(ratio(p["p99_ms"], bare and bare["p99_ms"]))
        if p["backend"] == "sqlite" and lite:
            rps_ratio += f" (lite {_num(ratio(p['rps'], lite['rps']))})"
            p99r += f" (lite {_num(ratio(p['p99_ms'], lite['p99_ms']))})"
        rows.append([p["backend"], f"{p['size']:,}", p["endpoint"], str(p["conns"]),
                     _num(p["rps"]), rps_ratio, _num(p["p50_ms"]), _num(p["p99_ms"]), p99r,
                     str(p["errors"]), _pct(p["server_cpu_pct"]), _cpu_ms(p), cpu_ratio,
                     "-" if p.get("pg_sessions") is None else str(p["pg_sessions"]),
                     _pct(p["noise_pct"])])
    out.append(_table(["backend", "items", "endpoint", "conns", "req/s", "÷ bare req/s",
                       "p50 ms", "p99 ms", "÷ bare p99", "errors", "server CPU %",
                       "CPU ms/req", "÷ bare CPU/req", "new PG conns", "other CPU %"], rows))
    if results["memory"]:
        out += ["", "## Server memory (RSS, psutil: server process and children)", ""]
        out.append(_table(
            ["backend", "items", "at start MiB", "after runs MiB",
             "after pageSize=100000 MiB", "peak (VmHWM) MiB", "big GET"],
            [[m["backend"], f"{m['size']:,}", _num(m["rss_start_mib"], 0),
              _num(m["rss_after_runs_mib"], 0), _num(m["rss_after_big_get_mib"], 0),
              _num(m["peak_rss_mib"], 0),
              f"HTTP {m['big_get_status']}, {m['big_get_bytes'] / 2**20:.0f} MiB in "
              f"{m['big_get_seconds']:.1f} s"] for m in results["memory"]]))
    if results.get("compression"):
        out += ["", "## The whole queue in one GET, per Accept-Encoding (api.compression)", ""]
        plain = {(c["backend"], c["size"]): c for c in results["compression"]
                 if c["coding"] == "identity"}
        out.append(_table(
            ["backend", "items", "coding", "bytes", "÷ identity bytes", "server CPU ms",
             "÷ identity CPU", "seconds"],
            [[c["backend"], f"{c['size']:,}", c["coding"], f"{c['bytes']:,}",
              _num(ratio(c["bytes"], plain[c["backend"], c["size"]]["bytes"]), 3),
              _num(c["server_cpu_ms"], 0),
              _num(ratio(c["server_cpu_ms"], plain[c["backend"], c["size"]]["server_cpu_ms"])),
              _num(c["seconds"])] for c in results["compression"]]))
    out += grab_table(points)
    if results.get("grab_accounting"):
        out += ["", "## Grab accounting", ""]
        out.append(_table(
            ["backend", "items", "rows added", "201 answers counted", "queue_counter rows"],
            [[a["backend"], f"{a['size']:,}", str(a["rows_added"]), str(a["answered_201"]),
              "-" if a.get("counter_rows_after") is None else str(a["counter_rows_after"])]
             for a in results["grab_accounting"]]))
    out += ["", "## Targets (reference sections 0 and A5)", ""]
    out.append(targets_table(results["checks"], _fmt, lead=("backend",)))
    gating = [c for c in results["checks"] if not c["informative"]]
    failed = [c for c in gating if c["status"] == "FAIL"]
    names = sorted({f"{c['backend']}: {c['short']}" for c in failed})
    out += ["", f"**{len(gating) - len(failed)} of {len(gating)} targets pass**"
            + (f"; failing: {'; '.join(names)}" if failed else ".")]
    for prof in results.get("profiles", ()):
        out += ["", f"## Profile: {prof['backend']} {prof['size']:,} {prof['what']} "
                f"(c={prof['conns']}, {prof['samples']} py-spy samples, {prof['file']})", ""]
        self_rows = prof["self"][:10]
        incl_rows = prof["inclusive"][:10]
        n = max(len(self_rows), len(incl_rows))
        rows = [[self_rows[i][0] if i < len(self_rows) else "",
                 f"{self_rows[i][1]:.1f}" if i < len(self_rows) else "",
                 incl_rows[i][0] if i < len(incl_rows) else "",
                 f"{incl_rows[i][1]:.1f}" if i < len(incl_rows) else ""] for i in range(n)]
        out.append(_table(["self time (all code)", "%", "inclusive (Queuarr code)", "%"], rows))
        out.append(f"\nWorker threads (thread pool, aiosqlite) were running in "
                   f"{prof['thread_pct']:.1f} % of the samples; samples of idle worker "
                   "threads are left out. `Runner.run` self time is the event loop's C code "
                   "(uvloop I/O, httptools, asyncpg's protocol).")
    if results["notes"]:
        out += ["", "## Notes", "", *(f"- {n}" for n in results["notes"])]
    return "\n".join(out)


def grab_table(points: list[dict[str, Any]]) -> list[str]:
    """Queuarr's grab run beside the bare insert of the same backend (same run, wrk
    script, connections and pinning); CPU per grab is psutil's server CPU over the runs
    ÷ the 2xx answers."""
    rows = []
    for g in (p for p in points if p["group"] == "queuarr" and p["endpoint"] == "POST grab"):
        ref = INSERT_REFS.get(g["backend"], ("", ""))[0]
        b = _find(points, "ref", ref, g["size"], "POST grab", g["conns"])
        if b is None:
            continue
        qc, bc = g.get("cpu_ms_per_grab"), b.get("cpu_ms_per_grab")
        rows.append([g["backend"], f"{g['size']:,}", str(g["conns"]), ref, _num(g["rps"]),
                     _num(b["rps"]), _num(ratio(g["rps"], b["rps"])),
                     f"{_num(g['p50_ms'])} / {_num(b['p50_ms'])}",
                     f"{_num(g['p99_ms'])} / {_num(b['p99_ms'])}",
                     _num(ratio(g["p99_ms"], b["p99_ms"])), _num(qc), _num(bc),
                     _num(ratio(qc, bc))])
    if not rows:
        return []
    return ["", "## Grabs against a bare insert (Queuarr ÷ bare, same run)", "", _table(
        ["backend", "items", "conns", "bare", "grabs/s", "bare grabs/s", "÷ bare",
         "p50 ms (Q / bare)", "p99 ms (Q / bare)", "÷ bare p99", "CPU ms/grab",
         "bare CPU ms/grab", "÷ bare CPU"], rows)]


def _result_files(results: dict[str, Any], text: str, out: Path, prefix: str
                  ) -> tuple[Path, Path]:
    """<prefix>-<UTC time>.json and .md."""
    out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    js, md = out / f"{prefix}-{stamp}.json", out / f"{prefix}-{stamp}.md"
    js.write_text(json.dumps(results, indent=2, default=str))
    md.write_text(text + "\n")
    return js, md


def write(results: dict[str, Any], text: str, out: Path) -> tuple[Path, Path]:
    js, md = _result_files(results, text, out, "bench")
    (out / "latest.json").write_text(js.read_text())
    (out / "latest.md").write_text(text + "\n")
    return js, md


def checks_and_notes(results: dict[str, Any], problems_label: str) -> list[str]:
    """The closing lines of a section: how many gating targets pass, then the notes
    (with the first answers that were not as expected)."""
    gating = [c for c in results["checks"] if not c["informative"]]
    failed = [c for c in gating if c["status"] == "FAIL"]
    out = ["", f"**{len(gating) - len(failed)} of {len(gating)} targets pass**"
           + (f"; failing: {'; '.join(c['check'] for c in failed)}" if failed else ".")]
    notes = list(results["notes"])
    if results["problems"]:
        shown = results["problems"][:5]
        more = len(results["problems"]) - len(shown)
        notes.append(f"{problems_label}: " + "; ".join(shown)
                     + (f" (and {more} more)" if more > 0 else ""))
    if notes:
        out += ["", "### Notes", "", *(f"- {n}" for n in notes)]
    return out


def write_section(results: dict[str, Any], text: str, out: Path, prefix: str,
                  start: str, end: str) -> tuple[Path, Path, Path]:
    """<prefix>-<UTC time>.json and .md, and the section (between the `start` and `end`
    markers) appended to latest.md in place of an earlier one of the same benchmark."""
    js, md = _result_files(results, text, out, prefix)
    latest = out / "latest.md"
    old = latest.read_text() if latest.exists() else ""
    old = re.sub(re.escape(start) + r".*?" + re.escape(end) + r"\n?", "", old,
                 flags=re.S).rstrip("\n")
    latest.write_text((old + "\n\n" if old else "") + text + "\n")
    return js, md, latest


def publish(results: dict[str, Any], text: str,
            write: Callable[[dict[str, Any], str, Path], tuple[Path, Path, Path]],
            out: Path) -> None:
    """A section benchmark's last step: print its report, `write(results, text, out)` its
    files and say where."""
    print()
    print(text)
    js, md, latest = write(results, text, out)
    print(f"\nResults: {js} and {md} (section appended to {latest})")


def narrator(name: str) -> Callable[[str], None]:
    """Progress lines "[name  12.3 s] message", timed from this call."""
    started = time.monotonic()

    def say(message: str) -> None:
        print(f"[{name} {time.monotonic() - started:5.1f} s] {message}", flush=True)

    return say
