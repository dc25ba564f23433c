"""The QueueRepository contract, run on memory, SQLite and Postgres (the `store` fixture).
The memory repository is the reference; the SQL ones must behave identically."""

from __future__ import annotations

import asyncio
import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from core.domain import (
    DownloadProtocol,
    HistoryEvent,
    ItemState,
    MovieInfo,
    NewItem,
    Priority,
    QueueItem,
    SourceKind,
    StatusMessage,
)
from core.errors import AlreadyCompleted, ConcurrentModification, Duplicate
from core.listing import SORT_KEYS, PageRequest, QueueFilter
from core.quality import QUALITY_BY_ID, CustomFormatRef, Language, QualityModel, Revision
from core.states import transition
from infrastructure.memory import order_items
from tests.conftest import Store
from tests.fakes import EPOCH

S = ItemState
GRABBED = HistoryEvent("grabbed")


def new_item(n: int, **overrides: object) -> NewItem:
    values: dict[str, object] = dict(
        title=f"Release.{n}.2020.1080p.WEB-DL-GRP",
        source=SourceKind.MAGNET,
        protocol=DownloadProtocol.TORRENT,
        added_at=EPOCH + timedelta(seconds=n),
        info_hash=f"{n:040x}",
    )
    values.update(overrides)
    return NewItem(**values)  # type: ignore[arg-type]


async def advance(store: Store, item: QueueItem, *path: ItemState, **changes: object
                  ) -> QueueItem:
    """Walk an item through legal transitions, saving each step."""
    now = item.updated_at
    for target in path:
        now += timedelta(seconds=1)
        step_changes = changes if target is path[-1] else {}
        (item,) = await store.items.update(
            [(item, transition(item, target, now, **step_changes))], HistoryEvent("test")
        )
    return item


async def test_added_item_reads_back_field_for_field(store: Store) -> None:
    rich = new_item(
        1,
        movie_id=42,
        movie=MovieInfo("Heat", 1995, 949, "tt0113277", "heat"),
        release_id="abc-1",
        indexer="Nyaa",
        size=123_456_789_012,
        seeders=17,
        leechers=3,
        priority=Priority.VERY_HIGH,
        download_client="qbit",
        category="movies",
        quality=QualityModel(QUALITY_BY_ID[7], Revision(2, 1, True)),
        languages=(Language(1, "English"), Language(2, "French")),
        custom_formats=(CustomFormatRef(4, "x265"),),
        custom_format_score=25,
        added_at=datetime(2026, 3, 4, 5, 6, 7, 891234, tzinfo=UTC),
        torrent=b"d4:infod4:name1:xee",
    )
    added = await store.items.add(rich, GRABBED)
    assert added.id > 0
    assert added.state is S.QUEUED and added.version == 1
    assert added.size_left == rich.size and added.has_torrent_file
    fetched = await store.items.get(added.id)
    assert fetched == added
    assert await store.items.get_torrent(added.id) == rich.torrent


async def test_an_items_origin_chat_and_user_round_trip_beyond_int32(store: Store) -> None:
    group, user = -1001234567890, 7_000_000_001  # Telegram ids exceed int32
    added = await store.items.add(
        new_item(1, origin_chat=group, origin_user=user, save_under="tg--1001234567890"),
        GRABBED)
    plain = await store.items.add(new_item(2), GRABBED)
    assert (await store.items.get(added.id)) == added
    assert (added.origin_chat, added.origin_user, added.save_under) == (
        group, user, "tg--1001234567890")
    assert (await store.items.get(plain.id)) == plain
    assert (plain.origin_chat, plain.origin_user, plain.save_under) == (None, None, None)
    (paused,) = await store.items.update(
        [(added, transition(added, S.PAUSED, added.updated_at + timedelta(seconds=1)))],
        HistoryEvent("paused"))
    assert (await store.items.get(added.id)) == paused
    assert (paused.origin_chat, paused.origin_user) == (group, user)


async def test_timestamps_come_back_as_aware_utc(store: Store) -> None:
    added = await store.items.add(new_item(1), GRABBED)
    fetched = await store.items.get(added.id)
    assert fetched is not None
    assert fetched.added_at.utcoffset() == timedelta(0)
    assert fetched.added_at == EPOCH + timedelta(seconds=1)


