"""Release titles parsed and scored per second, on one core, with 30 custom formats.

`python -m bench --only releases [--quick]` (or `python -m bench.releases`). The section is
appended to bench/results/latest.md (replacing an earlier section of this benchmark
there), and the figures are written to bench/results/releases-<UTC time>.json and .md.

Goal (issue 5): titles parsed and scored per second on one core with 30 custom formats,
>= 2,000/s. What one run does:

1. Builds 30 custom formats in the TRaSH-guides style (`FORMATS`): 24 carry ReleaseTitle,
   ReleaseGroup or Edition regexes (TRaSH's BR-DISK with its look-behinds, long
   alternations of release groups, variable-width look-behinds as in ATMOS (undefined)
   and Upscaled), the others Resolution, Source, QualityModifier, Size, Language and
   IndexerFlag specifications, some required, some negated. They are compiled with
   `RegexPatterns` (the production compiler: `regex`, IGNORECASE, a time limit per match)
   into `CompiledFormat`s by `compile_formats`; a `QualityProfile` over
   `all_qualities(...)` scores all 30.
2. Generates a corpus of distinct release titles (default 3,000) from a fixed seed:
   movie names and years, scene, P2P, remux, WEB, YTS-style, BR-DISK, CAM, foreign,
   SD, obfuscated and retagged titles, with resolutions, sources, streaming services,
   codecs, audio, HDR tags, editions, languages, proper/repack; and a `Release` per title
   (magnet link, size fitting the title, seeders, leechers, indexer flags).
3. Pins this process to one CPU (`os.sched_setaffinity`) and, after a warm-up pass of
   200 titles through each, times a pass over the whole corpus per stage, `--repeats`
   rounds with the stages interleaved, keeping the best (fastest) round of each. The
   rates are titles per CPU second of this process (`time.process_time`), the pinned
   core's throughput even when other processes take turns on it; wall-clock rates
   (perf_counter) are reported beside them. Stages:
   - bare reference: `PTT.parse_title(title)` (parsett's own entry point, every handler);
   - parse: `PttParser().parse(title)` (Queuarr's parser, movie handlers only);
   - headline: parse + `appraise` (30 formats) + `decide` (empty `MovieState`,
     `Limits()`) per release;
   - scoring alone: `appraise` + `decide` on titles parsed beforehand;
   - `ranked()` of 50 decisions at a time.
4. Reports titles/s per stage, the headline ÷ bare PTT ratio, microseconds per title,
   how the corpus parsed and scored (qualities, approvals, hits per format), and checks
   the headline against the goal. When it misses the goal (or with `--profile`), one
   headline pass is run under cProfile and the time is split by area (PTT's handlers and
   their regexes, the custom-format regexes, format matching, decisions...).

The ratio is what carries across machines; the 2,000/s goal is an absolute figure.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import hashlib
import os
import platform
import pstats
import random
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # core, infrastructure
    sys.path.insert(0, str(ROOT))

import PTT  # noqa: E402

from bench.procs import Noise, cpu_model, machine_idle_percent, package_version  # noqa: E402
from bench.report import (  # noqa: E402
    Checks,
    _num,
    _table,
    checks_and_notes,
    narrator,
    publish,
    targets_table,
    write_section,
)
from core.decisions import Decision, Limits, MovieState, appraise, decide, ranked  # noqa: E402
from core.domain import DownloadProtocol  # noqa: E402
from core.formats import CompiledFormat, CustomFormat, Specification, compile_formats  # noqa: E402
from core.profiles import FormatScore, QualityProfile, all_qualities  # noqa: E402
from core.quality import MODIFIER_ID, QUALITIES, SOURCE_ID  # noqa: E402
from core.release import ParsedRelease, Release  # noqa: E402
from infrastructure.release.parser import PttParser  # noqa: E402
from infrastructure.release.patterns import RegexPatterns  # noqa: E402

SECTION_START = "<!-- bench.releases: start -->"
SECTION_END = "<!-- bench.releases: end -->"
GOAL_TITLES_PER_S = 2_000.0  # issue 5: parse + score, one core, 30 custom formats
MIN_CORPUS = 2_000  # distinct titles in a full run
RANK_CHUNK = 50
SEED = 20261121
GIB = 1024**3
MIB = 1024**2


# -- the 30 custom formats ---------------------------------------------------------------


def _title(name: str, pattern: str, negate: bool = False, required: bool = False
           ) -> Specification:
    return Specification(name, "ReleaseTitleSpecification", negate, required,
                         {"value": pattern})


def _group(name: str, pattern: str, negate: bool = False, required: bool = False
           ) -> Specification:
    return Specification(name, "ReleaseGroupSpecification", negate, required,
                         {"value": pattern})


def _edition(name: str, pattern: str, negate: bool = False, required: bool = False
             ) -> Specification:
    return Specification(name, "EditionSpecification", negate, required, {"value": pattern})


def _typed(name: str, implementation: str, value: int, negate: bool = False,
           required: bool = False, **extra: Any) -> Specification:
    return Specification(name, f"{implementation}Specification", negate, required,
                         {"value": value, **extra})


def _size(name: str, low: float, high: float) -> Specification:
    return Specification(name, "SizeSpecification", False, True, {"min": low, "max": high})


def _source(name: str, source: str, negate: bool = False, required: bool = False
            ) -> Specification:
    return _typed(name, "Source", SOURCE_ID[source], negate, required)


def _modifier(name: str, modifier: str, negate: bool = False, required: bool = False
              ) -> Specification:
    return _typed(name, "QualityModifier", MODIFIER_ID[modifier], negate, required)


def _resolution(name: str, value: int, negate: bool = False, required: bool = False
                ) -> Specification:
    return _typed(name, "Resolution", value, negate, required)


_LQ_GROUPS = (
    "aXXo|BRrip|CM8|CrEwSaDe|CTFOH|d3g|DNL|FaNGDiNG0|HD2DVD|HDT|HDTime|ION10|iPlanet|"
    "KiNGDOM|mHD|mSD|nHD|nikt0|nSD|NhaNc3|OFT|PRODJi|SANTi|SPiRiT|STUTTERSHIT|ViSION|"
    "VXT|WAF|x0r|YIFY|YTS(\\.(MX|AM|LT|AG))?|LAMA|Pahe(\\.(ph|in))?|MeGusta|TGx|EVO|"
    "PSA|FGT|SHITBOX|TeeWee|Tigole|QxR|RARBG|BONE|Leffe|JFF|beAst|CHD|HDWinG|WiKi|"
    "SSN|Ali-ZiLLA|ELiTE|d3g|DDR|MkvCage|ETRG|GalaxyRG|KIRA|MIRCrew|RDN")
_SCENE_GROUPS = (
    "SPARKS|GECKOS|AMIABLE|DRONES|ROVERS|PSYCHD|VETO|BLOW|CADAVER|DEPTH|TiMPE|iNTENSO|"
    "REPRiSED|JustWatch|SNOW|GUACAMOLE|MOOVEE|TOPAZ|UNVEiL|SKYFiRE|PiGNUS|W4F|CiNEFiLE|"
    "ETHiCS|WATCHABLE|SiNNERS|HANDJOB|USURY|FiCO|SURCODE|DiMENSION|LiGHTNiNG|NODLABS")

# (format, score): TRaSH-like scores (unwanted -10000, tiers in the thousands).
FORMATS: tuple[tuple[CustomFormat, int], ...] = (
    (CustomFormat(1, "BR-DISK", (
        _title("BR-DISK",
               r"^(?!.*\b((?<!HD[._ -]|HD)DVD|BDRip|720p|MKV|XviD|WMV|d3g|(BD)?REMUX|"
               r"^(?=.*1080p)(?=.*HEVC)|[xh][-_. ]?26[45]|German.*[DM]L|"
               r"((?<=\d{4}).*German.*([DM]L)?)(?=.*\b(AVC|HEVC|VC[-_. ]?1|MVC|"
               r"MPEG[-_. ]?2)\b))\b)(((?=.*\b(Blu[-_. ]?ray|BD|HD[-_. ]?DVD)\b)"
               r"(?=.*\b(AVC|HEVC|VC[-_. ]?1|MVC|MPEG[-_. ]?2|BDMV|ISO)\b))|"
               r"^((?=.*\b(((?=.*\b((.*_)?COMPLETE.*|Dis[ck])\b)(?=.*(Blu[-_. ]?ray|"
               r"HD[-_. ]?DVD)))|3D[-_. ]?BD|BR[-_. ]?DISK|Full[-_. ]?Blu[-_. ]?ray|"
               r"^((?=.*((BD|UHD)[-_. ]?(25|50|66|100|ISO)))))))).*"),)), -10000),
    (CustomFormat(2, "LQ (release groups)", (
        _group("LQ groups", rf"^({_LQ_GROUPS})$"),)), -10000),
    (CustomFormat(3, "LQ (release title)", (
        _title("LQ titles",
               r"\b(1XBET|BEN[ ._-]THE[ ._-]MEN|BiTOR|Telly|TeeWee|AROMA|HQCAM|"
               r"HDCAM|HD[ ._-]?TS|HDTC|Hindi[ ._-]Dubbed|Dual[ ._-]Audio[ ._-]Hindi|"
               r"\[?Hindi\]?|TELESYNC|TELECINE|\bTS(Rip)?\b|\bCAM(Rip)?\b)",
               required=True),
        _title("not a remux", r"\bREMUX\b", negate=True, required=True),)), -10000),
    (CustomFormat(4, "3D", (
        _title("3D", r"(?<=\b[12]\d{3}\b).*\b(3d|sbs|half[ ._-]?(ou|sbs)|h[ ._-]?sbs|"
                     r"h[ ._-]?ou|BD3D)\b"),)), -10000),
    (CustomFormat(5, "Remux Tier 01", (
        _group("Tier 01 remux groups",
               r"^(3L|BiZKiT|BLURANiUM|BMF|CiNEPHiLES|FraMeSToR|PiRAMiDHEAD|PmP|WiLDCAT|"
               r"ZQ|EPSiLON|KRaLiMaRKo|SiCFoI|NCmt|TRiToN|Flights|NTb|SURFINBIRD)$"),
        _modifier("Remux", "remux", required=True),)), 1950),
    (CustomFormat(6, "HD Bluray Tier 01", (
        _group("Tier 01 encoders",
               r"^(BBQ|BMF|c0kE|Chotab|CRiSC|CtrlHD|D-Z0N3|Dariush|decibeL|DON|EbP|EDPH|"
               r"Geek|LolHD|NCmt|PTer|TayTO|TDD|TnP|VietHD|ZoroSenpai|HiFi|HiDt|SPHD|"
               r"W4NK3R|playHD|BHDStudio|HQMUX|IDE|Positive|SA89|hallowed)$"),
        _source("Bluray", "bluray", required=True),
        _modifier("not a remux", "remux", negate=True, required=True),)), 1800),
    (CustomFormat(7, "WEB Tier 01", (
        _group("Tier 01 WEB groups",
               r"^(ABBIE|AJP69|APEX|PAXA|PEXA|XEPA|BLUTONiUM|CMRG|CRFW|CRUD|FLUX|GNOME|"
               r"HONE|KiNGS|Kitsune|NOSiVID|NTb|NTG|SiC|TEPES|EDITH|MZABI|BYNDR)$"),
        _source("WEB-DL", "webdl"),
        _source("WEBRip", "webrip"),)), 1700),
    (CustomFormat(8, "WEB Tier 02", (
        _group("Tier 02 WEB groups",
               r"^(dB|Flights|MiU|monkee|PHOENiX|playWEB|SbR|SMURF|TOMMY|XEBEC|4KBEC|"
               r"CEBEX|BLOOM|KHN|NPMS|PSiG|RAWR|QOQ|ROCCaT|SPiRiT|T4H|WELP)$"),
        _source("WEB-DL", "webdl"),
        _source("WEBRip", "webrip"),)), 1650),
    (CustomFormat(9, "Streaming: HQ services", (
        _title("AMZN, NF, ATVP, DSNP, HMAX, MA, iT",
               r"\b(amzn|amazon(hd)?|nf|netflix(u?hd)?|atvp|atv\+?|apple[ ._-]?tv\+?|"
               r"dsnp|dsny|disney\+?|hmax|max|hbo[ ._-]?max|ma|movies[ ._-]?anywhere|"
               r"it|itunes|pcok|pmtp|hulu)\b[ ._-]+(web|uhd)"),
        _source("WEB-DL", "webdl"),
        _source("WEBRip", "webrip"),)), 50),
    (CustomFormat(10, "DV", (
        _title("Dolby Vision", r"\b(dv|dovi|dolby[ ._-]?v(ision)?)\b", required=True),
        _title("not DV SDR/HLG", r"\b(dv[ ._-]?(sdr|hlg))\b", negate=True,
               required=True),)), 1500),
    (CustomFormat(11, "HDR10+", (
        _title("HDR10+", r"\bHDR10(\+|P(lus)?\b)", required=True),)), 600),
    (CustomFormat(12, "HDR", (
        _title("HDR", r"\bHDR(\b|\d)", required=True),
        _title("not DV only", r"\b(dv|dovi|dolby[ ._-]?vision)\b(?!.*\bHDR)", negate=True,
               required=True),)), 500),
    (CustomFormat(13, "TrueHD ATMOS", (
        _title("TrueHD", r"\bTrue[ ._-]?HD\b", required=True),
        _title("Atmos", r"\bATMOS(\b|\d)", required=True),)), 5000),
    (CustomFormat(14, "DTS-HD MA / DTS:X", (
        _title("DTS-HD MA", r"\bDTS[ ._-]?HD[ ._-]?MA\b"),
        _title("DTS:X", r"\bDTS[ ._:-]?X(?!\d)\b"),)), 4000),
    (CustomFormat(15, "ATMOS (undefined)", (
        _title("Atmos, codec not named",
               r"(?<!\b(DD[P+]|DDP?[ ._-]?[257][ ._]1|E-?AC-?3|True[ ._-]?HD|DTS[ ._-]?X)"
               r"([ ._-]+[257][ ._][01])?[ ._-]*)\bATMOS(\b|\d)", required=True),)), 3000),
    (CustomFormat(16, "Special Edition", (
        _edition("Parsed edition", r"\b(extended|uncut|directors|special|unrated|"
                                   r"uncensored|cut|version|edition|final|ultimate)(\b|\d)"),
        _title("not Criterion or IMAX", r"\b(criterion|imax)\b", negate=True,
               required=True),)), 125),
    (CustomFormat(17, "IMAX", (
        _title("IMAX", r"\bIMAX\b", required=True),
        _title("not IMAX Enhanced", r"\bIMAX[ ._-]?Enhanced\b", negate=True,
               required=True),)), 800),
    (CustomFormat(18, "Hybrid / Remaster", (
        _title("Hybrid", r"\bhybrid(\b|\d)"),
        _title("Remaster", r"(?<!\b4K[ ._-]?)\bRemaster(ed)?\b"),)), 100),
    (CustomFormat(19, "Repack/Proper", (
        _title("Repack or proper", r"\b(repack\d?|proper\d?|rerip)\b", required=True),
        _title("not a second repack", r"\b(repack|proper)[ ._-]?[2-9]\b", negate=True,
               required=True),)), 5),
    (CustomFormat(20, "x265 (HD)", (
        _title("x265", r"[xh][ ._-]?265|\bHEVC(\b|\d)", required=True),
        _resolution("not 2160p", 2160, negate=True, required=True),)), -10000),
    (CustomFormat(21, "Obfuscated / retags", (
        _title("Obfuscated",
               r"[ ._-](Obfuscated|Scrambled|postbot|xpost|WhiteRev|Rakuv\w*|"
               r"AsRequested|BUYMORE|Chamele0n|GEROV|iNC0GNiTO|NZBGeek|WRTEAM)$"),
        _title("Retags", r"(\[rartv\]|\[rarbg\]|\[eztv([ ._-]re)?\]|\[TGx\]|\[EtHD\]|"
                         r"\[ettv\]|\[vsenc\])"),)), -10000),
    (CustomFormat(22, "Upscaled", (
        _title("Upscaled", r"(?<!\b(HDR10\+?|SDR|DV|HDR)[ ._-]?)\b(Up(scal(e|ed|ing))?|"
                           r"UPS|AI[ ._-]?Upscale[d]?|Regrade)\b"),)), -10000),
    (CustomFormat(23, "Scene", (
        _group("Scene groups", rf"^({_SCENE_GROUPS})$"),)), 0),
    (CustomFormat(24, "2160p Remux", (
        _resolution("2160p", 2160, required=True),
        _source("Bluray", "bluray", required=True),
        _modifier("Remux", "remux", required=True),)), 300),
    (CustomFormat(25, "1080p Bluray encode", (
        _resolution("1080p", 1080, required=True),
        _source("Bluray", "bluray", required=True),
        _modifier("not a remux", "remux", negate=True, required=True),)), 50),
    (CustomFormat(26, "Size: under 700 MB", (
        _size("Under 700 MB", 0, 0.68359375),)), -1000),
    (CustomFormat(27, "Size: over 80 GB", (
        _size("Over 80 GB", 80, 100000),)), -200),
    (CustomFormat(28, "Language: foreign, not English", (
        # "Original" is a title that names no language: the format wants one named, and
        # not English (TRaSH's "Language: Not English"/"Not Original" for a movie of
        # unknown original language).
        _typed("names a language", "Language", -2, negate=True, required=True),
        _typed("not English", "Language", 1, negate=True, required=True),)), -10000),
    (CustomFormat(29, "Language: French (VFF/VFQ)", (
        _typed("French", "Language", 2, required=True),
        _title("VFF, VFQ, TRUEFRENCH", r"\b(VFF|VFQ|VF2|TRUEFRENCH|VFI)\b"),
        _title("MULTi", r"\bMULTi(\b|\d)"),)), 0),
    (CustomFormat(30, "FreeLeech", (
        _typed("Freeleech", "IndexerFlag", 1),
        _typed("Freeleech 75 %", "IndexerFlag", 256),)), 25),
)

_REFUSED = {"Unknown", "WORKPRINT", "CAM", "TELESYNC", "TELECINE", "REGIONAL", "DVDSCR",
            "BR-DISK", "Raw-HD"}


def build_profile() -> QualityProfile:
    allowed = [q.id for q in QUALITIES if q.name not in _REFUSED]
    return QualityProfile(
        id=1, name="TRaSH-like UHD Bluray + WEB", items=all_qualities(allowed),
        cutoff=next(q.id for q in QUALITIES if q.name == "Remux-2160p"),
        upgrade_allowed=True, min_format_score=0, cutoff_format_score=10000,
        min_upgrade_format_score=1,
        format_items=tuple(FormatScore(f.id, f.name, score) for f, score in FORMATS))


# -- the corpus --------------------------------------------------------------------------

MOVIES: tuple[tuple[str, int], ...] = (
    ("The Dark Knight", 2008), ("Inception", 2010), ("Dune Part Two", 2024),
    ("Oppenheimer", 2023), ("Blade Runner 2049", 2017), ("Mad Max Fury Road", 2015),
    ("Parasite", 2019), ("Spirited Away", 2001), ("The Matrix", 1999), ("Alien", 1979),
    ("2001 A Space Odyssey", 1968), ("Se7en", 1995), ("Heat", 1995), ("The Thing", 1982),
    ("Arrival", 2016), ("Interstellar", 2014), ("Everything Everywhere All at Once", 2022),
    ("Top Gun Maverick", 2022), ("John Wick Chapter 4", 2023), ("Gladiator", 2000),
    ("The Lord of the Rings The Fellowship of the Ring", 2001), ("Jaws", 1975),
    ("Back to the Future", 1985), ("Pulp Fiction", 1994), ("No Country for Old Men", 2007),
    ("The Grand Budapest Hotel", 2014), ("Whiplash", 2014), ("Joker", 2019),
    ("Barbie", 2023), ("Poor Things", 2023), ("Killers of the Flower Moon", 2023),
    ("The Shawshank Redemption", 1994), ("Fight Club", 1999),
    ("Avatar The Way of Water", 2022), ("Spider-Man Across the Spider-Verse", 2023),
    ("Godzilla Minus One", 2023), ("Amelie", 2001), ("Leon The Professional", 1994),
    ("Mission Impossible Dead Reckoning Part One", 2023), ("The Batman", 2022),
    ("Furiosa A Mad Max Saga", 2024), ("Civil War", 2024), ("Alien Romulus", 2024),
    ("The Holdovers", 2023), ("Past Lives", 2023), ("Anatomy of a Fall", 2023),
    ("Prisoners", 2013), ("Sicario", 2015), ("Drive", 2011), ("Her", 2013),
)
REMUX_GROUPS = ("FraMeSToR", "BiZKiT", "BLURANiUM", "3L", "PmP", "WiLDCAT", "ZQ",
                "CiNEPHiLES", "EPSiLON", "KRaLiMaRKo", "SiCFoI", "NCmt", "TRiToN", "SPHD",
                "PTP", "HDRemuX", "SURFINBIRD")
HD_GROUPS = ("CtrlHD", "DON", "EbP", "decibeL", "TayTO", "HiFi", "SPHD", "BHDStudio",
             "D-Z0N3", "VietHD", "c0kE", "CRiSC", "ZoroSenpai", "playHD", "W4NK3R",
             "HQMUX", "IDE", "hallowed", "NTb", "SA89", "Geek", "TDD", "iFT", "VLAD",
             "SbR", "TOMMY", "HANDJOB", "ESiR", "HDMaNiAcS")
WEB_GROUPS = ("FLUX", "NTb", "CMRG", "TEPES", "HONE", "SMURF", "playWEB", "BYNDR", "MiU",
              "PHOENiX", "KiNGS", "APEX", "dB", "EDITH", "GNOME", "NOSiVID", "SiC", "NTG",
              "BLOOM", "RAWR", "XEBEC", "KHN", "ROCCaT", "WELP", "T4H", "TOMMY", "MZABI",
              "Kitsune", "CRUD", "ABBIE", "EVO", "ETHEL", "SuccessfulCrab", "LAZYCUNTS",
              "GGEZ", "NeoNoir", "HHWEB", "VARYG", "BiOMA")
SCENE_GROUPS = ("SPARKS", "GECKOS", "AMIABLE", "DRONES", "ROVERS", "PSYCHD", "VETO",
                "BLOW", "CADAVER", "DEPTH", "TiMPE", "iNTENSO", "REPRiSED", "JustWatch",
                "SNOW", "GUACAMOLE", "MOOVEE", "TOPAZ", "UNVEiL", "SKYFiRE", "PiGNUS",
                "W4F", "CiNEFiLE", "ETHiCS", "WATCHABLE", "SiNNERS", "USURY", "FiCO",
                "SURCODE", "LiGHTNiNG")
LQ_GROUPS = ("Pahe", "MeGusta", "TGx", "EVO", "ION10", "PSA", "FGT", "SHITBOX", "mSD",
             "nHD", "x0r", "QxR", "Tigole", "RARBG", "BONE", "Leffe", "JFF", "GalaxyRG",
             "KIRA", "ETRG", "MkvCage", "ELiTE")
BDISK_GROUPS = ("TERMiNAL", "COASTER", "WiTHOUT", "HDBEE", "BDA", "PRECiOUS", "SUPERSIZE",
                "BOLLOCKS", "EUBDS", "GMB", "DiSKoRD", "OLDHAM")
FOREIGN_GROUPS = ("LOST", "FW", "QTZ", "SUPPLY", "Slay3R", "BDHD", "DETAiLS", "WvF",
                  "EXCiTED", "SAUERKRAUT", "iNTERNAL", "MULTiPLEX", "DREAMiNG", "iTA-ENG",
                  "NAHOM", "ZEST", "SPANiSH")
CAM_GROUPS = ("TGx", "C1NEM4", "SUNSCREEN", "BEN THE MEN", "1XBET", "Telly", "AROMA",
              "HQCAM", "RiPPED", "NeonVision")
SD_GROUPS = ("mSD", "NeDiVx", "DiAMOND", "FiHTV", "SAiNTS", "iMBT", "VH-PROD", "SPRiNTER",
             "PSYCHD", "aAF", "CiNEFiLE")
EDITIONS = ("Extended", "Directors.Cut", "IMAX", "Remastered", "Criterion", "Theatrical",
            "Unrated", "Hybrid", "Open.Matte", "IMAX.Enhanced", "Extended.Cut",
            "Special.Edition", "Ultimate.Edition", "4K.Remaster", "Final.Cut", "Uncut")
SERVICES = ("AMZN", "NF", "ATVP", "DSNP", "MA", "HMAX", "iT", "PCOK", "PMTP", "HULU",
            "STAN", "CRiT", "", "", "")
WEB_AUDIO = ("DDP5.1", "DDP5.1.Atmos", "DD+5.1", "DDP.5.1", "AAC2.0", "DD5.1", "EAC3.5.1",
             "DDP2.0", "AAC.5.1", "Atmos")
BD_AUDIO = ("DTS-HD.MA.5.1", "TrueHD.7.1.Atmos", "DTS.5.1", "DD.5.1", "FLAC.2.0",
            "DTS-X.7.1", "LPCM.2.0", "TrueHD.5.1", "DTS-HD.MA.7.1", "AC3.5.1", "DTS-HR.5.1")
HDR_TAGS = ("HDR", "HDR10", "HDR10+", "DV", "DV.HDR10", "DoVi", "DV.HDR", "HDR10Plus",
            "DV.HDR10+", "HLG", "SDR")
LANGS = ("MULTi.TRUEFRENCH", "FRENCH", "MULTi.VFF", "TRUEFRENCH", "German.DL", "GERMAN",
         "iTALiAN", "SPANiSH", "Castellano", "MULTi.VFQ", "Dual.Audio.Hindi", "Hindi",
         "Rus", "PL", "NORDiC", "DUTCH", "KOREAN", "JAPANESE", "MULTi", "VOSTFR")

# kind -> weight
KINDS: dict[str, float] = {
    "scene_bluray": 0.13, "p2p_bluray": 0.15, "remux": 0.12, "web": 0.24, "yts": 0.06,
    "lq_encode": 0.06, "bdisk": 0.03, "cam": 0.04, "foreign": 0.08, "sd": 0.04,
    "obfuscated": 0.03, "hdtv": 0.02, "3d": 0.01, "upscaled": 0.01,
}


def _name(movie: str, sep: str) -> str:
    return movie.replace(" ", sep)


def _pick(rng: random.Random, *options: str) -> str:
    return rng.choice(options)


def _tags(sep: str, *parts: str) -> str:
    return sep.join(p.replace(".", sep) for p in parts if p)


def make_title(rng: random.Random) -> tuple[str, str, int]:
    """(title, kind, resolution) of one plausible movie release."""
    kind = rng.choices(list(KINDS), weights=list(KINDS.values()))[0]
    movie, year = rng.choice(MOVIES)
    edition = rng.choice(EDITIONS) if rng.random() < 0.12 else ""
    fix = _pick(rng, "PROPER", "REPACK", "REPACK2", "RERiP") if rng.random() < 0.05 else ""
    internal = "INTERNAL" if rng.random() < 0.03 else ""
    ten_bit = "10bit" if rng.random() < 0.15 else ""
    res = 0
    if kind == "scene_bluray":
        res = rng.choice((720, 1080, 1080, 2160))
        hdr = rng.choice(("HDR", "DV.HDR", "")) if res == 2160 else ""
        codec = "x265" if res == 2160 else "x264"
        title = _tags(".", _name(movie, "."), str(year), edition, fix, internal,
                      f"{res}p", "BluRay", hdr, codec) + "-" + rng.choice(SCENE_GROUPS)
    elif kind == "p2p_bluray":
        res = rng.choice((720, 1080, 1080, 1080, 2160))
        hdr = rng.choice(HDR_TAGS) if res == 2160 else ""
        uhd = "UHD" if res == 2160 and rng.random() < 0.5 else ""
        codec = rng.choice(("x265", "HEVC", "H.265")) if res == 2160 else \
            rng.choice(("x264", "x264", "x264", "x265", "AVC"))
        hybrid = "Hybrid" if rng.random() < 0.08 else ""
        title = _tags(".", _name(movie, "."), str(year), edition, hybrid, fix,
                      f"{res}p", uhd, "BluRay", hdr, rng.choice(BD_AUDIO), ten_bit,
                      codec) + "-" + rng.choice(HD_GROUPS)
    elif kind == "remux":
        res = rng.choice((1080, 2160, 2160))
        hdr = rng.choice(HDR_TAGS[:9]) if res == 2160 else ""
        sep = rng.choice((" ", "."))
        codec = "HEVC" if res == 2160 else rng.choice(("AVC", "VC-1", "MPEG-2"))
        audio = rng.choice(("TrueHD.7.1.Atmos", "DTS-HD.MA.5.1", "DTS-X.7.1",
                            "TrueHD.Atmos.7.1", "LPCM.2.0", "DTS-HD.MA.7.1"))
        parts = [_name(movie, sep), str(year), edition, fix,
                 "UHD" if res == 2160 else "", "BluRay", f"{res}p", hdr, audio, codec,
                 "REMUX"]
        if rng.random() < 0.5:  # P2P order: resolution first
            parts = [_name(movie, sep), str(year), edition, fix, f"{res}p",
                     "UHD" if res == 2160 else "", "BluRay", "REMUX", hdr, codec, audio]
        title = _tags(sep, *parts) + "-" + rng.choice(REMUX_GROUPS)
    elif kind == "web":
        res = rng.choice((720, 1080, 1080, 1080, 2160, 2160))
        service = rng.choice(SERVICES)
        web = rng.choice(("WEB-DL", "WEB-DL", "WEBRip", "WEB"))
        hdr = rng.choice(HDR_TAGS) if res == 2160 and rng.random() < 0.8 else ""
        codec = (rng.choice(("H.265", "H265", "x265", "HEVC")) if res == 2160 else
                 rng.choice(("H.264", "H264", "x264", "H.264", "x265")))
        sep = "." if rng.random() < 0.85 else " "
        title = _tags(sep, _name(movie, sep), str(year), edition, fix, f"{res}p",
                      service, web, rng.choice(WEB_AUDIO), hdr, codec) \
            + "-" + rng.choice(WEB_GROUPS)
    elif kind == "yts":
        res = rng.choice((720, 1080, 1080, 2160))
        src = rng.choice(("BluRay", "WEBRip", "WEB"))
        extra = " [x265]" if rng.random() < 0.3 else ""
        fourk = " [4K]" if res == 2160 else ""
        title = (f"{movie} ({year}) [{res}p]{fourk} [{src}]{extra} "
                 f"[{rng.choice(('5.1', '2.0', '7.1'))}] "
                 f"[{rng.choice(('YTS.MX', 'YTS.AM', 'YTS.LT', 'YIFY'))}]")
    elif kind == "lq_encode":
        res = rng.choice((720, 1080, 1080, 2160))
        src = rng.choice(("BluRay", "WEBRip", "WEB-DL", "BRRip", "HDRip"))
        if rng.random() < 0.5:
            title = _tags(".", _name(movie, "."), str(year), f"{res}p", src,
                          ten_bit, rng.choice(("x265", "HEVC", "x264")),
                          rng.choice(("AAC", "AAC.5.1", "DD5.1", ""))) \
                + "-" + rng.choice(LQ_GROUPS)
        else:
            title = (f"{movie} ({year}) {res}p {src} {ten_bit} "
                     f"{rng.choice(('x265', 'HEVC', 'x264'))} "
                     f"{rng.choice(('AAC 5.1', 'DDP 5.1', 'AAC'))} - "
                     f"{rng.choice(LQ_GROUPS)}").replace("  ", " ")
    elif kind == "bdisk":
        res = rng.choice((1080, 2160))
        group = rng.choice(BDISK_GROUPS)
        title = rng.choice((
            f"{_name(movie, '.')}.{year}.COMPLETE.{'UHD.' if res == 2160 else ''}"
            f"BLURAY-{group}",
            f"{movie} {year} {res}p Blu-ray {'HEVC' if res == 2160 else 'AVC'} "
            f"{rng.choice(('DTS-HD MA 5.1', 'TrueHD 7.1 Atmos', 'LPCM 2.0'))}-{group}",
            f"{_name(movie, '.')}.{year}.{'UHD.' if res == 2160 else ''}BD"
            f"{rng.choice(('25', '50', '66', '100'))}-{group}",
            f"{movie} {year} {edition or 'Disc'} {res}p BluRay "
            f"{'HEVC' if res == 2160 else 'VC-1'} DTS-HD MA 5.1-{group}",
        ))
    elif kind == "cam":
        src = rng.choice(("HDCAM", "CAM", "HDTS", "TS", "TELESYNC", "HDTC", "CAMRip",
                          "TeleCine", "HQCAM"))
        res = rng.choice((0, 0, 720, 1080))
        codec = rng.choice(("x264", "XviD", "H264", "x265"))
        y = rng.choice((2023, 2024))
        sep = rng.choice((".", " "))
        title = _tags(sep, _name(movie, sep), str(y),
                      f"{res}p" if res else "", src, codec,
                      rng.choice(("AAC", "", "AC3"))) + "-" + rng.choice(CAM_GROUPS)
    elif kind == "foreign":
        res = rng.choice((720, 1080, 1080, 2160))
        src = rng.choice(("BluRay", "WEB-DL", "WEBRip", "WEB", "BDRip"))
        codec = "x265" if res == 2160 else rng.choice(("x264", "H264", "x265", "AVC"))
        title = _tags(".", _name(movie, "."), str(year), edition,
                      rng.choice(LANGS), f"{res}p", src,
                      rng.choice(("", "AC3", "DTS", "DDP5.1", "AAC")), codec) \
            + "-" + rng.choice(FOREIGN_GROUPS)
    elif kind == "sd":
        res = rng.choice((0, 480, 576))
        src = rng.choice(("DVDRip", "BDRip", "DVD", "BluRay", "WEBRip", "DVD5", "DVD9"))
        codec = rng.choice(("XviD", "x264", "DivX", "AVC"))
        title = _tags(".", _name(movie, "."), str(year), edition,
                      f"{res}p" if res else "", src, codec,
                      rng.choice(("AC3", "", "MP3"))) + "-" + rng.choice(SD_GROUPS)
    elif kind == "obfuscated":
        res = rng.choice((1080, 2160))
        base = _tags(".", _name(movie, "."), str(year), f"{res}p",
                     rng.choice(("BluRay", "WEB-DL", "AMZN.WEB-DL")),
                     rng.choice(("x264", "x265", "H.264", "DDP5.1.H.264")))
        title = base + rng.choice((
            "-Obfuscated", "-postbot", "-xpost", "-Scrambled", "-WhiteRev",
            f"-{rng.choice(WEB_GROUPS)}[rarbg]", f"-{rng.choice(SCENE_GROUPS)}[TGx]",
            f"-{rng.choice(WEB_GROUPS)}[EtHD]", f"-{rng.choice(SCENE_GROUPS)} [eztv]",
            "-AsRequested", "-BUYMORE"))
    elif kind == "hdtv":
        res = rng.choice((720, 1080))
        title = _tags(".", _name(movie, "."), str(year), fix, f"{res}p", "HDTV",
                      rng.choice(("x264", "H264", "MPEG2"))) + "-" + rng.choice(
                          SCENE_GROUPS)
    elif kind == "3d":
        res = 1080
        title = _tags(".", _name(movie, "."), str(year),
                      rng.choice(("3D", "3D.HSBS", "3D.Half-SBS", "3D.Half-OU", "BD3D")),
                      "1080p", "BluRay", rng.choice(("x264", "AVC", "H-SBS.x264")),
                      rng.choice(BD_AUDIO)) + "-" + rng.choice(HD_GROUPS + BDISK_GROUPS)
    else:  # upscaled
        res = 2160
        title = _tags(".", _name(movie, "."), str(year),
                      rng.choice(("2160p.Upscaled", "UPSCALED.2160p", "2160p.AI.Upscale",
                                  "2160p.UPS", "2160p.Regrade")),
                      rng.choice(("WEB-DL", "BluRay", "WEBRip")),
                      rng.choice(("SDR", "HDR", "DV", "")), "x265",
                      rng.choice(WEB_AUDIO)) + "-" + rng.choice(WEB_GROUPS + LQ_GROUPS)
    if rng.random() < 0.02:
        title += rng.choice((".mkv", ".mp4"))
    return title, kind, res


_SIZE_GIB: dict[tuple[str, int], tuple[float, float]] = {
    ("remux", 2160): (45, 90), ("remux", 1080): (20, 42), ("bdisk", 2160): (55, 95),
    ("bdisk", 1080): (22, 48), ("yts", 2160): (4, 9), ("yts", 1080): (1.5, 3),
    ("yts", 720): (0.7, 1.3), ("cam", 0): (0.6, 2.2), ("sd", 0): (0.5, 1.6),
}
_SIZE_BY_RES: dict[int, tuple[float, float]] = {
    2160: (10, 35), 1080: (3, 16), 720: (1, 6), 576: (0.6, 2), 480: (0.3, 1.5), 0: (0.4, 2)}
_FLAGS = (0, 0, 0, 0, 0, 0, 1, 1, 2, 4, 32, 128, 256, 8 | 16, 1 | 32)


def make_release(rng: random.Random, title: str, kind: str, res: int, index: int
                 ) -> Release:
    low, high = _SIZE_GIB.get((kind, res)) or _SIZE_GIB.get((kind, 0)) \
        or _SIZE_BY_RES.get(res, (0.5, 4))
    size = int(rng.uniform(low, high) * GIB)
    if kind in ("lq_encode", "yts") and rng.random() < 0.3:
        size = int(rng.uniform(300, 900) * MIB)
    info_hash = hashlib.sha1(f"{index}:{title}".encode()).hexdigest()
    seeders = int(rng.lognormvariate(2.5, 1.6)) if rng.random() < 0.92 else 0
    indexer_id = rng.randint(1, 6)
    return Release(
        title=title, magnet_url=f"magnet:?xt=urn:btih:{info_hash}&dn={title[:60]}",
        info_hash=info_hash, protocol=DownloadProtocol.TORRENT, size=size,
        indexer=f"Indexer {indexer_id}", indexer_id=indexer_id,
        indexer_priority=rng.choice((25, 25, 25, 10, 40)), seeders=min(seeders, 20_000),
        leechers=rng.randint(0, 200), indexer_flags=rng.choice(_FLAGS),
        guid=f"bench-{index}")


def corpus(n: int, seed: int = SEED) -> tuple[list[Release], Counter[str]]:
    """n releases with distinct titles, and how many of each kind."""
    rng = random.Random(seed)
    seen: set[str] = set()
    releases: list[Release] = []
    kinds: Counter[str] = Counter()
    attempts = 0
    while len(releases) < n:
        attempts += 1
        if attempts > 50 * n:
            raise RuntimeError(f"only {len(releases)} distinct titles after {attempts} tries")
        title, kind, res = make_title(rng)
        title = " ".join(title.split())  # no double spaces from empty parts
        if title in seen:
            continue
        seen.add(title)
        kinds[kind] += 1
        releases.append(make_release(rng, title, kind, res, len(releases)))
    rng.shuffle(releases)
    return releases, kinds


# -- measurement -------------------------------------------------------------------------


class Setup:
    """Everything the stages share, built once."""

    def __init__(self, n: int) -> None:
        self.patterns = RegexPatterns()
        self.formats: list[CompiledFormat] = compile_formats([f for f, _ in FORMATS],
                                                             self.patterns)
        self.profile = build_profile()
        self.parser = PttParser()
        self.movie = MovieState()
        self.limits = Limits()
        self.releases, self.kinds = corpus(n)
        self.titles = [r.title for r in self.releases]
        self.parsed: list[ParsedRelease] = [self.parser.parse(t) for t in self.titles]
        self.decisions: list[Decision] = [
            decide(appraise(r, p, self.formats, self.profile), self.profile, self.movie,
                   self.limits) for r, p in zip(self.releases, self.parsed, strict=True)]
        self.chunks = [self.decisions[i:i + RANK_CHUNK]
                       for i in range(0, len(self.decisions), RANK_CHUNK)]

    # One pass over the first n titles of the corpus per stage (all of them when n is
    # None); each returns the number of titles it handled.

    def bare(self, n: int | None = None) -> int:
        titles = self.titles[:n]
        parse = PTT.parse_title
        for title in titles:
            parse(title)
        return len(titles)

    def parse(self, n: int | None = None) -> int:
        titles = self.titles[:n]
        parse = self.parser.parse
        for title in titles:
            parse(title)
        return len(titles)

    def headline(self, n: int | None = None) -> int:
        releases = self.releases[:n]
        parse, formats, profile = self.parser.parse, self.formats, self.profile
        movie, limits = self.movie, self.limits
        for release in releases:
            decide(appraise(release, parse(release.title), formats, profile), profile,
                   movie, limits)
        return len(releases)

    def scoring(self, n: int | None = None) -> int:
        pairs = list(zip(self.releases[:n], self.parsed[:n], strict=True))
        formats, profile, movie, limits = self.formats, self.profile, self.movie, self.limits
        for release, parsed in pairs:
            decide(appraise(release, parsed, formats, profile), profile, movie, limits)
        return len(pairs)

    def rank(self, n: int | None = None) -> int:
        chunks = self.chunks if n is None else self.chunks[:max(1, n // RANK_CHUNK)]
        profile = self.profile
        for chunk in chunks:
            ranked(chunk, profile)
        return sum(len(c) for c in chunks)


STAGES: tuple[tuple[str, str], ...] = (
    ("bare", "bare reference: `PTT.parse_title` (parsett, every handler)"),
    ("parse", "parse only: `PttParser().parse` (movie handlers)"),
    ("headline", "**parse + appraise (30 formats) + decide** (headline)"),
    ("scoring", "appraise (30 formats) + decide, titles parsed beforehand"),
    ("rank", f"`ranked()` of {RANK_CHUNK} decisions at a time"),
)


def _timed(fn: Callable[[], int]) -> tuple[int, float, float]:
    """(titles handled, wall seconds, CPU seconds of this process) of one pass; garbage
    collected beforehand, GC left on during the pass as in production."""
    gc.collect()
    c0, t0 = time.process_time(), time.perf_counter()
    count = fn()
    return count, time.perf_counter() - t0, time.process_time() - c0


def measure(setup: Setup, repeats: int, warmup: int, say: Callable[[str], None]
            ) -> tuple[dict[str, Any], list[float]]:
    """Per stage: the best (smallest) CPU time and the best wall time over `repeats`
    rounds, with the rates they give. Pinned to one CPU, the two differ by the time other
    processes had that CPU: the CPU-time rate is the one core's throughput, the figure
    the goal is about; the wall rate is shown beside it. Also the CPU that other
    processes used during each round (percent of one core, whole machine)."""
    fns: dict[str, Callable[..., int]] = {name: getattr(setup, name) for name, _ in STAGES}
    for fn in fns.values():  # warm-up: the first titles through each stage
        fn(warmup)
    wall: dict[str, list[float]] = {name: [] for name in fns}
    cpu: dict[str, list[float]] = {name: [] for name in fns}
    counts: dict[str, int] = {}
    noise: list[float] = []
    for round_ in range(repeats):
        with Noise() as round_noise:
            for name, fn in fns.items():
                counts[name], w, c = _timed(fn)
                wall[name].append(w)
                cpu[name].append(c)
        noise.append(round_noise.percent)
        say(f"round {round_ + 1}/{repeats} (others {round_noise.percent:.0f} % of a core): "
            + ", ".join(f"{name} {counts[name] / cpu[name][-1]:,.0f}/s" for name in fns))
    out: dict[str, Any] = {}
    for name in fns:
        best_cpu, best_wall = min(cpu[name]), min(wall[name])
        out[name] = {"items": counts[name], "cpu_s": cpu[name], "wall_s": wall[name],
                     "per_s": counts[name] / best_cpu, "wall_per_s": counts[name] / best_wall,
                     "us_per_item": best_cpu / counts[name] * 1e6,
                     "spread_pct": 100 * (max(cpu[name]) - best_cpu) / best_cpu}
    out["rank"]["us_per_call"] = min(cpu["rank"]) / len(setup.chunks) * 1e6
    return out, noise


# -- what the corpus gave ----------------------------------------------------------------


def _reason(rejection: str) -> str:
    if rejection.startswith("Custom formats"):
        return "custom-format score below the minimum"
    if "is not wanted in profile" in rejection:
        return "quality not wanted"
    if rejection.startswith("Not enough seeders"):
        return "no seeders"
    return rejection.split(":")[0]


def outcome(setup: Setup) -> dict[str, Any]:
    qualities = Counter(d.appraisal.quality.quality.name for d in setup.decisions)
    hits: Counter[int] = Counter()
    per_title = []
    for d in setup.decisions:
        per_title.append(len(d.appraisal.formats))
        for m in d.appraisal.formats:
            hits[m.format.id] += 1
    reasons: Counter[str] = Counter()
    for d in setup.decisions:
        for r in d.rejections:
            reasons[_reason(r)] += 1
    n = len(setup.decisions)
    return {
        "titles": n,
        "distinct": len(set(setup.titles)),
        "kinds": dict(setup.kinds.most_common()),
        "qualities": dict(qualities.most_common()),
        "unknown_quality": qualities.get("Unknown", 0),
        "approved": sum(d.approved for d in setup.decisions),
        "formats_per_title": sum(per_title) / n if n else 0.0,
        "hits": {f.id: hits.get(f.id, 0) for f, _ in FORMATS},
        "mean_chars": sum(len(t) for t in setup.titles) / n if n else 0.0,
        "rejections": dict(reasons.most_common(6)),
    }


# -- profile -----------------------------------------------------------------------------

_OWNERS = (  # the code a function belongs to, by its file
    ("/PTT/", "PTT (parsett)"),
    ("infrastructure/release/parser.py", "PttParser (infrastructure/release/parser)"),
    ("infrastructure/release/patterns.py", "custom-format regexes (RegexPatterns)"),
    ("core/formats.py", "format matching (core/formats)"),
    ("core/decisions.py", "appraise, decide (core/decisions)"),
    ("core/profiles.py", "profile score (core/profiles)"),
    ("core/release.py", "quality model (core/release, core/quality)"),
    ("core/quality.py", "quality model (core/release, core/quality)"),
    ("bench/releases.py", "the benchmark's loop"),
)
Key = tuple[str, int, str]


def _owner(path: str) -> str | None:
    return next((owner for needle, owner in _OWNERS if needle in path), None)


def _kind(key: Key) -> str:
    """What a function is, for the area table: the owner's own Python code, regex
    matching (the C methods and the regex module's Python wrappers), or the rest of
    the standard library and builtins."""
    path, _line, name = key
    if "/regex/" in path or (path == "~" and "_regex." in name):
        return "regex"
    if _owner(path) is not None:
        return "Python"
    return "stdlib, builtins"


def _resolver(entries: dict[Key, Any]) -> Callable[[Key], dict[str, float]]:
    """A function's owner, as shares: its own when it lives in a known file, else its
    callers' owners weighted by the time spent in it from each caller (recursively), so
    that builtins, regex calls and stdlib helpers are charged to the code that called
    them."""
    memo: dict[Key, dict[str, float]] = {}

    def resolve(key: Key) -> dict[str, float]:
        if key in memo:
            return memo[key]
        owner = _owner(key[0])
        if owner is not None:
            memo[key] = {owner: 1.0}
            return memo[key]
        memo[key] = {"other": 1.0}  # cycle guard
        callers: dict[Key, Any] = entries[key][4] if key in entries else {}
        weights = {c: v[2] or v[1] for c, v in callers.items()}
        total = sum(weights.values())
        shares: Counter[str] = Counter()
        for caller, weight in weights.items():
            for owner_, share in resolve(caller).items():
                shares[owner_] += share * weight / total
        memo[key] = dict(shares) or {"other": 1.0}
        return memo[key]

    return resolve


def _where(path: str, line: int, name: str) -> str:
    if path == "~":
        return name
    for marker in ("/site-packages/", f"{ROOT}/", "/lib/python3."):
        if marker in path:
            path = path.split(marker, 1)[1]
            if marker == "/lib/python3.":  # the standard library: inspect.py, enum.py...
                path = path.split("/", 1)[1]
            break
    return f"{path}:{line}({name})"


def profile_headline(setup: Setup, n: int, top: int = 14) -> dict[str, Any]:
    """One headline pass over the first n titles under cProfile: self time by area (the
    code that owns it, and whether it is that code's own Python, regex matching, or
    stdlib/builtins it called), the hottest functions, and cumulative times."""
    releases = setup.releases[:n]
    parse, formats, profile = setup.parser.parse, setup.formats, setup.profile
    movie, limits = setup.movie, setup.limits
    prof = cProfile.Profile()
    t0 = time.perf_counter()
    prof.enable()
    for release in releases:
        decide(appraise(release, parse(release.title), formats, profile), profile, movie,
               limits)
    prof.disable()
    wall = time.perf_counter() - t0
    entries: dict[Any, Any] = pstats.Stats(prof).stats  # type: ignore[attr-defined]
    resolve = _resolver(entries)
    areas: Counter[str] = Counter()
    total = 0.0
    for key, (_cc, _nc, tottime, _ct, _callers) in entries.items():
        total += tottime
        for owner, share in resolve(key).items():
            areas[f"{owner}: {_kind(key)}"] += tottime * share
    hot = sorted(entries.items(), key=lambda kv: -kv[1][2])[:top]
    cumulative = sorted(
        ((k, v) for k, v in entries.items()
         if k[0] != "~" and (f"{ROOT}/core/" in k[0] or f"{ROOT}/infrastructure/" in k[0]
                             or k[0].endswith("PTT/parse.py"))),
        key=lambda kv: -kv[1][3])[:10]
    return {
        "titles": n, "profiled_wall_ms": wall * 1e3, "total_ms": total * 1e3,
        "areas": [{"area": a, "ms": t * 1e3, "pct": 100 * t / total}
                  for a, t in areas.most_common() if t >= 0.003 * total]
        + [{"area": "the rest (each under 0.3 %)",
            "ms": sum(t for t in areas.values() if t < 0.003 * total) * 1e3,
            "pct": 100 * sum(t for t in areas.values() if t < 0.003 * total) / total}],
        "self": [{"function": _where(p, line, name), "calls": v[1], "self_ms": v[2] * 1e3,
                  "pct": 100 * v[2] / total} for (p, line, name), v in hot],
        "cumulative": [{"function": _where(p, line, name), "calls": v[1],
                        "cum_ms": v[3] * 1e3, "pct": 100 * v[3] / total}
                       for (p, line, name), v in cumulative],
    }


# -- checks and report -------------------------------------------------------------------


def checks(results: dict[str, Any]) -> list[dict[str, Any]]:
    m, o, env = results["stages"], results["outcome"], results["environment"]
    out = Checks()
    add = out.add

    add("issue 5: titles parsed + scored (30 formats) + decided per second, one core",
        m["headline"]["per_s"], ">=", GOAL_TITLES_PER_S, "/s")
    add("headline ÷ bare `PTT.parse_title` (same run)",
        m["headline"]["per_s"] / m["bare"]["per_s"], ">=", 1.0, "x", True)
    add(f"corpus: distinct titles (>= {MIN_CORPUS:,} in a full run)", o["distinct"], ">=",
        MIN_CORPUS, "", env["quick"])
    add("custom-format matches that ran out of time", env["pattern_timeouts"], "<=", 0, "")
    return out


def _fmt(value: float | None, unit: str, op: str = "") -> str:
    if value is None:
        return "-"
    if unit == "x":
        text = f"{value:.2f} x"
    elif unit == "/s":
        text = f"{value:,.0f} /s"
    else:
        text = f"{value:,.0f}"
    return f"{op} {text}" if op else text


def render(results: dict[str, Any]) -> str:
    env, m, o = results["environment"], results["stages"], results["outcome"]
    pkgs = ", ".join(f"{k} {v}" for k, v in env["packages"].items())
    bare = m["bare"]["per_s"]
    typed = sum(1 for f, _ in FORMATS if not any(
        s.implementation in ("ReleaseTitleSpecification", "ReleaseGroupSpecification",
                             "EditionSpecification") for s in f.specifications))
    out = [
        SECTION_START,
        f"## Release titles parsed and scored: {len(FORMATS)} custom formats, one core",
        "",
        f"- {env['when']} on {env['host']}: {env['cpu']}, {env['cpus']} CPUs, pinned to "
        f"CPU {env['pinned_cpu']}; Python {env['python']}; "
        f"{env['idle_before_pct']:.0f} % idle before the run"
        + (" (`--quick`)" if env["quick"] else ""),
        f"- {pkgs}",
        f"- Corpus: {o['titles']:,} distinct titles (seed {env['seed']}, mean "
        f"{o['mean_chars']:.0f} characters): " + ", ".join(
            f"{k} {v:,}" for k, v in o["kinds"].items()),
        f"- {len(FORMATS)} formats: {len(FORMATS) - typed} with title/group/edition regexes "
        f"({env['regex_specs']} regex specifications), {typed} with typed specifications "
        "only; compiled by `RegexPatterns` (regex, IGNORECASE, 50 ms limit per match); "
        "profile scores all of them, min score 0; empty `MovieState`, `Limits()`",
        f"- Each figure: the best of {env['repeats']} passes over the corpus (stages "
        f"interleaved, after a warm-up of {env['warmup']:,} titles each), GC on. "
        "titles/s = titles ÷ this process's CPU seconds (`time.process_time`) of the "
        "pass: the pinned core's own throughput, not lowered when another process takes "
        "that core; the wall-clock rate (perf_counter) is beside it",
        "- Other processes' CPU per round, percent of one core (whole machine): "
        + ", ".join(f"{x:.0f} %" for x in env["noise_pct"])
        + f"; whole benchmark {results['elapsed_s']:.0f} s",
        "",
    ]
    rows = []
    for name, label in STAGES:
        s = m[name]
        rows.append([label, f"{s['items']:,}", f"{s['per_s']:,.0f}",
                     "-" if name == "rank" else f"{s['per_s'] / bare:.2f}",
                     f"{s['us_per_item']:,.1f}", f"{s['wall_per_s']:,.0f}",
                     f"{s['spread_pct']:.1f} %"])
    out.append(_table(["stage", "titles", "titles/s (CPU)", "÷ bare PTT",
                       "µs per title (CPU)", "titles/s (wall)", "worst round vs best (CPU)"],
                      rows))
    h, p, sc = m["headline"], m["parse"], m["scoring"]
    out += [
        "",
        f"- Headline: **{h['per_s']:,.0f} titles/s** ({h['us_per_item']:.0f} µs per title), "
        f"**{h['per_s'] / bare:.2f} x** the bare `PTT.parse_title` rate measured in the "
        "same run.",
        f"- Scoring alone (appraise with 30 formats + decide): **{sc['us_per_item']:.1f} µs "
        f"per title** ({sc['per_s']:,.0f}/s); parsing: {p['us_per_item']:.1f} µs. Their "
        f"sum, {p['us_per_item'] + sc['us_per_item']:.0f} µs, against "
        f"{h['us_per_item']:.0f} µs measured together; scoring is "
        f"{100 * sc['us_per_item'] / h['us_per_item']:.0f} % of the headline.",
        f"- `ranked()`: {m['rank']['us_per_call']:,.0f} µs per call of {RANK_CHUNK} "
        "decisions.",
        "",
        "### What the corpus parsed and scored to",
        "",
        f"- {o['approved']:,} of {o['titles']:,} approved "
        f"({100 * o['approved'] / o['titles']:.0f} %); "
        f"{o['formats_per_title']:.2f} formats matched per title; "
        f"{o['unknown_quality']:,} titles of Unknown quality",
        "- Qualities: " + ", ".join(f"{k} {v:,}" for k, v in list(o["qualities"].items())[:14])
        + ("; ..." if len(o["qualities"]) > 14 else ""),
        "- Rejections: " + (", ".join(
            f"{k} {v:,}" for k, v in o["rejections"].items()) or "none"),
        "",
    ]
    names = {f.id: (f.name, score) for f, score in FORMATS}
    hit_rows = [[names[fid][0], str(names[fid][1]), f"{n:,}",
                 f"{100 * n / o['titles']:.1f} %"] for fid, n in o["hits"].items()]
    half = (len(hit_rows) + 1) // 2
    out.append(_table(["format", "score", "titles", "share", "format ", "score ", "titles ",
                       "share "],
                      [a + (hit_rows[half + i] if half + i < len(hit_rows) else [""] * 4)
                       for i, a in enumerate(hit_rows[:half])]))
    prof = results.get("profile")
    if prof:
        out += ["", f"### Where the headline's time goes (cProfile, {prof['titles']:,} "
                f"titles, {prof['total_ms']:,.0f} ms of profiled self time; cProfile "
                "inflates Python calls against C ones)", ""]
        out.append(_table(["area: owner (C calls and stdlib charged to their caller): kind",
                           "ms", "%"],
                          [[a["area"], _num(a["ms"], 0), f"{a['pct']:.1f}"]
                           for a in prof["areas"]]))
        out += [""]
        out.append(_table(["hottest function (self time)", "calls", "self ms", "%"],
                          [[f"`{f['function']}`", f"{f['calls']:,}", _num(f["self_ms"], 0),
                            f"{f['pct']:.1f}"] for f in prof["self"]]))
        out += [""]
        out.append(_table(["project / PTT function (cumulative)", "calls", "cum ms", "%"],
                          [[f"`{f['function']}`", f"{f['calls']:,}", _num(f["cum_ms"], 0),
                            f"{f['pct']:.1f}"] for f in prof["cumulative"]]))
    out += ["", "### Targets (issue 5)", ""]
    out.append(targets_table(results["checks"], _fmt))
    out += checks_and_notes(results, "Problems")
    out.append(SECTION_END)
    return "\n".join(out)


def write(results: dict[str, Any], text: str, out: Path) -> tuple[Path, Path, Path]:
    return write_section(results, text, out, "releases", SECTION_START, SECTION_END)


# -- command line ------------------------------------------------------------------------


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m bench --only releases",
        description="Release titles parsed and scored per second on one core with 30 "
                    "custom formats (see bench/releases.py).")
    p.add_argument("--quick", action="store_true",
                   help="600 titles, 2 rounds (a few seconds); below the 2,000-title corpus "
                        "of a full run")
    p.add_argument("--titles", type=int, default=None,
                   help="distinct titles in the corpus (default 3000, --quick 600)")
    p.add_argument("--repeats", type=int, default=None,
                   help="rounds per stage, best kept (default 3, --quick 2)")
    p.add_argument("--cpu", type=int, default=None,
                   help="CPU to pin to (default: the highest this process may use)")
    p.add_argument("--profile", action="store_true",
                   help="also profile the headline (done anyway when it misses the goal)")
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    p = parser()
    args = p.parse_args(argv)
    n = args.titles or (600 if args.quick else 3000)
    repeats = args.repeats or (2 if args.quick else 3)
    if not (50 <= n <= 50_000 and 1 <= repeats <= 20):
        p.error("need 50 <= titles <= 50000 and 1 <= repeats <= 20")
    started = time.monotonic()
    say = narrator("releases")

    idle = machine_idle_percent(0.5)
    allowed = os.sched_getaffinity(0)
    cpu = args.cpu if args.cpu is not None else max(allowed)
    if cpu not in allowed:
        p.error(f"CPU {cpu} is not one this process may use ({sorted(allowed)})")
    say(f"building {len(FORMATS)} formats and {n:,} titles")
    setup = Setup(n)
    results: dict[str, Any] = {"notes": [], "problems": []}
    os.sched_setaffinity(0, {cpu})
    try:
        say(f"pinned to CPU {cpu}; measuring, best of {repeats}")
        results["stages"], noise = measure(setup, repeats, min(200, n), say)
        results["outcome"] = outcome(setup)
        headline = results["stages"]["headline"]["per_s"]
        if args.profile or headline < GOAL_TITLES_PER_S:
            say("profiling the headline (cProfile)")
            results["profile"] = profile_headline(setup, min(n, 1500))
    finally:
        os.sched_setaffinity(0, allowed)
    regex_specs = sum(1 for f, _ in FORMATS for s in f.specifications if "value" in s.fields
                      and isinstance(s.fields["value"], str))
    results["environment"] = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "host": platform.node(), "cpu": cpu_model(), "cpus": os.cpu_count(),
        "pinned_cpu": cpu, "python": platform.python_version(),
        "idle_before_pct": round(idle, 1), "quick": args.quick, "titles": n,
        "repeats": repeats, "warmup": min(200, n), "seed": SEED,
        "noise_pct": [round(x, 1) for x in noise],
        "regex_specs": regex_specs, "pattern_timeouts": setup.patterns.timeouts,
        "packages": {k: package_version(k) for k in ("parsett", "regex")},
    }
    if max(noise) > 25:
        results["notes"].append(
            f"other processes used up to {max(noise):.0f} % of a core during a round: the "
            "wall-time rates suffer when they ran on our CPU; the CPU-time rates (the "
            "figures checked) much less, but caches are shared: rerun on a quiet machine "
            "to confirm a marginal result")
    if results["outcome"]["unknown_quality"] > 0.1 * n:
        results["problems"].append(
            f"{results['outcome']['unknown_quality']} titles parsed to Unknown quality")
    approved = results["outcome"]["approved"] / n
    if approved < 0.2 or approved > 0.9:
        results["problems"].append(
            f"{100 * approved:.0f} % of the titles approved (about half expected): did the "
            "parser's output or the formats' semantics change? See the hits per format")
    if args.quick:
        results["notes"].append(f"`--quick`: {n:,} titles, {repeats} rounds; a full run "
                                f"uses {MIN_CORPUS:,}+ titles and 3 rounds")
    results["elapsed_s"] = time.monotonic() - started
    results["checks"] = checks(results)
    publish(results, render(results), write, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
