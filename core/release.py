"""Releases as indexers describe them, and what their titles say once parsed."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

from core.domain import DownloadProtocol
from core.quality import UNKNOWN_LANGUAGE, Language, QualityModel, Revision, quality_for

# Radarr's IndexerFlags bits.
INDEXER_FLAGS: dict[str, int] = {
    "G_Freeleech": 1, "G_Halfleech": 2, "G_DoubleUpload": 4, "PTP_Golden": 8,
    "PTP_Approved": 16, "G_Internal": 32, "G_Scene": 128, "G_Freeleech75": 256,
    "G_Freeleech25": 512, "Nuked": 2048,
}
# How much a download costs in ratio, for the tie-breaker: free first, then cheaper.
_FREE = ((1, 100), (256, 75), (2, 50), (512, 25))

DEFAULT_INDEXER_PRIORITY = 25  # Radarr's default; lower is preferred


@dataclass(frozen=True, slots=True)
class Release:
    """A release offered by an indexer (Radarr's ReleaseResource, the fields that
    matter to a decision). `download_url` may be a magnet link."""

    title: str
    download_url: str | None = None
    magnet_url: str | None = None
    info_hash: str | None = None
    protocol: DownloadProtocol = DownloadProtocol.TORRENT
    publish_date: datetime | None = None
    size: int = 0
    indexer: str | None = None
    indexer_id: int = 0
    indexer_priority: int = DEFAULT_INDEXER_PRIORITY
    seeders: int | None = None
    leechers: int | None = None
    indexer_flags: int = 0
    movie_id: int | None = None
    guid: str | None = None
    quality_profile_id: int | None = None

    @property
    def link(self) -> str | None:
        """What a download client is handed: the magnet link, else the download URL."""
        return self.magnet_url or self.download_url

    @property
    def key(self) -> str:
        """What makes two offers the same release: the info hash, else the indexer's
        guid, else the link, else the title."""
        if self.info_hash:
            return f"hash:{self.info_hash.lower()}"
        if self.guid:
            return f"guid:{self.guid}"
        if self.link:
            return f"link:{self.link}"
        return f"title:{self.title}"

    def to_dict(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["protocol"] = int(self.protocol)
        out["publish_date"] = self.publish_date.isoformat() if self.publish_date else None
        return out

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Release:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in raw.items() if k in known}
        values["protocol"] = DownloadProtocol(values.get("protocol", 2))
        if values.get("publish_date"):
            values["publish_date"] = datetime.fromisoformat(values["publish_date"])
        return cls(**values)

    @property
    def free_percent(self) -> int:
        return next((pct for bit, pct in _FREE if self.indexer_flags & bit), 0)


@dataclass(frozen=True, slots=True)
class ParsedRelease:
    """A release title, parsed: the movie, its quality in Radarr's model and the rest."""

    release_title: str
    title: str
    year: int | None = None
    resolution: int = 0
    source: str = "unknown"  # Radarr QualitySource, camelCase
    modifier: str = "none"  # Radarr Modifier, camelCase
    codec: str | None = None
    hdr: tuple[str, ...] = ()
    audio: tuple[str, ...] = ()
    edition: str | None = None
    group: str | None = None
    proper: bool = False
    repack: bool = False
    version: int = 1  # Radarr revision version: 2 for a proper/repack or v2
    real: int = 0  # Radarr revision real: 1 for a REAL (in capitals)
    languages: tuple[Language, ...] = (UNKNOWN_LANGUAGE,)
    # Whether Radarr's parser finds a movie (a title and its year, or an anime release) in
    # the title; a push of a title it cannot parse is refused, as Radarr refuses it.
    recognised: bool = True
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def quality(self) -> QualityModel:
        return QualityModel(
            quality_for(self.source, self.resolution, self.modifier, self.codec),
            Revision(version=self.version, real=self.real, is_repack=self.repack),
        )


MAX_SLUG = 200  # a title past this is the same movie; keys stay short


def _slug(text: str) -> str:
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", " ", text).strip()


def movie_key(movie_id: int | None, parsed: ParsedRelease | None) -> str | None:
    """Which movie a release is for, as one string: its movie id when the caller gave
    one, else the parsed title and year. Candidates and queue items share it."""
    if movie_id is not None:
        return f"movie:{movie_id}"
    slug = _slug(parsed.title)[:MAX_SLUG] if parsed is not None else ""
    if parsed is None or not slug:
        return None
    return f"title:{slug}:{parsed.year or ''}"