async def test_a_missing_item_is_none_and_get_many_keeps_the_asked_order(store: Store) -> None:
    a = await store.items.add(new_item(1), GRABBED)
    b = await store.items.add(new_item(2), GRABBED)
    assert await store.items.get(999_999) is None
    got = await store.items.get_many([b.id, 999_999, a.id])
    assert [i.id for i in got] == [b.id, a.id]


async def test_ids_are_never_reused_after_a_delete(store: Store) -> None:
    a = await store.items.add(new_item(1), GRABBED)
    b = await store.items.add(new_item(2), GRABBED)
    await store.items.delete([b], HistoryEvent("removed"))
    c = await store.items.add(new_item(3), GRABBED)
    assert a.id < b.id < c.id


async def test_same_info_hash_is_refused_while_the_first_is_active(store: Store) -> None:
    first = await store.items.add(new_item(1), GRABBED)
    with pytest.raises(Duplicate) as caught:
        await store.items.add(new_item(2, info_hash=first.info_hash), GRABBED)
    assert caught.value.existing_id == first.id
    assert (await store.items.counts()).total() == 1


async def test_same_url_hash_is_refused_while_the_first_is_active(store: Store) -> None:
    http = dict(source=SourceKind.HTTP, protocol=DownloadProtocol.UNKNOWN, info_hash=None,
                url_hash="ab" * 32, download_url="https://example.org/a.mkv")
    first = await store.items.add(new_item(1, **http), GRABBED)
    with pytest.raises(Duplicate) as caught:
        await store.items.add(new_item(2, **http), GRABBED)
    assert caught.value.existing_id == first.id


async def test_a_finished_item_frees_its_hash_for_a_new_grab(store: Store) -> None:
    first = await store.items.add(new_item(1), GRABBED)
    await advance(store, first, S.FAILED)
    second = await store.items.add(new_item(2, info_hash=first.info_hash), GRABBED)
    assert second.id != first.id
    assert (await store.items.find_active(first.info_hash, None)) == second


async def test_find_completed_finds_only_completed_items(store: Store) -> None:
    item = await store.items.add(new_item(1), GRABBED)
    assert await store.items.find_completed(item.info_hash, None) is None
    done = await advance(store, item, S.SENDING, S.DOWNLOADING, S.COMPLETED)
    assert await store.items.find_completed(item.info_hash, None) == done
    assert await store.items.find_active(item.info_hash, None) is None
    assert await store.items.find_completed(None, None) is None


async def test_update_is_fenced_on_the_version(store: Store) -> None:
    item = await store.items.add(new_item(1), GRABBED)
    moved = await advance(store, item, S.PAUSED)
    assert moved.version == 2
    stale = transition(item, S.SENDING, item.updated_at)
    with pytest.raises(ConcurrentModification):
        await store.items.update([(item, stale)], HistoryEvent("claimed"))
    assert await store.items.get(item.id) == moved


async def test_a_failed_batch_update_writes_nothing(store: Store) -> None:
    a = await store.items.add(new_item(1), GRABBED)
    b = await store.items.add(new_item(2), GRABBED)
    b2 = await advance(store, b, S.PAUSED)
    now = EPOCH + timedelta(hours=1)
    with pytest.raises(ConcurrentModification):
        await store.items.update(
            [(a, transition(a, S.PAUSED, now)), (b, transition(b, S.FAILED, now))],
            HistoryEvent("batch"),
        )
    assert await store.items.get(a.id) == a
    assert await store.items.get(b.id) == b2
    counts = await store.items.counts()
    assert counts.total(states=frozenset({S.QUEUED})) == 1
    assert counts.total(states=frozenset({S.PAUSED})) == 1


