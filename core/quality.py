"""Radarr's quality model: qualities, revisions, languages, and the default ranking."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Quality:
    id: int
    name: str
    source: str  # Radarr QualitySource, camelCase
    resolution: int
    modifier: str = "none"  # Radarr Modifier, camelCase


@dataclass(frozen=True, slots=True)
class Revision:
    version: int = 1
    real: int = 0
    is_repack: bool = False


@dataclass(frozen=True, slots=True)
class QualityModel:
    quality: Quality
    revision: Revision = field(default_factory=Revision)


@dataclass(frozen=True, slots=True)
class Language:
    id: int
    name: str


@dataclass(frozen=True, slots=True)
class CustomFormatRef:
    id: int
    name: str


# Radarr's qualities in the order of its default quality profile (worst first).
QUALITIES: tuple[Quality, ...] = (
    Quality(0, "Unknown", "unknown", 0),
    Quality(24, "WORKPRINT", "workprint", 0),
    Quality(25, "CAM", "cam", 0),
    Quality(26, "TELESYNC", "telesync", 0),
    Quality(27, "TELECINE", "telecine", 0),
    Quality(29, "REGIONAL", "dvd", 480, "regional"),
    Quality(28, "DVDSCR", "dvd", 480, "screener"),
    Quality(1, "SDTV", "tv", 480),
    Quality(2, "DVD", "dvd", 480),
    Quality(23, "DVD-R", "dvd", 480, "remux"),
    Quality(8, "WEBDL-480p", "webdl", 480),
    Quality(12, "WEBRip-480p", "webrip", 480),
    Quality(20, "Bluray-480p", "bluray", 480),
    Quality(21, "Bluray-576p", "bluray", 576),
    Quality(4, "HDTV-720p", "tv", 720),
    Quality(5, "WEBDL-720p", "webdl", 720),
    Quality(14, "WEBRip-720p", "webrip", 720),
    Quality(6, "Bluray-720p", "bluray", 720),
    Quality(9, "HDTV-1080p", "tv", 1080),
    Quality(3, "WEBDL-1080p", "webdl", 1080),
    Quality(15, "WEBRip-1080p", "webrip", 1080),
    Quality(7, "Bluray-1080p", "bluray", 1080),
    Quality(30, "Remux-1080p", "bluray", 1080, "remux"),
    Quality(16, "HDTV-2160p", "tv", 2160),
    Quality(18, "WEBDL-2160p", "webdl", 2160),
    Quality(17, "WEBRip-2160p", "webrip", 2160),
    Quality(19, "Bluray-2160p", "bluray", 2160),
    Quality(31, "Remux-2160p", "bluray", 2160, "remux"),
    Quality(22, "BR-DISK", "bluray", 1080, "brdisk"),
    Quality(10, "Raw-HD", "tv", 1080, "rawhd"),
)

QUALITY_BY_ID: dict[int, Quality] = {q.id: q for q in QUALITIES}
QUALITY_RANK: dict[int, int] = {q.id: rank for rank, q in enumerate(QUALITIES)}

UNKNOWN_QUALITY = QualityModel(QUALITY_BY_ID[0])
UNKNOWN_LANGUAGE = Language(0, "Unknown")

# Radarr's language ids (NzbDrone.Core.Languages.Language.All), the ids custom formats
# and GET /api/v3/language use.
LANGUAGES: dict[int, str] = {
    0: "Unknown", 1: "English", 2: "French", 3: "Spanish", 4: "German", 5: "Italian",
    6: "Danish", 7: "Dutch", 8: "Japanese", 9: "Icelandic", 10: "Chinese", 11: "Russian",
    12: "Polish", 13: "Vietnamese", 14: "Swedish", 15: "Norwegian", 16: "Finnish",
    17: "Turkish", 18: "Portuguese", 19: "Flemish", 20: "Greek", 21: "Korean",
    22: "Hungarian", 23: "Hebrew", 24: "Lithuanian", 25: "Czech", 26: "Hindi",
    27: "Romanian", 28: "Thai", 29: "Bulgarian", 30: "Portuguese (Brazil)", 31: "Arabic",
    32: "Ukrainian", 33: "Persian", 34: "Bengali", 35: "Slovak", 36: "Latvian",
    37: "Spanish (Latino)", 38: "Catalan", 39: "Croatian", 40: "Serbian", 41: "Bosnian",
    42: "Estonian", 43: "Tamil", 44: "Indonesian", 45: "Telugu", 46: "Macedonian",
    47: "Slovenian", 48: "Malayalam", 49: "Kannada", 50: "Albanian", 51: "Afrikaans",
    52: "Marathi", 53: "Tagalog", 54: "Urdu", 55: "Romansh", 56: "Mongolian", 57: "Georgian",
    -1: "Any", -2: "Original",
}


def quality_rank(quality: QualityModel) -> int:
    """Position of the quality in Radarr's default profile; unknown ids rank lowest."""
    return QUALITY_RANK.get(quality.quality.id, 0)


