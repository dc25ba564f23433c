"""QUEUARR_RETENTION_DAYS (core/retention.py): housekeeping forgets finished items and
history rows older than the retention, keeps the rest, and runs at most once an hour; on
SQLite and Postgres."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from core.domain import DownloadProtocol, HistoryEvent, HistoryQuery, ItemState, NewItem, SourceKind
from core.retention import Retention
from infrastructure.bootstrap import build
from infrastructure.settings import Settings
from tests.conftest import Store
from tests.fakes import FakeClock

pytestmark = pytest.mark.parametrize("store", ["sqlite", pytest.param(
    "postgres", marks=pytest.mark.postgres)], indirect=True)


def retention(store: Store, clock: FakeClock, days: float) -> Retention:
    return Retention(store.items, clock, days)


async def grab(store: Store, clock: FakeClock, n: int, state: ItemState) -> int:
    item = await store.items.add(NewItem(
        title=f"Movie.{n}.2020", source=SourceKind.MAGNET, protocol=DownloadProtocol.TORRENT,
        added_at=clock.now(), info_hash=f"{n:040x}"), HistoryEvent("grabbed"))
    if state is not ItemState.QUEUED:
        await store.items.update([(item, item.evolve(state=state, updated_at=clock.now()))],
                                 HistoryEvent("finished"))
    return item.id


async def test_retention_removes_what_is_old_and_finished(store: Store, clock: FakeClock
                                                          ) -> None:
    c = retention(store, clock, days=30)
    old_done = await grab(store, clock, 1, ItemState.COMPLETED)
    old_failed = await grab(store, clock, 2, ItemState.FAILED)
    old_queued = await grab(store, clock, 3, ItemState.QUEUED)
    clock.advance(days=31)
    recent = await grab(store, clock, 4, ItemState.COMPLETED)
    await c.run()
    left = {i.id for i in await store.items.get_many([old_done, old_failed, old_queued,
                                                      recent])}
    assert left == {old_queued, recent}  # a queued item is never too old
    _, rows = await store.items.history_page(HistoryQuery(page_size=100,
                                                              ascending=True))
    # Rows older than 30 days are gone; the removals themselves are new rows.
    assert all(r.at >= clock.now() - timedelta(days=30) for r in rows)
    assert {r.event for r in rows} == {"grabbed", "finished", "cleanedUp"}
    assert {r.item_id for r in rows if r.event == "cleanedUp"} == {old_done, old_failed}

    # At most once an hour: an item that turns old 20 minutes after a pass waits for
    # the next one.
    clock.advance(days=30, minutes=-10)  # `recent` is 10 minutes short of 30 days
    await c.run()
    assert [i.id for i in await store.items.get_many([recent])] == [recent]
    clock.advance(minutes=20)
    await c.run()
    assert [i.id for i in await store.items.get_many([recent])] == [recent]
    clock.advance(hours=1)
    await c.run()
    assert [i.id for i in await store.items.get_many([old_queued, recent])] == [old_queued]


async def test_zero_days_keeps_everything(store: Store, clock: FakeClock) -> None:
    c = retention(store, clock, days=0)
    done = await grab(store, clock, 1, ItemState.COMPLETED)
    clock.advance(days=3650)
    await c.run()
    assert [i.id for i in await store.items.get_many([done])] == [done]
    assert (await store.items.history_page(HistoryQuery()))[0] == 2


def test_the_built_container_keeps_the_settings_days(tmp_path: Path, store: Store) -> None:
    settings = Settings(data_dir=tmp_path, api_key="k" * 32, retention_days=7,
                        managed_aria2="false")
    c = build(settings)
    assert c.retention is not None and c.retention.days == 7
    assert c.retention.candidates is not None  # release candidates are forgotten too
