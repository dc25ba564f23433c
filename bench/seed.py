"""Realistic queue items, and fast bulk seeding of fresh Postgres and SQLite databases.

Rows come from `infrastructure.db.mapping.insert_values` (the code path the server's
grab uses), so every derived column (sort keys, JSON columns, counters) is right. A share
of the items is then moved on to later states (downloading with progress and an ETA,
paused, warning, retrying, completed, failed) through `update_values`, so that the sort
columns and the per-state counters look like a queue that has been running a while.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import random
import sqlite3
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

from core.domain import (
    DownloadProtocol,
    ItemState,
    MovieInfo,
    NewItem,
    Priority,
    SourceKind,
    StatusMessage,
    materialise,
)
from core.links import url_hash
from core.quality import QUALITY_BY_ID, CustomFormatRef, Language, QualityModel, Revision
from infrastructure.db.mapping import insert_values, update_values
from infrastructure.migrate import upgrade

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)

_WORDS = ("Night", "Day", "Dark", "Light", "Last", "First", "Lost", "Found", "Red", "Blue",
          "Iron", "Silver", "Golden", "Black", "White", "Storm", "River", "Mountain", "City",
          "Road", "Star", "Moon", "Sun", "Ghost", "Shadow", "King", "Queen", "War", "Peace",
          "Time", "Edge", "Heart", "Dream", "Fire", "Ice", "Stone", "Wolf", "Dragon", "Secret",
          "Hidden", "Wild", "Silent", "Broken", "Empire", "Journey", "Return", "Rise", "Fall",
          "Game", "Code", "Signal", "Harbor", "Winter", "Summer", "Echo", "Horizon", "Legacy")
_GROUPS = ("SPARKS", "GECKOS", "FGT", "NTb", "FLUX", "CMRG", "EVO", "RARBG", "YTS", "TEPES",
           "playWEB", "HONE", "SWTYBLZ", "KOGi", "BORDURE")
_TORRENT_INDEXERS = ("1337x", "TorrentGalaxy", "YTS", "Nyaa", "IPTorrents", "TorrentLeech",
                     "BeyondHD", "PassThePopcorn", "HDBits", "Blutopia")
_HTTP_HOSTS = ("files.example.org", "dl.example.net", "cdn.example.com", "mirror.example.io")
_TRACKERS = ("udp://tracker.opentrackr.org:1337/announce",
             "udp://open.stealth.si:80/announce", "udp://tracker.torrent.eu.org:451/announce")
# (quality id, weight): mostly 1080p and 2160p, a tail of everything else.
_QUALITIES = ((3, 18), (7, 16), (15, 12), (18, 9), (19, 7), (5, 6), (6, 5), (30, 5), (31, 4),
              (9, 3), (14, 3), (4, 2), (8, 2), (1, 1), (2, 1), (25, 1), (0, 5))
_LANGS = ((Language(1, "English"),), (Language(1, "English"),), (Language(1, "English"),),
          (Language(2, "French"),), (Language(4, "German"),), (Language(3, "Spanish"),),
          (Language(1, "English"), Language(2, "French")), (Language(8, "Japanese"),),
          (Language(0, "Unknown"),))
_FORMATS = ((), (), (CustomFormatRef(1, "x265"),), (CustomFormatRef(2, "HDR"),),
            (CustomFormatRef(2, "HDR"), CustomFormatRef(3, "DV")),
            (CustomFormatRef(4, "Repack"),))
# State mix of a queue that has been running for a while (the rest stays queued).
_STATES = ((ItemState.DOWNLOADING, 0.22), (ItemState.PAUSED, 0.04), (ItemState.WARNING, 0.02),
           (ItemState.RETRYING, 0.02), (ItemState.CLIENT_UNAVAILABLE, 0.01),
           (ItemState.COMPLETED, 0.06), (ItemState.FAILED, 0.03))


@dataclass(frozen=True, slots=True)
class Movie:
    id: int
    title: str
    year: int
    tmdb_id: int
    imdb_id: str


def _movies(rng: random.Random, count: int) -> list[Movie]:
    movies = []
    for i in range(count):
        words = rng.sample(_WORDS, rng.choice((1, 2, 2, 3, 3, 4)))
        title = ("The " if rng.random() < 0.3 else "") + " ".join(words)
        movies.append(Movie(i + 1, title, rng.randint(1950, 2026), 10_000 + i * 7,
                            f"tt{1_000_000 + i * 13:07d}"))
    return movies


def _weighted(rng: random.Random, pairs: tuple[tuple[Any, float], ...]) -> Any:
    values, weights = zip(*pairs, strict=True)
    return rng.choices(values, weights)[0]


MOVIES = 20_000  # the library the queue's movies come from
CHUNK = 10_000  # rows are built in fixed chunks, so that the first n rows never depend on
# how many are built in all (the 10k data set is the first tenth of the 100k one)


def new_items(start: int, stop: int, seed: int = 20261121) -> list[NewItem]:
    """Items number start..stop-1: varied NewItems with distinct info hashes / URL hashes:
    ~55 % magnets, ~25 % .torrent URLs, ~20 % direct http files; ~80 % carry a movie id
    and snapshot."""
    movies = _movies(random.Random(seed), MOVIES)
    rng = random.Random(f"{seed}-{start}")
    items = []
    for i in range(start, stop):
        movie = rng.choice(movies) if rng.random() < 0.8 else None
        quality = QUALITY_BY_ID[_weighted(rng, _QUALITIES)]
        name = (movie.title if movie else " ".join(rng.sample(_WORDS, 3))).replace(" ", ".")
        year = movie.year if movie else rng.randint(1950, 2026)
        res = f"{quality.resolution}p" if quality.resolution else "SD"
        title = f"{name}.{year}.{res}.{quality.source.upper()}.x264-{rng.choice(_GROUPS)}"
        kind = rng.random()
        info_hash = link_hash = None
        if kind < 0.55:
            source, protocol = SourceKind.MAGNET, DownloadProtocol.TORRENT
            info_hash = hashlib.sha1(f"seed-{seed}-{i}".encode()).hexdigest()
            url = (f"magnet:?xt=urn:btih:{info_hash}&dn={quote(title)}"
                   f"&tr={quote(rng.choice(_TRACKERS), safe='')}")
            indexer = rng.choice(_TORRENT_INDEXERS)
        elif kind < 0.8:
            source, protocol = SourceKind.TORRENT_URL, DownloadProtocol.TORRENT
            indexer = rng.choice(_TORRENT_INDEXERS)
            url = f"https://{indexer.lower()}.example.org/download/{i}/{quote(title)}.torrent"
            link_hash = url_hash(url)
        else:
            source, protocol = SourceKind.HTTP, DownloadProtocol.UNKNOWN
            indexer = None
            url = f"https://{rng.choice(_HTTP_HOSTS)}/files/{i}/{quote(title)}.mkv"
            link_hash = url_hash(url)
        size = int(rng.lognormvariate(22.5, 0.9))  # median ~6 GB
        items.append(NewItem(
            title=title, source=source, protocol=protocol,
            added_at=NOW - timedelta(seconds=rng.randint(0, 30 * 86400)),
            download_url=url, info_hash=info_hash, url_hash=link_hash,
            movie_id=movie.id if movie else None,
            movie=MovieInfo(movie.title, movie.year, movie.tmdb_id, movie.imdb_id,
                            movie.title.lower().removeprefix("the ")) if movie else None,
            release_id=str(rng.randint(1, 10**9)) if indexer else None,
            indexer=indexer, size=size,
            seeders=rng.randint(0, 3000) if protocol is DownloadProtocol.TORRENT else None,
            leechers=rng.randint(0, 500) if protocol is DownloadProtocol.TORRENT else None,
            priority=_weighted(rng, ((Priority.NORMAL, 0.85), (Priority.HIGH, 0.08),
                                     (Priority.LOW, 0.05), (Priority.VERY_HIGH, 0.02))),
            category="radarr" if rng.random() < 0.9 else "movies-uhd",
            quality=QualityModel(quality, Revision(2 if rng.random() < 0.05 else 1)),
            languages=rng.choice(_LANGS), custom_formats=rng.choice(_FORMATS),
            custom_format_score=rng.choice((0, 0, 10, 25, 50)),
        ))
    return items


def item_rows(items: list[NewItem], seed: str = "states") -> list[dict[str, Any]]:
    """Column dicts for the items, with a realistic share moved past `queued`."""
    rng = random.Random(seed)
    rows = []
    for new in items:
        values = insert_values(new)
        r = rng.random()
        state = ItemState.QUEUED
        for candidate, share in _STATES:
            if r < share:
                state = candidate
                break
            r -= share
        if state is not ItemState.QUEUED:
            values.update(update_values(materialise(new, 0), _advance(new, state, rng)))
        rows.append(values)
    return rows


def _chunk(start: int, stop: int) -> tuple[list[str], list[tuple[Any, ...]]]:
    rows = item_rows(new_items(start, stop), seed=f"states-{start}")
    columns = list(rows[0])
    return columns, [tuple(r[c] for c in columns) for r in rows]


@dataclass
class Rows:
    """Rows ready for COPY / executemany: column names and value tuples."""

    columns: list[str]
    values: list[tuple[Any, ...]]

    def head(self, n: int) -> Rows:
        return Rows(self.columns, self.values[:n])


def _fingerprint() -> str:
    """Changes whenever the code that shapes the rows does."""
    import core.domain
    import core.links
    import core.listing
    import core.quality
    import infrastructure.db.mapping

    digest = hashlib.sha256()
    for module in (core.domain, core.links, core.listing, core.quality,
                   infrastructure.db.mapping):
        digest.update(Path(str(module.__file__)).read_bytes())
    digest.update(Path(__file__).read_bytes())
    return digest.hexdigest()[:16]


def cached_rows(count: int, cache_dir: Path | None, workers: int = 2) -> Rows:
    """build_rows(count), kept as a pickle in cache_dir (keyed by the code's fingerprint)."""
    import pickle

    if cache_dir is None:
        return build_rows(count, workers)
    path = cache_dir / f"rows-{count}-{_fingerprint()}.pickle"
    if path.exists():
        try:
            with path.open("rb") as f:
                rows: Rows = pickle.load(f)
            if len(rows.values) == count:
                return rows
        except Exception:  # a torn or stale cache file is rebuilt
            pass
    rows = build_rows(count, workers)
    cache_dir.mkdir(parents=True, exist_ok=True)
    for stale in cache_dir.glob(f"rows-{count}-*.pickle"):
        stale.unlink(missing_ok=True)
    tmp = path.with_suffix(".tmp")
    with tmp.open("wb") as f:
        pickle.dump(rows, f, protocol=pickle.HIGHEST_PROTOCOL)
    tmp.replace(path)
    return rows


def build_rows(count: int, workers: int = 2) -> Rows:
    """`count` rows, built in chunks of CHUNK over `workers` processes."""
    bounds = [(s, min(s + CHUNK, count)) for s in range(0, count, CHUNK)]
    if workers > 1 and len(bounds) > 1:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(workers) as pool:
            parts = list(pool.map(_chunk, *zip(*bounds, strict=True)))
    else:
        parts = [_chunk(s, e) for s, e in bounds]
    columns = parts[0][0]
    values: list[tuple[Any, ...]] = []
    for cols, vals in parts:
        if cols != columns:
            raise RuntimeError("row chunks disagree on their columns")
        values.extend(vals)
    return Rows(columns, values)


def _advance(new: NewItem, state: ItemState, rng: random.Random) -> Any:
    item = materialise(new, 0)
    started = new.added_at + timedelta(seconds=rng.randint(5, 600))
    client = "qbittorrent" if new.protocol is DownloadProtocol.TORRENT else "aria2"
    changes: dict[str, Any] = {"state": state, "updated_at": started, "version": 2}
    if state is ItemState.RETRYING or state is ItemState.CLIENT_UNAVAILABLE:
        changes.update(attempts=rng.randint(1, 4), error_message="Connection refused",
                       next_attempt_at=NOW + timedelta(seconds=rng.randint(30, 900)))
        return item.evolve(**changes)
    progress = 1.0 if state is ItemState.COMPLETED else round(rng.random(), 4)
    if state is ItemState.FAILED:
        progress = round(rng.random() * 0.5, 4)
        changes.update(error_message="Torrent has no seeders", attempts=5)
    speed = rng.randint(50_000, 40_000_000) if state is ItemState.DOWNLOADING else 0
    left = int(new.size * (1 - progress))
    eta = left // speed if speed else None
    changes.update(
        progress=progress, size_left=left, download_speed=speed,
        upload_speed=rng.randint(0, 2_000_000) if speed else 0, eta_seconds=eta,
        estimated_completion_at=NOW + timedelta(seconds=eta) if eta is not None else None,
        download_client=client, download_id=new.info_hash or f"gid{rng.getrandbits(48):012x}",
        started_at=started, category=new.category,
    )
    if state is ItemState.COMPLETED:
        changes.update(completed_at=started + timedelta(seconds=rng.randint(60, 7200)),
                       output_path=f"/downloads/radarr/{new.title}")
    if state is ItemState.WARNING:
        changes["status_messages"] = (StatusMessage(new.title, ("Stalled: no peers",)),)
    return item.evolve(**changes)


# -- Postgres ------------------------------------------------------------------------------


def pg_dsn(admin_dsn: str, database: str) -> str:
    """The admin DSN with another database name (plain libpq form, for asyncpg)."""
    head, _, _ = admin_dsn.rpartition("/")
    return f"{head}/{database}"


def pg_sqlalchemy_url(dsn: str) -> str:
    return "postgresql+asyncpg://" + dsn.split("://", 1)[1]


async def pg_admin(admin_dsn: str, *statements: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(admin_dsn, timeout=10)
    try:
        for sql in statements:
            await conn.execute(sql)
    finally:
        await conn.close()


def pg_recreate(admin_dsn: str, database: str) -> None:
    assert database.startswith("queuarr_bench_"), database
    asyncio.run(pg_admin(admin_dsn, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)',
                          f'CREATE DATABASE "{database}"'))


def pg_drop(admin_dsn: str, database: str) -> None:
    assert database.startswith("queuarr_bench_"), database
    asyncio.run(pg_admin(admin_dsn, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))


async def _pg_copy(dsn: str, rows: Rows) -> dict[str, Any]:
    import asyncpg

    conn = await asyncpg.connect(dsn, timeout=10)
    try:
        async with conn.transaction():
            # Bulk load: drop the secondary indexes, COPY, build them again (same DDL).
            indexes = await conn.fetch(
                "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.tablename = "
                "'queue_item' AND NOT EXISTS (SELECT 1 FROM pg_constraint c "
                "WHERE c.conname = i.indexname)")
            for index in indexes:
                await conn.execute(f'DROP INDEX "{index["indexname"]}"')
            # One COPY is one statement: the statement trigger appends one delta per key.
            await conn.copy_records_to_table(
                "queue_item", columns=rows.columns, records=rows.values)
            await conn.execute("SET LOCAL maintenance_work_mem = '256MB'")
            for index in indexes:
                await conn.execute(index["indexdef"])
            await conn.execute(
                "INSERT INTO queue_history (item_id, at, event, from_state, to_state) "
                "SELECT id, added_at, 'grabbed', NULL, 'queued' FROM queue_item")
        await conn.execute("VACUUM ANALYZE")
        # Flush the load now, not during the first measurements (needs superuser or
        # pg_checkpoint; skipped without).
        with contextlib.suppress(asyncpg.PostgresError):
            await conn.execute("CHECKPOINT")
        items = await conn.fetchval("SELECT count(*) FROM queue_item")
        counted = await conn.fetchval("SELECT coalesce(sum(n), 0) FROM queue_counter")
        size = await conn.fetchval("SELECT pg_total_relation_size('queue_item')")
    finally:
        await conn.close()
    return {"items": items, "counter_total": int(counted), "table_bytes": size}


def seed_postgres(admin_dsn: str, database: str, rows: Rows) -> dict[str, Any]:
    """A fresh database `database`, migrated to head, holding `rows`; VACUUM ANALYZEd."""
    t0 = time.perf_counter()
    pg_recreate(admin_dsn, database)
    dsn = pg_dsn(admin_dsn, database)
    upgrade(pg_sqlalchemy_url(dsn))
    info = asyncio.run(_pg_copy(dsn, rows))
    _check_counts(info, len(rows.values))
    info.update(dsn=dsn, url=pg_sqlalchemy_url(dsn), seconds=time.perf_counter() - t0)
    return info


# -- SQLite --------------------------------------------------------------------------------


def _sqlite_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, bool):
        return int(value)
    return value


