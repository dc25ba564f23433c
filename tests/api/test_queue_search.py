"""GET /api/v3/queue?search= (Queuarr's own): the items whose title contains the term,
ASCII letters in any case, on every store; paging and totals follow the filter."""

from __future__ import annotations

import pytest

from tests.api.conftest import Api
from tests.conftest import STORE_KINDS

pytestmark = pytest.mark.parametrize("store", STORE_KINDS, indirect=True)


async def test_search_keeps_the_items_whose_title_contains_the_term(api: Api) -> None:
    for title in ("Alien.1979.1080p", "Aliens.1986.720p", "Heat.1995.1080p", "100%.Real"):
        await api.grab(title)
    page = await api.queue({"search": "ALIEN", "includeUnknownMovieItems": "true",
                            "sortKey": "title", "sortDirection": "ascending"})
    assert page["totalRecords"] == 2
    assert [r["title"] for r in page["records"]] == ["Alien.1979.1080p", "Aliens.1986.720p"]
    one = await api.queue({"search": "1080p", "pageSize": 1, "page": 2,
                           "sortKey": "title", "sortDirection": "ascending"})
    assert one["totalRecords"] == 2 and [r["title"] for r in one["records"]] == [
        "Heat.1995.1080p"]
    literal = await api.queue({"search": "0%"})  # LIKE's wildcard is a plain character
    assert [r["title"] for r in literal["records"]] == ["100%.Real"]
    assert (await api.queue({"search": "  "}))["totalRecords"] == 4  # blank: no filter


async def test_an_overlong_search_is_a_400(api: Api) -> None:
    response = await api.client.get("/api/v3/queue", params={"search": "x" * 201})
    assert response.status_code == 400, response.text
