"""Explicit mapping between rows and core values. JSON-valued columns decode through
small caches: a queue holds few distinct qualities and language sets."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Any

import orjson

from core.domain import (
    BlocklistEntry,
    DownloadProtocol,
    ItemState,
    MovieInfo,
    NewBlocklistEntry,
    NewItem,
    Priority,
    QueueItem,
    SourceKind,
    StatusMessage,
    changed_fields,
    materialise,
)
from core.listing import NO_ETA, sort_values
from core.quality import CustomFormatRef, Language, Quality, QualityModel, Revision
from core.retry import RetryPolicy


def dump_quality(q: QualityModel) -> str:
    return _dump_quality(q)


@lru_cache(maxsize=256)
def _dump_quality(q: QualityModel) -> str:
    return orjson.dumps({
        "quality": {"id": q.quality.id, "name": q.quality.name, "source": q.quality.source,
                    "resolution": q.quality.resolution, "modifier": q.quality.modifier},
        "revision": {"version": q.revision.version, "real": q.revision.real,
                     "isRepack": q.revision.is_repack},
    }).decode()


@lru_cache(maxsize=256)
def load_quality(raw: str) -> QualityModel:
    d = orjson.loads(raw)
    q, r = d["quality"], d["revision"]
    return QualityModel(
        Quality(q["id"], q["name"], q["source"], q["resolution"], q["modifier"]),
        Revision(r["version"], r["real"], r["isRepack"]),
    )


@lru_cache(maxsize=64)
def load_retry(raw: str) -> RetryPolicy:
    return RetryPolicy.from_json(orjson.loads(raw))


@lru_cache(maxsize=256)
def dump_languages(langs: tuple[Language, ...]) -> str:
    return orjson.dumps([{"id": lang.id, "name": lang.name} for lang in langs]).decode()


@lru_cache(maxsize=256)
def load_languages(raw: str) -> tuple[Language, ...]:
    return tuple(Language(d["id"], d["name"]) for d in orjson.loads(raw))


@lru_cache(maxsize=256)
def dump_formats(formats: tuple[CustomFormatRef, ...]) -> str:
    return orjson.dumps([{"id": f.id, "name": f.name} for f in formats]).decode()


@lru_cache(maxsize=256)
def load_formats(raw: str) -> tuple[CustomFormatRef, ...]:
    return tuple(CustomFormatRef(d["id"], d["name"]) for d in orjson.loads(raw))


def dump_messages(messages: tuple[StatusMessage, ...]) -> str | None:
    if not messages:
        return None
    return orjson.dumps([{"title": m.title, "messages": list(m.messages)}
                         for m in messages]).decode()


@lru_cache(maxsize=1024)
def load_messages(raw: str | None) -> tuple[StatusMessage, ...]:
    if not raw:
        return ()
    return tuple(StatusMessage(d["title"], tuple(d["messages"])) for d in orjson.loads(raw))


@lru_cache(maxsize=256)
def dump_tags(tags: tuple[int, ...]) -> str:
    return orjson.dumps(list(tags)).decode()


@lru_cache(maxsize=256)
def load_tags(raw: str | None) -> tuple[int, ...]:
    return tuple(int(t) for t in orjson.loads(raw)) if raw else ()


def language_ids(langs: tuple[Language, ...]) -> str:
    """',1,2,' so that a language filter is a portable LIKE '%,1,%'."""
    return "," + "".join(f"{lang.id}," for lang in langs)


def _encoded(name: str, value: Any) -> dict[str, Any]:
    """The column values of one QueueItem field."""
    if name == "movie":
        m: MovieInfo | None = value
        return {
            "movie_title": m.title if m else None,
            "movie_year": (m.year or 0) if m else 0,
            "movie_tmdb_id": m.tmdb_id if m else None,
            "movie_imdb_id": m.imdb_id if m else None,
            "movie_sort_title": m.sort_title if m else None,
        }
    if name == "quality":
        return {"quality": dump_quality(value), "quality_id": value.quality.id}
    if name == "languages":
        return {"languages": dump_languages(value), "language_ids": language_ids(value)}
    if name == "custom_formats":
        return {"custom_formats": dump_formats(value)}
    if name == "status_messages":
        return {"status_messages": dump_messages(value)}
    if name == "tags":
        return {"tags": dump_tags(value)}
    if name == "retry_policy":
        return {name: None if value is None else orjson.dumps(value.to_json()).decode()}
    if name in ("state", "source"):
        return {name: value.value}
    if name in ("protocol", "priority"):
        return {name: int(value)}
    if name in ("id", "estimated_completion_at"):
        return {}  # the key, and a value stored only as its sort column ect_sort
    return {name: value}


def _stored_as_is(name: str) -> bool:
    """Whether _encoded stores the field unchanged in the column of its name (tried with
    a marker value that every encoding would refuse or change)."""
    marker = object()
    try:
        return _encoded(name, marker) == {name: marker}
    except Exception:
        return False


# Fields _encoded maps one to one, read once: a grab's insert encodes every field.
_AS_IS = frozenset(name for name in QueueItem.__dataclass_fields__ if _stored_as_is(name))


def _column_values(item: QueueItem) -> dict[str, Any]:
    """Every field's column values (the key and ect_sort aside)."""
    values: dict[str, Any] = {}
    for name in QueueItem.__dataclass_fields__:
        if name in _AS_IS:
            values[name] = getattr(item, name)
        else:
            values.update(_encoded(name, getattr(item, name)))
    return values