def seed_sqlite(path: Path, rows: Rows) -> dict[str, Any]:
    """A fresh SQLite file at `path`, migrated to head, holding `rows` (row triggers keep
    the counters)."""
    t0 = time.perf_counter()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    url = f"sqlite+aiosqlite:///{path.resolve()}"
    upgrade(url)
    columns = rows.columns
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=OFF")  # this connection only: the load itself
        conn.execute("PRAGMA cache_size=-65536")
        conn.execute("BEGIN IMMEDIATE")
        # Bulk load: drop the secondary indexes, insert, build them again (same DDL).
        indexes = conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' "
                               "AND tbl_name = 'queue_item' AND sql IS NOT NULL").fetchall()
        for name, _ in indexes:
            conn.execute(f'DROP INDEX "{name}"')
        conn.executemany(
            f"INSERT INTO queue_item ({', '.join(columns)}) "
            f"VALUES ({', '.join('?' for _ in columns)})",
            ([_sqlite_value(v) for v in r] for r in rows.values))
        for _, sql in indexes:
            conn.execute(sql)
        conn.execute("INSERT INTO queue_history (item_id, at, event, from_state, to_state) "
                     "SELECT id, added_at, 'grabbed', NULL, 'queued' FROM queue_item")
        conn.execute("COMMIT")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        info = {
            "items": conn.execute("SELECT count(*) FROM queue_item").fetchone()[0],
            "counter_total": conn.execute(
                "SELECT coalesce(sum(n), 0) FROM queue_counter").fetchone()[0],
        }
    finally:
        conn.close()
    _check_counts(info, len(rows.values))
    info.update(url=url, path=str(path), file_bytes=path.stat().st_size,
                seconds=time.perf_counter() - t0)
    return info


def _check_counts(info: dict[str, Any], expected: int) -> None:
    if info["items"] != expected or info["counter_total"] != expected:
        raise RuntimeError(f"seeding went wrong: {info} (expected {expected} items)")
