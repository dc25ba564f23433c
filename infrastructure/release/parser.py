"""Release titles parsed with parsett (PTT), mapped onto Radarr's quality model.

PTT's default parser runs ~430 handlers, many for series, adult content and sites that
a movie release never needs; `MOVIE_SKIP` leaves those out, which nearly doubles the
speed (bench/parsers.py) without changing a field we read (tests/release/
test_parser_corpus.py compares both parsers on the golden corpus). A few of Radarr's
rules PTT lacks are applied after it: disc images (BR-DISK, DVD-R), bare UHD, Raw-HD,
workprints, screeners, Hi10, the groups Radarr knows by name and a group after the
last dash, some editions."""

from __future__ import annotations

import functools
import inspect
import types
from typing import Any

import PTT.parse
import regex
from PTT.handlers import add_defaults
from PTT.parse import Parser

from core.quality import LANGUAGES, UNKNOWN_LANGUAGE, Language
from core.release import ParsedRelease
from infrastructure.release.radarr_title import finds_a_movie

MOVIE_SKIP = frozenset({
    "episodes", "seasons", "network", "episode_code", "volumes", "ppv", "adult", "country",
    "documentary", "date", "extras", "torrent", "region", "trash", "scene", "hardcoded",
    "retail", "commentary", "bitrate", "size", "3d", "upscaled", "convert",
})

# PTT's `quality` -> Radarr's (source, modifier).
_SOURCES: dict[str, tuple[str, str]] = {
    "BluRay REMUX": ("bluray", "remux"), "REMUX": ("bluray", "remux"),
    "BluRay": ("bluray", "none"), "BDRip": ("bluray", "none"), "BRRip": ("bluray", "none"),
    "UHDRip": ("bluray", "none"),
    "WEB-DL": ("webdl", "none"), "WEB": ("webdl", "none"), "WEBMux": ("webdl", "none"),
    "WEB-DLRip": ("webrip", "none"), "WEBRip": ("webrip", "none"),
    "HDRip": ("webrip", "none"),
    "HDTV": ("tv", "none"), "HDTVRip": ("tv", "none"), "PDTV": ("tv", "none"),
    "TVRip": ("tv", "none"), "SATRip": ("tv", "none"), "PPVRip": ("tv", "none"),
    "DVD": ("dvd", "none"), "DVDRip": ("dvd", "none"),
    "CAM": ("cam", "none"), "TeleSync": ("telesync", "none"),
    "TeleCine": ("telecine", "none"), "SCR": ("dvd", "screener"), "R5": ("dvd", "regional"),
}
_RESOLUTIONS = {"2160p": 2160, "4k": 2160, "1440p": 1080, "1080p": 1080, "1080i": 1080,
                "720p": 720, "576p": 576, "540p": 540, "480p": 480, "360p": 360,
                "240p": 360}
# Radarr's language ids by the ISO 639-1 codes PTT gives.
_LANGUAGE_CODES: dict[str, int] = {
    "en": 1, "fr": 2, "es": 3, "de": 4, "it": 5, "da": 6, "nl": 7, "ja": 8, "is": 9,
    "zh": 10, "ru": 11, "pl": 12, "vi": 13, "sv": 14, "no": 15, "fi": 16, "tr": 17,
    "pt": 18, "el": 20, "ko": 21, "hu": 22, "he": 23, "lt": 24, "cs": 25, "hi": 26,
    "ro": 27, "th": 28, "bg": 29, "ar": 31,
}

_I = regex.IGNORECASE
_BRDISK = regex.compile(
    r"\b(COMPLETE[ ._-]+(UHD[ ._-]+)?BLU-?RAY|BD[ ._-]?(25|50|66|100)|BR-?DISK|M2TS|"
    r"BD-?ISO)\b", _I)