async def test_every_field_survives_an_update(store: Store) -> None:
    item = await store.items.add(new_item(1, movie_id=7), GRABBED)
    now = EPOCH + timedelta(minutes=5)
    changed = transition(
        item, S.SENDING, now, attempts=2, next_attempt_at=now + timedelta(minutes=2),
        download_client="qbit",
    )
    (sending,) = await store.items.update([(item, changed)], HistoryEvent("claimed"))
    downloading = transition(
        sending, S.DOWNLOADING, now, download_id="ABC", size=1000, size_left=250,
        progress=75.5, download_speed=1234, upload_speed=56, eta_seconds=90,
        estimated_completion_at=now + timedelta(seconds=90), output_path="/data/x",
        seeders=4, error_message=None,
        status_messages=(StatusMessage("t", ("slow peer", "another")),),
        movie=MovieInfo("Film", 2001), languages=(Language(3, "Spanish"),),
        quality=QualityModel(QUALITY_BY_ID[3]), custom_format_score=-10,
    )
    (saved,) = await store.items.update([(sending, downloading)], HistoryEvent("sent"))
    assert saved == replace(downloading, version=3)
    assert await store.items.get(item.id) == saved


async def test_history_records_every_change_and_outlives_the_item(store: Store) -> None:
    item = await store.items.add(new_item(1), GRABBED)
    paused = await advance(store, item, S.PAUSED)
    await store.items.delete([paused], HistoryEvent("removed", "blocklisted"))
    history = await store.items.history(item.id)
    assert [(h.event, h.from_state, h.to_state) for h in history] == [
        ("grabbed", None, S.QUEUED),
        ("test", S.QUEUED, S.PAUSED),
        ("removed", S.PAUSED, None),
    ]
    assert history[-1].message == "blocklisted"


async def test_delete_removes_the_torrent_with_the_item(store: Store) -> None:
    item = await store.items.add(new_item(1, torrent=b"d4:infoe"), GRABBED)
    await store.items.delete([item], HistoryEvent("removed"))
    assert await store.items.get(item.id) is None
    assert await store.items.get_torrent(item.id) is None


async def test_delete_finished_only_removes_old_completed_and_failed_items(store: Store) -> None:
    old_done = await advance(store, await store.items.add(new_item(1), GRABBED),
                             S.SENDING, S.DOWNLOADING, S.COMPLETED)
    old_failed = await advance(store, await store.items.add(new_item(2), GRABBED), S.FAILED)
    old_active = await store.items.add(new_item(3), GRABBED)
    cutoff = EPOCH + timedelta(days=1)
    recent = await store.items.add(new_item(4, added_at=cutoff + timedelta(hours=1)), GRABBED)
    recent_done = await advance(store, recent, S.FAILED)
    assert await store.items.delete_finished(cutoff) == 2
    remaining = await store.items.get_many([old_done.id, old_failed.id, old_active.id,
                                            recent_done.id])
    assert [i.id for i in remaining] == [old_active.id, recent_done.id]
    assert (await store.items.counts()).total() == 2


async def test_counters_match_the_items_after_mixed_changes(store: Store) -> None:
    rng = random.Random(7)
    items = [
        await store.items.add(new_item(n, movie_id=n if n % 3 else None), GRABBED)
        for n in range(1, 41)
    ]
    paths = [(), (S.PAUSED,), (S.SENDING, S.DOWNLOADING), (S.FAILED,), (S.SENDING, S.RETRYING),
             (S.SENDING, S.DOWNLOADING, S.COMPLETED), (S.CLIENT_UNAVAILABLE,),
             (S.SENDING, S.DOWNLOADING, S.WARNING)]
    live = []
    for item in items:
        item = await advance(store, item, *rng.choice(paths))
        if rng.random() < 0.2:
            await store.items.delete([item], HistoryEvent("removed"))
        else:
            live.append(item)
    # A movie learned later moves an item between the known and unknown counters.
    unknown = next(i for i in live if i.movie_id is None)
    (known,) = await store.items.update([(unknown, unknown.evolve(movie_id=999))],
                                        HistoryEvent("matched"))
    live = [known if i.id == known.id else i for i in live]

    counts = await store.items.counts()
    for state in S:
        expect_known = sum(1 for i in live if i.state is state and i.movie_id is not None)
        expect_unknown = sum(1 for i in live if i.state is state and i.movie_id is None)
        assert counts.known.get(state, 0) == expect_known, state
        assert counts.unknown.get(state, 0) == expect_unknown, state
    assert await store.items.count(QueueFilter(include_unknown=True)) == len(live)


