"""/api/v3/movie, read-only: the movies Queuarr knows from its grabs (core.movies), in
Radarr's MovieResource shape, for dashboards (Homepage counts `hasFile`, `monitored` and
`isAvailable`) and for request tools' look-ups by `?tmdbId=`. Queuarr keeps no movie
library: adding, editing or deleting a movie is a 405 that says so."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from pydantic import Field
from starlette.responses import Response

from api.deferred_route import DeferredRoute
from api.errors import message_response
from api.params import INT32, ContainerDep, valid_id
from api.responses import json_response
from api.routers.queue import ERRORS
from api.schemas import Message, Out
from core.errors import NotFound
from core.movies import KnownMovie, MovieService
from infrastructure.bootstrap import Container

router = APIRouter(prefix="/api/v3/movie", tags=["Movie"], route_class=DeferredRoute)

MovieId = Annotated[int, Path(ge=-INT32 - 1, le=INT32, description="Movie id.")]
READ_ONLY = ("Queuarr keeps no movie library: /api/v3/movie lists the movies its grabs "
             "name, read-only. Send releases to /api/v3/release/push or /api/v3/queue/grab.")
NOT_ALLOWED: dict[int | str, dict[str, Any]] = {
    405: {"model": Message, "description": "Queuarr keeps no movie library"}}


class MovieStatisticsOut(Out):
    movie_file_count: int
    size_on_disk: int
    release_groups: list[str]


class MovieResource(Out):
    """Radarr's MovieResource, the part a download queue knows; null fields omitted."""

    id: int
    title: str | None = None
    original_title: str | None = None
    sort_title: str | None = None
    size_on_disk: int
    status: Literal["released"]
    images: list[Any]
    year: int
    path: str | None = Field(None, description="Where its completed download is.")
    has_file: bool
    monitored: bool
    minimum_availability: Literal["released"]
    is_available: bool
    imdb_id: str | None = None
    tmdb_id: int | None = None
    genres: list[str]
    tags: list[int]
    added: str = Field(json_schema_extra={"format": "date-time"})
    statistics: MovieStatisticsOut


def movies_of(c: Container) -> MovieService:
    if c.movies is None:
        raise NotFound("Movies are not available in this process")
    return c.movies


def movie_resource(movie: KnownMovie) -> dict[str, Any]:
    """A known movie as Radarr's MovieResource: monitored and available (it was grabbed),
    with a file once a download of it completed."""
    sort_title = movie.sort_title or movie.title
    optional = {"title": movie.title, "originalTitle": movie.title,
                "sortTitle": sort_title.lower() if sort_title else None,
                "path": movie.path, "imdbId": movie.imdb_id, "tmdbId": movie.tmdb_id}
    return {
        "id": movie.movie_id, **{k: v for k, v in optional.items() if v is not None},
        "sizeOnDisk": movie.size, "status": "released", "images": [],
        "year": movie.year or 0, "hasFile": movie.has_file, "monitored": True,
        "minimumAvailability": "released", "isAvailable": True, "genres": [], "tags": [],
        "added": movie.added_at,
        "statistics": {"movieFileCount": 1 if movie.has_file else 0,
                       "sizeOnDisk": movie.size, "releaseGroups": []},
    }


@router.get("", response_model=list[MovieResource], summary="The movies the grabs name",
            responses={400: ERRORS[400], 404: ERRORS[404]})
async def list_movies(
    c: ContainerDep,
    tmdb_id: Annotated[int | None, Query(alias="tmdbId", ge=-INT32 - 1, le=INT32)] = None,
    exclude_local_covers: Annotated[bool, Query(alias="excludeLocalCovers")] = False,
    language_id: Annotated[int | None, Query(alias="languageId", ge=-INT32 - 1,
                                             le=INT32)] = None,
) -> Response:
    """One entry per movie id among the queue items, by id: the newest grab's title, year,
    tmdbId and imdbId; `hasFile` once a download of it completed. `tmdbId` keeps the
    movies shown with it (Radarr's look-up). `excludeLocalCovers` and `languageId` are
    accepted and change nothing (Queuarr has no covers or translations)."""
    movies = await movies_of(c).list(tmdb_id)
    return json_response([movie_resource(m) for m in movies])


@router.get("/{id}", response_model=MovieResource, summary="One movie the grabs name",
            responses={404: ERRORS[404], 400: ERRORS[400]})
async def get_movie(c: ContainerDep, id: MovieId) -> Response:
    return json_response(movie_resource(await movies_of(c).get(valid_id(id))))


def _read_only() -> Response:
    return message_response(405, {"message": READ_ONLY}, {"Allow": "GET"})


@router.post("", response_class=Response, summary="Not supported: no movie library",
             responses=NOT_ALLOWED)
async def add_movie() -> Response:
    return _read_only()


@router.put("/{id}", response_class=Response, summary="Not supported: no movie library",
            responses={**NOT_ALLOWED, 400: ERRORS[400]})
async def update_movie(id: MovieId) -> Response:
    return _read_only()


@router.delete("/{id}", response_class=Response, summary="Not supported: no movie library",
               responses={**NOT_ALLOWED, 400: ERRORS[400]})
async def delete_movie(id: MovieId) -> Response:
    return _read_only()
