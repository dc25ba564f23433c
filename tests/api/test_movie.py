"""/api/v3/movie, read-only: the movies the grabs name, validated against Radarr's
MovieResource. Homepage's Radarr widget (gethomepage/homepage b2a52ff,
src/widgets/radarr/widget.js) reads `monitored`, `hasFile`, `isAvailable`, `title` and
`id` of each; Overseerr and Jellyseerr look movies up by `?tmdbId=`."""

from __future__ import annotations

from typing import Any

import pytest

from core.domain import ItemState
from tests.api.conftest import Api
from tests.api.radarr_schema import validate_radarr

HEAT = {"title": "Heat", "year": 1995, "tmdbId": 949, "imdbId": "tt0113277"}


def validate_movies(body: Any) -> None:
    assert isinstance(body, list), body
    for record in body:
        validate_radarr("MovieResource", record)


def homepage_counts(movies: list[dict[str, Any]]) -> dict[str, int]:
    """What the widget's `movie` mapping computes from the list."""
    return {
        "wanted": sum(1 for m in movies if m["monitored"] and not m["hasFile"]
                      and m["isAvailable"]),
        "have": sum(1 for m in movies if m["hasFile"]),
        "missing": sum(1 for m in movies if m["monitored"] and not m["hasFile"]),
    }


async def test_no_grabs_no_movies(api: Api) -> None:
    assert await api.get_json("/api/v3/movie", validate=validate_movies) == []


async def test_each_grabbed_movie_is_listed_once_with_a_file_once_its_download_completed(
        api: Api) -> None:
    first = await api.grab("Heat.1995.1080p.BluRay-GRP", movieId=7, movie=HEAT)
    await api.grab("Heat.1995.2160p.BluRay-GRP", movieId=7, movie=HEAT)
    await api.grab("Alien.1979.1080p.BluRay-GRP", movieId=3,
                   movie={"title": "Alien", "year": 1979, "tmdbId": 348})
    await api.grab("No.Movie.2020.1080p-GRP", movieId=None)
    movies = await api.get_json("/api/v3/movie", validate=validate_movies)
    assert [(m["id"], m["title"], m["year"]) for m in movies] == [
        (3, "Alien", 1979), (7, "Heat", 1995)]
    heat = movies[1]
    assert heat["tmdbId"] == 949 and heat["imdbId"] == "tt0113277"
    assert heat["sortTitle"] == "heat" and heat["originalTitle"] == "Heat"
    assert heat["added"] == first["added"] and heat["status"] == "released"
    assert heat["monitored"] and heat["isAvailable"] and not heat["hasFile"]
    assert heat["sizeOnDisk"] == 0 and "path" not in heat
    assert homepage_counts(movies) == {"wanted": 2, "have": 0, "missing": 2}
    await api.set(first["id"], state=ItemState.COMPLETED, size=8_000, size_left=0,
                  progress=100.0, output_path="/downloads/Heat.1995.1080p.BluRay-GRP")
    movies = await api.get_json("/api/v3/movie", validate=validate_movies)
    heat = movies[1]
    assert heat["hasFile"] and heat["sizeOnDisk"] == 8_000
    assert heat["path"] == "/downloads/Heat.1995.1080p.BluRay-GRP"
    assert heat["statistics"] == {"movieFileCount": 1, "sizeOnDisk": 8_000,
                                  "releaseGroups": []}
    assert homepage_counts(movies) == {"wanted": 1, "have": 1, "missing": 1}


async def test_one_movie_by_id_and_an_unknown_one_is_404(api: Api) -> None:
    await api.grab("Heat.1995.1080p.BluRay-GRP", movieId=7, movie=HEAT)
    heat = await api.get_json("/api/v3/movie/7")
    validate_radarr("MovieResource", heat)
    assert heat["id"] == 7 and heat["title"] == "Heat"
    missing = await api.client.get("/api/v3/movie/8")
    assert missing.status_code == 404 and missing.json() == {"message": "NotFound"}
    assert (await api.client.get("/api/v3/movie/0")).status_code == 400


async def test_movies_are_looked_up_by_tmdb_id_in_any_case_of_the_key(api: Api) -> None:
    await api.grab("Heat.1995.1080p.BluRay-GRP", movieId=7, movie=HEAT)
    await api.grab("Alien.1979.1080p.BluRay-GRP", movieId=3,
                   movie={"title": "Alien", "year": 1979, "tmdbId": 348})
    found = await api.get_json("/api/v3/movie", {"tmdbId": 949}, validate=validate_movies)
    assert [m["id"] for m in found] == [7]
    found = await api.get_json("/api/v3/movie", {"TMDBID": 348}, validate=validate_movies)
    assert [m["id"] for m in found] == [3]
    assert await api.get_json("/api/v3/movie", {"tmdbId": 1}) == []
    assert (await api.client.get("/api/v3/movie", params={"tmdbId": "x"})).status_code == 400
    # Radarr's other query parameters are accepted and change nothing.
    assert len(await api.get_json("/api/v3/movie", {"excludeLocalCovers": "true",
                                                    "languageId": 1})) == 2


async def test_a_grab_without_movie_details_is_listed_by_its_id(api: Api) -> None:
    await api.grab("Some.Release.2020.1080p-GRP", movieId=12)
    (movie,) = await api.get_json("/api/v3/movie", validate=validate_movies)
    assert movie["id"] == 12 and movie["year"] == 0 and "title" not in movie


@pytest.mark.parametrize(("method", "path"), [
    ("POST", "/api/v3/movie"), ("PUT", "/api/v3/movie/7"), ("DELETE", "/api/v3/movie/7")])
async def test_the_movie_list_cannot_be_written(api: Api, method: str, path: str) -> None:
    await api.grab("Heat.1995.1080p.BluRay-GRP", movieId=7, movie=HEAT)
    response = await api.client.request(method, path, json={"title": "Heat", "tmdbId": 949})
    assert response.status_code == 405 and response.headers["allow"] == "GET"
    assert "no movie library" in response.json()["message"]
    assert len(await api.get_json("/api/v3/movie")) == 1
