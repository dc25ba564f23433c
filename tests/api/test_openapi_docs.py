"""/docs describes every endpoint: each operation has a summary, typed parameters, a
documented success answer, its error answers and the API-key requirement."""

from __future__ import annotations

from typing import Any

from tests.api.conftest import Api


async def _operations(api: Api) -> list[tuple[str, str, dict[str, Any]]]:
    response = await api.anon.get("/openapi.json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    return [(path, method, op) for path, item in paths.items()
            for method, op in item.items()]


# Radarr's queue endpoints, Queuarr's own beside them, blocklist, download clients, system,
# release selection.
EXPECTED = {
    "GET /ping", "HEAD /ping", "GET /api", "GET /api/v3/system/status",
    "GET /api/v3/queue", "GET /api/v3/queue/details", "GET /api/v3/queue/status",
    "DELETE /api/v3/queue/{id}", "DELETE /api/v3/queue/bulk", "POST /api/v3/queue/grab/{id}",
    "POST /api/v3/queue/grab/bulk", "POST /api/v3/queue/grab", "GET /api/v3/queue/{id}",
    "PUT /api/v3/queue/{id}/pause", "PUT /api/v3/queue/{id}/resume",
    "PUT /api/v3/queue/{id}/priority", "POST /api/v3/queue/retry",
    "GET /api/v3/queue/group/{id}", "PUT /api/v3/queue/group/{id}/pause",
    "PUT /api/v3/queue/group/{id}/resume", "POST /api/v3/queue/group/{id}/retry",
    "DELETE /api/v3/queue/group/{id}",
    "GET /ui/session", "POST /ui/session", "DELETE /ui/session",
    "DELETE /api/v3/queue/cleanup", "GET /api/v3/queue/statistics", "GET /api/v3/blocklist",
    "DELETE /api/v3/blocklist/{id}", "DELETE /api/v3/blocklist/bulk",
    "GET /api/v3/downloadclient", "POST /api/v3/downloadclient",
    "GET /api/v3/downloadclient/schema", "GET /api/v3/downloadclient/{id}",
    "PUT /api/v3/downloadclient/{id}", "DELETE /api/v3/downloadclient/{id}",
    "POST /api/v3/downloadclient/test", "POST /api/v3/downloadclient/testall",
    "PUT /api/v3/queue/pause", "PUT /api/v3/queue/resume", "POST /api/v3/queue/process",
    "GET /api/v3/queue/pause", "GET /api/v3/history", "GET /api/v3/history/since",
    "GET /api/v3/health", "GET /api/v3/diskspace",
    "POST /api/v3/release/push", "POST /api/v3/release/score",
    "GET /api/v3/customformat", "POST /api/v3/customformat", "GET /api/v3/customformat/schema",
    "GET /api/v3/customformat/{id}", "PUT /api/v3/customformat/{id}",
    "DELETE /api/v3/customformat/{id}",
    "GET /api/v3/qualityprofile", "POST /api/v3/qualityprofile",
    "GET /api/v3/qualityprofile/schema", "GET /api/v3/qualityprofile/{id}",
    "PUT /api/v3/qualityprofile/{id}", "DELETE /api/v3/qualityprofile/{id}",
    "GET /api/v3/queue/stream", "GET /metrics",
    "GET /api/v3/notification", "POST /api/v3/notification", "GET /api/v3/notification/{id}",
    "PUT /api/v3/notification/{id}", "DELETE /api/v3/notification/{id}",
    "POST /api/v3/notification/test",
    # Issue 13: tags, languages, quality definitions, root folders, UI settings.
    "GET /api/v3/tag", "POST /api/v3/tag", "GET /api/v3/tag/{id}", "PUT /api/v3/tag/{id}",
    "DELETE /api/v3/tag/{id}", "GET /api/v3/tag/detail", "GET /api/v3/tag/detail/{id}",
    "GET /api/v3/language", "GET /api/v3/language/{id}",
    "GET /api/v3/qualitydefinition", "GET /api/v3/qualitydefinition/{id}",
    "PUT /api/v3/qualitydefinition/{id}", "PUT /api/v3/qualitydefinition/update",
    "GET /api/v3/qualitydefinition/limits",
    "GET /api/v3/rootfolder", "GET /api/v3/rootfolder/{id}", "POST /api/v3/rootfolder",
    "DELETE /api/v3/rootfolder/{id}",
    "GET /api/v3/config/ui", "PUT /api/v3/config/ui", "GET /api/v3/config/ui/{id}",
    "PUT /api/v3/config/ui/{id}",
    # Issue 13: commands, and the read-only movie list.
    "POST /api/v3/command", "GET /api/v3/command", "GET /api/v3/command/{id}",
    "DELETE /api/v3/command/{id}",
    "GET /api/v3/movie", "POST /api/v3/movie", "GET /api/v3/movie/{id}",
    "PUT /api/v3/movie/{id}", "DELETE /api/v3/movie/{id}",
    "POST /telegram/webhook",  # issue 14: Telegram's webhook (its own secret header)
    "GET /api/v3/system/resources",  # issue 17: Queuarr's process and host use
    "GET /api/v3/system/backup", "POST /api/v3/system/backup",  # issue 17: backups
}


async def test_every_operation_is_documented(api: Api) -> None:
    operations = await _operations(api)
    assert {f"{method.upper()} {path}" for path, method, _ in operations} == EXPECTED
    for path, method, op in operations:
        where = f"{method.upper()} {path}"
        assert op.get("summary"), where
        assert any(code.startswith("2") for code in op["responses"]), where
        for parameter in op.get("parameters", []):
            assert "schema" in parameter, (where, parameter["name"])
        if path.startswith("/api"):
            assert "401" in op["responses"], where
            assert op.get("security"), where
            if op.get("parameters") or op.get("requestBody") or "{" in path:
                assert "400" in op["responses"] or "404" in op["responses"], where


async def test_the_docs_page_is_served(api: Api) -> None:
    page = await api.anon.get("/docs")
    assert page.status_code == 200 and "swagger" in page.text.lower()