async def _varied(store: Store, n: int = 30) -> list[QueueItem]:
    """Items spread over every sort column, with deliberate ties."""
    rng = random.Random(11)
    titles = ["alpha", "Beta", "beta", "Émile", "zeta", "Zeta", "mu"]
    out = []
    for k in range(1, n + 1):
        item = await store.items.add(new_item(
            k,
            title=f"{rng.choice(titles)}.{rng.randint(1, 3)}",
            movie_id=rng.choice([None, 1, 2, 3]),
            movie=rng.choice([None, MovieInfo("The Film", 1999), MovieInfo("Another", 2010,
                                                                           sort_title="zz")]),
            indexer=rng.choice([None, "Nyaa", "nyaa", "ABC", "abc"]),
            download_client=rng.choice([None, "Qbit", "aria"]),
            size=rng.choice([0, 10, 10, 500, 2**40]),
            protocol=rng.choice(list(DownloadProtocol)),
            quality=QualityModel(QUALITY_BY_ID[rng.choice([0, 3, 7, 19, 31])]),
            languages=rng.choice([(Language(0, "Unknown"),), (Language(1, "English"),),
                                  (Language(2, "French"), Language(1, "English"))]),
            added_at=EPOCH + timedelta(minutes=rng.choice([1, 2, 2, 3])),
        ), GRABBED)
        path = rng.choice([(), (S.PAUSED,), (S.SENDING, S.DOWNLOADING), (S.FAILED,),
                           (S.SENDING, S.RETRYING)])
        extra: dict[str, object] = {}
        if path and path[-1] is S.DOWNLOADING:
            eta = rng.choice([60, 60, 3600])
            extra = dict(progress=rng.choice([10.0, 50.0, 50.0]), eta_seconds=eta,
                         estimated_completion_at=EPOCH + timedelta(seconds=eta))
        out.append(await advance(store, item, *path, **extra) if path else item)
    return out


@pytest.mark.parametrize("descending", [False, True], ids=["ascending", "descending"])
async def test_every_sort_key_orders_like_the_reference(store: Store, descending: bool) -> None:
    items = await _varied(store)
    everyone = QueueFilter(include_unknown=True)
    for key in SORT_KEYS:
        expected = [i.id for i in order_items(items, key, descending)]
        total, ids = await store.items.page_ids(PageRequest(key, descending, 0, 1000, everyone))
        assert total == len(items)
        assert ids == expected, key
        _, page = await store.items.page(PageRequest(key, descending, 0, 1000, everyone))
        assert [i.id for i in page] == expected, key


@pytest.mark.parametrize("key", ["timeleft", "title", "status"])
async def test_pages_tile_the_whole_order_without_overlap(store: Store, key: str) -> None:
    items = await _varied(store, 23)
    everyone = QueueFilter(include_unknown=True)
    expected = [i.id for i in order_items(items, key, True)]
    seen: list[int] = []
    for offset in range(0, 30, 5):  # the later pages are read from the far end
        total, page = await store.items.page(PageRequest(key, True, offset, 5, everyone))
        assert total == 23
        seen += [i.id for i in page]
    assert seen == expected


async def test_a_page_past_the_end_is_empty_but_keeps_the_total(store: Store) -> None:
    await _varied(store, 5)
    total, page = await store.items.page(
        PageRequest("title", False, 50, 10, QueueFilter(include_unknown=True)))
    assert (total, page) == (5, [])
    total, page = await store.items.page(
        PageRequest("title", False, 0, 0, QueueFilter(include_unknown=True)))
    assert (total, page) == (5, [])


