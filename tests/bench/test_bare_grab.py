"""The grab's bare reference (bench/bare_grab.py) does what it claims: one row per new
active hash, a history row with it, 409 for a hash already active; and the report sets
Queuarr's grab beside it with the issue 18 target."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from bench import bare_grab, report

BODY = ('{"title":"Bench.Grab.%s.2160p.WEB-DL.x265-BENCH","downloadUrl":'
        '"magnet:?xt=urn:btih:%s&dn=x","movieId":7,"movie":{"title":"M","year":2024,'
        '"tmdbId":7,"imdbId":"tt0000007"},"indexer":"I","size":4000000000,"seeders":1,'
        '"leechers":0,"category":"radarr"}')


async def test_bare_sqlite_insert_adds_one_item_and_one_history_row_per_new_hash(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = str(tmp_path / "bare.db")
    bare_grab.create_tables("sqlite", path)
    monkeypatch.setenv("BENCH_BARE_SQLITE", path)
    app = bare_grab.sqlite_grab_app
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://bare") as client:
        first = await client.post("/grab", content=BODY % ("a", "A" * 40))
        again = await client.post("/grab", content=BODY % ("a", "a" * 40))
        other = await client.post("/grab", content=BODY % ("b", "b" * 40))
    assert (first.status_code, again.status_code, other.status_code) == (201, 409, 201)
    assert first.json() == {"id": 1} and other.json() == {"id": 2}
    assert bare_grab.rows("sqlite", path) == 2
    import sqlite3

    conn = sqlite3.connect(path)
    try:
        history = conn.execute("SELECT item_id, event, download_id FROM bare_grab_history "
                               "ORDER BY id").fetchall()
    finally:
        conn.close()
    assert history == [(1, "grabbed", "a" * 40), (2, "grabbed", "b" * 40)]
    bare_grab.drop_tables("sqlite", path)
    with pytest.raises(sqlite3.OperationalError):
        bare_grab.rows("sqlite", path)


def _point(group: str, backend: str, rps: float, cpu_ms: float) -> dict[str, Any]:
    return {"group": group, "backend": backend, "size": 10_000, "endpoint": "POST grab",
            "conns": 8, "rps": rps, "p50_ms": 5.0, "p99_ms": 20.0, "errors": 0,
            "server_cpu_pct": 50.0, "noise_pct": 0.0, "cpu_ms_per_grab": cpu_ms}


def test_report_sets_the_grab_beside_the_bare_insert_with_the_issue_18_target() -> None:
    points = [_point("ref", "bare-pg-insert", 1000.0, 0.25),
              _point("queuarr", "postgres", 700.0, 1.5)]
    results = {"points": points, "memory": [], "grab_accounting": [],
               "environment": {"connections": {"saturated": 32, "latency": 4, "grab": 8}}}
    checks = {c["short"]: c for c in report.checks(results, [10_000], ["postgres"])}
    ratio = checks["P2b grabs/s ÷ bare FastAPI+asyncpg insert (same run)"]
    assert ratio["value"] == pytest.approx(0.7)
    assert (ratio["status"], ratio["informative"]) == ("FAIL", False)
    cpu = checks["P2b server CPU per grab"]
    assert (cpu["value"], cpu["status"]) == (1.5, "PASS")
    table = "\n".join(report.grab_table(points))
    assert "| postgres | 10,000 | 8     | bare-pg-insert | 700     | 1,000        | 0.70" \
        in table
    assert "6.00" in table  # CPU per grab, Queuarr ÷ bare