# Radarr's QualitySource and Modifier enums: the numbers custom-format specs carry.
SOURCES: tuple[str, ...] = ("unknown", "cam", "telesync", "telecine", "workprint", "dvd",
                            "tv", "webdl", "webrip", "bluray")
SOURCE_ID: dict[str, int] = {name: i for i, name in enumerate(SOURCES)}
MODIFIERS: tuple[str, ...] = ("none", "regional", "screener", "rawhd", "brdisk", "remux")
MODIFIER_ID: dict[str, int] = {name: i for i, name in enumerate(MODIFIERS)}
RESOLUTIONS: tuple[int, ...] = (0, 360, 480, 540, 576, 720, 1080, 2160)

_BY_NAME: dict[str, Quality] = {q.name: q for q in QUALITIES}
_HD = {2160: "2160p", 1080: "1080p", 720: "720p"}


def quality_for(source: str, resolution: int, modifier: str = "none",
                codec: str | None = None) -> Quality:
    """Radarr's quality for a parsed source, resolution and modifier. A resolution alone
    reads as HDTV (SDTV below 720p), as Radarr's parser does; an XviD BluRay rip that
    names no resolution is SD."""
    q = _BY_NAME
    if modifier == "brdisk":
        return q["BR-DISK"]
    if modifier == "rawhd":
        return q["Raw-HD"]
    if modifier == "remux":
        if source == "dvd":
            return q["DVD-R"]
        return q["Remux-2160p"] if resolution >= 2160 else q["Remux-1080p"]
    if modifier == "screener":
        return q["DVDSCR"]
    if modifier == "regional":
        return q["REGIONAL"]
    if source in ("cam", "telesync", "telecine", "workprint"):
        return q[{"cam": "CAM", "telesync": "TELESYNC", "telecine": "TELECINE",
                  "workprint": "WORKPRINT"}[source]]
    if source == "dvd":
        return q["DVD"]
    if source == "bluray":
        if resolution in _HD:
            return q[f"Bluray-{_HD[resolution]}"]
        if resolution == 576:
            return q["Bluray-576p"]
        return q["Bluray-480p"] if resolution or codec in ("xvid", "divx") else \
            q["Bluray-720p"]
    if source in ("webdl", "webrip"):
        prefix = "WEBDL" if source == "webdl" else "WEBRip"
        return q[f"{prefix}-{_HD.get(resolution, '480p')}"]
    if source == "tv" or resolution:
        return q[f"HDTV-{_HD[resolution]}"] if resolution in _HD else q["SDTV"]
    return QUALITY_BY_ID[0]


def language_by_name(name: str) -> Language | None:
    key = name.strip().lower()
    for lid, lname in LANGUAGES.items():
        if lname.lower() == key:
            return Language(lid, lname)
    return None
