"""Helpers for the reliability drills (tests/clients/test_crash_drill.py and
tests/infrastructure/test_postgres_restart.py): the environment of a Queuarr process, a
`queuarr worker` that can be SIGKILLed and started again, a fresh database on the test
Postgres server, a throwaway Postgres cluster of the test's own, a direct look at the
database behind the API, and the checks the drills share (history, aria2, disk)."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]

from tests.conftest import POSTGRES_URL, postgres_unavailable
from tests.daemons import Aria2Daemon, free_port
from tests.e2e.conftest import API_KEY

REPO = Path(__file__).resolve().parents[1]


def queuarr_env(data_dir: Path, database_url: str, **settings: str) -> dict[str, str]:
    """The environment of a Queuarr process: `settings` are QUEUARR_<NAME> values."""
    return {
        **os.environ,
        "QUEUARR_DATA_DIR": str(data_dir),
        "QUEUARR_DATABASE_URL": database_url,
        "QUEUARR_API_KEY": API_KEY,
        "QUEUARR_LOG_LEVEL": "INFO",
        **{f"QUEUARR_{name.upper()}": value for name, value in settings.items()},
    }


def aria2_settings(daemon: Aria2Daemon) -> dict[str, str]:
    """Settings that point Queuarr at `daemon` (and never start a managed aria2c)."""
    return {"aria2_url": daemon.url, "aria2_secret": daemon.secret, "managed_aria2": "false"}


class Worker:
    """`queuarr worker` (the processor alone), its output appended to one log."""

    def __init__(self, env: dict[str, str], log: Path, *args: str) -> None:
        self.env = env
        self.log = log
        self.args = args
        self.process: subprocess.Popen[bytes] | None = None
        self.started = 0
        self.kills = 0

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def start(self) -> None:
        assert self.process is None or self.process.poll() is not None
        with self.log.open("ab") as handle:  # the child keeps its own descriptor
            handle.write(f"\n=== start {self.started + 1} at {time.strftime('%H:%M:%S')} "
                         "===\n".encode())
            handle.flush()
            self.process = subprocess.Popen(
                [sys.executable, "-m", "api.cli", "worker", *self.args], env=self.env,
                stdin=subprocess.DEVNULL, stdout=handle, stderr=subprocess.STDOUT, cwd=REPO)
        self.started += 1

    def kill(self) -> int:
        """SIGKILL (no chance to release anything, like an OOM kill); the pid killed."""
        process = self.process
        assert process is not None
        if process.poll() is None:
            process.kill()
            self.kills += 1
        process.wait()
        with self.log.open("ab") as handle:
            handle.write(f"=== SIGKILL pid {process.pid} at {time.strftime('%H:%M:%S')} "
                         "===\n".encode())
        return process.pid

    def stop(self) -> int | None:
        """SIGTERM (a graceful stop), SIGKILL after 20 s; the exit code."""
        process = self.process
        if process is None:
            return None
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        return process.returncode

    def tail(self, lines: int = 60) -> str:
        return log_tail(self.log, lines)


def log_tail(path: Path, lines: int = 60) -> str:
    """The end of a Queuarr log, without the scheduler's lines about every job run."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no log)"
    kept = [line for line in text.splitlines() if "apscheduler" not in line]
    return "\n".join(kept[-lines:])


def stop_process(process: subprocess.Popen[bytes], timeout: float = 20) -> int:
    """SIGTERM, SIGKILL after `timeout`; the exit code."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.returncode


# -- databases ------------------------------------------------------------------------


def _plain(url: str) -> str:
    from infrastructure.db.engine import async_url

    return async_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _run(coroutine: Any) -> Any:
    """Run a coroutine to completion from a sync test (or from inside an event loop)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def postgres_execute(url: str, *statements: str) -> None:
    async def run() -> None:
        conn = await asyncpg.connect(_plain(url), timeout=5)
        try:
            for statement in statements:
                await conn.execute(statement)
        finally:
            await conn.close()

    _run(run())


