"""Postgres restart drill (R3 of the reliability battery): the database goes away under a
running `queuarr serve` (API + processor) while grabs keep arriving and downloads are
running, and comes back 5 s later.

The cast, all on loopback: a Postgres cluster of the test's own (initdb into a temporary
directory, pg_ctl on a free port; as root it runs as the `postgres` user, see
tests.drills_support.ThrowawayPostgres), migrated with infrastructure.migrate; a real
aria2c limited to 128 KiB/s per download, so that each 256 KiB file takes ~2 s and some
are always in flight; a file server with distinct files; `queuarr serve --no-migrate`.

Timeline: grabs arrive every 0.25 s from start to end. After 4 s, `pg_ctl stop -m
immediate` (a crash: no checkpoint, every session cut); 5 s of outage; `pg_ctl start`;
8 more seconds of grabs.

Asserted:
- never a 500, never an answer slower than 3 s, at any time;
- while the database is down, every call (grabs, the queue, its status, /ping) answers
  503 with Retry-After, and every /api call with a {"message": ...} body;
- the API takes grabs again within 10 s of the database's return, and the processor
  recovers within 10 s: every item sent after the outage began was sent within 10 s of
  the return (or of its grab, when that was later);
- nothing lost: every accepted grab completes (a grab that got a 503 may still have been
  committed, the answer lost with the connection; if so it must complete too);
- nothing duplicated: one item per URL, one aria2 download per URL, each file on disk
  once and intact, and every item's history is one consistent story.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from infrastructure.migrate import upgrade
from tests.clients.conftest import require_binary
from tests.daemons import Aria2Daemon, FileServer, sha256_file
from tests.drills_support import (
    ThrowawayPostgres,
    aria2_downloads_by_uri,
    aria2_settings,
    fetch,
    get_counts,
    history_problems,
    history_rows,
    item_states,
    log_tail,
    queuarr_env,
    stop_process,
)
from tests.e2e.conftest import LiveServer, start_server

pytestmark = pytest.mark.postgres

FILES = 100
SIZE = 256 * 1024
SPEED = "128K"  # per download: ~2 s a file
GRAB_EVERY = 0.25
BEFORE = 4.0  # seconds of grabs before the stop
OUTAGE = 5.0
AFTER = 8.0  # seconds of grabs after the database is back
RECOVERY = 10.0  # the API and the processor work again within this of the return
SLOW = 3.0  # no answer may take longer, outage or not
SETTLE = 60.0


@dataclass(frozen=True)
class Answer:
    method: str
    path: str
    sent: float  # wall clock (time.time()), to compare with history timestamps
    elapsed: float
    status: int  # 0: no HTTP answer at all
    retry_after: str | None
    body: Any
    url: str | None = None  # the grabbed URL, for grabs


def call(http: httpx.Client, method: str, path: str, **kwargs: Any) -> Answer:
    sent = time.time()
    started = time.monotonic()
    try:
        response = http.request(method, path, **kwargs)
    except httpx.HTTPError as exc:
        return Answer(method, path, sent, time.monotonic() - started, 0, None,
                      f"{type(exc).__name__}: {exc}")
    elapsed = time.monotonic() - started
    try:
        body = response.json()
    except ValueError:
        body = response.text
    return Answer(method, path, sent, elapsed, response.status_code,
                  response.headers.get("retry-after"), body)


class Grabber(threading.Thread):
    """Grabs the next file every GRAB_EVERY seconds until stopped."""

    def __init__(self, server: LiveServer, urls: list[str]) -> None:
        super().__init__(name="grabber", daemon=True)
        self.server = server
        self.urls = urls
        self.answers: list[Answer] = []
        self.stopping = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            with httpx.Client(base_url=self.server.url, trust_env=False, timeout=10,
                              headers={"X-Api-Key": self.server.api_key}) as http:
                for n, url in enumerate(self.urls):
                    if self.stopping.wait(GRAB_EVERY):
                        return
                    answer = call(http, "POST", "/api/v3/queue/grab",
                                  json={"downloadUrl": url, "title": f"Restart.Drill.{n:03d}"})
                    self.answers.append(replace(answer, url=url))
                raise AssertionError("the grabber ran out of files")
        except BaseException as exc:  # reported by the test
            self.error = exc


@contextmanager
def throwaway_postgres(tmp_path: Path) -> Iterator[ThrowawayPostgres]:
    cluster = ThrowawayPostgres(tmp_path / "postgres")
    try:
        cluster.init()
        cluster.start()
        cluster.create_database()
        yield cluster
    finally:
        cluster.cleanup()


def test_postgres_restart_under_load(tmp_path: Path) -> None:
    aria2c = require_binary("aria2c")
    data = tmp_path / "data"
    data.mkdir()
    problems: list[str] = []
    with (throwaway_postgres(tmp_path) as pg, FileServer(tmp_path / "served") as files):
        upgrade(pg.url)
        names = [f"restart-{n:03d}.bin" for n in range(FILES)]
        for n, name in enumerate(names):
            files.add(name, SIZE + n, seed=1000 + n)
        urls = [files.files[name].url for name in names]
        aria2 = Aria2Daemon(tmp_path / "aria2", binary=aria2c, extra_args=[
            "--max-concurrent-downloads=100", f"--max-download-limit={SPEED}"])
        aria2.start()
        env = queuarr_env(data, pg.url, allow_private_urls="true", max_concurrent="30",
                          sync_interval="0.5", **aria2_settings(aria2))
        server_process, server = start_server(data, env, args=("--no-migrate",))
        grabber = Grabber(server, urls)
        probes: list[Answer] = []
        try:
            with httpx.Client(base_url=server.url, headers={"X-Api-Key": server.api_key},
                              trust_env=False, timeout=10) as http:
                grabber.start()
                # The first grab loads the release parser (compiling its ~900 patterns
                # takes most of a second on a slow machine; lazily, by design): the
                # BEFORE seconds of steady grabs start once it has answered.
                first_deadline = time.time() + 30
                while not grabber.answers and time.time() < first_deadline:
                    time.sleep(0.05)
                time.sleep(BEFORE)

                stop_began = time.time()
                pg.stop("immediate")
                down = time.time()
                while time.time() < down + OUTAGE:
                    for path in ("/api/v3/queue?includeUnknownMovieItems=true",
                                 "/api/v3/queue/status", "/ping"):
                        probes.append(call(http, "GET", path))
                    time.sleep(0.2)
                start_began = time.time()
                pg.start()
                up = time.time()

                time.sleep(AFTER)
                grabber.stopping.set()
                grabber.join(15)
                assert not grabber.is_alive(), "the grabber hangs"
                if grabber.error is not None:
                    raise grabber.error

                deadline = up + SETTLE
                while True:
                    rows = item_states(pg.url)
                    if rows and all(state == "completed" for state, *_ in rows.values()):
                        break
                    if time.time() > deadline:
                        problems.append(f"not everything completed {SETTLE:g} s after the "
                                        f"database came back: {stuck(rows)}")
                        break
                    time.sleep(0.5)
                listed = http.get("/api/v3/queue", params={
                    "pageSize": 200, "includeUnknownMovieItems": "true"}).json()
            in_aria2 = aria2_downloads_by_uri(aria2)
        finally:
            grabber.stopping.set()
            grabber.join(15)
            stop_process(server_process)
            aria2.kill()

        def check(ok: object, problem: str) -> None:
            if not ok:
                problems.append(problem)

        answers = grabber.answers + probes
        accepted = {a.url: a for a in grabber.answers if a.status == 201}
        refused = {a.url for a in grabber.answers if a.status == 503}

        # Never a 500, never a hang, a 503 always says when to come back.
        for a in answers:
            check(a.status in (200, 201, 503), f"answered {a.status}: {a}")
            check(a.elapsed <= SLOW, f"took {a.elapsed:.1f} s: {a}")
            if a.status == 503:
                check(a.retry_after is not None, f"503 without Retry-After: {a}")
                check(a.path == "/ping" or (isinstance(a.body, dict) and a.body.get("message")),
                      f"503 without a message: {a}")

        # While the database was certainly down, everything answered 503.
        during = [a for a in answers if a.sent >= down and a.sent + a.elapsed <= start_began]
        check(len([a for a in during if a.method == "POST"]) >= OUTAGE / GRAB_EVERY - 4,
              f"too few grabs during the outage: {during}")
        check(len([a for a in during if a.method == "GET"]) >= 9,
              f"too few probes during the outage: {during}")
        check({a.status for a in during} == {503},
              f"not 503 while the database was down: {[a for a in during if a.status != 503]}")
        before = [a for a in grabber.answers if a.sent + a.elapsed <= stop_began]
        check(len(before) >= BEFORE / GRAB_EVERY - 4 and {a.status for a in before} == {201},
              f"grabs before the outage: {before}")

        # The API is back within RECOVERY of the database.
        back = [a for a in grabber.answers if a.sent >= up and a.status == 201]
        check(back, "no grab was accepted after the database came back")
        check(not back or back[0].sent + back[0].elapsed <= up + RECOVERY,
              f"the first grab accepted after the return came too late: {back[:1]}")

        # The processor is back within RECOVERY: whatever was sent after the outage
        # began was sent within RECOVERY of the return (or of its grab, if later).
        rows = item_states(pg.url)
        by_url = {str(url): item_id for item_id, (_, _, url, *_) in rows.items()}
        check(len(by_url) == len(rows), "two items for one URL")
        check(set(accepted) <= set(by_url),
              f"accepted grabs not in the queue: {set(accepted) - set(by_url)}")
        ambiguous = set(by_url) - set(accepted)  # a 503 whose insert committed anyway
        check(ambiguous <= refused, f"items nobody grabbed: {ambiguous - refused}")
        sent_at = {item_id: at.timestamp() for item_id, at in fetch(
            pg.url, "SELECT item_id, at FROM queue_history WHERE event = 'sent'")}
        check(set(sent_at) == set(rows), f"never sent: {sorted(set(rows) - set(sent_at))}")
        for url, item_id in by_url.items():
            grabbed = accepted[url].sent + accepted[url].elapsed if url in accepted else up
            at = sent_at.get(item_id)
            if at is not None and at >= stop_began:
                check(at <= max(up, grabbed) + RECOVERY,
                      f"item {item_id} sent {at - max(up, grabbed):.1f} s after the return "
                      "(or its grab)")
                check(not down <= at <= start_began,
                      f"item {item_id} sent while the database was down?")

        # Nothing lost, nothing twice.
        check({state for state, *_ in rows.values()} == {"completed"}, stuck(rows))
        leased = [i for i, (_, owner, *_) in rows.items() if owner is not None]
        check(leased == [], f"still leased: {leased}")
        check(listed["totalRecords"] == len(rows), f"the API lists {listed['totalRecords']}")
        check({r["status"] for r in listed["records"]} <= {"completed"},
              "the API lists items that are not completed")
        twice = {url: gids for url, gids in in_aria2.items() if len(gids) != 1}
        check(twice == {}, f"URLs aria2 holds more than one download of: {twice}")
        check(set(in_aria2) == set(by_url),
              f"aria2 and the queue disagree: {set(in_aria2) ^ set(by_url)}")
        by_name = {url.rsplit("/", 1)[1]: url for url in by_url}
        fetched = set(get_counts(files.requests))
        check(fetched == {f"/{name}" for name in by_name},
              f"fetched but not grabbed, or grabbed but not fetched: "
              f"{fetched ^ {f'/{name}' for name in by_name}}")
        downloads = data / "downloads"
        on_disk = sorted(p.name for p in downloads.iterdir()) if downloads.exists() else []
        check(on_disk == sorted(by_name), f"download directory: {on_disk}")
        for name in set(by_name) & set(on_disk):
            check(sha256_file(data / "downloads" / name) == files.files[name].sha256,
                  f"{name} is corrupt")
        problems.extend(history_problems(history_rows(pg.url), sorted(rows)))

        # Downloads were under way when the database went: sent before, completed after.
        across = [i for i in completed_after(pg.url, down)
                  if sent_at.get(i, float("inf")) < stop_began]
        check(across, "no download was in flight across the outage: the drill proved little")
        facts = (f"postgres restart drill: {len(accepted)} grabs accepted, {len(refused)} "
                 f"refused with 503, {len(probes)} probes during the outage; "
                 f"{len(across)} downloads in flight across it; first grab accepted "
                 f"{(back[0].sent + back[0].elapsed - up) if back else float('nan'):.1f} s "
                 f"after the return; first sends after it at "
                 f"{sorted(round(at - up, 1) for at in sent_at.values() if at > up)[:5]} s")
        print(f"\n{facts}")
        assert problems == [], (f"{len(problems)} problems:\n" + "\n".join(problems[:40])
                                + f"\n{facts}\n--- server log ---\n{log_tail(server.log)}")


def completed_after(url: str, when: float) -> list[int]:
    rows = fetch(url, "SELECT item_id, at FROM queue_history WHERE event = 'downloadCompleted'")
    return [item_id for item_id, at in rows if at.timestamp() >= when]


def stuck(rows: dict[int, tuple[str, str | None, str | None, str | None, int]]) -> str:
    left = {i: r for i, r in rows.items() if r[0] != "completed"}
    return f"{len(left)} of {len(rows)} not completed: {dict(list(left.items())[:10])}"
