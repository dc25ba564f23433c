"""The formats and profile a fresh Queuarr starts with: the seed's search preferences
(resolution first, preferred and forbidden groups and keywords, codec, size, a minimum
score) in Radarr's terms. Users edit or replace them through the API."""

from __future__ import annotations

from collections.abc import Mapping

from core.formats import CustomFormat, Specification
from core.profiles import FormatScore, QualityProfile, all_qualities
from core.quality import QUALITIES

DEFAULT_PROFILE_NAME = "Queuarr default"
FORBIDDEN = -10000


def _title(name: str, pattern: str, negate: bool = False, required: bool = False
           ) -> Specification:
    return Specification(name, "ReleaseTitleSpecification", negate, required,
                         {"value": pattern})


def _group(name: str, pattern: str) -> Specification:
    return Specification(name, "ReleaseGroupSpecification", False, False, {"value": pattern})


def _size(name: str, low: float, high: float) -> Specification:
    return Specification(name, "SizeSpecification", False, True, {"min": low, "max": high})


# (format, score in the default profile)
DEFAULT_FORMATS: tuple[tuple[CustomFormat, int], ...] = (
    (CustomFormat(0, "Forbidden keywords", (
        _title("CAM, telesync, screener",
               r"\b(HD-?)?(CAM(Rip)?|TS(Rip)?|TELESYNC|TC|TELECINE|SCR|SCREENER|DVDSCR|"
               r"WORKPRINT)\b"),)), FORBIDDEN),
    (CustomFormat(0, "Forbidden groups", (
        _group("Low-quality groups", r"^(YIFY|YTS(\.\w+)?|aXXo|CrEwSaDe|KLASSiGERHD|nHD|"
                                     r"PiRaTeS|STUTTERSHIT|Pahe|ION10)$"),)),
     FORBIDDEN),
    (CustomFormat(0, "Preferred groups", (
        _group("Well-known encoders", r"^(FraMeSToR|SPARKS|FLUX|NTb|DON|CtrlHD|HiFi|EbP|"
                                      r"BMF|decibeL|EPSiLON|playHD|ZQ|TayTO|W4NK3R|"
                                      r"AMIABLE|GECKOS|CMRG|NOSiVID)$"),)), 500),
    (CustomFormat(0, "HEVC", (
        _title("x265 / HEVC", r"\b([xh][ ._-]?265|HEVC)\b"),)), 50),
    (CustomFormat(0, "HDR", (
        _title("HDR10, HDR10+, Dolby Vision",
               r"\b(HDR(10)?(\+|Plus)?|DV|DoVi|Dolby[ ._-]?Vision)\b"),)), 100),
    (CustomFormat(0, "Repack/Proper", (
        _title("Repack or proper", r"\b(REPACK\d?|PROPER|RERIP)\b"),)), 10),
    (CustomFormat(0, "Size: too small", (
        _size("Under 700 MB", 0, 0.68359375),)), -1000),
    (CustomFormat(0, "Size: oversized", (
        _size("Over 80 GB", 80, 100000),)), -200),
)

# Qualities the default profile refuses: unwatchable sources and raw discs.
_REFUSED = {"Unknown", "WORKPRINT", "CAM", "TELESYNC", "TELECINE", "REGIONAL", "DVDSCR",
            "BR-DISK", "Raw-HD"}


def default_profile(format_ids: Mapping[str, int]) -> QualityProfile:
    """The default profile, scoring the default formats by their stored ids."""
    scores = {fmt.name: score for fmt, score in DEFAULT_FORMATS}
    allowed = [q.id for q in QUALITIES if q.name not in _REFUSED]
    return QualityProfile(
        id=0, name=DEFAULT_PROFILE_NAME, items=all_qualities(allowed),
        cutoff=next(q.id for q in QUALITIES if q.name == "Bluray-1080p"),
        upgrade_allowed=True, min_format_score=-1000, cutoff_format_score=500,
        min_upgrade_format_score=10,
        format_items=tuple(FormatScore(fid, name, scores.get(name, 0))
                           for name, fid in format_ids.items()),
    )
