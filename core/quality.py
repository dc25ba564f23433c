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
    Quality(2, "DVD", "dvd", 0),
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

# Radarr's language ids (a subset; unknown ids are kept with the name given).
LANGUAGES: dict[int, str] = {
    0: "Unknown", 1: "English", 2: "French", 3: "Spanish", 4: "German", 5: "Italian",
    6: "Danish", 7: "Dutch", 8: "Japanese", 9: "Icelandic", 10: "Chinese", 11: "Russian",
    12: "Polish", 13: "Vietnamese", 14: "Swedish", 15: "Norwegian", 16: "Finnish",
    17: "Turkish", 18: "Portuguese", 19: "Flemish", 20: "Greek", 21: "Korean",
    22: "Hungarian", 23: "Hebrew", 24: "Lithuanian", 25: "Czech", 26: "Hindi",
    27: "Romanian", 28: "Thai", 29: "Bulgarian", 30: "Portuguese (Brazil)", 31: "Arabic",
    -1: "Any", -2: "Original",
}


def quality_rank(quality: QualityModel) -> int:
    """Position of the quality in Radarr's default profile; unknown ids rank lowest."""
    return QUALITY_RANK.get(quality.quality.id, 0)
