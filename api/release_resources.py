"""Release selection on the wire: Radarr's CustomFormatResource, QualityProfileResource
and ReleaseResource to and from core values."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from api.format_fields import implementation_name, specification_json
from api.release_schemas import CustomFormatBody, ProfileItemBody, QualityProfileBody, ReleaseBody
from api.resources import quality_json
from core.decisions import Decision
from core.domain import DownloadProtocol
from core.errors import BadRequest
from core.formats import BUILDERS, CustomFormat, FormatMatch, Specification
from core.links import magnet_hash
from core.profiles import FormatScore, ProfileItem, QualityProfile
from core.quality import LANGUAGES, QUALITY_BY_ID
from core.release import DEFAULT_INDEXER_PRIORITY, INDEXER_FLAGS, Release

# -- custom formats ---------------------------------------------------------------------

def _implementation(name: str) -> str:
    """Radarr's implementation names, matched in any case, with or without the suffix."""
    folded = name.strip().lower().removesuffix("specification")
    for known in BUILDERS:
        if known.lower().removesuffix("specification") == folded:
            return known
    return name


def format_from_body(body: CustomFormatBody, format_id: int = 0) -> CustomFormat:
    return CustomFormat(
        id=format_id, name=body.name.strip(),
        include_when_renaming=bool(body.include_custom_format_when_renaming),
        specifications=tuple(
            Specification(s.name or implementation_name(_implementation(s.implementation)),
                          _implementation(s.implementation), s.negate, s.required,
                          s.field_map())
            for s in body.specifications),
    )


def format_resource(fmt: CustomFormat) -> dict[str, Any]:
    return {
        "id": fmt.id, "name": fmt.name,
        "includeCustomFormatWhenRenaming": fmt.include_when_renaming,
        "specifications": [specification_json(s) for s in fmt.specifications],
    }


# -- quality profiles -------------------------------------------------------------------

def _item(body: ProfileItemBody) -> ProfileItem:
    if body.quality is not None:
        quality = QUALITY_BY_ID.get(body.quality.id)
        if quality is None:
            raise BadRequest(f"Unknown quality id {body.quality.id}")
        return ProfileItem(body.allowed, quality)
    if body.id is None or not body.items:
        raise BadRequest("A profile item is a quality, or a group with an id and items")
    if any(i.quality is None for i in body.items):
        raise BadRequest(f"Quality group {body.name!r} may only hold qualities")
    return ProfileItem(body.allowed, None, body.name, body.id,
                       tuple(_item(i) for i in body.items))


def profile_from_body(body: QualityProfileBody, profile_id: int = 0) -> QualityProfile:
    language = body.language.id if body.language is not None else -1
    if language not in LANGUAGES:
        raise BadRequest(f"Unknown language id {language}")
    return QualityProfile(
        id=profile_id, name=body.name.strip(), items=tuple(_item(i) for i in body.items),
        cutoff=body.cutoff, upgrade_allowed=body.upgrade_allowed,
        min_format_score=body.min_format_score, cutoff_format_score=body.cutoff_format_score,
        min_upgrade_format_score=body.min_upgrade_format_score,
        format_items=tuple(FormatScore(f.format, f.name or "", f.score)
                           for f in body.format_items),
        language_id=language,
    )


def _item_json(item: ProfileItem) -> dict[str, Any]:
    if item.quality is not None:
        q = item.quality
        return {"quality": {"id": q.id, "name": q.name, "source": q.source,
                            "resolution": q.resolution, "modifier": q.modifier},
                "items": [], "allowed": item.allowed}
    return {"id": item.id, "name": item.name, "items": [_item_json(i) for i in item.items],
            "allowed": item.allowed}


def profile_resource(profile: QualityProfile) -> dict[str, Any]:
    return {
        "id": profile.id, "name": profile.name, "upgradeAllowed": profile.upgrade_allowed,
        "cutoff": profile.cutoff, "items": [_item_json(i) for i in profile.items],
        "minFormatScore": profile.min_format_score,
        "cutoffFormatScore": profile.cutoff_format_score,
        "minUpgradeFormatScore": profile.min_upgrade_format_score,
        "formatItems": [{"format": f.format_id, "name": f.name, "score": f.score}
                        for f in profile.format_items],
        "language": {"id": profile.language_id, "name": LANGUAGES[profile.language_id]},
    }


# -- releases ---------------------------------------------------------------------------

_PROTOCOLS = {"unknown": DownloadProtocol.UNKNOWN, "usenet": DownloadProtocol.USENET,
              "torrent": DownloadProtocol.TORRENT}


def _flags(value: int | list[str] | None) -> int:
    if value is None:
        return 0
    if isinstance(value, int):
        return value
    bits = 0
    for name in value:
        bit = next((b for n, b in INDEXER_FLAGS.items() if n.lower() == name.lower()), None)
        if bit is None:
            raise BadRequest(f"Unknown indexer flag {name!r}; known: "
                             f"{', '.join(INDEXER_FLAGS)}")
        bits |= bit
    return bits