async def test_filters_select_the_same_items_everywhere(store: Store) -> None:
    items = await _varied(store, 40)
    filters = [
        QueueFilter(),
        QueueFilter(include_unknown=True),
        QueueFilter(include_unknown=True, movie_ids=frozenset({1, 3})),
        QueueFilter(include_unknown=True, protocol=DownloadProtocol.TORRENT),
        QueueFilter(include_unknown=True, states=frozenset({S.PAUSED, S.FAILED})),
        QueueFilter(states=frozenset({S.QUEUED, S.SENDING})),
        QueueFilter(include_unknown=True, quality_ids=frozenset({7, 31})),
        QueueFilter(include_unknown=True, language_ids=frozenset({2})),
        QueueFilter(include_unknown=True, language_ids=frozenset({0, 1})),
        # the title search: ASCII letters in any case, LIKE's wildcards taken literally
        QueueFilter(include_unknown=True, search="ETA"),
        QueueFilter(include_unknown=True, search="a.2"),
        QueueFilter(include_unknown=True, search="mile"),
        QueueFilter(search="zeta.1", states=frozenset({S.QUEUED})),
        QueueFilter(include_unknown=True, search="%"),
        QueueFilter(include_unknown=True, search="_"),
    ]
    assert any(i.title.startswith(("beta", "Beta", "zeta", "Zeta")) for i in items)
    for flt in filters:
        expected = [i.id for i in order_items([i for i in items if flt.matches(i)], "title",
                                              False)]
        total, ids = await store.items.page_ids(PageRequest("title", False, 0, 100, flt))
        assert (total, ids) == (len(expected), expected), flt
        assert await store.items.count(flt) == len(expected), flt


async def test_concurrent_identical_grabs_store_exactly_one(store: Store) -> None:
    async def attempt(n: int) -> int | Duplicate:
        try:
            return (await store.items.add(new_item(n, info_hash="ee" * 20), GRABBED)).id
        except Duplicate as duplicate:
            return duplicate

    outcomes = await asyncio.gather(*(attempt(n) for n in range(1, 31)))
    stored = [o for o in outcomes if isinstance(o, int)]
    refused = [o for o in outcomes if isinstance(o, Duplicate)]
    assert len(stored) == 1 and len(refused) == 29
    assert {d.existing_id for d in refused} == set(stored)
    counts = await store.items.counts()
    assert counts.total() == 1


async def test_counter_deltas_are_folded_as_writes_go_on(store: Store) -> None:
    """On Postgres every write appends counter deltas; they must not pile up without
    bound (SQLite keeps one row per key anyway)."""
    for n in range(1, 601):
        await store.items.add(new_item(n, movie_id=n % 2 or None), GRABBED)
    if store.db is not None:  # counted before any read, which would fold them too
        async with store.db.reading() as conn:
            rows = (await conn.exec_driver_sql("SELECT count(*) FROM queue_counter")).scalar()
        assert rows is not None and rows <= 300
    counts = await store.items.counts()
    assert counts.total() == 600 and counts.total(include_unknown=False) == 300


async def test_a_completed_release_is_refused_in_the_same_step_as_the_insert(
    store: Store,
) -> None:
    first = await store.items.add(new_item(1), GRABBED)
    done = await advance(store, first, S.SENDING, S.DOWNLOADING, S.COMPLETED)
    with pytest.raises(AlreadyCompleted) as caught:
        await store.items.add(new_item(2, info_hash=first.info_hash), GRABBED,
                              refuse_completed=True)
    assert caught.value.existing_id == done.id
    assert (await store.items.counts()).total() == 1
    again = await store.items.add(new_item(3, info_hash=first.info_hash), GRABBED)
    assert again.id != done.id and again.state is S.QUEUED


async def test_the_completed_guard_also_covers_url_hashes(store: Store) -> None:
    http = dict(source=SourceKind.HTTP, protocol=DownloadProtocol.UNKNOWN, info_hash=None,
                url_hash="cd" * 32, download_url="https://example.org/b.mkv")
    first = await store.items.add(new_item(1, **http), GRABBED)
    await advance(store, first, S.SENDING, S.DOWNLOADING, S.COMPLETED)
    with pytest.raises(AlreadyCompleted):
        await store.items.add(new_item(2, **http), GRABBED, refuse_completed=True)
    other = await store.items.add(new_item(3, **{**http, "url_hash": "ef" * 32}), GRABBED,
                                  refuse_completed=True)
    assert other.state is S.QUEUED