_DISC_CODEC = regex.compile(r"\b(AVC|VC-?1|MPEG-?2)\b", _I)
_ENCODE = regex.compile(r"\b([xh][ ._-]?26[45]|HEVC|XviD|DivX|REMUX)\b", _I)
_RAWHD = regex.compile(r"\bRaw[ ._-]?HD\b", _I)
_WORKPRINT = regex.compile(r"\bWORKPRINT\b", _I)
_SCREENER = regex.compile(r"\b(DVD-?SCR|SCREENER|BD-?SCR|WEB-?SCR)\b", _I)
_REAL = regex.compile(r"\bREAL\b")  # Radarr reads REAL in capitals only
_VERSION = regex.compile(r"\bv([2-9])\b", _I)
_EXTENSION = regex.compile(r"\.(mkv|mp4|avi|m4v|ts|wmv|torrent|nzb)$", _I)
_DVDR = regex.compile(r"\b(DVD-?R|DVD[59])\b", _I)
_UHD = regex.compile(r"\bUHD\b", _I)
_GROUP = regex.compile(r"-([A-Za-z0-9]{2,20})$")
# Groups that do not sign with a dash, as Radarr lists them: encoders who sign as the
# last word inside the closing brackets ("(1080p BluRay x265 10bit Tigole)"), and names
# taken wherever they stand ("[YTS.MX]", "QxR"). They win over the other rules.
_BRACKET_GROUPS = regex.compile(
    r"(?<=[._ \[])(Silence|afm72|Panda|Ghost|MONOLITH|Tigole|Joy|ImE|UTR|t3nzin|Anime Time|"
    r"Project Angel|Hakata Ramen|HONE|GiLG|Vyndros|SEV|Garshasp|Kappa|Natty|RCVR|SAMPA|"
    r"YOGI|r00t|EDGE2020|RZeroX|FreetheFish|Anna|Bandi|Qman|theincognito|HDO|DusIctv|DHD|"
    r"CtrlHD|-ZR-|ADC|XZVN|RH|Kametsu)(?=[\])])", _I)
_NAMED_GROUPS = regex.compile(
    r"\b(KRaLiMaRKo|E\.N\.D|D-Z0N3|Koten_Gars|BluDragon|ZØNEHD|HQMUX|VARYG|YIFY|"
    r"YTS(?:\.(?:MX|LT|AG))?|TMd|Eml HDTeam|LMain|DarQ|BEN[ ._]THE[ ._]MEN|TAoE|QxR|"
    r"Fight-BB|KCRT)\b", _I)
_HI10 = regex.compile(r"\bHi10P?\b", _I)  # 10-bit H.264
_EDITION = regex.compile(r"\b(Final[ ._-]Cut|Special[ ._-]Edition|Redux|Criterion|"
                         r"Ultimate[ ._-]Cut)\b", _I)
_WEB = regex.compile(r"\b(WEB[ ._-]?DL|WEB|AMZN|NF|DSNP|ATVP|HMAX|iT)\b")


# PTT asks inspect.signature() of a handler's transformer on every match (a tenth of a
# parse); the transformers are fixed functions, so their signatures are read once.
PTT.parse.inspect = types.SimpleNamespace(  # type: ignore[attr-defined]
    signature=functools.lru_cache(maxsize=1024)(inspect.signature))


def _parser() -> Parser:
    class MovieParser(Parser):
        def add_handler(self, handler_name: str, handler: Any = None,
                        transformer: Any = None, options: Any = None) -> None:
            if handler_name not in MOVIE_SKIP:
                super().add_handler(handler_name, handler, transformer, options)

    parser = MovieParser()
    add_defaults(parser)
    return parser


def _languages(codes: list[str]) -> tuple[Language, ...]:
    found: list[Language] = []
    for code in codes:
        lid = _LANGUAGE_CODES.get(code.split("-")[0].lower())
        if code.lower() in ("pt-br", "br"):
            lid = 30
        if lid is not None and all(lang.id != lid for lang in found):
            found.append(Language(lid, LANGUAGES[lid]))
    # Radarr falls back to the movie's original language, which Queuarr does not know:
    # Unknown, as Radarr shows for a release of an unknown movie.
    return tuple(found) or (UNKNOWN_LANGUAGE,)


