"""/api/v3/rootfolder: the download roots (QUEUARR_DOWNLOAD_DIR, QUEUARR_DOWNLOAD_ROOTS)
as Radarr's RootFolderResource, read-only."""

from __future__ import annotations

import shutil
from typing import Any

from tests.api.conftest import Api
from tests.api.radarr_schema import validate_radarr


def roots(body: Any) -> list[dict[str, Any]]:
    for root in body:
        validate_radarr("RootFolderResource", root)
    result: list[dict[str, Any]] = body
    return result


async def test_the_download_roots_are_the_root_folders_with_their_free_space(
        api: Api) -> None:
    downloads = api.container.settings.downloads
    downloads.mkdir(parents=True, exist_ok=True)
    (root,) = roots(await api.get_json("/api/v3/rootfolder"))
    assert root["id"] == 1 and root["path"] == str(downloads)
    assert root["accessible"] is True and root["unmappedFolders"] == []
    assert isinstance(root["freeSpace"], int)
    assert 0 < root["freeSpace"] <= shutil.disk_usage(downloads).total
    one = await api.get_json("/api/v3/rootfolder/1",
                             validate=lambda b: validate_radarr("RootFolderResource", b))
    assert one["path"] == root["path"]


async def test_a_root_that_does_not_exist_is_inaccessible_without_free_space(
        api: Api) -> None:
    shutil.rmtree(api.container.settings.downloads, ignore_errors=True)
    (root,) = roots(await api.get_json("/api/v3/rootfolder"))
    assert root["accessible"] is False and "freeSpace" not in root


async def test_roots_cannot_be_added_or_removed_through_the_api(api: Api) -> None:
    added = await api.client.post("/api/v3/rootfolder", json={"path": "/movies"})
    assert added.status_code == 400
    (entry,) = added.json()
    assert entry["propertyName"] == "Path" and "QUEUARR_DOWNLOAD_DIR" in entry["errorMessage"]
    removed = await api.client.delete("/api/v3/rootfolder/1")
    assert removed.status_code == 400 and "QUEUARR_DOWNLOAD_ROOTS" in removed.json()["message"]
    assert (await api.client.delete("/api/v3/rootfolder/5")).status_code == 404
    assert (await api.client.get("/api/v3/rootfolder/5")).status_code == 404
    assert len(await api.get_json("/api/v3/rootfolder")) == 1
