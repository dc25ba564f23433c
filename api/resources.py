"""Core values to Radarr's JSON, by hand: the list endpoints serialise thousands of items,
so this builds plain dicts (nulls omitted) that `dumps` turns into Radarr's formats:
datetimes as YYYY-MM-DDTHH:MM:SSZ (orjson does that in C), enums as their values."""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable
from datetime import datetime
from typing import Any, TypeVar

import orjson

from core.clientfields import (
    CONFIG_CONTRACTS,
    FIELDS,
    IMPLEMENTATION_NAMES,
    INFO_LINKS,
    FieldSpec,
    masked,
)
from core.clients import ClientConfig, ClientKind, ClientSource
from core.domain import (
    BlocklistEntry,
    HistoryEntry,
    ItemState,
    Priority,
    QueueItem,
    SourceKind,
    StateCounts,
)
from core.events import QueueEvent
from core.listing import CLIENT_VIEW_STATES, PENDING_STATES, completion_time, shown_status
from core.quality import (
    UNKNOWN_LANGUAGE,
    UNKNOWN_QUALITY,
    CustomFormatRef,
    Language,
    QualityModel,
)

S = ItemState
_TRACKED_STATUS = {S.WARNING: "warning", S.FAILED: "error"}
_TRACKED_STATE = {S.COMPLETED: "importPending", S.FAILED: "failed"}
_PROTOCOL = {0: "unknown", 1: "usenet", 2: "torrent"}
_PRIORITY = {p: p.wire for p in Priority}
_TORRENT_HASH = re.compile(r"[0-9A-Fa-f]{40}")
_TORRENT_SOURCES = frozenset({SourceKind.MAGNET, SourceKind.TORRENT_FILE,
                              SourceKind.TORRENT_URL})

# Fields Queuarr adds to Radarr's QueueResource; none collides with a Radarr field,
# even case-insensitively (Radarr reads JSON case-insensitively).
EXTRA_QUEUE_FIELDS = frozenset({
    "queueState", "priority", "progress", "downloadSpeed", "uploadSpeed", "attempts",
    "nextAttemptAt", "infoHash", "category", "seeders", "leechers", "releaseId", "source",
    "startedAt", "completedAt", "groupId", "routedTo",
})


_DUMPS_OPTIONS = orjson.OPT_UTC_Z | orjson.OPT_OMIT_MICROSECONDS
T = TypeVar("T", bound=Hashable)


def dumps(value: Any) -> bytes:
    """JSON the way Radarr writes it: aware datetimes as whole seconds with a Z."""
    return orjson.dumps(value, option=_DUMPS_OPTIONS)


def by_identity(build: Callable[[T], Any], size: int = 512) -> Callable[[T], Any]:
    """Memoise on the object's identity: the repositories hand out shared quality and
    language values, and hashing nested dataclasses for every row costs more than
    building the JSON. Equal values that are not identical are simply built again."""
    cache: dict[int, tuple[T, Any]] = {}

    def get(value: T) -> Any:
        hit = cache.get(id(value))
        if hit is not None and hit[0] is value:
            return hit[1]
        if len(cache) >= size:
            cache.clear()
        built = build(value)
        cache[id(value)] = (value, built)
        return built

    return get


def radarr_timespan(seconds: float) -> str:
    """.NET TimeSpan "c" format, [d.]hh:mm:ss, as Radarr writes timeleft."""
    total = max(int(seconds), 0)
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}.{hours:02}:{minutes:02}:{secs:02}"
    return f"{hours:02}:{minutes:02}:{secs:02}"


def _quality_json(q: QualityModel) -> dict[str, Any]:
    return {
        "quality": {"id": q.quality.id, "name": q.quality.name, "source": q.quality.source,
                    "resolution": q.quality.resolution, "modifier": q.quality.modifier},
        "revision": {"version": q.revision.version, "real": q.revision.real,
                     "isRepack": q.revision.is_repack},
    }


def _languages_json(langs: tuple[Language, ...]) -> list[dict[str, Any]]:
    return [{"id": lang.id, "name": lang.name} for lang in langs]


def _formats_json(formats: tuple[CustomFormatRef, ...]) -> list[dict[str, Any]]:
    return [{"id": f.id, "name": f.name} for f in formats]


quality_json = by_identity(_quality_json)
languages_json = by_identity(_languages_json)
formats_json = by_identity(_formats_json)


def movie_json(item: QueueItem) -> dict[str, Any] | None:
    if item.movie_id is None:
        return None
    movie: dict[str, Any] = {"id": item.movie_id}
    m = item.movie
    if m is not None:
        if m.title is not None:
            movie["title"] = m.title
        movie["sortTitle"] = (m.sort_title or m.title or item.title).lower()
        if m.year:
            movie["year"] = m.year
        if m.tmdb_id is not None:
            movie["tmdbId"] = m.tmdb_id
        if m.imdb_id is not None:
            movie["imdbId"] = m.imdb_id
    return movie


