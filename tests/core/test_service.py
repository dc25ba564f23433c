"""QueueService over the in-memory repositories, a fake clock and fake download clients."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from core.domain import (
    DownloadProtocol,
    HistoryEvent,
    ItemState,
    NewBlocklistEntry,
    NewItem,
    Priority,
    QueueItem,
    SourceKind,
    StatusMessage,
)
from core.errors import (
    AlreadyCompleted,
    BadRequest,
    Blocklisted,
    ClientUnavailable,
    Duplicate,
    IllegalTransition,
    NotFound,
    ReleaseTooLarge,
    UnknownDownloadClient,
)
from core.grab import GrabRequest
from core.links import url_hash
from core.listing import QueueFilter, SortDirection
from core.ports import TorrentMeta
from core.service import QueueService, RemoveOptions
from core.states import transition
from infrastructure.memory import MemoryBlocklistRepository, MemoryQueueRepository
from tests.fakes import EPOCH, FakeClients, FakeClock, FakeDownloadClient, FakeTorrentParser

S = ItemState
META = TorrentMeta(info_hash="fe" * 20, name="Torrent.Name.2023", size=7777)


def info_hash(n: int) -> str:
    return f"{n:040x}"


def magnet(n: int) -> str:
    return f"magnet:?xt=urn:btih:{info_hash(n)}&dn=Movie.{n}"


@pytest.fixture
def items(clock: FakeClock) -> MemoryQueueRepository:
    return MemoryQueueRepository(clock)


@pytest.fixture
def blocklist() -> MemoryBlocklistRepository:
    return MemoryBlocklistRepository()


@pytest.fixture
def client() -> FakeDownloadClient:
    return FakeDownloadClient(name="fake")


@pytest.fixture
def parser() -> FakeTorrentParser:
    return FakeTorrentParser(META)


@pytest.fixture
def service(
    items: MemoryQueueRepository,
    blocklist: MemoryBlocklistRepository,
    clock: FakeClock,
    parser: FakeTorrentParser,
    client: FakeDownloadClient,
) -> QueueService:
    return QueueService(items, blocklist, clock, parser, FakeClients(client))


async def grab(service: QueueService, n: int, movie_id: int | None = 10,
               **fields: object) -> QueueItem:
    request = GrabRequest(download_url=magnet(n), movie_id=movie_id, **fields)  # type: ignore[arg-type]
    return await service.grab(request)


async def move(items: MemoryQueueRepository, clock: FakeClock, item: QueueItem,
               *states: ItemState, **changes: object) -> QueueItem:
    """Walk an item through states; `changes` are applied with the last move."""
    current = item
    for i, state in enumerate(states):
        extra = changes if i == len(states) - 1 else {}
        new = transition(current, state, clock.now(), **extra)
        (current,) = await items.update([(current, new)], HistoryEvent("test"))
    return current


async def sent(items: MemoryQueueRepository, clock: FakeClock, item: QueueItem,
               client: str = "fake") -> QueueItem:
    """queued -> sending -> downloading, held by `client`."""
    return await move(items, clock, item, S.SENDING, S.DOWNLOADING,
                      download_client=client, download_id=f"dl-{item.id}")


async def records(chunks: AsyncIterator[list[QueueItem]]) -> list[QueueItem]:
    return [record async for chunk in chunks for record in chunk]


async def chunk_sizes(chunks: AsyncIterator[list[QueueItem]]) -> list[int]:
    return [len(chunk) async for chunk in chunks]


# -- grab --------------------------------------------------------------------------------


async def test_a_valid_magnet_is_queued_and_stored(
    service: QueueService, items: MemoryQueueRepository
) -> None:
    item = await grab(service, 1)

    assert item.state is S.QUEUED
    assert item.info_hash == info_hash(1)
    assert item.title == "Movie.1"
    assert item.added_at == EPOCH
    assert await items.get(item.id) == item
    assert [(h.event, h.from_state, h.to_state) for h in await items.history(item.id)] == [
        ("grabbed", None, S.QUEUED)
    ]


async def test_a_torrent_file_is_queued_with_its_bytes_kept(
    service: QueueService, items: MemoryQueueRepository
) -> None:
    item = await service.grab(GrabRequest(torrent_file=b"d4:infodee"))

    assert item.source is SourceKind.TORRENT_FILE
    assert item.has_torrent_file
    assert item.title == META.name
    assert await items.get_torrent(item.id) == b"d4:infodee"


async def test_a_release_over_the_configured_size_limit_is_refused(
    items: MemoryQueueRepository, blocklist: MemoryBlocklistRepository, clock: FakeClock,
    parser: FakeTorrentParser,
) -> None:
    service = QueueService(items, blocklist, clock, parser, max_size=META.size - 1)

    with pytest.raises(ReleaseTooLarge):
        await service.grab(GrabRequest(torrent_file=b"d4:infodee"))
    assert await items.count(QueueFilter(include_unknown=True)) == 0


async def test_grabbing_the_same_info_hash_again_is_a_duplicate(service: QueueService) -> None:
    first = await grab(service, 1)

    with pytest.raises(Duplicate) as raised:
        await service.grab(GrabRequest(
            title="Another title", download_url=f"MAGNET:?xt=urn:btih:{info_hash(1).upper()}"
        ))
    assert raised.value.existing_id == first.id


async def test_a_torrent_file_with_the_hash_of_a_queued_magnet_is_a_duplicate(
    service: QueueService,
) -> None:
    first = await service.grab(GrabRequest(download_url=f"magnet:?xt=urn:btih:{META.info_hash}",
                                           title="t"))

    with pytest.raises(Duplicate) as raised:
        await service.grab(GrabRequest(torrent_file=b"d4:infodee"))
    assert raised.value.existing_id == first.id


async def test_grabbing_an_equivalent_url_again_is_a_duplicate(service: QueueService) -> None:
    first = await service.grab(GrabRequest(
        title="t", download_url="https://Indexer.Example:443/get.torrent?id=7&utm_source=rss"))

    with pytest.raises(Duplicate) as raised:
        await service.grab(GrabRequest(
            title="t", download_url="https://indexer.example/get.torrent?id=7#x"))
    assert raised.value.existing_id == first.id
    assert first.url_hash == url_hash("https://indexer.example/get.torrent?id=7")


async def test_a_different_url_is_not_a_duplicate(service: QueueService) -> None:
    await service.grab(GrabRequest(title="t", download_url="https://x.example/get?id=7"))

    second = await service.grab(GrabRequest(title="t", download_url="https://x.example/get?id=8"))

    assert second.state is S.QUEUED


@pytest.mark.parametrize("states", [(S.SENDING, S.DOWNLOADING), (S.PAUSED,),
                                    (S.SENDING, S.RETRYING), (S.CLIENT_UNAVAILABLE,)])
async def test_an_active_item_in_any_state_blocks_a_duplicate(
    service: QueueService, items: MemoryQueueRepository, clock: FakeClock,
    states: tuple[ItemState, ...],
) -> None:
    first = await move(items, clock, await grab(service, 1), *states)

    with pytest.raises(Duplicate) as raised:
        await grab(service, 1)
    assert raised.value.existing_id == first.id


async def test_a_failed_release_can_be_grabbed_again_as_a_new_item(
    service: QueueService, items: MemoryQueueRepository, clock: FakeClock
) -> None:
    failed = await move(items, clock, await grab(service, 1), S.FAILED)

    again = await grab(service, 1)

    assert again.id != failed.id
    assert again.state is S.QUEUED


async def test_a_completed_release_is_not_grabbed_again_without_force(
    service: QueueService, items: MemoryQueueRepository, clock: FakeClock
) -> None:
    done = await move(items, clock, await sent(items, clock, await grab(service, 1)), S.COMPLETED)

    with pytest.raises(AlreadyCompleted) as raised:
        await grab(service, 1)
    assert raised.value.existing_id == done.id
    assert "force" in raised.value.message


async def test_a_completed_url_release_is_not_grabbed_again_without_force(
    service: QueueService, items: MemoryQueueRepository, clock: FakeClock
) -> None:
    first = await service.grab(GrabRequest(title="t", download_url="http://x.example/a.mkv"))
    done = await move(items, clock, await sent(items, clock, first), S.COMPLETED)

    with pytest.raises(AlreadyCompleted) as raised:
        await service.grab(GrabRequest(title="t", download_url="HTTP://X.example:80/a.mkv"))
    assert raised.value.existing_id == done.id


async def test_force_grabs_a_completed_release_again(
    service: QueueService, items: MemoryQueueRepository, clock: FakeClock
) -> None:
    done = await move(items, clock, await sent(items, clock, await grab(service, 1)), S.COMPLETED)

    again = await grab(service, 1, force=True)

    assert again.id != done.id
    assert again.state is S.QUEUED
    assert (await items.get(done.id)).state is S.COMPLETED  # type: ignore[union-attr]


async def test_a_release_with_a_blocklisted_info_hash_is_refused(
    service: QueueService, blocklist: MemoryBlocklistRepository, items: MemoryQueueRepository
) -> None:
    await blocklist.add(NewBlocklistEntry(
        source_title="Something else", date=EPOCH, protocol=DownloadProtocol.TORRENT,
        info_hash=info_hash(1), message="fake release",
    ))

    with pytest.raises(Blocklisted, match="fake release"):
        await grab(service, 1)
    assert await items.count(QueueFilter(include_unknown=True)) == 0


async def test_a_release_with_a_blocklisted_title_is_refused_in_any_case(
    service: QueueService, blocklist: MemoryBlocklistRepository
) -> None:
    await blocklist.add(NewBlocklistEntry(
        source_title="bad.movie.2020", date=EPOCH, protocol=DownloadProtocol.TORRENT,
    ))

    with pytest.raises(Blocklisted):
        await grab(service, 1, title="Bad.Movie.2020")


async def test_a_release_with_a_blocklisted_url_is_refused(
    service: QueueService, blocklist: MemoryBlocklistRepository
) -> None:
    await blocklist.add(NewBlocklistEntry(
        source_title="x", date=EPOCH, protocol=DownloadProtocol.TORRENT,
        url_hash=url_hash("http://x.example/a.torrent"),
    ))

    with pytest.raises(Blocklisted):
        await service.grab(GrabRequest(title="t", download_url="http://X.example/a.torrent#f"))


async def test_a_blocklist_entry_for_another_release_does_not_refuse(
    service: QueueService, blocklist: MemoryBlocklistRepository
) -> None:
    await blocklist.add(NewBlocklistEntry(
        source_title="Movie.2", date=EPOCH, protocol=DownloadProtocol.TORRENT,
        info_hash=info_hash(2),
    ))

    assert (await grab(service, 1)).state is S.QUEUED


# -- listing -----------------------------------------------------------------------------


async def queue_of(service: QueueService, count: int, movie_id: int | None = 10) -> list[int]:
    return [(await grab(service, n, movie_id=movie_id)).id for n in range(1, count + 1)]


async def test_a_page_has_the_total_and_the_requested_slice(service: QueueService) -> None:
    await queue_of(service, 25)
    everything = await records((await service.list_page(page_size=100)).chunks)

    listed = await service.list_page(page=2, page_size=10)

    assert listed.total_records == 25
    assert listed.page == 2
    assert listed.page_size == 10
    assert await records(listed.chunks) == everything[10:20]


async def test_a_page_past_the_end_is_replaced_like_radarr_does(service: QueueService) -> None:
    await queue_of(service, 25)
    page_two = await records((await service.list_page(page=2, page_size=10)).chunks)

    listed = await service.list_page(page=9, page_size=10)

    assert listed.page == 2
    assert listed.total_records == 25
    assert await records(listed.chunks) == page_two


async def test_the_partial_last_page_is_still_served_when_asked_for(
    service: QueueService,
) -> None:
    await queue_of(service, 25)

    listed = await service.list_page(page=3, page_size=10)

    assert listed.page == 3
    assert len(await records(listed.chunks)) == 5


async def test_a_page_past_the_end_of_an_empty_queue_is_reported_as_page_one(
    service: QueueService,
) -> None:
    # Radarr: an empty page with page > 1 becomes page max(total // pageSize, 1).
    listed = await service.list_page(page=9, page_size=10)

    assert listed.total_records == 0
    assert await records(listed.chunks) == []
    assert listed.page == 1


async def test_page_size_zero_gives_no_records_and_no_error(service: QueueService) -> None:
    await queue_of(service, 3)

    listed = await service.list_page(page=2, page_size=0)

    assert listed.total_records == 3
    assert await records(listed.chunks) == []


async def test_a_negative_page_size_is_refused(service: QueueService) -> None:
    with pytest.raises(BadRequest):
        await service.list_page(page_size=-1)


async def test_an_omitted_sort_is_timeleft_descending_and_an_allowed_key_is_echoed(
    service: QueueService,
) -> None:
    omitted = await service.list_page()
    echoed = await service.list_page(sort_key="TITLE", direction=SortDirection.DEFAULT)
    unknown = await service.list_page(sort_key="nonsense")

    assert (omitted.sort_key, omitted.sort_direction) == ("timeleft", SortDirection.DESCENDING)
    assert (echoed.sort_key, echoed.sort_direction) == ("TITLE", SortDirection.ASCENDING)
    assert unknown.sort_key == "timeleft"


async def test_a_page_is_sorted_by_the_requested_key_and_direction(
    service: QueueService,
) -> None:
    for n, title in enumerate(["Charlie", "Alpha", "Bravo"], start=1):
        await grab(service, n, title=title)

    ascending = await service.list_page(sort_key="title", direction=SortDirection.ASCENDING)
    descending = await service.list_page(sort_key="title", direction=SortDirection.DESCENDING)

    assert [i.title for i in await records(ascending.chunks)] == ["Alpha", "Bravo", "Charlie"]
    assert [i.title for i in await records(descending.chunks)] == ["Charlie", "Bravo", "Alpha"]


async def test_unknown_movie_items_are_listed_only_when_asked_for(
    service: QueueService,
) -> None:
    known = await grab(service, 1, movie_id=10)
    unknown = await grab(service, 2, movie_id=None)

    default = await service.list_page()
    everything = await service.list_page(flt=QueueFilter(include_unknown=True))

    assert [i.id for i in await records(default.chunks)] == [known.id]
    assert default.total_records == 1
    assert {i.id for i in await records(everything.chunks)} == {known.id, unknown.id}
    assert everything.total_records == 2


async def test_a_page_larger_than_a_chunk_is_loaded_in_chunks(
    service: QueueService, monkeypatch: pytest.MonkeyPatch
) -> None:
    await queue_of(service, 10)
    whole = await records((await service.list_page(page_size=10)).chunks)
    monkeypatch.setattr("core.service.CHUNK", 3)

    listed = await service.list_page(page_size=7)
    again = await service.list_page(page_size=7)

    assert listed.total_records == 10
    assert await chunk_sizes(listed.chunks) == [3, 3, 1]
    assert await records(again.chunks) == whole[:7]


async def test_a_chunked_page_past_the_end_is_replaced_like_radarr_does(
    service: QueueService, monkeypatch: pytest.MonkeyPatch
) -> None:
    await queue_of(service, 10)
    whole = await records((await service.list_page(page_size=10)).chunks)
    monkeypatch.setattr("core.service.CHUNK", 3)

    listed = await service.list_page(page=5, page_size=4)

    assert listed.page == 2  # 10 // 4
    assert await records(listed.chunks) == whole[4:8]


async def test_a_page_larger_than_the_real_chunk_size_is_complete_and_in_order(
    service: QueueService, items: MemoryQueueRepository
) -> None:
    from core.service import CHUNK

    count = 2 * CHUNK + 5
    for n in range(1, count + 1):
        await items.add(NewItem(title=f"Movie.{n}", source=SourceKind.MAGNET,
                                protocol=DownloadProtocol.TORRENT, added_at=EPOCH,
                                info_hash=info_hash(n), movie_id=10), HistoryEvent("grabbed"))

    listed = await service.list_page(page_size=count + 100, sort_key="added",
                                     direction=SortDirection.ASCENDING)
    sizes = await chunk_sizes(listed.chunks)
    loaded = await records((await service.list_page(
        page_size=count + 100, sort_key="added", direction=SortDirection.ASCENDING)).chunks)

    assert listed.total_records == count
    assert sizes == [CHUNK, CHUNK, 5]
    assert [i.id for i in loaded] == list(range(1, count + 1))  # same time: id breaks ties


# -- details -----------------------------------------------------------------------------


async def test_details_lists_every_item_soonest_done_first(
    service: QueueService, items: MemoryQueueRepository, clock: FakeClock
) -> None:
    late = await grab(service, 1, movie_id=10)
    unknown = await grab(service, 2, movie_id=None)
    soon = await grab(service, 3, movie_id=11)
    for item, minutes in ((late, 60), (soon, 5)):
        await items.update(
            [(item, item.evolve(estimated_completion_at=EPOCH + timedelta(minutes=minutes)))],
            HistoryEvent("updated"),
        )

    listed = await records(await service.details())

    assert [i.id for i in listed] == [soon.id, late.id, unknown.id]


async def test_details_for_a_movie_lists_only_its_items(service: QueueService) -> None:
    a = await grab(service, 1, movie_id=10)
    await grab(service, 2, movie_id=11)
    b = await grab(service, 3, movie_id=10)
    await grab(service, 4, movie_id=None)

    assert {i.id for i in await records(await service.details(movie_id=10))} == {a.id, b.id}
    assert await records(await service.details(movie_id=99)) == []


async def test_details_are_loaded_in_chunks(
    service: QueueService, monkeypatch: pytest.MonkeyPatch
) -> None:
    await queue_of(service, 5)
    monkeypatch.setattr("core.service.CHUNK", 2)

    assert await chunk_sizes(await service.details()) == [2, 2, 1]


async def test_get_of_an_unknown_id_is_not_found(service: QueueService) -> None:
    with pytest.raises(NotFound):
        await service.get(404)


# -- remove ------------------------------------------------------------------------------


async def test_removing_a_sent_item_removes_its_download_and_data_from_the_client(
    service: QueueService, items: MemoryQueueRepository, clock: FakeClock,
    client: FakeDownloadClient,
) -> None:
    item = await sent(items, clock, await grab(service, 1))

    await service.remove(item.id)

    assert client.calls == [("remove", (item.download_id, True))]
    assert await items.get(item.id) is None
    assert (await items.history(item.id))[-1].event == "removed"


async def test_removing_an_item_never_sent_calls_no_client(
    service: QueueService, items: MemoryQueueRepository, client: FakeDownloadClient
) -> None:
    item = await grab(service, 1, download_client="fake")

    await service.remove(item.id)

    assert client.calls == []
    assert await items.get(item.id) is None


async def test_remove_without_remove_from_client_leaves_the_download_alone(
    service: QueueService, items: MemoryQueueRepository, clock: FakeClock,
    client: FakeDownloadClient,
) -> None:
    item = await sent(items, clock, await grab(service, 1))

    await service.remove(item.id, RemoveOptions(remove_from_client=False))

    assert client.calls == []
    assert await items.get(item.id) is None


async def test_removing_an_item_whose_client_is_gone_is_refused_and_keeps_it(
    service: QueueService, items: MemoryQueueRepository, clock: FakeClock
) -> None:
    item = await sent(items, clock, await grab(service, 1), client="gone")

    with pytest.raises(UnknownDownloadClient, match="gone"):
        await service.remove(item.id)
    assert await items.get(item.id) == item


async def test_an_item_whose_client_is_gone_can_be_removed_without_remove_from_client(
    service: QueueService, items: MemoryQueueRepository, clock: FakeClock
) -> None:
    item = await sent(items, clock, await grab(service, 1), client="gone")

    await service.remove(item.id, RemoveOptions(remove_from_client=False))

    assert await items.get(item.id) is None


async def test_a_client_failure_while_removing_keeps_the_item(
    service: QueueService, items: MemoryQueueRepository, clock: FakeClock,
    client: FakeDownloadClient,
) -> None:
    item = await sent(items, clock, await grab(service, 1))
    client.fail_with = ClientUnavailable("qBittorrent is down")

    with pytest.raises(ClientUnavailable):
        await service.remove(item.id)
    assert await items.get(item.id) == item


async def test_remove_with_blocklist_adds_a_blocklist_entry(
    service: QueueService, items: MemoryQueueRepository, blocklist: MemoryBlocklistRepository,
    clock: FakeClock,
) -> None:
    item = await sent(items, clock, await grab(service, 1, indexer="Indexer"))

    await service.remove(item.id, RemoveOptions(blocklist=True))

    entry = await blocklist.find(item.info_hash, None, None)
    assert entry is not None
    assert (entry.source_title, entry.movie_id, entry.indexer) == ("Movie.1", 10, "Indexer")
    assert entry.date == clock.now()
    last = (await items.history(item.id))[-1]
    assert last.event == "removed"
    assert last.message is not None
    assert "blocklisted" in last.message
    with pytest.raises(Blocklisted):
        await grab(service, 1)


async def test_remove_without_blocklist_adds_no_entry(
    service: QueueService, blocklist: MemoryBlocklistRepository
) -> None:
    item = await grab(service, 1)

    await service.remove(item.id)

    assert await blocklist.find(item.info_hash, None, item.title) is None
    assert (await grab(service, 1)).state is S.QUEUED


async def test_removing_an_unknown_id_is_not_found(service: QueueService) -> None:
    with pytest.raises(NotFound):
        await service.remove(404)


async def test_remove_many_with_an_unknown_id_removes_nothing(
    service: QueueService, items: MemoryQueueRepository, clock: FakeClock,
    client: FakeDownloadClient,
) -> None:
    a = await sent(items, clock, await grab(service, 1))
    b = await grab(service, 2)

    with pytest.raises(NotFound):
        await service.remove_many([a.id, 404, b.id])
    assert client.calls == []
    assert await items.get_many([a.id, b.id]) == [a, b]


async def test_remove_many_with_an_unknown_client_touches_no_client_and_removes_nothing(
    service: QueueService, items: MemoryQueueRepository, clock: FakeClock,
    client: FakeDownloadClient,
) -> None:
    good = await sent(items, clock, await grab(service, 1))
    orphan = await sent(items, clock, await grab(service, 2), client="gone")

    with pytest.raises(UnknownDownloadClient):
        await service.remove_many([good.id, orphan.id])
    assert client.calls == []
    assert await items.get_many([good.id, orphan.id]) == [good, orphan]


async def test_remove_many_removes_every_item_once(
    service: QueueService, items: MemoryQueueRepository, clock: FakeClock,
    client: FakeDownloadClient,
) -> None:
    a = await sent(items, clock, await grab(service, 1))
    b = await grab(service, 2)

    await service.remove_many([a.id, b.id, a.id])

    assert client.calls == [("remove", (a.download_id, True))]
    assert await items.get_many([a.id, b.id]) == []


# -- force grab --------------------------------------------------------------------------


async def test_force_grab_makes_a_queued_item_due_now(
    service: QueueService, items: MemoryQueueRepository, clock: FakeClock
) -> None:
    item = await grab(service, 1)
    (item,) = await items.update(
        [(item, item.evolve(next_attempt_at=EPOCH + timedelta(hours=1)))], HistoryEvent("x"))
    clock.advance(minutes=1)

    await service.force_grab(item.id)

    forced = await service.get(item.id)
    assert forced.state is S.QUEUED
    assert forced.next_attempt_at is None
    assert forced.updated_at == clock.now()


@pytest.mark.parametrize("states", [(S.SENDING, S.RETRYING), (S.CLIENT_UNAVAILABLE,)])
async def test_force_grab_queues_a_waiting_item_now(
    service: QueueService, items: MemoryQueueRepository, clock: FakeClock,
    states: tuple[ItemState, ...],
) -> None:
    item = await move(items, clock, await grab(service, 1), *states,
                      next_attempt_at=EPOCH + timedelta(minutes=8))

    await service.force_grab(item.id)

    forced = await service.get(item.id)
    assert forced.state is S.QUEUED
    assert forced.next_attempt_at is None


@pytest.mark.parametrize(
    "states",
    [(S.SENDING,), (S.SENDING, S.DOWNLOADING), (S.PAUSED,), (S.FAILED,),
     (S.SENDING, S.DOWNLOADING, S.COMPLETED), (S.SENDING, S.DOWNLOADING, S.WARNING)],
)
async def test_force_grab_of_an_item_that_is_not_pending_is_not_found(
    service: QueueService, items: MemoryQueueRepository, clock: FakeClock,
    states: tuple[ItemState, ...],
) -> None:
    item = await move(items, clock, await grab(service, 1), *states)

    with pytest.raises(NotFound):
        await service.force_grab(item.id)
    assert await items.get(item.id) == item


async def test_force_grab_many_changes_nothing_unless_every_id_is_pending(
    service: QueueService, items: MemoryQueueRepository, clock: FakeClock
) -> None:
    waiting = await move(items, clock, await grab(service, 1), S.SENDING, S.RETRYING)
    busy = await sent(items, clock, await grab(service, 2))

    with pytest.raises(NotFound):
        await service.force_grab_many([waiting.id, busy.id])
    with pytest.raises(NotFound):
        await service.force_grab_many([waiting.id, 404])
    assert await items.get_many([waiting.id, busy.id]) == [waiting, busy]


# -- pause and resume --------------------------------------------------------------------


async def test_pausing_a_download_pauses_it_in_its_client(
    service: QueueService, items: MemoryQueueRepository, clock: FakeClock,
    client: FakeDownloadClient,
) -> None:
    item = await sent(items, clock, await grab(service, 1))
    await items.update([(item, item.evolve(download_speed=5000, eta_seconds=60))],
                       HistoryEvent("updated"))

    paused = await service.pause(item.id)

    assert client.calls == [("pause", (item.download_id,))]
    assert paused.state is S.PAUSED
    assert paused.download_speed == 0
    assert paused.eta_seconds is None
    assert await service.get(item.id) == paused


async def test_pausing_an_unsent_item_calls_no_client(
    service: QueueService, client: FakeDownloadClient
) -> None:
    item = await grab(service, 1)

    assert (await service.pause(item.id)).state is S.PAUSED
    assert client.calls == []


async def test_pausing_a_paused_item_changes_nothing(
    service: QueueService, client: FakeDownloadClient
) -> None:
    paused = await service.pause((await grab(service, 1)).id)

    assert await service.pause(paused.id) == paused
    assert client.calls == []


@pytest.mark.parametrize(
    "states", [(S.SENDING,), (S.FAILED,), (S.SENDING, S.DOWNLOADING, S.COMPLETED)]
)
async def test_an_item_that_is_sending_or_finished_cannot_be_paused(
    service: QueueService, items: MemoryQueueRepository, clock: FakeClock,
    client: FakeDownloadClient, states: tuple[ItemState, ...],
) -> None:
    item = await move(items, clock, await grab(service, 1), *states)

    with pytest.raises(IllegalTransition):
        await service.pause(item.id)
    assert client.calls == []
    assert await items.get(item.id) == item


async def test_pausing_an_item_whose_client_is_gone_is_refused(
    service: QueueService, items: MemoryQueueRepository, clock: FakeClock
) -> None:
    item = await sent(items, clock, await grab(service, 1), client="gone")

    with pytest.raises(UnknownDownloadClient):
        await service.pause(item.id)
    assert (await service.get(item.id)).state is S.DOWNLOADING


async def test_resuming_a_paused_download_queues_it_with_its_download_kept(
    service: QueueService, items: MemoryQueueRepository, clock: FakeClock,
    client: FakeDownloadClient,
) -> None:
    """The dispatcher resumes it in its client when a slot is free (it is woken), so
    that QUEUARR_MAX_CONCURRENT holds (tests/core/test_concurrency_limit.py)."""
    item = await sent(items, clock, await grab(service, 1))
    await service.pause(item.id)
    woken = []
    service.wake = lambda: woken.append(True)

    resumed = await service.resume(item.id)

    assert client.calls == [("pause", (item.download_id,))]
    assert resumed.state is S.QUEUED and woken == [True]
    assert (resumed.download_client, resumed.download_id) == ("fake", item.download_id)


async def test_resuming_a_download_whose_client_is_gone_is_refused(
    service: QueueService, items: MemoryQueueRepository, clock: FakeClock
) -> None:
    item = await sent(items, clock, await grab(service, 1), client="gone")
    (paused,) = await items.update(
        [(item, transition(item, S.PAUSED, clock.now()))], HistoryEvent("test"))

    with pytest.raises(UnknownDownloadClient):
        await service.resume(item.id)
    assert await service.get(item.id) == paused


async def test_resuming_an_item_paused_before_it_was_sent_queues_it(
    service: QueueService, client: FakeDownloadClient
) -> None:
    item = await service.pause((await grab(service, 1)).id)

    resumed = await service.resume(item.id)

    assert resumed.state is S.QUEUED
    assert client.calls == []


async def test_resuming_an_item_that_is_not_paused_changes_nothing(
    service: QueueService, items: MemoryQueueRepository, clock: FakeClock,
    client: FakeDownloadClient,
) -> None:
    item = await sent(items, clock, await grab(service, 1))

    assert await service.resume(item.id) == item
    assert client.calls == []


@pytest.mark.parametrize("states", [(S.FAILED,), (S.SENDING, S.DOWNLOADING, S.COMPLETED)])
async def test_a_finished_item_cannot_be_resumed(
    service: QueueService, items: MemoryQueueRepository, clock: FakeClock,
    states: tuple[ItemState, ...],
) -> None:
    item = await move(items, clock, await grab(service, 1), *states)

    with pytest.raises(IllegalTransition):
        await service.resume(item.id)


# -- priority ----------------------------------------------------------------------------


async def test_changing_the_priority_of_a_download_tells_its_client(
    service: QueueService, items: MemoryQueueRepository, clock: FakeClock,
    client: FakeDownloadClient,
) -> None:
    item = await sent(items, clock, await grab(service, 1))

    changed = await service.set_priority(item.id, Priority.VERY_HIGH)

    assert client.calls == [("set_priority", (item.download_id, 3))]
    assert changed.priority is Priority.VERY_HIGH
    assert (await service.get(item.id)).priority is Priority.VERY_HIGH
    last = (await items.history(item.id))[-1]
    assert (last.event, last.message) == ("priorityChanged", "veryHigh")


async def test_changing_the_priority_of_an_unsent_item_calls_no_client(
    service: QueueService, client: FakeDownloadClient
) -> None:
    item = await grab(service, 1)

    assert (await service.set_priority(item.id, Priority.LOW)).priority is Priority.LOW
    assert client.calls == []


async def test_setting_the_same_priority_changes_nothing(
    service: QueueService, items: MemoryQueueRepository, clock: FakeClock,
    client: FakeDownloadClient,
) -> None:
    item = await sent(items, clock, await grab(service, 1, priority=Priority.HIGH))

    assert await service.set_priority(item.id, Priority.HIGH) == item
    assert client.calls == []


async def test_changing_the_priority_of_a_finished_item_calls_no_client(
    service: QueueService, items: MemoryQueueRepository, clock: FakeClock,
    client: FakeDownloadClient,
) -> None:
    item = await move(items, clock, await sent(items, clock, await grab(service, 1)),
                      S.COMPLETED)

    assert (await service.set_priority(item.id, Priority.HIGH)).priority is Priority.HIGH
    assert client.calls == []


# -- retry -------------------------------------------------------------------------------


async def failed(service: QueueService, items: MemoryQueueRepository, clock: FakeClock,
                 n: int) -> QueueItem:
    return await move(
        items, clock, await grab(service, n), S.SENDING, S.FAILED, attempts=3,
        error_message="tracker said no", status_messages=(StatusMessage("t", ("no",)),),
    )


async def test_retrying_a_failed_item_queues_it_with_attempts_and_error_cleared(
    service: QueueService, items: MemoryQueueRepository, clock: FakeClock
) -> None:
    item = await failed(service, items, clock, 1)

    assert await service.retry([item.id]) == [item.id]

    retried = await service.get(item.id)
    assert retried.state is S.QUEUED
    assert retried.attempts == 0
    assert retried.error_message is None
    assert retried.next_attempt_at is None
    assert retried.status_messages == ()


async def test_retrying_an_item_waiting_to_retry_queues_it_now(
    service: QueueService, items: MemoryQueueRepository, clock: FakeClock
) -> None:
    item = await move(items, clock, await grab(service, 1), S.SENDING, S.RETRYING,
                      attempts=1, next_attempt_at=EPOCH + timedelta(minutes=2))

    await service.retry([item.id])

    retried = await service.get(item.id)
    assert (retried.state, retried.attempts, retried.next_attempt_at) == (S.QUEUED, 0, None)


@pytest.mark.parametrize("states", [(), (S.SENDING, S.DOWNLOADING), (S.PAUSED,),
                                    (S.SENDING, S.DOWNLOADING, S.COMPLETED)])
async def test_retrying_an_item_that_has_not_failed_is_refused_and_changes_nothing(
    service: QueueService, items: MemoryQueueRepository, clock: FakeClock,
    states: tuple[ItemState, ...],
) -> None:
    bad = await failed(service, items, clock, 1)
    other = await move(items, clock, await grab(service, 2), *states)

    with pytest.raises(IllegalTransition):
        await service.retry([bad.id, other.id])
    assert await items.get_many([bad.id, other.id]) == [bad, other]


async def test_retrying_an_unknown_id_is_not_found(
    service: QueueService, items: MemoryQueueRepository, clock: FakeClock
) -> None:
    bad = await failed(service, items, clock, 1)

    with pytest.raises(NotFound):
        await service.retry([bad.id, 404])
    assert (await service.get(bad.id)).state is S.FAILED


async def test_retry_without_ids_retries_every_failed_item_only(
    service: QueueService, items: MemoryQueueRepository, clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("core.service.CHUNK", 2)
    bad = [await failed(service, items, clock, n) for n in range(1, 6)]
    waiting = await move(items, clock, await grab(service, 6), S.SENDING, S.RETRYING)
    unknown_movie = await move(items, clock, await grab(service, 7, movie_id=None), S.FAILED)
    busy = await sent(items, clock, await grab(service, 8))

    retried = await service.retry()

    assert sorted(retried) == sorted([i.id for i in bad] + [unknown_movie.id])
    for item_id in retried:
        assert (await service.get(item_id)).state is S.QUEUED
    assert await service.get(waiting.id) == waiting
    assert await service.get(busy.id) == busy


async def test_retry_without_ids_and_nothing_failed_retries_nothing(
    service: QueueService,
) -> None:
    await grab(service, 1)

    assert await service.retry() == []


# -- cleanup -----------------------------------------------------------------------------


async def test_cleanup_deletes_finished_items_older_than_the_given_days(
    service: QueueService, items: MemoryQueueRepository, clock: FakeClock
) -> None:
    old_done = await move(items, clock, await sent(items, clock, await grab(service, 1)),
                          S.COMPLETED)
    old_failed = await move(items, clock, await grab(service, 2), S.FAILED)
    old_active = await sent(items, clock, await grab(service, 3))
    clock.advance(days=5)
    new_done = await move(items, clock, await sent(items, clock, await grab(service, 4)),
                          S.COMPLETED)
    clock.advance(days=5)

    assert await service.cleanup(7) == 2

    remaining = await items.get_many([old_done.id, old_failed.id, old_active.id, new_done.id])
    assert [i.id for i in remaining] == [old_active.id, new_done.id]


async def test_cleanup_of_zero_days_deletes_every_finished_item_before_now(
    service: QueueService, items: MemoryQueueRepository, clock: FakeClock
) -> None:
    done = await move(items, clock, await grab(service, 1), S.FAILED)
    clock.advance(seconds=1)

    assert await service.cleanup(0) == 1
    assert await items.get(done.id) is None


async def test_cleanup_with_negative_days_is_refused(service: QueueService) -> None:
    with pytest.raises(BadRequest):
        await service.cleanup(-1)


# -- statistics --------------------------------------------------------------------------


async def test_statistics_count_the_whole_queue_by_state(
    service: QueueService, items: MemoryQueueRepository, clock: FakeClock
) -> None:
    await grab(service, 1)  # queued
    await move(items, clock, await grab(service, 2, movie_id=None), S.SENDING)  # pending
    await move(items, clock, await grab(service, 3), S.CLIENT_UNAVAILABLE)  # pending
    await sent(items, clock, await grab(service, 4))  # downloading
    await move(items, clock, await sent(items, clock, await grab(service, 5)), S.WARNING)
    await move(items, clock, await grab(service, 6), S.PAUSED)
    await move(items, clock, await grab(service, 7), S.SENDING, S.RETRYING)
    await move(items, clock, await sent(items, clock, await grab(service, 8)), S.COMPLETED)
    await move(items, clock, await grab(service, 9, movie_id=None), S.FAILED)

    stats = await service.statistics()

    assert stats.pending == 3
    assert stats.downloading == 2  # downloading and warning
    assert stats.paused == 1
    assert stats.retrying == 1
    assert stats.completed == 1
    assert stats.failed == 2  # the seed's failed queue: waiting to retry, and failed for good
    assert stats.permanent_failures == 1
    assert stats.total == 9


async def test_statistics_of_an_empty_queue_are_zero(service: QueueService) -> None:
    stats = await service.statistics()

    assert (stats.pending, stats.downloading, stats.completed, stats.failed, stats.total) == (
        0, 0, 0, 0, 0)


async def test_pause_all_pauses_what_can_be_paused_and_leaves_the_rest_as_it_is(
        service: QueueService, items: MemoryQueueRepository, clock: FakeClock,
        client: FakeDownloadClient) -> None:
    """A chat's /pause of everything: each item as pause() does; one whose client
    refuses stays as it is and the others are paused all the same."""
    waiting = await grab(service, 1)
    running = await sent(items, clock, await grab(service, 2))
    sending = await move(items, clock, await grab(service, 3), S.SENDING)
    done = await move(items, clock, await sent(items, clock, await grab(service, 4)),
                      S.COMPLETED)
    away = await sent(items, clock, await grab(service, 5), client="gone")
    paused = await service.pause_all()
    assert sorted(paused) == [waiting.id, running.id]
    assert ("pause", (running.download_id,)) in client.calls
    states = {i.id: (await service.get(i.id)).state
              for i in (waiting, running, sending, done, away)}
    assert states == {waiting.id: S.PAUSED, running.id: S.PAUSED, sending.id: S.SENDING,
                      done.id: S.COMPLETED, away.id: S.DOWNLOADING}
    assert sorted(await service.resume_all()) == [waiting.id, running.id]
    assert {(await service.get(i.id)).state for i in (waiting, running)} == {S.QUEUED}


async def test_pausing_or_removing_a_download_wakes_the_dispatcher_for_its_slot(
    service: QueueService, items: MemoryQueueRepository, clock: FakeClock,
) -> None:
    """Issue 18: an item waiting for a slot is sent as soon as one is freed."""
    woken: list[bool] = []
    service.wake = lambda: woken.append(True)
    first = await sent(items, clock, await grab(service, 1))
    second = await sent(items, clock, await grab(service, 2))
    queued = await grab(service, 3)
    woken.clear()  # the grabs woke it
    await service.pause(first.id)
    assert woken == [True]
    await service.remove(second.id)
    assert woken == [True, True]
    await service.remove_many([first.id, queued.id])  # neither held a slot
    assert woken == [True, True]