def fetch(url: str, sql: str) -> list[tuple[Any, ...]]:
    """Rows of one query, read straight from the database (SQLite file or Postgres)."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[1]
        with contextlib.closing(sqlite3.connect(path, timeout=30)) as db:
            return [tuple(row) for row in db.execute(sql)]

    async def run() -> list[tuple[Any, ...]]:
        conn = await asyncpg.connect(_plain(url), timeout=5)
        try:
            return [tuple(row) for row in await conn.fetch(sql, timeout=30)]
        finally:
            await conn.close()

    result: list[tuple[Any, ...]] = _run(run())
    return result


class Peek:
    """One connection kept open to read the database many times a second (the killer
    aims its SIGKILLs with it); close() when done."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._sqlite: sqlite3.Connection | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._conn: Any = None
        if url.startswith("sqlite"):
            self._sqlite = sqlite3.connect(url.split("///", 1)[1], timeout=30,
                                           check_same_thread=False)
            return
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._thread = threading.Thread(target=loop.run_forever, name="peek", daemon=True)
        self._thread.start()
        self._conn = self._call(asyncpg.connect(_plain(url), timeout=5))

    def _call(self, coroutine: Any) -> Any:
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(30)

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        if self._sqlite is not None:
            return [tuple(row) for row in self._sqlite.execute(sql)]
        return [tuple(row) for row in self._call(self._conn.fetch(sql, timeout=10))]

    def close(self) -> None:
        if self._sqlite is not None:
            self._sqlite.close()
            return
        assert self._loop is not None and self._thread is not None
        with contextlib.suppress(Exception):
            self._call(self._conn.close(timeout=5))
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()


@contextlib.contextmanager
def fresh_postgres_database() -> Iterator[str]:
    """A new, empty database on the test server (TEST_DATABASE_URL), dropped afterwards;
    its SQLAlchemy URL. Not migrated: `queuarr serve` does that."""
    from infrastructure.db.engine import async_url

    name = f"queuarr_drill_{uuid.uuid4().hex[:12]}"
    try:
        postgres_execute(POSTGRES_URL, f'CREATE DATABASE "{name}"')
    except Exception as exc:  # any reason the server cannot be used
        postgres_unavailable(f"{POSTGRES_URL}: {type(exc).__name__}: {exc}")
    try:
        yield async_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        postgres_execute(POSTGRES_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def postgres_binaries() -> Path:
    """The directory of initdb and pg_ctl (skip, or fail under CI=true, without them)."""
    found = shutil.which("initdb")
    candidates = [Path(found).parent] if found else []
    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
    for directory in candidates:
        if (directory / "initdb").exists() and (directory / "pg_ctl").exists():
            return directory
    postgres_unavailable("initdb and pg_ctl are not installed")
    raise AssertionError("unreachable")


class ThrowawayPostgres:
    """A Postgres cluster of the test's own: initdb, pg_ctl start/stop on a free port on
    127.0.0.1, trust authentication, user `postgres`.

    initdb refuses to run as root, so as root the cluster belongs to the `postgres`
    system user and its commands run through `runuser -u postgres --`; its directory is
    then made outside `root_hint` when that is not reachable by that user (pytest's
    temporary directories are private to root), and removed by `cleanup()`."""

    def __init__(self, root_hint: Path) -> None:
        self.bin = postgres_binaries()
        self.port = free_port()
        self.as_root = os.geteuid() == 0
        if self.as_root:
            import pwd

            try:
                self.user = pwd.getpwnam("postgres")
            except KeyError:
                postgres_unavailable("running as root and there is no `postgres` user "
                                     "for initdb")
            self.root = Path(tempfile.mkdtemp(prefix="queuarr-pg-"))
            os.chown(self.root, self.user.pw_uid, self.user.pw_gid)
            self.root.chmod(0o700)
        else:
            self.root = root_hint
            self.root.mkdir(parents=True, exist_ok=True)
        self.data = self.root / "data"
        self.log = self.root / "postgres.log"
        self.url = f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/queuarr"

    def _command(self, tool: str, *args: str) -> list[str]:
        command = [str(self.bin / tool), *args]
        return ["runuser", "-u", "postgres", "--", *command] if self.as_root else command

    def _run(self, tool: str, *args: str, timeout: float = 60) -> None:
        done = subprocess.run(self._command(tool, *args), capture_output=True,
                              timeout=timeout, cwd=self.root,
                              env={**os.environ, "LC_ALL": "C", "LANG": "C"})
        if done.returncode != 0:
            raise RuntimeError(f"{tool} {' '.join(args)} exited with {done.returncode}:\n"
                               f"{done.stdout.decode(errors='replace')}\n"
                               f"{done.stderr.decode(errors='replace')}\n{self.tail()}")

    def init(self) -> None:
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust",
                  "-E", "UTF8", "--locale=C", "--no-sync")

    def start(self) -> None:
        # TCP only: a Unix socket path under a deep temporary directory can be too long.
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=''"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60",
                  "-o", options, "start", timeout=90)

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop",
                  timeout=90)

    @property
    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def create_database(self) -> None:
        postgres_execute(self.url.rsplit("/", 1)[0] + "/postgres", 'CREATE DATABASE "queuarr"')

    def tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def cleanup(self) -> None:
        if self.running:
            with contextlib.suppress(Exception):
                self.stop("immediate")
        if self.as_root:
            shutil.rmtree(self.root, ignore_errors=True)