def insert_values(new: NewItem) -> dict[str, Any]:
    """Column values for a new item, sort columns included."""
    item = materialise(new, 0)
    values = _column_values(item)
    values.update(sort_values(item))
    return values


def update_values(old: QueueItem, new: QueueItem) -> dict[str, Any]:
    """Column values that differ between two versions of an item, sort columns included."""
    values: dict[str, Any] = {}
    for name, value in changed_fields(old, new).items():
        values.update(_encoded(name, value))
    before = sort_values(old)
    values.update((k, v) for k, v in sort_values(new).items() if before[k] != v)
    return values


ITEM_COLUMNS = (
    "id", "version", "state", "title", "source", "protocol", "download_url", "has_torrent_file",
    "info_hash", "url_hash", "movie_id", "movie_title", "movie_year", "movie_tmdb_id",
    "movie_imdb_id", "movie_sort_title", "release_id", "indexer", "size", "size_left",
    "progress", "download_speed", "upload_speed", "eta_seconds", "ect_sort", "priority",
    "status_messages", "error_message", "attempts", "next_attempt_at", "download_client",
    "download_id", "output_path", "category", "seeders", "leechers", "added_at", "updated_at",
    "started_at", "completed_at", "quality", "languages", "custom_formats",
    "custom_format_score", "lease_owner", "lease_expires_at", "rescues", "progress_at",
    "retry_policy", "client_status", "client_message", "tags", "origin_chat", "origin_user",
    "save_under", "group_id",
)

_STATES = {s.value: s for s in ItemState}
_SOURCES = {s.value: s for s in SourceKind}
_PROTOCOLS = {int(p): p for p in DownloadProtocol}
_PRIORITIES = {int(p): p for p in Priority}


def row_to_item(r: Any) -> QueueItem:
    """Build a QueueItem from a row selected with ITEM_COLUMNS, positionally."""
    (id_, version, state, title, source, protocol, download_url, has_torrent, info_hash,
     url_hash, movie_id, movie_title, movie_year, tmdb_id, imdb_id, movie_sort_title,
     release_id, indexer, size, size_left, progress, dl_speed, ul_speed, eta, ect, priority,
     messages, error, attempts, next_attempt, client, download_id, output_path, category,
     seeders, leechers, added, updated, started, completed, quality, languages,
     formats, cf_score, lease_owner, lease_expires_at, rescues, progress_at, retry,
     client_status, client_message, tags, origin_chat, origin_user, save_under, group_id) = r
    movie = None
    if movie_title is not None or tmdb_id is not None or imdb_id is not None or movie_year:
        movie = MovieInfo(movie_title, movie_year or None, tmdb_id, imdb_id, movie_sort_title)
    return QueueItem(
        id_, title, _SOURCES[source], _PROTOCOLS[protocol], _STATES[state], added, updated,
        version, download_url, bool(has_torrent), info_hash, url_hash, movie_id, movie,
        release_id, indexer, size, size_left, progress, dl_speed, ul_speed, eta,
        None if ect == NO_ETA else ect, _PRIORITIES[priority], load_messages(messages),
        error, attempts, next_attempt, client, download_id, output_path, category, seeders,
        leechers, started, completed, load_quality(quality), load_languages(languages),
        load_formats(formats), cf_score, lease_owner, lease_expires_at, rescues, progress_at,
        None if retry is None else load_retry(retry), client_status, client_message,
        load_tags(tags), origin_chat, origin_user, save_under, group_id,
    )


def blocklist_values(entry: NewBlocklistEntry) -> dict[str, Any]:
    return {
        "movie_id": entry.movie_id, "source_title": entry.source_title,
        "title_key": entry.source_title.casefold(), "info_hash": entry.info_hash,
        "url_hash": entry.url_hash, "protocol": int(entry.protocol), "indexer": entry.indexer,
        "message": entry.message, "date": entry.date, "quality": dump_quality(entry.quality),
        "languages": dump_languages(entry.languages),
        "custom_formats": dump_formats(entry.custom_formats),
    }


BLOCKLIST_COLUMNS = (
    "id", "source_title", "date", "protocol", "movie_id", "info_hash", "url_hash", "indexer",
    "message", "quality", "languages", "custom_formats",
)


def row_to_blocklist(r: Any) -> BlocklistEntry:
    (id_, title, date, protocol, movie_id, info_hash, url_hash, indexer, message, quality,
     languages, formats) = r
    return BlocklistEntry(
        title, date, _PROTOCOLS[protocol], movie_id, info_hash, url_hash, indexer, message,
        load_quality(quality), load_languages(languages), load_formats(formats), id=id_,
    )


_DATETIME_AT = tuple(i for i, c in enumerate(ITEM_COLUMNS)
                     if c.endswith("_at") or c == "ect_sort")


def item_to_wire(item: QueueItem) -> list[Any]:
    """A QueueItem as a list in ITEM_COLUMNS order for orjson (which writes datetimes
    as ISO text), to send it to another process; item_from_wire() reads the JSON back."""
    values = _column_values(item)
    values.update(id=item.id, ect_sort=item.estimated_completion_at or NO_ETA)
    return [values[column] for column in ITEM_COLUMNS]


def item_from_wire(row: list[Any]) -> QueueItem:
    if len(row) != len(ITEM_COLUMNS):
        raise ValueError(f"expected {len(ITEM_COLUMNS)} item fields, got {len(row)}")
    row = list(row)
    for i in _DATETIME_AT:
        if row[i] is not None:
            row[i] = datetime.fromisoformat(row[i])
    return row_to_item(row)
