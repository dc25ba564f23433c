"""/api/v3/language, as Radarr's LanguageController answers (Profiles/Languages): every
language Radarr knows, validated against its LanguageResource."""

from __future__ import annotations

from tests.api.conftest import Api
from tests.api.radarr_schema import validate_radarr


async def test_every_radarr_language_is_listed_in_radarrs_order(api: Api) -> None:
    body = await api.get_json("/api/v3/language")
    for language in body:
        validate_radarr("LanguageResource", language)
    names = [language["name"] for language in body]
    assert names[:3] == ["Any", "Original", "Unknown"]  # ids 0 and below first
    assert names[3:] == sorted(names[3:]) and len(names) == 60
    assert {"id": 37, "name": "Spanish (Latino)", "nameLower": "spanish (latino)"} in body
    assert {"id": -2, "name": "Original", "nameLower": "original"} in body


async def test_one_language_by_id_and_an_unknown_id_is_404(api: Api) -> None:
    french = await api.get_json("/api/v3/language/2",
                                validate=lambda b: validate_radarr("LanguageResource", b))
    assert french == {"id": 2, "name": "French", "nameLower": "french"}
    assert (await api.get_json("/api/v3/language/0"))["name"] == "Unknown"
    missing = await api.client.get("/api/v3/language/999")
    assert missing.status_code == 404 and "999" in missing.json()["message"]
