"""QueueRepository.movies (GET /api/v3/movie), on memory, SQLite and Postgres: one entry
per movie id among the items, the same on every store."""

from __future__ import annotations

from datetime import timedelta

from core.domain import ItemState, MovieInfo
from core.movies import KnownMovie
from tests.conftest import Store
from tests.contracts.test_queue_repository import GRABBED, advance, new_item
from tests.fakes import EPOCH

S = ItemState


async def test_no_items_means_no_movies(store: Store) -> None:
    assert await store.items.movies() == []


async def test_each_movie_id_is_one_entry_described_by_its_newest_grab(store: Store) -> None:
    await store.items.add(new_item(1, movie_id=7, movie=MovieInfo("Heat (old)", 1994, 1, "tt1")),
                          GRABBED)
    await store.items.add(new_item(2, movie_id=3, movie=MovieInfo("Alien", 1979, 348)), GRABBED)
    await store.items.add(new_item(3, movie_id=7, movie=MovieInfo("Heat", 1995, 949,
                                                                  "tt0113277", "heat")),
                          GRABBED)
    await store.items.add(new_item(4), GRABBED)  # no movie: not listed
    assert await store.items.movies() == [
        KnownMovie(3, "Alien", 1979, 348, None, None, EPOCH + timedelta(seconds=2)),
        KnownMovie(7, "Heat", 1995, 949, "tt0113277", "heat", EPOCH + timedelta(seconds=1)),
    ]


async def test_a_movie_has_a_file_once_one_of_its_downloads_completed(store: Store) -> None:
    first = await store.items.add(new_item(1, movie_id=5, movie=MovieInfo("Up", 2009)), GRABBED)
    second = await store.items.add(new_item(2, movie_id=5, movie=MovieInfo("Up", 2009)), GRABBED)
    (movie,) = await store.items.movies()
    assert not movie.has_file and movie.size == 0 and movie.path is None
    await advance(store, first, S.SENDING, S.DOWNLOADING, S.FAILED)
    await advance(store, second, S.SENDING, S.DOWNLOADING, S.COMPLETED, size=4_000_000_000,
                  output_path="/downloads/Up.2009.1080p")
    (movie,) = await store.items.movies()
    assert movie.has_file and movie.size == 4_000_000_000
    assert movie.path == "/downloads/Up.2009.1080p"


async def test_a_movie_without_movie_fields_is_listed_by_its_id(store: Store) -> None:
    await store.items.add(new_item(1, movie_id=11), GRABBED)
    assert await store.items.movies() == [
        KnownMovie(11, None, None, None, None, None, EPOCH + timedelta(seconds=1))]


async def test_movies_are_found_by_movie_id_and_by_their_shown_tmdb_id(store: Store) -> None:
    await store.items.add(new_item(1, movie_id=1, movie=MovieInfo("A", 2001, 100)), GRABBED)
    await store.items.add(new_item(2, movie_id=2, movie=MovieInfo("B", 2002, 200)), GRABBED)
    # Movie 2's newest grab names another tmdb id: that one is shown, and found.
    await store.items.add(new_item(3, movie_id=2, movie=MovieInfo("B", 2002, 201)), GRABBED)
    assert [m.movie_id for m in await store.items.movies(movie_id=2)] == [2]
    assert await store.items.movies(movie_id=9) == []
    assert [m.movie_id for m in await store.items.movies(tmdb_id=100)] == [1]
    assert [m.movie_id for m in await store.items.movies(tmdb_id=201)] == [2]
    assert await store.items.movies(tmdb_id=200) == []
