"""The BlocklistRepository contract, on memory, SQLite and Postgres."""

from __future__ import annotations

from datetime import timedelta

from core.domain import DownloadProtocol, NewBlocklistEntry
from core.quality import QUALITY_BY_ID, Language, QualityModel
from tests.conftest import Store
from tests.fakes import EPOCH


def entry(n: int, **overrides: object) -> NewBlocklistEntry:
    values: dict[str, object] = dict(
        source_title=f"Some.Movie.{n}.1080p-GRP", date=EPOCH + timedelta(hours=n),
        protocol=DownloadProtocol.TORRENT, info_hash=f"{n:040x}", movie_id=n % 3 or None,
    )
    values.update(overrides)
    return NewBlocklistEntry(**values)  # type: ignore[arg-type]


async def test_an_entry_reads_back_field_for_field(store: Store) -> None:
    new = entry(1, indexer="Nyaa", message="stalled", url_hash="cd" * 32,
                quality=QualityModel(QUALITY_BY_ID[19]),
                languages=(Language(2, "French"),))
    added = await store.blocklist.add(new)
    assert added.id > 0
    assert (await store.blocklist.get_many([added.id])) == [added]
    assert added.source_title == new.source_title and added.quality == new.quality


async def test_adding_the_same_release_twice_keeps_one_entry(store: Store) -> None:
    first = await store.blocklist.add(entry(1))
    again_by_hash = await store.blocklist.add(entry(2, info_hash=f"{1:040x}"))
    # Without a hash, the title (any case) is all there is to go by, as in Radarr.
    again_by_title = await store.blocklist.add(entry(3, source_title="SOME.MOVIE.1.1080P-grp",
                                                     info_hash=None))
    assert again_by_hash.id == first.id == again_by_title.id
    total, _ = await store.blocklist.page(0, 10, "date", True, None, None)
    assert total == 1


async def test_a_namesake_with_another_hash_is_another_release(store: Store) -> None:
    """Radarr's SameTorrent: when both have hashes, the hashes decide, not the title."""
    first = await store.blocklist.add(entry(1))
    namesake = await store.blocklist.add(entry(4, source_title=first.source_title))
    assert namesake.id != first.id
    assert await store.blocklist.find(f"{4:040x}", None, None) == namesake
    total, _ = await store.blocklist.page(0, 10, "date", True, None, None)
    assert total == 2


async def test_find_matches_hash_url_or_title_in_any_case(store: Store) -> None:
    added = await store.blocklist.add(entry(1, url_hash="ab" * 32))
    assert await store.blocklist.find(added.info_hash, None, None) == added
    assert await store.blocklist.find(None, "ab" * 32, None) == added
    assert await store.blocklist.find(None, None, "some.movie.1.1080P-grp") == added
    assert await store.blocklist.find("f" * 40, "cd" * 32, "Other.Title") is None
    assert await store.blocklist.find(None, None, None) is None


async def test_pages_sort_and_filter(store: Store) -> None:
    for n in range(1, 8):
        await store.blocklist.add(entry(n, protocol=DownloadProtocol.USENET if n % 2
                                        else DownloadProtocol.TORRENT, indexer=f"ix{8 - n}"))
    total, newest = await store.blocklist.page(0, 3, "date", True, None, None)
    assert total == 7
    assert [e.source_title for e in newest] == [f"Some.Movie.{n}.1080p-GRP" for n in (7, 6, 5)]
    _, by_indexer = await store.blocklist.page(0, 2, "indexer", False, None, None)
    assert [e.indexer for e in by_indexer] == ["ix1", "ix2"]
    total, usenet = await store.blocklist.page(0, 10, "date", False, None,
                                               frozenset({DownloadProtocol.USENET}))
    assert total == 4 and all(e.protocol is DownloadProtocol.USENET for e in usenet)
    total, movies = await store.blocklist.page(0, 10, "date", False, frozenset({1}), None)
    assert total == 3 and {e.movie_id for e in movies} == {1}


async def test_delete_removes_only_the_given_entries(store: Store) -> None:
    a = await store.blocklist.add(entry(1))
    b = await store.blocklist.add(entry(2))
    await store.blocklist.delete([a.id])
    assert await store.blocklist.get_many([a.id, b.id]) == [b]


async def test_a_removed_entry_is_not_found_and_one_sharing_its_title_still_is(
        store: Store) -> None:
    first = await store.blocklist.add(entry(1))
    namesake = await store.blocklist.add(entry(4, source_title=first.source_title))
    assert await store.blocklist.find(None, None, first.source_title) == first
    await store.blocklist.delete([first.id])
    assert await store.blocklist.find(first.info_hash, None, None) is None
    assert await store.blocklist.find(None, None, first.source_title) == namesake
    later = await store.blocklist.add(entry(5, url_hash="ef" * 32))
    assert await store.blocklist.find(None, "ef" * 32, None) == later
