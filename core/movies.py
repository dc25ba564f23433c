"""GET /api/v3/movie: the movies Queuarr knows from its grabs. Queuarr keeps no movie
library: a movie is a movie id that queue items carry, described by what the newest grab
said of it, with a file once a download of it completed. Read-only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from core.errors import NotFound

if TYPE_CHECKING:  # core.ports imports this module for KnownMovie
    from core.ports import QueueRepository


@dataclass(frozen=True, slots=True)
class KnownMovie:
    """A movie id among the queue items (QueueRepository.movies)."""

    movie_id: int
    title: str | None  # the newest item's movie fields
    year: int | None
    tmdb_id: int | None
    imdb_id: str | None
    sort_title: str | None
    added_at: datetime  # the first grab's
    has_file: bool = False  # a download of it completed (and is still in the queue)
    size: int = 0  # the newest completed item's size
    path: str | None = None  # and its output path


class MovieService:
    """The movies of GET /api/v3/movie, from the queue items."""

    def __init__(self, items: QueueRepository) -> None:
        self.items = items

    async def list(self, tmdb_id: int | None = None) -> list[KnownMovie]:
        """Every known movie by id; with `tmdb_id`, those shown with that tmdb id
        (Radarr answers at most one; Queuarr every movie id the grabs gave it)."""
        return await self.items.movies(tmdb_id=tmdb_id)

    async def get(self, movie_id: int) -> KnownMovie:
        """One movie; NotFound when no queue item carries that movie id."""
        found = await self.items.movies(movie_id=movie_id)
        if not found:
            raise NotFound()
        return found[0]
