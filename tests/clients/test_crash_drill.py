"""Crash drill (R1 of the reliability battery, scaled down to run in CI): 200 grabs made
over the API while the processor process is SIGKILLed every 2-4 s and started again at
once; in the end every item is completed, nothing was downloaded twice, nothing is left
leased and every item's history is a consistent story.

The cast, all on loopback:
- a threaded HTTP file server (tests.daemons.FileServer) with 200 distinct files of
  16-64 KiB; it logs every request;
- one real aria2c (tests.daemons.Aria2Daemon), started by the test, never killed: it is
  the download client and outlives every processor (QUEUARR_ARIA2_URL/_SECRET);
- `queuarr serve --no-processor`: the API, up for the whole drill, taking the grabs
  (paced over 25 s);
- `queuarr worker --no-migrate`: the processor alone, SIGKILLed 2-4 s after each start
  for 40 s and restarted at once each time; the last one is left running. Every other
  kill is aimed at a send in progress (see Killer).
Both processes share one database: a SQLite file, or a fresh database on the test
Postgres server (the deployment target), created and dropped by the test.

How "sent to aria2 exactly once" is measured: by the downloads aria2 itself holds
(tellActive + tellWaiting + tellStopped), grouped by URI. One add (addUri) is one
download with its own GID, whatever aria2 does inside it, so this counts sends at the
client. The file server's GET log is not the measure: aria2 may retry a GET within one
download on its own, which is not a second send. It is still checked that every file was
fetched, and that the download directory holds each file exactly once, intact (a second
download of the same URL would have left a renamed copy, `name.1.bin`).

What makes this pass: an item whose send a kill interrupted stays `sending` under the
dead process's lease; it must go back to the queue and be sent, and the re-send must
find the download aria2 may already have (the GID is derived from the item) instead of
adding it again. The battery's target for that recovery is lease + sweep <= 70 s (a
60 s lease swept every 10 s), so the drill allows 100 s after the last kill.

The drill runs on the defaults (QUEUARR_LEASE_SECONDS=60, the rescue pass every 10 s).
Orphans hold their QUEUARR_MAX_CONCURRENT slots until they are rescued, so most of the
drill's ~2 minutes is that wait; with the old fixed 5-minute lease it could not pass.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.clients.conftest import require_binary
from tests.daemons import Aria2Daemon, FileServer, sha256_file
from tests.drills_support import (
    Peek,
    Worker,
    aria2_downloads_by_uri,
    aria2_settings,
    fetch,
    fresh_postgres_database,
    get_counts,
    history_problems,
    history_rows,
    item_states,
    queuarr_env,
    stop_process,
)
from tests.e2e.conftest import start_server

ITEMS = 200
KILL_PHASE = 40.0  # seconds of SIGKILLs, the grabs within the first GRAB_PHASE of it
GRAB_PHASE = 25.0
KILL_EVERY = (2.0, 4.0)  # seconds from a start to the kill (sooner when aimed)
SETTLE = 100.0  # after the last kill: lease + sweep (<= 70 s at the target), + downloads


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'data' / 'queuarr.db'}"
        return
    with fresh_postgres_database() as url:
        yield url


class Killer(threading.Thread):
    """SIGKILLs the worker 2-4 s after each start and starts it again at once, for
    `duration`.

    Two kills in three are aimed: they watch the database, from the start on, for an
    item the current worker holds in `sending` (mid-send: claimed, not yet recorded as
    sent) and kill the moment they see one, or at the 2-4 s mark if they see none; one
    of the two waits until aria2 also has that item's download (the add went through,
    its outcome was not recorded: the ambiguous send). A kill at a random moment mostly
    lands between passes or during the start-up, where a crash costs little; the third
    kill does that. For each kill it notes the items the dead process left `sending`."""

    def __init__(self, worker: Worker, duration: float, database_url: str,
                 aria2: Aria2Daemon) -> None:
        super().__init__(name="killer", daemon=True)
        self.worker = worker
        self.duration = duration
        self.database_url = database_url
        self.aria2 = aria2
        self.rng = random.Random(1)
        self.stopping = threading.Event()
        self.orphans: dict[int, list[int]] = {}  # pid killed -> items it left leased
        self.added = 0  # of those, items aria2 already had: the add went through
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            peek = Peek(self.database_url)
            try:
                end = time.monotonic() + self.duration
                started = time.monotonic()
                while time.monotonic() < end:
                    deadline = started + self.rng.uniform(*KILL_EVERY)
                    aim = len(self.orphans) % 3
                    if aim == 0:
                        self._aim(peek, deadline, added=False)
                    elif aim == 1:
                        self._aim(peek, deadline, added=True)
                    else:
                        self.stopping.wait(max(deadline - time.monotonic(), 0))
                    if self.stopping.is_set():
                        return
                    pid = self.worker.kill()
                    self.worker.start()
                    started = time.monotonic()
                    leased = peek.rows("SELECT id, lease_owner, download_url FROM queue_item "
                                       "WHERE state = 'sending'")
                    orphans = [(i, url) for i, owner, url in leased
                               if str(owner).endswith(f":{pid}")]
                    self.orphans[pid] = [i for i, _ in orphans]
                    if orphans:
                        known = aria2_downloads_by_uri(self.aria2)
                        self.added += sum(1 for _, url in orphans if url in known)
            finally:
                peek.close()
        except BaseException as exc:  # reported by the test
            self.error = exc

    def _aim(self, peek: Peek, deadline: float, added: bool) -> None:
        """Return as soon as the current worker holds an item mid-send (with `added`:
        one that aria2 already has, its send not yet recorded), or at deadline."""
        mine = f"%:{self.worker.pid}"
        while time.monotonic() < deadline and not self.stopping.is_set():
            sending = peek.rows("SELECT download_url FROM queue_item WHERE state = 'sending' "
                                f"AND lease_owner LIKE '{mine}'")
            if sending and not added:
                return
            if sending and {url for (url,) in sending} & set(
                    aria2_downloads_by_uri(self.aria2)):
                return
            time.sleep(0.002)


def grab_all(http: httpx.Client, files: FileServer, names: list[str]) -> dict[str, int]:
    """Grab every file, paced over GRAB_PHASE; URL -> item id."""
    ids: dict[str, int] = {}
    start = time.monotonic()
    for n, name in enumerate(names):
        url = files.files[name].url
        made = http.post("/api/v3/queue/grab", json={"downloadUrl": url,
                                                    "title": f"Crash.Drill.{n:03d}"})
        assert made.status_code == 201, made.text
        ids[url] = made.json()["id"]
        pause = start + GRAB_PHASE * (n + 1) / len(names) - time.monotonic()
        if pause > 0:
            time.sleep(pause)
    return ids


def summary(url: str, worker: Worker, killer: Killer) -> str:
    states = Counter(state for state, *_ in item_states(url).values())
    orphaned = {pid: ids for pid, ids in killer.orphans.items() if ids}
    stuck = fetch(url, "SELECT id, state, lease_owner, lease_expires_at, rescues "
                       "FROM queue_item WHERE state <> 'completed' ORDER BY id LIMIT 20")
    return (f"{worker.kills} kills, {worker.started} worker starts; states {dict(states)}; "
            f"items left `sending` by a kill (pid: ids): {orphaned}\n"
            f"not completed (first 20: id, state, lease owner, lease expiry, rescues): "
            f"{stuck}")


def test_sigkill_the_processor_every_few_seconds_while_grabbing(
        database_url: str, tmp_path: Path) -> None:
    aria2c = require_binary("aria2c")
    data = tmp_path / "data"
    data.mkdir()
    rng = random.Random(0)
    names = [f"drill-{n:03d}.bin" for n in range(ITEMS)]
    problems: list[str] = []

    def check(ok: object, problem: str) -> None:
        if not ok:
            problems.append(problem)

    with FileServer(tmp_path / "served") as files:
        for n, name in enumerate(names):
            files.add(name, rng.randint(16, 64) * 1024 + n, seed=n)
        aria2 = Aria2Daemon(tmp_path / "aria2", binary=aria2c,
                            extra_args=["--max-concurrent-downloads=50"])
        aria2.start()
        env = queuarr_env(data, database_url, allow_private_urls="true",
                          max_concurrent="20", sync_interval="0.5", **aria2_settings(aria2))
        server_process, server = start_server(data, env, args=("--no-processor",))
        worker = Worker(env, data / "worker.log", "--no-migrate")
        killer = Killer(worker, KILL_PHASE, database_url, aria2)
        try:
            with httpx.Client(base_url=server.url, headers={"X-Api-Key": server.api_key},
                              trust_env=False, timeout=30) as http:
                worker.start()
                started = time.monotonic()
                killer.start()
                ids = grab_all(http, files, names)
                killer.join(KILL_PHASE + 30)
                assert not killer.is_alive(), "the killer did not stop"
                if killer.error is not None:
                    raise killer.error
                deadline = time.monotonic() + SETTLE  # from the last kill
                while http.get("/api/v3/queue/statistics").json()["completed"] != ITEMS:
                    if time.monotonic() > deadline:
                        problems.append(f"not everything completed {SETTLE:g} s after the "
                                        f"last kill: {summary(database_url, worker, killer)}")
                        break
                    time.sleep(1)
                took = time.monotonic() - started
                listed = http.get("/api/v3/queue", params={
                    "pageSize": ITEMS, "includeUnknownMovieItems": "true"}).json()
            in_aria2 = aria2_downloads_by_uri(aria2)
        finally:
            killer.stopping.set()
            killer.join(10)
            worker.stop()
            stop_process(server_process)
            aria2.kill()

    gets = get_counts(files.requests)
    facts = report(database_url, worker, killer, took, gets)
    check(worker.kills >= 10, f"only {worker.kills} kills")
    check(any(killer.orphans.values()), "no kill interrupted a send: the drill proved nothing")

    # Every item completed, none leased, and the API says so too.
    rows = item_states(database_url)
    check(sorted(rows) == sorted(ids.values()), "the queue holds other items than the grabs")
    check({state for state, *_ in rows.values()} == {"completed"},
          f"not all completed: {Counter(state for state, *_ in rows.values())}")
    leased = [i for i, (_, owner, *_) in rows.items() if owner is not None]
    check(leased == [], f"still leased: {leased}")
    check(listed["totalRecords"] == ITEMS, f"the API lists {listed['totalRecords']} items")
    check({r["status"] for r in listed["records"]} <= {"completed"},
          "the API lists items that are not completed")

    # Each URL sent to aria2 at most once (exactly once when it completed); each file
    # fetched, and on disk once, intact.
    twice = {url: gids for url, gids in in_aria2.items() if len(gids) != 1}
    check(twice == {}, f"URLs aria2 holds more than one download of: {twice}")
    check(set(in_aria2) <= set(ids), f"aria2 holds downloads nobody grabbed: "
                                     f"{set(in_aria2) - set(ids)}")
    check(set(in_aria2) == set(ids), f"{len(set(ids) - set(in_aria2))} grabs never reached "
                                     "aria2")
    check(set(gets) == {f"/{name}" for name in names},
          f"{len(names) - len(gets)} files never fetched; fetched but not grabbed: "
          f"{sorted(set(gets) - {f'/{name}' for name in names})}")
    downloads = data / "downloads"
    on_disk = sorted(p.name for p in downloads.iterdir()) if downloads.exists() else []
    check(set(on_disk) <= set(names), f"unexpected files downloaded (a second download of a "
                                      f"URL is renamed): {sorted(set(on_disk) - set(names))}")
    check(set(on_disk) >= set(names), f"{len(set(names) - set(on_disk))} files not on disk")
    for name in set(on_disk) & set(names):
        check(sha256_file(data / "downloads" / name) == files.files[name].sha256,
              f"{name} is corrupt")

    # Every history tells one consistent story: grabbed, claimed (again after a rescue),
    # sent once, completed once.
    problems.extend(history_problems(history_rows(database_url), sorted(ids.values())))
    assert problems == [], (f"{len(problems)} problems:\n" + "\n".join(problems[:30])
                            + f"\n{facts}\n--- worker log ---\n{worker.tail()}")


def report(url: str, worker: Worker, killer: Killer, took: float, gets: Counter[str]
           ) -> str:
    """What the drill did (printed, and shown with a failed assertion)."""
    rescued = fetch(url, "SELECT count(*) FROM queue_history WHERE event = 'rescued'")
    orphans = sum(len(ids) for ids in killer.orphans.values())
    refetched = {path: n for path, n in gets.items() if n > 1}
    done = fetch(url, "SELECT count(*) FROM queue_item WHERE state = 'completed'")
    facts = (f"crash drill on {url.split(':', 1)[0]}: {done[0][0]} of {ITEMS} items "
             f"completed after {took:.1f} s; {worker.kills} SIGKILLs; {orphans} sends "
             f"interrupted ({killer.added} of them after aria2 had taken the add); "
             f"{rescued[0][0]} rescues; files fetched more than once by aria2: "
             f"{refetched or 'none'}")
    print(f"\n{facts}")
    return facts
