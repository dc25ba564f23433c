"""POST and GET /api/v3/system/backup (issue 17): a backup made now through the API is
Radarr's BackupResource and is listed; the list is Radarr's shape; the key is needed."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from infrastructure.backup import MANIFEST_FILE, PG_DUMP_FILE, SETTINGS_FILE, SQLITE_FILE
from tests.api.conftest import Api
from tests.api.radarr_schema import RADARR_DATE, validate_radarr
from tests.conftest import STORE_KINDS, require_binary

SQL_STORES = [kind for kind in STORE_KINDS if kind != "memory"]


def validate_backups(body: object) -> None:
    assert isinstance(body, list)
    for record in body:
        validate_radarr("BackupResource", record)


@pytest.mark.parametrize("store", SQL_STORES, indirect=True)
async def test_a_backup_made_through_the_api_is_listed_as_radarrs_backup_resource(
        api: Api) -> None:
    if api.store.kind == "postgres":
        require_binary("pg_dump")
    assert await api.get_json("/api/v3/system/backup", None, validate_backups) == []
    await api.grab("Backed.Up.2020.1080p.WEB-DL-GRP")

    response = await api.client.post("/api/v3/system/backup")

    assert response.status_code == 201, response.text
    made = response.json()
    validate_radarr("BackupResource", made)
    assert made["type"] == "manual" and made["size"] > 0
    assert RADARR_DATE.fullmatch(made["time"])
    path = Path(made["path"])
    assert path.parent == (api.container.settings.data_dir / "backups").resolve()
    assert path.name == made["name"] and path.stat().st_size == made["size"]
    database = SQLITE_FILE if api.store.kind == "sqlite" else PG_DUMP_FILE
    with zipfile.ZipFile(path) as archive:
        assert set(archive.namelist()) == {database, MANIFEST_FILE, SETTINGS_FILE}
    listed = await api.get_json("/api/v3/system/backup", None, validate_backups)
    assert listed == [made]


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
async def test_backups_need_the_api_key(api: Api) -> None:
    assert (await api.anon.post("/api/v3/system/backup")).status_code == 401
    assert (await api.anon.get("/api/v3/system/backup")).status_code == 401
    assert not (api.container.settings.data_dir / "backups").exists()


async def test_a_process_without_a_database_has_nothing_to_back_up(api: Api) -> None:
    response = await api.client.post("/api/v3/system/backup")
    assert response.status_code == 404
    assert "no database" in response.json()["message"]
