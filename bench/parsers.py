"""Release-title parsers compared on the golden corpus (tests/release/data/corpus.json).

`python -m bench.parsers [--loops N]` times, pinned to one CPU, `PttParser()` (pruned
handlers), `PttParser(full=True)`, the bare `PTT.parse_title` and `guessit.guessit`
(imported lazily; skipped, and said so, when missing): a warm-up, then N passes of the
corpus with `time.perf_counter`, best of 3. Accuracy is each one's hit rate on resolution,
source (with the remux flag), group, year and title (case-insensitive). Prints a Markdown
table (ratio: titles/s over the bare `PTT.parse_title` of the same run) and writes it to
`bench/results/parsers-<UTC time>.md`."""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import PTT

# The wrapper's own tables, so raw PTT is scored on the same terms as PttParser.
from infrastructure.release.parser import _RESOLUTIONS, _SOURCES, PttParser

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "release" / "data" / "corpus.json"
RESULTS = Path(__file__).resolve().parent / "results"
FIELDS = ("resolution", "source", "group", "year", "title")
REPEATS = 3

# guessit's `source` -> Radarr's QualitySource (webdl turns webrip when `other` says Rip).
GUESSIT_SOURCES = {
    "Blu-ray": "bluray", "Ultra HD Blu-ray": "bluray", "Web": "webdl", "HDTV": "tv",
    "Ultra HDTV": "tv", "TV": "tv", "Digital TV": "tv", "DVD": "dvd", "Camera": "cam",
    "HD Camera": "cam", "Telesync": "telesync", "HD Telesync": "telesync",
    "Telecine": "telecine", "HD Telecine": "telecine", "Workprint": "workprint",
}


@dataclass(frozen=True)
class Reading:
    """The fields scored, as one parser read a title."""

    resolution: int
    source: tuple[str, bool]  # (QualitySource, is a remux)
    group: str | None
    year: int | None
    title: str


@dataclass(frozen=True)
class Contender:
    name: str
    call: Callable[[str], Any]  # what is timed
    read: Callable[[str], Reading]  # what is scored


def _from_parsed(parser: PttParser) -> Callable[[str], Reading]:
    def read(title: str) -> Reading:
        p = parser.parse(title)
        return Reading(p.resolution, (p.source, p.modifier == "remux"), p.group, p.year,
                       p.title)
    return read


def _from_ptt(title: str) -> Reading:
    raw = PTT.parse_title(title)
    source, modifier = _SOURCES.get(raw.get("quality") or "", ("unknown", "none"))
    resolution = _RESOLUTIONS.get(str(raw.get("resolution") or "").lower(), 0)
    return Reading(resolution, (source, modifier == "remux"), raw.get("group"),
                   raw.get("year"), raw.get("title") or "")


def _from_guessit(guess: Callable[[str], dict[str, Any]]) -> Callable[[str], Reading]:
    def read(title: str) -> Reading:
        g = guess(title)
        other = g.get("other") or []
        other = [other] if isinstance(other, str) else list(other)
        source = GUESSIT_SOURCES.get(str(g.get("source") or ""), "unknown")
        if source == "webdl" and "Rip" in other:
            source = "webrip"
        size = str(g.get("screen_size") or "").lower()
        resolution = _RESOLUTIONS.get(size.replace("i", "p"), 0)
        year = g.get("year")
        return Reading(resolution, (source, "Remux" in other), g.get("release_group"),
                       int(year) if year else None, str(g.get("title") or ""))
    return read


def contenders() -> tuple[list[Contender], str | None]:
    pruned, full = PttParser(), PttParser(full=True)
    found = [
        Contender("PttParser() pruned", pruned.parse, _from_parsed(pruned)),
        Contender("PttParser(full=True)", full.parse, _from_parsed(full)),
        Contender("PTT.parse_title (bare)", PTT.parse_title, _from_ptt),
    ]
    try:
        from guessit import guessit  # lazily: an optional comparison, not a dependency
    except ImportError:
        return found, "guessit is not installed (`.venv/bin/pip install guessit`): skipped"
    found.append(Contender("guessit.guessit", guessit, _from_guessit(guessit)))
    return found, None


def pin_one_core() -> str:
    if not hasattr(os, "sched_setaffinity"):
        return "not pinned (no sched_setaffinity)"
    cpu = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpu})
    return f"pinned to CPU {cpu}"


def titles_per_second(call: Callable[[str], Any], titles: list[str], loops: int) -> float:
    for title in titles:  # warm-up: caches, lazily compiled patterns
        call(title)
    best = float("inf")
    for _ in range(REPEATS):
        gc.collect()
        start = time.perf_counter()
        for _ in range(loops):
            for title in titles:
                call(title)
        best = min(best, time.perf_counter() - start)
    return loops * len(titles) / best


def expected_reading(expected: dict[str, Any]) -> Reading:
    return Reading(expected["resolution"], (expected["source"],
                                            expected["modifier"] == "remux"),
                   expected["group"], expected["year"], expected["title"])


def hit_rates(read: Callable[[str], Reading], entries: list[dict[str, Any]]) -> dict[str, float]:
    hits = dict.fromkeys(FIELDS, 0)
    for entry in entries:
        got, want = read(entry["title"]), expected_reading(entry["expected"])
        for name in FIELDS:
            a, b = getattr(got, name), getattr(want, name)
            if name == "title":
                a, b = a.casefold(), b.casefold()
            hits[name] += a == b
    return {name: hits[name] / len(entries) for name in FIELDS}


def _version(package: str) -> str:
    try:
        return version(package)
    except PackageNotFoundError:
        return "not installed"


def main(argv: list[str] | None = None) -> int:
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args.add_argument("--loops", type=int, default=5, help="corpus passes per timed run")
    opts = args.parse_args(argv)
    entries = json.loads(CORPUS.read_text(encoding="utf-8"))["entries"]
    titles = [entry["title"] for entry in entries]
    pinned = pin_one_core()
    found, missing = contenders()

    rows = []
    for c in found:
        print(f"timing {c.name} ...", flush=True)
        rows.append((c, titles_per_second(c.call, titles, opts.loops), hit_rates(c.read, entries)))
    bare = next(rate for c, rate, _ in rows if c.name.startswith("PTT.parse_title"))

    now = datetime.now(UTC)
    lines = [
        f"# Release-title parsers ({now:%Y-%m-%d %H:%M} UTC)", "",
        f"{len(titles)} corpus titles, {opts.loops} passes per run, best of {REPEATS}, "
        f"{pinned}; Python {platform.python_version()}, parsett {_version('parsett')}, "
        f"guessit {_version('guessit')}. Hit rates are against "
        "tests/release/data/corpus.json (source counts the remux flag; title ignores case).",
        "",
        "| parser | titles/s | vs bare PTT | " + " | ".join(FIELDS) + " |",
        "|---|--:|--:|" + "--:|" * len(FIELDS),
    ]
    for c, rate, hits in rows:
        cells = " | ".join(f"{hits[name]:.1%}" for name in FIELDS)
        lines.append(f"| {c.name} | {rate:,.0f} | {rate / bare:.2f} | {cells} |")
    if missing:
        lines += ["", missing]
    report = "\n".join(lines) + "\n"
    print()
    print(report)
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"parsers-{now:%Y%m%dT%H%M%SZ}.md"
    path.write_text(report, encoding="utf-8")
    print(f"written to {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