# -- what the drills check --------------------------------------------------------------


@dataclass(frozen=True)
class HistoryRow:
    item_id: int
    event: str
    from_state: str | None
    to_state: str | None


def item_states(url: str) -> dict[int, tuple[str, str | None, str | None, str | None, int]]:
    """id -> (state, lease_owner, download_url, download_id, rescues), from the table."""
    rows = fetch(url, "SELECT id, state, lease_owner, download_url, download_id, rescues "
                      "FROM queue_item")
    return {r[0]: (r[1], r[2], r[3], r[4], r[5]) for r in rows}


def history_rows(url: str) -> dict[int, list[HistoryRow]]:
    rows = fetch(url, "SELECT item_id, event, from_state, to_state FROM queue_history "
                      "ORDER BY id")
    history: dict[int, list[HistoryRow]] = defaultdict(list)
    for item_id, event, old, new in rows:
        history[item_id].append(HistoryRow(item_id, event, old, new))
    return history


def history_problems(history: dict[int, list[HistoryRow]], ids: Sequence[int],
                     final: str = "completed") -> list[str]:
    """What is wrong with each item's history (one line per item): it must start with
    the grab, chain (each row leaves the state the previous one entered), end in `final`,
    record one send and one completion, and account for every claim (each claim ends:
    sent, rescued, released, or a failed send that was recorded)."""
    problems = []
    for item_id in ids:
        rows = history.get(item_id, [])
        if not rows:
            problems.append(f"item {item_id}: no history")
            continue
        wrong = []
        first = rows[0]
        if (first.event, first.from_state, first.to_state) != ("grabbed", None, "queued"):
            wrong.append(f"starts with {first.event} {first.from_state}->{first.to_state}")
        for before, after in itertools.pairwise(rows):
            if after.from_state != before.to_state:
                wrong.append(f"{after.event} from {after.from_state} after {before.event} "
                             f"into {before.to_state}")
        if rows[-1].to_state != final:
            wrong.append(f"ends in {rows[-1].to_state}")
        events = Counter(r.event for r in rows)
        if events["sent"] != 1:
            wrong.append(f"sent {events['sent']} times")
        if final == "completed" and events["downloadCompleted"] != 1:
            wrong.append(f"completed {events['downloadCompleted']} times")
        claims = sum(1 for r in rows if r.to_state == "sending")
        ends = sum(1 for r in rows if r.from_state == "sending")
        if claims != ends or events["claimed"] != claims:
            wrong.append(f"{claims} claims but {ends} ends of a claim")
        if wrong:
            problems.append(f"item {item_id}: {'; '.join(wrong)} (events {dict(events)})")
    return problems


def aria2_downloads_by_uri(daemon: Aria2Daemon) -> dict[str, list[str]]:
    """uri -> the GIDs of every download aria2 holds for it (active, waiting, stopped):
    one add = one download with its own GID, whatever aria2 does inside it."""
    keys = ["gid", "status", "files"]
    downloads = [*daemon.rpc("aria2.tellActive", keys),
                 *daemon.rpc("aria2.tellWaiting", 0, 100000, keys),
                 *daemon.rpc("aria2.tellStopped", 0, 100000, keys)]
    found: dict[str, list[str]] = defaultdict(list)
    for download in downloads:
        uris = {u["uri"] for f in download.get("files") or [] for u in f.get("uris") or []}
        for uri in uris:
            found[uri].append(str(download["gid"]))
    return found


def get_counts(requests: Sequence[tuple[str, str, str | None]]) -> Counter[str]:
    """GET requests per path, from a tests.daemons.FileServer's log."""
    return Counter(path for method, path, _ in requests if method == "GET")