class PttParser:
    """core.ports.ReleaseParser over parsett; `full=True` runs PTT's every handler."""

    def __init__(self, full: bool = False) -> None:
        self._parse = _full_parser().parse if full else _parser().parse

    def _names_a_quality(self, text: str) -> bool:
        try:
            raw = self._parse(text)
        except Exception:
            return False
        return bool(raw.get("resolution") or raw.get("quality"))

    def raw(self, title: str) -> dict[str, Any]:
        result: dict[str, Any] = self._parse(title)
        return result

    def parse(self, title: str) -> ParsedRelease:
        release_title = _EXTENSION.sub("", title.strip())
        try:
            raw = self._parse(release_title)
        except Exception:  # a parser bug must not lose the release: Unknown quality
            raw = {"title": release_title}
        source, modifier = _SOURCES.get(raw.get("quality") or "", ("unknown", "none"))
        resolution = _RESOLUTIONS.get(str(raw.get("resolution") or "").lower(), 0)
        if _WORKPRINT.search(release_title):
            source = "workprint"
        elif _RAWHD.search(release_title):
            source, modifier = "tv", "rawhd"
        elif _SCREENER.search(release_title) and source in ("unknown", "dvd", "bluray",
                                                             "webdl"):
            source, modifier = "dvd", "screener"
        elif modifier != "remux" and _BRDISK.search(release_title):
            source, modifier = "bluray", "brdisk"
        elif source == "bluray" and modifier == "none" and (
                _DISC_CODEC.search(release_title) and not _ENCODE.search(release_title)):
            modifier = "brdisk"
        elif source in ("dvd", "unknown") and _DVDR.search(release_title):
            source, modifier = "dvd", "remux"
        elif source == "unknown" and resolution and _WEB.search(release_title):
            source = "webdl"
        if not resolution and _UHD.search(release_title):
            resolution = 2160
        proper, repack = bool(raw.get("proper")), bool(raw.get("repack"))
        version_match = _VERSION.search(release_title)
        version = int(version_match.group(1)) if version_match else 1
        if proper or repack:
            version = max(version, 2)
        edition = raw.get("edition")
        if edition is None and (found := _EDITION.search(release_title)):
            edition = regex.sub(r"[._-]", " ", found.group(1)).title()
        if edition is None and raw.get("unrated"):
            edition = "Unrated"
        if edition is None and raw.get("remastered"):
            edition = "Remastered"
        return ParsedRelease(
            release_title=release_title,
            title=raw.get("title") or release_title,
            year=raw.get("year"),
            resolution=resolution,
            source=source,
            modifier=modifier,
            codec=raw.get("codec") or ("avc" if _HI10.search(release_title) else None),
            hdr=tuple(raw.get("hdr") or ()),
            audio=tuple(raw.get("audio") or ()),
            edition=edition,
            group=_group(release_title, raw.get("group")),
            proper=proper,
            repack=repack,
            version=version,
            real=1 if _REAL.search(release_title) else 0,
            languages=_languages(list(raw.get("languages") or ())),
            recognised=finds_a_movie(title.strip(), self._names_a_quality),
            extra={k: raw[k] for k in ("channels", "bit_depth", "dubbed", "subbed",
                                       "complete", "container") if raw.get(k)},
        )


def _group(title: str, parsed: str | None) -> str | None:
    """Radarr's order: the groups it lists by name (the last one named), then PTT's,
    then the word after the last dash."""
    bracketed = "]" in title or ")" in title  # (most scene titles have neither)
    for listed in (_BRACKET_GROUPS, _NAMED_GROUPS) if bracketed else (_NAMED_GROUPS,):
        named = listed.findall(title)
        if named:
            return str(named[-1])
    if parsed:
        return parsed
    found = _GROUP.search(title)
    return found.group(1) if found else None


def _full_parser() -> Parser:
    parser = Parser()
    add_defaults(parser)
    return parser
