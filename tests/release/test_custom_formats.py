"""Custom formats matched as Radarr matches them, with the real parser (PttParser) and the
real pattern compiler (RegexPatterns): specifications grouped by implementation, OR within
a group, AND across groups, `required` and `negate`, every implementation type, compile
errors, the match time limit, and TRaSH/Radarr custom-format JSON files."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from core.domain import DownloadProtocol
from core.errors import BadRequest
from core.formats import (
    BUILDERS,
    GIB,
    Candidate,
    CompiledFormat,
    CustomFormat,
    Specification,
    compile_formats,
    matching,
)
from core.profiles import FormatScore, QualityProfile, all_qualities
from core.quality import QUALITIES
from core.release import INDEXER_FLAGS, ParsedRelease, Release
from infrastructure.release.parser import PttParser
from infrastructure.release.patterns import RegexPatterns

TRASH_DIR = Path(__file__).parent / "data" / "trash"
PARSER = PttParser()


# -- helpers ---------------------------------------------------------------------------


def field_map(fields: Mapping[str, Any] | Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """A specification's fields as core wants them: TRaSH writes {name: value}, Radarr's
    API a list of {"name": ..., "value": ..., "label": ...}."""
    if isinstance(fields, Mapping):
        return dict(fields)
    return {f["name"]: f.get("value") for f in fields}


def to_format(raw: Mapping[str, Any], format_id: int) -> CustomFormat:
    """A TRaSH or Radarr custom-format JSON document as a core CustomFormat."""
    return CustomFormat(
        id=format_id,
        name=raw["name"],
        specifications=tuple(
            Specification(
                name=s.get("name", ""),
                implementation=s["implementation"],
                negate=bool(s.get("negate", False)),
                required=bool(s.get("required", False)),
                fields=field_map(s.get("fields", {})),
            )
            for s in raw.get("specifications", ())
        ),
        include_when_renaming=bool(raw.get("includeCustomFormatWhenRenaming", False)),
    )


@cache
def trash_raw(file_name: str) -> dict[str, Any]:
    raw: dict[str, Any] = json.loads((TRASH_DIR / file_name).read_text(encoding="utf-8"))
    return raw


def trash(file_name: str, format_id: int = 1) -> CompiledFormat:
    return CompiledFormat(to_format(trash_raw(file_name), format_id), RegexPatterns())


@cache
def parse(title: str) -> ParsedRelease:
    return PARSER.parse(title)


def cand(title: str = "Dune.2021.1080p.BluRay.x264-SPARKS", **release: Any) -> Candidate:
    return Candidate(Release(title=title, **release), parse(title))


def spec(implementation: str, name: str | None = None, *, negate: bool = False,
         required: bool = False, **fields: Any) -> Specification:
    return Specification(name or implementation, implementation, negate, required, fields)


def title_spec(pattern: str, name: str | None = None, **flags: bool) -> Specification:
    return spec("ReleaseTitleSpecification", name or pattern, value=pattern, **flags)


def group_spec(pattern: str, name: str | None = None, **flags: bool) -> Specification:
    return spec("ReleaseGroupSpecification", name or pattern, value=pattern, **flags)


def fmt(*specs: Specification, patterns: RegexPatterns | None = None) -> CompiledFormat:
    return CompiledFormat(CustomFormat(1, "test", specs), patterns or RegexPatterns())


def applies(compiled: CompiledFormat, candidate: Candidate) -> bool:
    return compiled.match(candidate) is not None


# -- the TRaSH BR-DISK pattern needs the `regex` module --------------------------------


def br_disk_pattern() -> str:
    (title,) = (s for s in trash_raw("br-disk.json")["specifications"]
                if s["implementation"] == "ReleaseTitleSpecification")
    value: str = title["fields"]["value"]
    return value


def test_the_br_disk_pattern_has_a_variable_width_look_behind_that_python_re_refuses() -> None:
    pattern = br_disk_pattern()
    assert "(?<!HD[._ -]|HD)" in pattern
    with pytest.raises(re.error, match="look-behind requires fixed-width pattern"):
        re.compile(pattern)


def test_regex_patterns_compile_the_variable_width_look_behind() -> None:
    matches = RegexPatterns().compile(br_disk_pattern())
    # "HD-DVD" is let through by the look-behind, a plain "DVD" is excluded by it.
    assert matches("The.Matrix.1999.HD-DVD.VC-1.1080p-GRP")
    assert not matches("The.Matrix.1999.DVD.MPEG-2-GRP")


# -- grouping: OR within a type, AND across types, required, negate ---------------------


def test_specifications_of_one_type_are_ored() -> None:
    f = fmt(group_spec("^FLUX$"), group_spec("^NTb$"))
    assert applies(f, cand("Dune.2021.1080p.WEB-DL.DDP5.1.H.264-FLUX"))
    assert applies(f, cand("Dune.2021.1080p.WEB-DL.DDP5.1.H.264-NTb"))
    assert not applies(f, cand("Dune.2021.1080p.WEB-DL.DDP5.1.H.264-RANDOMGRP"))


def test_groups_of_different_types_are_anded() -> None:
    f = fmt(group_spec("^FLUX$"), spec("ResolutionSpecification", value=2160))
    assert applies(f, cand("Dune.2021.2160p.WEB-DL.DDP5.1.HDR.H.265-FLUX"))
    assert not applies(f, cand("Dune.2021.1080p.WEB-DL.DDP5.1.H.264-FLUX"))
    assert not applies(f, cand("Dune.2021.2160p.WEB-DL.x265.HDR-GROUP"))


def test_a_failing_required_spec_fails_its_group_even_when_another_spec_matched() -> None:
    f = fmt(title_spec(r"\bBluRay\b"), title_spec(r"\bx265\b", required=True))
    assert applies(f, cand("Dune.2021.1080p.BluRay.x265.10bit-GRP"))
    # BluRay matched, but the required x265 did not: the group, so the format, fails.
    match = fmt(title_spec(r"\bBluRay\b"), title_spec(r"\bx265\b", required=True)).match(
        cand("Dune.2021.1080p.BluRay.x264-GRP"))
    assert match is None


def test_a_group_with_only_non_required_specs_needs_one_match() -> None:
    f = fmt(title_spec(r"\bHDR\b"), title_spec(r"\bDV\b"))
    assert not applies(f, cand("Dune.2021.1080p.BluRay.x264-GRP"))


def test_a_required_spec_that_matches_is_enough_for_its_group() -> None:
    f = fmt(title_spec(r"\bBluRay\b", required=True), title_spec(r"\bHDR\b"))
    assert applies(f, cand("Dune.2021.1080p.BluRay.x264-GRP"))


def test_negate_flips_one_spec_and_leaves_the_others_alone() -> None:
    f = fmt(title_spec(r"\bx264\b", negate=True), title_spec(r"\bREMUX\b"))
    assert applies(f, cand("Dune.2021.1080p.BluRay.x265.10bit-GRP"))  # not x264
    # x264 and REMUX: the negated spec fails but REMUX (not negated) matches.
    assert applies(f, cand("Dune.2021.1080p.BluRay.x264.REMUX-GRP"))
    assert not applies(f, cand("Dune.2021.1080p.BluRay.x264-GRP"))


def test_negate_and_required_together_forbid_the_pattern() -> None:
    f = fmt(title_spec(r"\bBluRay\b"), title_spec(r"\bx264\b", negate=True, required=True))
    assert applies(f, cand("Dune.2021.1080p.BluRay.x265.10bit-GRP"))
    assert not applies(f, cand("Dune.2021.1080p.BluRay.x264-GRP"))
    # No BluRay, but "not x264" holds (H.264 is not x264): a satisfied negated spec is a
    # match like any other, so the group matches.
    assert applies(f, cand("Dune.2021.1080p.WEB-DL.DDP5.1.H.264-FLUX"))


def test_the_match_names_the_specs_that_matched_after_negation() -> None:
    f = fmt(title_spec(r"\bBluRay\b", "bluray"), title_spec(r"\bx264\b", "not x264",
                                                             negate=True),
            group_spec("^GRP$", "grp"))
    match = f.match(cand("Dune.2021.1080p.BluRay.x265.10bit-GRP"))
    assert match is not None
    assert match.matched == ("bluray", "not x264", "grp")


def test_a_format_without_specifications_applies_to_everything() -> None:
    f = fmt()
    for title in ("Dune.2021.1080p.BluRay.x264-SPARKS", "Dune.2021.HDCAM.x264-GROUP",
                  "complete garbage", "x"):
        match = f.match(cand(title))
        assert match is not None
        assert match.matched == ()


def test_matching_keeps_the_formats_in_the_order_given() -> None:
    formats = compile_formats([
        CustomFormat(3, "c", (title_spec("x264"),)),
        CustomFormat(1, "a", ()),
        CustomFormat(2, "b", (title_spec("HEVC"),)),
    ], RegexPatterns())
    hits = matching(formats, cand("Dune.2021.1080p.BluRay.x264-SPARKS"))
    assert [h.format.name for h in hits] == ["c", "a"]


# -- each implementation type ----------------------------------------------------------


def test_size_is_greater_than_min_and_at_most_max_in_gib() -> None:
    f = fmt(spec("SizeSpecification", min=1, max=2))
    assert not applies(f, cand(size=1 * GIB))  # exactly min: no
    assert applies(f, cand(size=1 * GIB + 1))
    assert applies(f, cand(size=2 * GIB))  # exactly max: yes
    assert not applies(f, cand(size=2 * GIB + 1))
    assert not applies(f, cand(size=0))


def test_size_bounds_may_be_fractional_gib() -> None:
    f = fmt(spec("SizeSpecification", min=0, max=0.5))
    assert applies(f, cand(size=GIB // 2))
    assert not applies(f, cand(size=GIB // 2 + 1))
    assert not applies(f, cand(size=0))  # 0 is not > 0


def test_patterns_are_case_insensitive() -> None:
    f = fmt(title_spec(r"\bbluray\b"), group_spec("^framestor$"))
    assert applies(f, cand("Dune.2021.1080p.BLURAY.REMUX.AVC.DTS-HD.MA.5.1-FraMeSToR"))
    g = fmt(title_spec(r"\bREMUX\b"))
    assert applies(g, cand("dune.2021.1080p.bluray.remux.avc-framestor"))


def test_release_group_without_a_parsed_group_matches_only_when_negated() -> None:
    no_group = cand("Dune.2021.1080p.BluRay.x264")
    assert parse(no_group.release.title).group is None
    assert not applies(fmt(group_spec(".*")), no_group)
    assert not applies(fmt(group_spec("^$")), no_group)
    assert applies(fmt(group_spec("^YIFY$", negate=True)), no_group)
    assert applies(fmt(group_spec(".*", negate=True)), no_group)


def test_edition_without_a_parsed_edition_matches_only_when_negated() -> None:
    edition = spec("EditionSpecification", value=r"Director'?s")
    assert applies(fmt(edition), cand("Alien.1979.Directors.Cut.1080p.BluRay.x264-GRP"))
    plain = cand("Alien.1979.1080p.BluRay.x264-GRP")
    assert parse(plain.release.title).edition is None
    assert not applies(fmt(edition), plain)
    assert applies(fmt(spec("EditionSpecification", value=".*", negate=True)), plain)


def test_language_matches_a_parsed_language() -> None:
    french = fmt(spec("LanguageSpecification", value=2))
    assert applies(french, cand("Amelie.2001.FRENCH.1080p.BluRay.x264-LOST"))
    assert applies(french, cand("Amelie.2001.FRENCH.ENGLISH.1080p.BluRay.x264-LOST"))
    assert not applies(french, cand("Amelie.2001.1080p.BluRay.x264-LOST"))


def test_language_with_except_language_matches_any_other_language() -> None:
    not_english = fmt(spec("LanguageSpecification", value=1, exceptLanguage=True))
    assert applies(not_english, cand("Amelie.2001.FRENCH.1080p.BluRay.x264-LOST"))
    # English and French: French is a language other than English.
    assert applies(not_english, cand("Amelie.2001.FRENCH.ENGLISH.1080p.BluRay.x264-LOST"))
    assert not applies(not_english, cand("Amelie.2001.ENGLISH.1080p.BluRay.x264-LOST"))
    # exceptLanguage false is the plain spec.
    plain = fmt(spec("LanguageSpecification", value=1, exceptLanguage=False))
    assert applies(plain, cand("Amelie.2001.ENGLISH.1080p.BluRay.x264-LOST"))
    assert not applies(plain, cand("Amelie.2001.FRENCH.1080p.BluRay.x264-LOST"))


def test_a_title_that_names_no_language_is_read_in_the_original_language() -> None:
    # Radarr reads it in the movie's original language; Queuarr does not know the movie
    # and takes QUEUARR_ORIGINAL_LANGUAGE (English unless set), while the parsed
    # languages stay Unknown (what the queue shows).
    title = "Amelie.2001.1080p.BluRay.x264-LOST"
    unnamed = cand(title)
    assert [lang.id for lang in parse(title).languages] == [0]
    english = fmt(spec("LanguageSpecification", value=1))
    not_english = fmt(spec("LanguageSpecification", value=1, exceptLanguage=True))
    assert applies(english, unnamed)
    assert not applies(not_english, unnamed)
    assert not applies(fmt(spec("LanguageSpecification", value=1, negate=True)), unnamed)
    in_french = Candidate(Release(title=title), parse(title), original_language=2)
    assert not applies(english, in_french)
    assert applies(not_english, in_french)
    assert applies(fmt(spec("LanguageSpecification", value=2)), in_french)


def test_language_original_is_the_original_language() -> None:
    original = fmt(spec("LanguageSpecification", value=-2))
    assert applies(original, cand("Amelie.2001.1080p.BluRay.x264-LOST"))
    assert applies(original, cand("Amelie.2001.ENGLISH.1080p.BluRay.x264-LOST"))
    assert not applies(original, cand("Amelie.2001.FRENCH.1080p.BluRay.x264-LOST"))
    title = "Amelie.2001.FRENCH.1080p.BluRay.x264-LOST"
    assert applies(original, Candidate(Release(title=title), parse(title),
                                       original_language=2))
    except_original = fmt(spec("LanguageSpecification", value=-2, exceptLanguage=True))
    assert not applies(except_original, cand("Amelie.2001.1080p.BluRay.x264-LOST"))
    assert applies(except_original, cand("Amelie.2001.FRENCH.1080p.BluRay.x264-LOST"))


def test_language_any_matches_everything_unless_excepted() -> None:
    titles = ("Amelie.2001.1080p.BluRay.x264-LOST", "Amelie.2001.FRENCH.1080p.BluRay.x264-LOST")
    for title in titles:
        assert applies(fmt(spec("LanguageSpecification", value=-1)), cand(title))
        assert not applies(fmt(spec("LanguageSpecification", value=-1, exceptLanguage=True)),
                           cand(title))


def test_year_range_is_inclusive_at_both_ends() -> None:
    nineties = fmt(spec("YearSpecification", min=1990, max=1999))
    assert not applies(nineties, cand("Heat.1989.1080p.BluRay.x264-GRP"))
    assert applies(nineties, cand("Heat.1990.1080p.BluRay.x264-GRP"))
    assert applies(nineties, cand("The.Matrix.1999.1080p.BluRay.x264-SPARKS"))
    assert not applies(nineties, cand("Heat.2000.1080p.BluRay.x264-GRP"))
    one_year = fmt(spec("YearSpecification", min=1999, max=1999))
    assert applies(one_year, cand("The.Matrix.1999.1080p.BluRay.x264-SPARKS"))


def test_indexer_flag_is_a_bit_test() -> None:
    freeleech = fmt(spec("IndexerFlagSpecification", value=INDEXER_FLAGS["G_Freeleech"]))
    assert applies(freeleech, cand(indexer_flags=1))
    assert applies(freeleech, cand(indexer_flags=1 | 8 | 256))
    assert not applies(freeleech, cand(indexer_flags=256))
    assert not applies(freeleech, cand(indexer_flags=0))
    golden = fmt(spec("IndexerFlagSpecification", value=INDEXER_FLAGS["PTP_Golden"]))
    assert applies(golden, cand(indexer_flags=8 | 16))
    assert not applies(golden, cand(indexer_flags=16))


def test_indexer_by_name_ignores_case_and_blanks() -> None:
    f = fmt(spec("IndexerSpecification", value="BeyondHD"))
    assert applies(f, cand(indexer="beyondhd"))
    assert applies(f, cand(indexer=" BeyondHD "))
    assert not applies(f, cand(indexer="BeyondHD (Prowlarr)"))
    assert not applies(f, cand(indexer=None))


def test_indexer_by_id() -> None:
    f = fmt(spec("IndexerSpecification", value=7))
    assert applies(f, cand(indexer="x", indexer_id=7))
    assert not applies(f, cand(indexer="7", indexer_id=8))


def test_download_protocol() -> None:
    torrent = fmt(spec("DownloadProtocolSpecification", value=int(DownloadProtocol.TORRENT)))
    assert applies(torrent, cand(protocol=DownloadProtocol.TORRENT))
    assert not applies(torrent, cand(protocol=DownloadProtocol.USENET))


def test_source_modifier_and_resolution_read_the_parsed_quality() -> None:
    remux = cand("Dune.2021.1080p.BluRay.REMUX.AVC.DTS-HD.MA.5.1-EPSiLON")
    webdl = cand("Dune.2021.1080p.WEB-DL.DDP5.1.H.264-FLUX")
    bluray = fmt(spec("SourceSpecification", value=9))
    assert applies(bluray, remux)
    assert not applies(bluray, webdl)
    assert applies(fmt(spec("SourceSpecification", value=7)), webdl)
    is_remux = fmt(spec("QualityModifierSpecification", value=5))
    assert applies(is_remux, remux)
    assert not applies(is_remux, cand("Dune.2021.1080p.BluRay.x264-SPARKS"))
    p1080 = fmt(spec("ResolutionSpecification", value=1080))
    assert applies(p1080, remux)
    assert not applies(p1080, cand("Dune.2021.2160p.WEB-DL.x265.HDR-GROUP"))


# One matching and one non-matching case for every implementation Queuarr knows.
IMPLEMENTATIONS: dict[str, tuple[dict[str, Any], Candidate, Candidate]] = {
    "ReleaseTitleSpecification": (
        {"value": r"\bx265\b"}, cand("Dune.2021.1080p.BluRay.x265.10bit-GRP"),
        cand("Dune.2021.1080p.BluRay.x264-GRP")),
    "ReleaseGroupSpecification": (
        {"value": "^SPARKS$"}, cand("Dune.2021.1080p.BluRay.x264-SPARKS"),
        cand("Dune.2021.1080p.BluRay.x264-GRP")),
    "EditionSpecification": (
        {"value": "Extended"}, cand("Dune.2021.EXTENDED.1080p.BluRay.x264-SPARKS"),
        cand("Dune.2021.1080p.BluRay.x264-SPARKS")),
    "ResolutionSpecification": (
        {"value": 720}, cand("Heat.1995.720p.HDTV.x264-GROUP"),
        cand("Heat.1995.1080p.BluRay.x264-GROUP")),
    "SourceSpecification": (
        {"value": 6}, cand("Heat.1995.720p.HDTV.x264-GROUP"),
        cand("Heat.1995.720p.BluRay.x264-GROUP")),
    "QualityModifierSpecification": (
        {"value": 4}, cand("The.Matrix.1999.COMPLETE.BLURAY-GROUP"),
        cand("The.Matrix.1999.1080p.BluRay.x264-SPARKS")),
    "SizeSpecification": (
        {"min": 10, "max": 20}, cand(size=15 * GIB), cand(size=5 * GIB)),
    "IndexerFlagSpecification": (
        {"value": 256}, cand(indexer_flags=256), cand(indexer_flags=1)),
    "LanguageSpecification": (
        {"value": 4}, cand("Das.Boot.1981.GERMAN.DL.1080p.BluRay.x264-GRP"),
        cand("Das.Boot.1981.1080p.BluRay.x264-GRP")),
    "YearSpecification": (
        {"min": 1980, "max": 1989}, cand("Das.Boot.1981.1080p.BluRay.x264-GRP"),
        cand("Heat.1995.1080p.BluRay.x264-GROUP")),
    "IndexerSpecification": (
        {"value": "FileList"}, cand(indexer="FileList"), cand(indexer="Other")),
    "DownloadProtocolSpecification": (
        {"value": 1}, cand(protocol=DownloadProtocol.USENET),
        cand(protocol=DownloadProtocol.TORRENT)),
}


def test_every_implementation_has_a_case() -> None:
    assert set(IMPLEMENTATIONS) == set(BUILDERS)


@pytest.mark.parametrize("implementation", sorted(IMPLEMENTATIONS))
def test_each_implementation_matches_and_negates(implementation: str) -> None:
    fields, yes, no = IMPLEMENTATIONS[implementation]
    plain = fmt(Specification("s", implementation, fields=fields))
    negated = fmt(Specification("s", implementation, negate=True, fields=fields))
    assert applies(plain, yes)
    assert not applies(plain, no)
    assert not applies(negated, yes)
    assert applies(negated, no)


# -- compile errors --------------------------------------------------------------------


@pytest.mark.parametrize("pattern", ["(unclosed", "[z-a]", "x{2,1}", "*x", "(?<name"])
def test_an_invalid_regular_expression_is_a_bad_request_at_compile(pattern: str) -> None:
    with pytest.raises(BadRequest, match="invalid regular expression"):
        fmt(title_spec(pattern))


@pytest.mark.parametrize("value", ["", None, 5])
def test_a_missing_or_non_text_pattern_is_a_bad_request(value: object) -> None:
    with pytest.raises(BadRequest):
        fmt(Specification("s", "ReleaseTitleSpecification", fields={"value": value}))


def test_an_unknown_implementation_is_a_bad_request_at_compile() -> None:
    with pytest.raises(BadRequest, match="unknown implementation 'ReleaseTypeSpecification'"):
        fmt(Specification("s", "ReleaseTypeSpecification", fields={"value": 1}))


@pytest.mark.parametrize(("implementation", "fields", "message"), [
    ("SizeSpecification", {"min": 1}, "needs the field 'max'"),
    ("SizeSpecification", {"min": "big", "max": 2}, "must be a number"),
    ("YearSpecification", {"min": 1990, "max": None}, "needs the field 'max'"),
    ("ResolutionSpecification", {}, "needs the field 'value'"),
    ("SourceSpecification", {"value": 42}, "unknown source"),
    ("QualityModifierSpecification", {"value": 9}, "unknown quality modifier"),
    ("LanguageSpecification", {"value": 999}, "unknown language"),
])
def test_bad_fields_are_a_bad_request_at_compile(implementation: str,
                                                 fields: dict[str, Any],
                                                 message: str) -> None:
    with pytest.raises(BadRequest, match=message):
        fmt(Specification("s", implementation, fields=fields))


# -- the match time limit --------------------------------------------------------------


def test_a_catastrophic_pattern_runs_out_of_time_and_counts_as_no_match() -> None:
    patterns = RegexPatterns(timeout=0.01)
    slow = patterns.compile(r"(x+x+)+y")
    assert slow("x" * 3000) is False
    assert patterns.timeouts == 1
    assert slow("xxy") is True  # a quick input still matches
    assert patterns.timeouts == 1


def test_a_timed_out_spec_fails_its_format_and_a_negated_one_matches() -> None:
    patterns = RegexPatterns(timeout=0.01)
    title = "x" * 3000
    assert fmt(title_spec(r"(x+x+)+y"), patterns=patterns).match(cand(title)) is None
    assert patterns.timeouts == 1
    # Radarr's negate flips whatever the spec answered; a timeout answers False.
    assert applies(fmt(title_spec(r"(x+x+)+y", negate=True), patterns=patterns), cand(title))
    assert patterns.timeouts == 2


# -- TRaSH / Radarr JSON files ---------------------------------------------------------


def test_every_trash_file_imports_and_compiles() -> None:
    files = sorted(TRASH_DIR.glob("*.json"))
    assert 6 <= len(files) <= 8
    implementations: set[str] = set()
    for index, path in enumerate(files, start=1):
        raw = trash_raw(path.name)
        f = to_format(raw, index)
        assert f.name == raw["name"]
        assert len(f.specifications) == len(raw["specifications"])
        assert all(isinstance(s.fields, dict) for s in f.specifications)
        CompiledFormat(f, RegexPatterns())
        implementations |= {s.implementation for s in f.specifications}
    assert len(implementations) >= 8


def test_radarr_list_fields_become_a_mapping() -> None:
    f = to_format(trash_raw("classic-editions-api.json"), 12)
    edition, year = f.specifications
    assert edition.fields == {"value": "Director'?s|Extended|Final[ ._-]?Cut"}
    assert year.fields == {"min": 1970, "max": 1999}
    assert f.include_when_renaming is True


TRASH_CASES: list[tuple[str, str, bool]] = [
    # BR-DISK: a disc is matched, an encode of one is not; a WEB-DL never is.
    ("br-disk.json", "The.Matrix.1999.COMPLETE.BLURAY-GROUP", True),
    ("br-disk.json", "The.Matrix.1999.1080p.BluRay.AVC.DTS-HD.MA.5.1-FGT", True),
    ("br-disk.json", "Dune.2021.2160p.UHD.BluRay.HEVC.TrueHD-GRP", True),
    ("br-disk.json", "The.Matrix.1999.HD-DVD.VC-1.1080p-GRP", True),
    ("br-disk.json", "The.Matrix.1999.1080p.BluRay.x264-SPARKS", False),
    ("br-disk.json", "Dune.2021.1080p.BluRay.REMUX.AVC.DTS-HD.MA.5.1-EPSiLON", False),
    ("br-disk.json", "The.Matrix.1999.DVD.MPEG-2-GRP", False),
    # Title pattern matches (AVC, a "BD" group) but the source is WEB-DL.
    ("br-disk.json", "The.Matrix.1999.1080p.WEB-DL.AVC.DDP5.1-BD", False),
    # LQ groups: any of them, in any case; no group, no match.
    ("lq-groups.json", "Dune.2021.1080p.BluRay.x265-YIFY", True),
    ("lq-groups.json", "Dune.2021.1080p.BluRay.x264-yify", True),
    ("lq-groups.json", "Dune.2021.720p.BluRay.x264-aXXo", True),
    ("lq-groups.json", "Dune.2021.720p.BluRay.x264-YTS.MX", True),
    ("lq-groups.json", "Dune.2021.1080p.BluRay.x264-SPARKS", False),
    ("lq-groups.json", "Dune.2021.1080p.BluRay.x264", False),
    # Remux tier: one of the groups AND a remux.
    ("remux-tier-01.json", "Dune.2021.1080p.BluRay.REMUX.AVC.DTS-HD.MA.5.1-EPSiLON", True),
    ("remux-tier-01.json", "Dune.2021.2160p.UHD.BluRay.REMUX.HDR.HEVC.TrueHD.Atmos-FraMeSToR",
     True),
    ("remux-tier-01.json", "Heat.1995.1080p.BluRay.REMUX.AVC.DTS-HD.MA.5.1-BLURANiUM", True),
    ("remux-tier-01.json", "Dune.2021.1080p.BluRay.x264-FraMeSToR", False),
    ("remux-tier-01.json", "Dune.2021.1080p.BluRay.REMUX.AVC.DTS-HD.MA.5.1-UnknownGrp", False),
    # Not English: a negated language spec.
    ("not-english.json", "Amelie.2001.FRENCH.1080p.BluRay.x264-LOST", True),
    ("not-english.json", "Parasite.2019.KOREAN.1080p.BluRay.x265-GRP", True),
    ("not-english.json", "Amelie.2001.FRENCH.ENGLISH.1080p.BluRay.x264-LOST", False),
    ("not-english.json", "The.Matrix.1999.ENGLISH.1080p.BluRay.x264-SPARKS", False),
    # No language named: read in the original language (QUEUARR_ORIGINAL_LANGUAGE,
    # English), as Radarr reads it in the movie's: English for The Matrix, no match.
    ("not-english.json", "The.Matrix.1999.1080p.BluRay.x264-SPARKS", False),
    # x265 (HD): x265/HEVC AND not 2160p.
    ("x265-hd.json", "Dune.2021.1080p.BluRay.x265.10bit-GRP", True),
    ("x265-hd.json", "Dune.2021.1080p.BluRay.HEVC-GRP", True),
    ("x265-hd.json", "Dune.2021.720p.WEB.h265-GRP", True),
    ("x265-hd.json", "Dune.2021.2160p.BluRay.x265.10bit.HDR-GRP", False),
    ("x265-hd.json", "Dune.2021.1080p.BluRay.x264-GRP", False),
    # Classic editions (Radarr API form): an edition AND a year in 1970-1999.
    ("classic-editions-api.json", "Alien.1979.Directors.Cut.1080p.BluRay.x264-GRP", True),
    ("classic-editions-api.json", "Terminator.2.1991.Extended.1080p.BluRay.x264-GRP", True),
    ("classic-editions-api.json", "Alien.1979.1080p.BluRay.x264-GRP", False),
    ("classic-editions-api.json", "Dune.2021.EXTENDED.1080p.BluRay.x264-SPARKS", False),
]


@pytest.mark.parametrize(("file_name", "title", "expected"), TRASH_CASES,
                         ids=[f"{f}:{t}" for f, t, _ in TRASH_CASES])
def test_trash_format_matches_as_radarr_would(file_name: str, title: str,
                                              expected: bool) -> None:
    assert applies(trash(file_name), cand(title, size=8 * GIB)) is expected


@pytest.mark.parametrize(("size", "expected"), [
    (2 * GIB, False), (2 * GIB + 1, True), (8 * GIB, True), (15 * GIB, True),
    (15 * GIB + 1, False), (0, False),
])
def test_trash_size_format(size: int, expected: bool) -> None:
    assert applies(trash("size-2-15gb.json"), cand(size=size)) is expected


@pytest.mark.parametrize(("flags", "expected"), [
    (INDEXER_FLAGS["G_Freeleech"], True),
    (INDEXER_FLAGS["G_Freeleech"] | INDEXER_FLAGS["G_Internal"], True),
    (INDEXER_FLAGS["G_Freeleech75"], False),
    (INDEXER_FLAGS["G_Halfleech"], False),
    (0, False),
])
def test_trash_freeleech_format(flags: int, expected: bool) -> None:
    assert applies(trash("freeleech.json"), cand(indexer_flags=flags)) is expected


def test_a_profile_scores_the_trash_br_disk_format_on_a_disc_but_not_on_an_encode() -> None:
    formats = [to_format(trash_raw("br-disk.json"), 1),
               to_format(trash_raw("lq-groups.json"), 2),
               to_format(trash_raw("x265-hd.json"), 3)]
    compiled = compile_formats(formats, RegexPatterns())
    profile = QualityProfile(
        id=1, name="TRaSH", items=all_qualities(q.id for q in QUALITIES), cutoff=7,
        format_items=(FormatScore(1, "BR-DISK", -10000), FormatScore(2, "LQ", -10000),
                      FormatScore(3, "x265 (HD)", -10000)))

    def score(title: str) -> int:
        return profile.score(matching(compiled, cand(title, size=40 * GIB)))

    assert score("The.Matrix.1999.1080p.BluRay.AVC.DTS-HD.MA.5.1-FGT") == -10000
    assert score("The.Matrix.1999.COMPLETE.BLURAY-GROUP") == -10000
    assert score("The.Matrix.1999.1080p.BluRay.x264-SPARKS") == 0
    # Two forbidden formats add up.
    assert score("Dune.2021.1080p.BluRay.x265-YIFY") == -20000
