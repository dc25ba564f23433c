"""/api/v3/config/ui, as Radarr's UiConfigController answers: Radarr's defaults, stored
changes every process reads (one switch), Radarr's language checks; validated against
Radarr's UiConfigResource."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.conftest import Api
from tests.api.radarr_schema import validate_radarr
from tests.conftest import STORE_KINDS

URL = "/api/v3/config/ui"
DEFAULTS = {"id": 1, "firstDayOfWeek": 0, "calendarWeekColumnHeader": "ddd M/D",
            "movieRuntimeFormat": "hoursMinutes", "shortDateFormat": "MMM D YYYY",
            "longDateFormat": "dddd, MMMM D YYYY", "timeFormat": "h(:mm)a",
            "showRelativeDates": True, "enableColorImpairedMode": False,
            "movieInfoLanguage": 1, "uiLanguage": 1, "theme": "auto"}


async def ui(api: Api, url: str = URL) -> dict[str, Any]:
    body: dict[str, Any] = await api.get_json(
        url, validate=lambda b: validate_radarr("UiConfigResource", b))
    return body


async def test_the_ui_settings_start_as_radarrs_defaults(api: Api) -> None:
    assert await ui(api) == DEFAULTS
    assert await ui(api, f"{URL}/1") == DEFAULTS


@pytest.mark.parametrize("store", STORE_KINDS, indirect=True)
async def test_a_change_is_stored_and_what_is_left_out_keeps_its_value(api: Api) -> None:
    response = await api.client.put(f"{URL}/1", json=DEFAULTS | {
        "theme": "dark", "uiLanguage": 2, "movieRuntimeFormat": "minutes"})
    assert response.status_code == 202, response.text
    validate_radarr("UiConfigResource", response.json())
    partial = await api.client.put(URL, json={"firstDayOfWeek": 1})
    assert partial.status_code == 202, partial.text
    expected = DEFAULTS | {"theme": "dark", "uiLanguage": 2, "movieRuntimeFormat": "minutes",
                           "firstDayOfWeek": 1}
    assert partial.json() == expected
    # Another process reads the same switch.
    assert await api.container.switches.get("ui_config") is not None
    assert await ui(api) == expected


@pytest.mark.parametrize(("changes", "expected"), [
    ({"uiLanguage": 999}, [("UILanguage", "Invalid UI Language ID")]),
    ({"uiLanguage": 0}, [("UILanguage", "The UI Language value cannot be less than 1")]),
    ({"movieInfoLanguage": -5},
     [("MovieInfoLanguage", "The Movie Info Language value cannot be less than 1"),
      ("MovieInfoLanguage", "Invalid Movie Info Language ID")]),
])
async def test_an_unknown_language_is_refused_in_radarrs_words_and_nothing_changes(
        api: Api, changes: dict[str, Any], expected: list[tuple[str, str]]) -> None:
    response = await api.client.put(f"{URL}/1", json=DEFAULTS | {"theme": "dark"} | changes)
    assert response.status_code == 400, response.text
    assert [(f["propertyName"], f["errorMessage"]) for f in response.json()] == expected
    assert await ui(api) == DEFAULTS


async def test_a_runtime_format_radarr_does_not_have_is_refused(api: Api) -> None:
    response = await api.client.put(URL, json={"movieRuntimeFormat": "seconds"})
    assert response.status_code == 400, response.text
    assert await ui(api) == DEFAULTS