def shown_download_id(download_id: str | None, item: QueueItem | None = None) -> str | None:
    """Radarr's downloadId: a torrent's info hash in upper case (QBittorrent.cs:
    `torrent.Hash.ToUpper()`; Aria2.cs: `torrent.InfoHash?.ToUpper()`, so an aria2
    torrent shows its info hash rather than the GID Queuarr follows it by). Anything
    else (the GID of a direct download) as it is. Read back in any case."""
    if download_id is None:
        return None
    if _TORRENT_HASH.fullmatch(download_id):
        return download_id.upper()
    if item is not None and item.info_hash and item.source in _TORRENT_SOURCES \
            and download_id == item.download_id:
        return item.info_hash.upper()
    return download_id


UNSENT_PREFIX = "queuarr-"


def unsent_download_id(item_id: int) -> str:
    """The downloadId of an item no client ever had and whose info hash is unknown (a
    direct link, a .torrent URL not fetched yet): Radarr's queue has no such item, and
    tools key every record by downloadId (decluttarr stops its pass on one without).
    GET /api/v3/history?downloadId= reads it back as the item's history."""
    return f"{UNSENT_PREFIX}{item_id}"


def unsent_item_id(download_id: str) -> int | None:
    """The item id an unsent_download_id names (any case), else None."""
    head, digits = download_id[:len(UNSENT_PREFIX)], download_id[len(UNSENT_PREFIX):]
    if head.lower() == UNSENT_PREFIX and digits.isdigit() and digits.isascii():
        return int(digits)
    return None


def queue_resource(item: QueueItem, now: datetime, include_movie: bool = False) -> dict[str, Any]:
    """Radarr's QueueResource for an item, plus Queuarr's extra fields."""
    state = item.state
    r: dict[str, Any] = {}
    if item.movie_id is not None:
        r["movieId"] = item.movie_id
        if include_movie:
            r["movie"] = movie_json(item)
    r["languages"] = languages_json(item.languages)
    r["quality"] = quality_json(item.quality)
    if item.movie_id is not None:
        r["customFormats"] = formats_json(item.custom_formats)
    r["customFormatScore"] = item.custom_format_score
    r["size"] = item.size
    r["title"] = item.title
    done_at = completion_time(item)
    if state in PENDING_STATES and done_at is not None:
        r["estimatedCompletionTime"] = done_at
        r["timeleft"] = radarr_timespan((done_at - now).total_seconds())
    elif item.eta_seconds is not None:
        if done_at is not None:
            r["estimatedCompletionTime"] = done_at
        r["timeleft"] = radarr_timespan(item.eta_seconds)
    r["added"] = item.added_at
    r["status"] = shown_status(item).value
    if state not in PENDING_STATES:
        r["trackedDownloadStatus"] = _TRACKED_STATUS.get(state, "ok")
        r["trackedDownloadState"] = _TRACKED_STATE.get(state, "downloading")
        r["statusMessages"] = [
            {"title": m.title, "messages": list(m.messages)} for m in item.status_messages
        ]
        r["downloadId"] = (shown_download_id(item.known_download_id, item)
                           or unsent_download_id(item.id))
        if item.output_path is not None:
            r["outputPath"] = item.output_path
    if item.error_message is not None:
        r["errorMessage"] = item.error_message
    elif item.client_message is not None and state in CLIENT_VIEW_STATES:
        r["errorMessage"] = item.client_message  # Radarr's: the client's message
    r["protocol"] = _PROTOCOL[item.protocol]
    if item.download_client is not None:
        r["downloadClient"] = item.download_client
    r["downloadClientHasPostImportCategory"] = False
    if item.indexer is not None:
        r["indexer"] = item.indexer
    r["sizeleft"] = item.size_left
    # Queuarr's own fields.
    r["queueState"] = state
    r["priority"] = _PRIORITY[item.priority]
    r["progress"] = round(item.progress, 2)
    r["downloadSpeed"] = item.download_speed
    r["uploadSpeed"] = item.upload_speed
    r["attempts"] = item.attempts
    if item.next_attempt_at is not None:
        r["nextAttemptAt"] = item.next_attempt_at
    if item.info_hash is not None:
        r["infoHash"] = item.info_hash
    if item.category is not None:
        r["category"] = item.category
    if item.seeders is not None:
        r["seeders"] = item.seeders
    if item.leechers is not None:
        r["leechers"] = item.leechers
    if item.release_id is not None:
        r["releaseId"] = item.release_id
    r["source"] = item.source
    if item.group_id is not None:
        r["groupId"] = item.group_id
    if item.started_at is not None:
        r["startedAt"] = item.started_at
    if item.completed_at is not None:
        r["completedAt"] = item.completed_at
    r["id"] = item.id
    return r


def status_resource(counts: StateCounts) -> dict[str, Any]:
    """Radarr's QueueStatusResource (no id: Radarr's is 0, so it is omitted)."""
    known, unknown = counts.known, counts.unknown
    total_known = sum(known.values())
    total_unknown = sum(unknown.values())
    return {
        "totalCount": total_known + total_unknown,
        "count": total_known,
        "unknownCount": total_unknown,
        "errors": known.get(S.FAILED, 0) > 0,
        "warnings": known.get(S.WARNING, 0) > 0,
        "unknownErrors": unknown.get(S.FAILED, 0) > 0,
        "unknownWarnings": unknown.get(S.WARNING, 0) > 0,
    }


