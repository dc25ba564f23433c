"""What a server has not needed yet, it has not imported (issue 18): each package below
costs start-up time and resident memory (MiB in brackets, measured on top of the app),
and a default installation on SQLite may never use it. A module-level import anywhere
on the way from `api.app` to a started container brings one back; this fails then."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import sqlite_copy

NOT_LOADED = {
    "alembic": "the schema check reads the revision itself; Alembic (and Mako) only "
               "when there is a migration to apply (infrastructure/migrate.py) [6.6]",
    "mako": "Alembic's templates",
    "PTT": "release titles are parsed from the first push, grab or score on "
           "(infrastructure/release/lazy.py) [5.3]",
    "arrow": "parsett's dates",
    "regex": "custom-format patterns compile when scoring first needs them [0.9]",
    "aria2p": "the aria2 adapter builds its RPC client at its first call; the managed "
              "aria2c is started and stopped without it [7.0]",
    "requests": "aria2p's and qbittorrent-api's HTTP",
    "qbittorrentapi": "only a configured qBittorrent needs it [5.6]",
    "torf": "only a .torrent needs it",
    "asyncpg": "Postgres only (the leader lock and the event relay)",
    "sqlalchemy.dialects.postgresql": "Postgres only: partial indexes are declared without "
                                      "`postgresql_where=` (infrastructure/db/tables.py) "
                                      "and upserts import their dialect (db/upsert.py) [2.2]",
    "sqlmodel": "the tables are plain SQLAlchemy Core: no pydantic models, no mappers [4.8]",
    "telegram": "only with QUEUARR_TELEGRAM_TOKEN",
    "yt_dlp": "only when a video link is grabbed or probed",
    "httpx": "the guarded client is built at the first fetch: a .torrent URL, a direct "
             "link's redirects, a webhook delivery (infrastructure/net/http.py) [6.8]",
    "httpcore": "httpx's transport",
    "sqlalchemy.ext.asyncio": "the async engine is infrastructure/db/aio.py, a thin face over "
                              "a Core engine; SQLAlchemy's own imports its ORM [8]",
    "sqlalchemy.orm": "no mapped classes, no sessions: Core only",
}

# Imports the app, checks the schema (current: no migration), starts the app's lifespan
# (a container built from the settings, the processor running), answers /ping and a
# queue page (through ASGI itself: an httpx client would load httpx), then parses a title
# and builds the webhook's client: the parser and httpx must load then, which shows the
# check can see a load.
SCRIPT = """
import asyncio, json, os, sys

def loaded():
    return sorted(sys.modules)  # full names: NOT_LOADED holds a few modules, not packages

import api.app
stages = {"import api.app": loaded()}

from infrastructure.migrate import upgrade
from infrastructure.settings import Settings

settings = Settings()
upgrade(settings.database)
stages["schema checked"] = loaded()

async def get(app, path, query=""):
    sent = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    await app({"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
               "method": "GET", "scheme": "http", "path": path, "raw_path": path.encode(),
               "query_string": query.encode(), "root_path": "",
               "headers": [(b"host", b"q"), (b"x-api-key", os.environ["QUEUARR_API_KEY"].encode())],
               "client": ("127.0.0.1", 50000), "server": ("q", 80)}, receive, send)
    return sent[0]["status"]

async def run():
    app = api.app.create_app(settings)
    async with app.router.lifespan_context(app):
        assert await get(app, "/ping") == 200
        assert await get(app, "/api/v3/queue", "page=1") == 200
        await asyncio.sleep(0.5)  # the processor's first passes
        stages["started"] = loaded()
        container = app.state.container
        await asyncio.to_thread(container.releases.parser.parse,
                                "Some.Movie.2020.1080p.BluRay.x264-GROUP")
        stages["a title parsed"] = loaded()
        container.webhook.client()
        stages["a webhook client built"] = loaded()

asyncio.run(run())
print(json.dumps(stages))
"""


def _stages(tmp_path: Path, sqlite_template: Path) -> dict[str, set[str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QUEUARR_")}
    env.update(QUEUARR_DATA_DIR=str(tmp_path / "data"),
               QUEUARR_DATABASE_URL=sqlite_copy(sqlite_template, tmp_path),
               QUEUARR_API_KEY="lazy-imports-test-key-0123456789",
               QUEUARR_MANAGED_ARIA2="false",  # aria2c on the PATH or not: the same run
               QUEUARR_LOG_LEVEL="WARNING")
    done = subprocess.run([sys.executable, "-c", SCRIPT], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    stages: dict[str, list[str]] = json.loads(done.stdout.strip().splitlines()[-1])
    return {stage: set(modules) for stage, modules in stages.items()}


def test_a_default_sqlite_server_imports_none_of_the_optional_packages_until_used(
        tmp_path: Path, sqlite_template: Path) -> None:
    stages = _stages(tmp_path, sqlite_template)

    for stage in ("import api.app", "schema checked", "started"):
        found = {name: why for name, why in NOT_LOADED.items() if name in stages[stage]}
        assert found == {}, f"loaded by the time of '{stage}'"
    assert {"PTT", "regex"} <= stages["a title parsed"]  # loaded once needed
    assert "httpx" not in stages["a title parsed"]
    assert {"httpx", "httpcore"} <= stages["a webhook client built"]
