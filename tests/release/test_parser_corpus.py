"""The release parser against the golden corpus (tests/release/data/corpus.json): every
expected field of every title, except the few recorded as known misses; what the corpus
covers; the pruned parser against PTT's full one; and titles that are not titles."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from core.release import ParsedRelease
from infrastructure.release.parser import PttParser

CORPUS_PATH = Path(__file__).parent / "data" / "corpus.json"
CORPUS: list[dict[str, Any]] = json.loads(CORPUS_PATH.read_text(encoding="utf-8"))["entries"]
FIELDS = ("title", "year", "quality", "resolution", "source", "modifier", "group", "proper",
          "repack", "version", "languages", "edition", "codec", "recognised")
# What the pruning must not change (tests the docstring of infrastructure.release.parser).
AGREEMENT_FIELDS = ("title", "year", "resolution", "source", "modifier", "codec", "group",
                    "proper", "repack", "edition", "languages")


@pytest.fixture(scope="module")
def pruned() -> PttParser:
    return PttParser()


@pytest.fixture(scope="module")
def full() -> PttParser:
    return PttParser(full=True)


def field_of(parsed: ParsedRelease, name: str) -> Any:
    if name == "quality":
        return parsed.quality.quality.name
    if name == "languages":  # the order a title names its languages in means nothing
        return sorted(language.name for language in parsed.languages)
    return getattr(parsed, name)


def expected_of(entry: dict[str, Any], name: str) -> Any:
    if name == "recognised":  # a title is a movie to Radarr's parser unless said otherwise
        return entry["expected"].get(name, True)
    value = entry["expected"][name]
    return sorted(value) if name == "languages" else value


@pytest.mark.parametrize("entry", CORPUS, ids=[entry["title"] for entry in CORPUS])
def test_each_corpus_title_parses_to_what_radarr_calls_correct(
        entry: dict[str, Any], pruned: PttParser) -> None:
    parsed = pruned.parse(entry["title"])
    checked = [name for name in FIELDS if name not in entry.get("known_miss", ())]

    got = {name: field_of(parsed, name) for name in checked}
    want = {name: expected_of(entry, name) for name in checked}

    assert got == want


def test_the_corpus_is_large_and_covers_every_kind_of_release() -> None:
    expected = [entry["expected"] for entry in CORPUS]
    qualities = {e["quality"] for e in expected}
    kinds = {
        "remux": any(e["modifier"] == "remux" for e in expected),
        "remux 1080p and 2160p": {"Remux-1080p", "Remux-2160p"} <= qualities,
        "webdl": any(e["source"] == "webdl" for e in expected),
        "webrip": any(e["source"] == "webrip" for e in expected),
        "hdtv": any(e["source"] == "tv" for e in expected),
        "bluray": any(e["source"] == "bluray" and e["modifier"] == "none" for e in expected),
        "dvd": "DVD" in qualities,
        "cam": "CAM" in qualities,
        "telesync": "TELESYNC" in qualities,
        "brdisk": "BR-DISK" in qualities,
        "2160p": any(e["resolution"] == 2160 for e in expected),
        "480p/576p": any(e["resolution"] in (480, 576) for e in expected),
        "repack": any(e["repack"] for e in expected),
        "proper": any(e["proper"] for e in expected),
        "non-English": any(e["languages"] != ["English"] for e in expected),
        "anime": any(entry["title"].startswith("[") for entry in CORPUS),
    }
    misses = [entry for entry in CORPUS if entry.get("known_miss")]

    assert len(CORPUS) >= 80
    assert [kind for kind, covered in kinds.items() if not covered] == []
    assert len({entry["title"] for entry in CORPUS}) == len(CORPUS)
    assert all(set(FIELDS) - {"recognised"} <= set(entry["expected"]) <= set(FIELDS)
               for entry in CORPUS)
    # titles Radarr's parser finds no movie in (a push of them is refused) are covered too
    assert any(not expected_of(entry, "recognised") for entry in CORPUS)
    # known misses stay few, each explained and naming real fields
    assert len(misses) <= len(CORPUS) // 10
    assert all(entry.get("note") and set(entry["known_miss"]) <= set(FIELDS)
               for entry in misses)


def test_the_pruned_parser_reads_every_corpus_title_as_the_full_ptt_parser_does(
        pruned: PttParser, full: PttParser) -> None:
    disagreements = []
    for entry in CORPUS:
        title, allowed = entry["title"], set(entry.get("full_parser_differs", ()))
        ours, theirs = pruned.parse(title), full.parse(title)
        for name in AGREEMENT_FIELDS:
            mine, its = field_of(ours, name), field_of(theirs, name)
            if name in allowed:
                # a recorded difference: pruning must be what makes this field right
                assert entry.get("full_parser_note"), title
                assert mine == expected_of(entry, name), (title, name, mine)
            elif mine != its:
                disagreements.append((title, name, mine, its))

    assert disagreements == []


@pytest.mark.parametrize("title", ["", "???", "x" * 5000],
                         ids=["empty", "question marks", "5000 x"])
@pytest.mark.parametrize("full_parser", [False, True], ids=["pruned", "full"])
def test_a_title_that_is_not_a_release_parses_without_raising_to_unknown_quality(
        title: str, full_parser: bool) -> None:
    parsed = PttParser(full=full_parser).parse(title)

    assert parsed.quality.quality.name == "Unknown"
    assert parsed.resolution == 0
    assert parsed.source == "unknown"