def blocklist_resource(entry: BlocklistEntry) -> dict[str, Any]:
    r: dict[str, Any] = {"id": entry.id}
    if entry.movie_id is not None:
        r["movieId"] = entry.movie_id
    r["sourceTitle"] = entry.source_title
    r["languages"] = languages_json(entry.languages)
    r["quality"] = quality_json(entry.quality)
    r["customFormats"] = formats_json(entry.custom_formats)
    r["date"] = entry.date
    r["protocol"] = _PROTOCOL[entry.protocol]
    if entry.indexer is not None:
        r["indexer"] = entry.indexer
    if entry.message is not None:
        r["message"] = entry.message
    return r


# Radarr's MovieHistoryEventType for the events it has; Queuarr's own keep their names.
RADARR_EVENTS = {"grabbed": "grabbed", "forceGrabbed": "grabbed",
                 "downloadFailed": "downloadFailed"}
RADARR_EVENT_IDS = {0: "unknown", 1: "grabbed", 3: "downloadFolderImported",
                    4: "downloadFailed", 6: "movieFileDeleted", 8: "movieFolderImported",
                    9: "movieFileRenamed", 10: "downloadIgnored"}


def history_resource(entry: HistoryEntry, item: QueueItem | None = None) -> dict[str, Any]:
    """Radarr's HistoryResource; what Radarr has no field for goes in `data`. Quality,
    languages and formats come from the item while it is still in the queue."""
    data = {"itemId": str(entry.item_id), "event": entry.event,
            "fromState": entry.from_state.value if entry.from_state else None,
            "toState": entry.to_state.value if entry.to_state else None,
            "message": entry.message}
    return {
        "id": entry.id, "movieId": entry.movie_id or 0, "sourceTitle": entry.source_title,
        "languages": languages_json(item.languages if item else (UNKNOWN_LANGUAGE,)),
        "quality": quality_json(item.quality if item else UNKNOWN_QUALITY),
        "customFormats": formats_json(item.custom_formats) if item else [],
        "customFormatScore": item.custom_format_score if item else 0,
        "qualityCutoffNotMet": False, "date": entry.at,
        "downloadId": shown_download_id(entry.download_id, item),
        "eventType": RADARR_EVENTS.get(entry.event, entry.event), "data": data,
    }


def download_client_resource(config: ClientConfig) -> dict[str, Any]:
    """Radarr's DownloadClientResource; secrets masked."""
    values = masked(config.kind, config.fields)
    resource: dict[str, Any] = {
        "id": config.id or 0,
        "name": config.name,
        "fields": [field_resource(order, spec, values.get(spec.name))
                   for order, spec in enumerate(FIELDS[config.kind])],
        "implementationName": IMPLEMENTATION_NAMES[config.kind],
        "implementation": config.kind.value,
        "configContract": CONFIG_CONTRACTS[config.kind],
        "infoLink": INFO_LINKS[config.kind],
        "tags": list(config.tags),
        "enable": config.enable,
        "protocol": _PROTOCOL[int(config.descriptor.protocol)],
        "priority": config.priority,
        "removeCompletedDownloads": config.remove_completed,
        "removeFailedDownloads": config.remove_failed,
    }
    if config.source is not ClientSource.API:
        resource["message"] = {
            "message": "Configured by QUEUARR_* settings; read-only here"
            if config.source is ClientSource.SETTINGS
            else "The aria2c that Queuarr started itself; read-only",
            "type": "info"}
    return resource


def field_resource(order: int, spec: FieldSpec, value: Any) -> dict[str, Any]:
    field: dict[str, Any] = {
        "order": order, "name": spec.name, "label": spec.label, "value": value,
        "type": spec.wire_type,
        "advanced": spec.advanced, "privacy": spec.privacy, "isFloat": False,
    }
    if spec.help:
        field["helpText"] = spec.help
    if spec.options:
        field["selectOptions"] = [
            {"value": o.value, "name": o.name, "order": o.order, "dividerAfter": False}
            | ({"hint": o.hint} if o.hint is not None else {}) for o in spec.options]
    return field


def download_client_schema(kind: ClientKind) -> dict[str, Any]:
    """A blank resource for one implementation, as GET /downloadclient/schema lists."""
    template = ClientConfig(name="", kind=kind,
                            fields={s.name: s.default for s in FIELDS[kind]})
    resource = download_client_resource(template)
    resource["presets"] = []
    return resource


def event_json(event: QueueEvent, now: datetime) -> dict[str, Any]:
    """An event out, as the stream and webhooks carry it: type, time, message, client
    and the item's queue resource."""
    data: dict[str, Any] = {"eventType": event.type.value, "eventId": event.id,
                            "date": event.at}
    if event.message is not None:
        data["message"] = event.message
    if event.client is not None:
        data["downloadClient"] = event.client
    if event.item is not None:
        data["queueItem"] = queue_resource(event.item, now)
    return data