def release_from_body(body: ReleaseBody, movie_id: int | None = None) -> Release:
    if isinstance(body.protocol, int):
        if body.protocol not in (0, 1, 2):
            raise BadRequest(f"Unknown protocol {body.protocol}")
        protocol = DownloadProtocol(body.protocol)
    else:
        protocol = _PROTOCOLS[body.protocol.value]
    info_hash = ((body.info_hash.strip().lower() if body.info_hash else None)
                 or magnet_hash(body.magnet_url or body.download_url))
    published = body.publish_date
    if published is not None:  # naive: UTC; aware: shown in UTC, as Radarr does
        published = (published.replace(tzinfo=UTC) if published.tzinfo is None
                     else published.astimezone(UTC))
    return Release(
        title=body.title.strip(), download_url=body.download_url, magnet_url=body.magnet_url,
        info_hash=info_hash,
        protocol=protocol, publish_date=published, size=body.size,
        indexer=body.indexer, indexer_id=body.indexer_id,
        indexer_priority=body.indexer_priority or DEFAULT_INDEXER_PRIORITY,
        seeders=body.seeders, leechers=body.leechers, indexer_flags=_flags(body.indexer_flags),
        movie_id=body.movie_id if body.movie_id is not None else movie_id, guid=body.guid,
        quality_profile_id=body.quality_profile_id,
    )


def _matched(matches: tuple[FormatMatch, ...], profile: QualityProfile
             ) -> list[dict[str, Any]]:
    scores = {f.format_id: f.score for f in profile.format_items}
    return [{"id": m.format.id, "name": m.format.name, "score": scores.get(m.format.id, 0),
             "matchedSpecifications": list(m.matched)} for m in matches]


def _age(published: datetime | None, now: datetime) -> tuple[int, float, float]:
    if published is None:
        return 0, 0.0, 0.0
    minutes = max((now - published).total_seconds() / 60, 0.0)
    return int(minutes // 1440), round(minutes / 60, 2), round(minutes, 2)


def release_resource(decision: Decision, profile: QualityProfile, now: datetime,
                     queue_id: int | None = None) -> dict[str, Any]:
    """Radarr's ReleaseResource for a decided release (what /release/push answers)."""
    a = decision.appraisal
    r, p = a.release, a.parsed
    age, hours, minutes = _age(r.publish_date, now)
    out: dict[str, Any] = {
        "guid": r.guid or r.link or r.title, "quality": quality_json(a.quality),
        "customFormats": [{"id": m.format.id, "name": m.format.name} for m in a.formats],
        "customFormatScore": a.score,
        "qualityWeight": max(profile.rank(a.quality.quality.id), 0) * 100
        + a.quality.revision.version * 10 + a.quality.revision.real,
        "age": age, "ageHours": hours, "ageMinutes": minutes, "size": r.size,
        "indexerId": r.indexer_id, "indexer": r.indexer, "releaseGroup": p.group,
        "title": r.title, "sceneSource": False, "movieTitles": [p.title],
        "languages": [{"id": lang.id, "name": lang.name} for lang in p.languages],
        "approved": decision.approved, "temporarilyRejected": decision.temporary,
        "rejected": not decision.approved, "tmdbId": 0, "imdbId": 0,
        "rejections": list(decision.rejections), "downloadUrl": r.download_url,
        "magnetUrl": r.magnet_url, "infoHash": r.info_hash, "seeders": r.seeders,
        "leechers": r.leechers, "protocol": r.protocol.wire, "indexerFlags": r.indexer_flags,
        "movieId": r.movie_id, "edition": p.edition, "downloadAllowed": decision.approved,
        "releaseWeight": 0, "movieRequested": False, "mappedMovieId": r.movie_id,
    }
    if r.publish_date is not None:
        out["publishDate"] = r.publish_date
    if queue_id is not None:
        out["queueId"] = queue_id
    return {k: v for k, v in out.items() if v is not None}


def parsed_json(decision: Decision) -> dict[str, Any]:
    p = decision.appraisal.parsed
    return {"title": p.title, "year": p.year, "resolution": p.resolution, "source": p.source,
            "modifier": p.modifier, "codec": p.codec, "hdr": list(p.hdr),
            "audio": list(p.audio), "edition": p.edition, "releaseGroup": p.group,
            "proper": p.proper, "repack": p.repack, "version": p.version, "real": p.real}


def scored_resource(decision: Decision, rank: int, profile: QualityProfile
                    ) -> dict[str, Any]:
    a = decision.appraisal
    return {
        "title": a.release.title, "rank": rank, "parsed": parsed_json(decision),
        "quality": quality_json(a.quality),
        "languages": [{"id": lang.id, "name": lang.name} for lang in a.parsed.languages],
        "customFormats": _matched(a.formats, profile), "customFormatScore": a.score,
        "qualityProfileId": profile.id, "approved": decision.approved,
        "temporarilyRejected": decision.temporary, "rejected": not decision.approved,
        "rejections": list(decision.rejections),
    }
