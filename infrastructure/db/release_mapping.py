"""Custom formats, quality profiles, candidate releases and notification targets to and
from stored JSON."""

from __future__ import annotations

from typing import Any

import orjson

from core.events import EventType
from core.formats import CustomFormat, Specification
from core.notifications import NotificationConfig
from core.profiles import FormatScore, ProfileItem, QualityProfile
from core.quality import QUALITY_BY_ID
from core.release import Release


def dump_format(fmt: CustomFormat) -> str:
    return orjson.dumps({
        "includeCustomFormatWhenRenaming": fmt.include_when_renaming,
        "specifications": [
            {"name": s.name, "implementation": s.implementation, "negate": s.negate,
             "required": s.required, "fields": dict(s.fields)}
            for s in fmt.specifications],
    }).decode()


def load_format(format_id: int, name: str, body: str) -> CustomFormat:
    raw = orjson.loads(body)
    return CustomFormat(
        id=format_id, name=name,
        include_when_renaming=raw.get("includeCustomFormatWhenRenaming", False),
        specifications=tuple(
            Specification(s["name"], s["implementation"], s["negate"], s["required"],
                          s["fields"]) for s in raw["specifications"]),
    )


def _dump_item(item: ProfileItem) -> dict[str, Any]:
    return {"allowed": item.allowed, "quality": item.quality.id if item.quality else None,
            "name": item.name, "id": item.id, "items": [_dump_item(i) for i in item.items]}


def _load_item(raw: dict[str, Any]) -> ProfileItem:
    quality = QUALITY_BY_ID[raw["quality"]] if raw["quality"] is not None else None
    return ProfileItem(raw["allowed"], quality, raw["name"], raw["id"],
                       tuple(_load_item(i) for i in raw["items"]))


def dump_profile(profile: QualityProfile) -> str:
    return orjson.dumps({
        "items": [_dump_item(i) for i in profile.items], "cutoff": profile.cutoff,
        "upgradeAllowed": profile.upgrade_allowed, "minFormatScore": profile.min_format_score,
        "cutoffFormatScore": profile.cutoff_format_score,
        "minUpgradeFormatScore": profile.min_upgrade_format_score,
        "formatItems": [[f.format_id, f.name, f.score] for f in profile.format_items],
        "language": profile.language_id,
    }).decode()


def load_profile(profile_id: int, name: str, body: str) -> QualityProfile:
    raw = orjson.loads(body)
    return QualityProfile(
        id=profile_id, name=name, items=tuple(_load_item(i) for i in raw["items"]),
        cutoff=raw["cutoff"], upgrade_allowed=raw["upgradeAllowed"],
        min_format_score=raw["minFormatScore"], cutoff_format_score=raw["cutoffFormatScore"],
        min_upgrade_format_score=raw["minUpgradeFormatScore"],
        format_items=tuple(FormatScore(*f) for f in raw["formatItems"]),
        language_id=raw["language"],
    )


def dump_notification(config: NotificationConfig) -> str:
    return orjson.dumps({"url": config.url, "secret": config.secret,
                         "events": sorted(e.value for e in config.events),
                         "enable": config.enable}).decode()


def load_notification(config_id: int, name: str, body: str) -> NotificationConfig:
    raw = orjson.loads(body)
    return NotificationConfig(config_id, name, raw["url"], raw["secret"],
                              frozenset(EventType(e) for e in raw["events"]), raw["enable"])


def dump_release(release: Release) -> str:
    return orjson.dumps(release.to_dict()).decode()


def load_release(body: str) -> Release:
    return Release.from_dict(orjson.loads(body))
