"""Events across processes, end to end: two real `queuarr serve` processes on one fresh
Postgres database, an API replica (A, `--no-processor`) and the process that runs the
processor (B, with the managed aria2c). A grab made on A downloads on B from a throttled
loopback file server, and both processes' live streams (GET /api/v3/queue/stream, read
over real HTTP) show the whole story: A's own `grabbed`, then B's `sent`, progress and
`completed` relayed to A (infrastructure/event_relay.py, LISTEN/NOTIFY); B's stream
shows A's `grabbed` relayed and its own events; nothing twice (no echo of a process's
own events). A removal made on A shows on B's stream. And a replica started before the
processor's process removes a download from that process's managed aria2c (the replica
rereads the download clients every sync interval)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import httpx
import pytest

from infrastructure.db.engine import async_url
from infrastructure.event_relay import CHANNEL
from tests.clients.conftest import require_binary
from tests.conftest import POSTGRES_URL, _admin, _plain_dsn, postgres_unavailable
from tests.daemons import (
    ARIA2_BINARY,
    FileServer,
    _RangeHandler,
    _tail,
    sha256_file,
    wait_for,
)
from tests.e2e.conftest import LiveServer, start_server

pytestmark = pytest.mark.postgres

RATE = 512 * 1024  # bytes/s per connection: the 2 MiB file takes ~4 s, with progress
PAYLOAD = "Relay.Test.2024.1080p.WEB-DL.mkv"  # downloaded to the end
SLOW = "Relay.Removed.2024.1080p.WEB-DL.mkv"  # removed while it downloads (~30 s at RATE)
WAIT = 45.0  # seconds for any one event to show up on a stream
Frame = dict[str, Any]


# -- a throttled file server ---------------------------------------------------------------


class _Throttled:
    """A handler's socket writer that sends at most RATE bytes per second."""

    def __init__(self, raw: Any) -> None:
        self.raw = raw

    def write(self, data: bytes) -> int:
        view = memoryview(data)
        step = RATE // 20
        for start in range(0, len(view), step):
            piece = view[start:start + step]
            self.raw.write(piece)
            time.sleep(len(piece) / RATE)
        return len(view)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.raw, name)


class _ThrottledHandler(_RangeHandler):
    def setup(self) -> None:
        super().setup()
        self.wfile = _Throttled(self.wfile)  # type: ignore[assignment]


class ThrottledFileServer(FileServer):
    """tests.daemons.FileServer (GET, HEAD, Range), each response sent at RATE."""

    def start(self) -> None:
        super().start()
        assert self._server is not None
        self._server.RequestHandlerClass = _ThrottledHandler


# -- a live stream, read in a thread ---------------------------------------------------------


class Follower:
    """Reads one server's /api/v3/queue/stream (a status beat every second) in a thread;
    `frames` are the SSE frames so far ({"id", "event", "data"}), in arrival order."""

    def __init__(self, server: LiveServer, name: str) -> None:
        self.server, self.name = server, name
        self.frames: list[Frame] = []
        self.failure: BaseException | None = None
        self._changed = threading.Condition()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, name=f"sse-{name}", daemon=True)

    def __enter__(self) -> Follower:
        self._thread.start()
        self.wait_until(lambda frames: any(f["event"] == "status" for f in frames),
                        "the first status frame", timeout=15)
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self._stop.set()  # seen at the next line: a status beat comes every second
        self._thread.join(timeout=15)

    def _read(self) -> None:
        try:
            with httpx.Client(base_url=self.server.url, timeout=10, trust_env=False) as http, \
                    http.stream("GET", "/api/v3/queue/stream", params={"statusEvery": 1},
                                headers={"X-Api-Key": self.server.api_key,
                                         "Accept": "text/event-stream"}) as response:
                if response.status_code != 200 or not response.headers.get(
                        "content-type", "").startswith("text/event-stream"):
                    raise AssertionError(f"stream answered {response.status_code} "
                                         f"{response.headers.get('content-type')}: "
                                         f"{response.read()!r}")
                frame: Frame = {}
                for line in response.iter_lines():
                    if self._stop.is_set():
                        return
                    if not line:
                        if "event" in frame:
                            self._add(frame)
                        frame = {}
                        continue
                    key, _, value = line.partition(":")
                    value = value.removeprefix(" ")
                    if key == "data":
                        frame["data"] = json.loads(value)
                    elif key in ("id", "event"):
                        frame[key] = value
                raise AssertionError("the server ended the stream")
        except BaseException as exc:  # reported by wait_until, in the test
            if not self._stop.is_set():
                with self._changed:
                    self.failure = exc
                    self._changed.notify_all()

    def _add(self, frame: Frame) -> None:
        with self._changed:
            self.frames.append(frame)
            self._changed.notify_all()

    def wait_until(self, condition: Callable[[list[Frame]], Any], what: str,
                   timeout: float = WAIT) -> Any:
        """The first truthy `condition(frames)`; AssertionError after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = condition(self.frames)
                if found:
                    return found
                left = deadline - time.monotonic()
                if self.failure is not None or left <= 0:
                    why = (f"the stream broke: {self.failure!r}" if self.failure is not None
                           else f"nothing in {timeout:g} s")
                    raise AssertionError(
                        f"{self.name}'s stream: waiting for {what}, {why}. Events so far: "
                        f"{self.summary()}\n--- {self.name}'s log ---\n"
                        f"{_tail(self.server.log)}")
                self._changed.wait(left)

    def event(self, item_id: int, event: str, timeout: float = WAIT) -> Frame:
        """The first `event` frame about item `item_id` (waiting for it)."""
        frame: Frame = self.wait_until(lambda frames: next(
            (f for f in frames if f["event"] == event and about(f) == item_id), None),
            f"{event} of item {item_id}", timeout)
        return frame

    def count_status(self) -> int:
        return sum(f["event"] == "status" for f in self.frames)

    def wait_status(self, count: int) -> None:
        """Wait until the stream has shown `count` status frames."""
        self.wait_until(lambda _: self.count_status() >= count, f"{count} status frames",
                        timeout=15)

    def of(self, item_id: int) -> list[Frame]:
        with self._changed:
            return [f for f in self.frames if about(f) == item_id]

    def summary(self) -> list[str]:
        return [f"{f.get('id')}:{f['event']}:{about(f)}" for f in self.frames
                if f["event"] != "status"]


def settle(*followers: Follower, beats: int = 2) -> None:
    """Wait for `beats` more status frames on each stream (one a second): what was on its
    way has arrived (a late duplicate, an echo)."""
    wanted = [follower.count_status() + beats for follower in followers]
    for follower, count in zip(followers, wanted, strict=True):
        follower.wait_status(count)


def about(frame: Frame) -> int | None:
    """The id of the item an event frame is about."""
    item = (frame.get("data") or {}).get("queueItem")
    return int(item["id"]) if isinstance(item, dict) else None


def kinds(frames: list[Frame]) -> list[str]:
    return [f["event"] for f in frames]


# -- two processes on one database -------------------------------------------------------------


@dataclass(frozen=True)
class Cluster:
    replica: LiveServer  # A: `serve --no-processor`
    processor: LiveServer  # B: `serve`, the managed aria2c downloading
    files: FileServer
    downloads: Path  # QUEUARR_DOWNLOAD_DIR of both, where B's managed aria2c saves

    def http(self, server: LiveServer) -> httpx.Client:
        return httpx.Client(base_url=server.url, headers={"X-Api-Key": server.api_key},
                            timeout=15, trust_env=False)


def relay_listeners(database: str) -> int:
    """How many sessions on `database` listen on the relay's channel (each process's
    relay LISTENs on a connection of its own, first thing after connecting)."""
    async def count() -> int:
        conn = await asyncpg.connect(_plain_dsn(POSTGRES_URL, database), timeout=5)
        try:
            return int(await conn.fetchval(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND query = $1", f'LISTEN "{CHANNEL}"'))
        finally:
            await conn.close()

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, count()).result()


def stop(process: subprocess.Popen[bytes], exits: list[int | None]) -> None:
    process.terminate()
    try:
        exits.append(process.wait(timeout=20))
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)
        exits.append(None)  # did not stop on SIGTERM


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    require_binary(ARIA2_BINARY)
    database = f"queuarr_relay_{uuid.uuid4().hex[:12]}"
    try:
        _admin(f'CREATE DATABASE "{database}"')
    except Exception as exc:  # any reason the server cannot be used
        postgres_unavailable(f"{type(exc).__name__}: {exc}")
    url = async_url(POSTGRES_URL).set(database=database).render_as_string(
        hide_password=False)
    root = tmp_path_factory.mktemp("replicas")
    # One download directory, as replicas of one deployment share their settings: each
    # process accepts a client only when its directory is under its own roots.
    # The replica rereads the download clients every sync interval: 1 s, so that it
    # knows B's managed aria2c by the time a test removes an item sent to it.
    shared = {"QUEUARR_DATABASE_URL": url, "QUEUARR_ALLOW_PRIVATE_URLS": "true",
              "QUEUARR_DOWNLOAD_DIR": str(root / "downloads"), "QUEUARR_SYNC_INTERVAL": "1"}
    (root / "a").mkdir()
    (root / "b").mkdir()
    exits: list[int | None] = []
    with contextlib.ExitStack() as stack:  # unwinds: B, A, the file server, the database
        stack.callback(_admin, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        files = stack.enter_context(ThrottledFileServer(root / "served"))
        files.add(PAYLOAD, 2 * 1024 * 1024 + 4321, seed=11)
        files.add(SLOW, 15 * 1024 * 1024, seed=12)
        replica_process, replica = start_server(  # migrates the fresh database
            root / "a", shared, args=("--no-processor",))
        stack.callback(stop, replica_process, exits)
        processor_process, processor = start_server(
            root / "b", {**shared, "QUEUARR_MANAGED_ARIA2": "true"}, args=("--no-migrate",))
        stack.callback(stop, processor_process, exits)
        # /ping answers before the relays have connected: an event published before
        # then would not be relayed.
        wait_for(lambda: relay_listeners(database) == 2, 15, "both relays to LISTEN")
        yield Cluster(replica, processor, files, (root / "downloads").resolve())
    assert exits == [0, 0], f"exit codes of B, A on SIGTERM: {exits}"


def grab(http: httpx.Client, url: str, title: str) -> int:
    made = http.post("/api/v3/queue/grab", json={"downloadUrl": url, "title": title})
    assert made.status_code == 201, made.text
    return int(made.json()["id"])


# -- the tests -----------------------------------------------------------------------------------


def test_a_grab_on_a_replica_streams_on_both_processes_as_it_downloads_on_the_other(
        cluster: Cluster) -> None:
    served = cluster.files.files[PAYLOAD]
    title = "Relay.Test.2024.1080p.WEB-DL"
    with Follower(cluster.replica, "A") as on_a, Follower(cluster.processor, "B") as on_b:
        with cluster.http(cluster.replica) as http:
            item_id = grab(http, served.url, title)
        completed_on_a = on_a.event(item_id, "completed")
        completed_on_b = on_b.event(item_id, "completed")
        settle(on_a, on_b)
    a_frames, b_frames = on_a.of(item_id), on_b.of(item_id)

    # A: its own grabbed first, then B's sent, progress and completed, relayed in order.
    assert [k for k in kinds(a_frames) if k != "progress"] == [
        "grabbed", "sent", "completed"], on_a.summary()
    # B: A's grabbed relayed, its own sent and completed (a grab's NOTIFY and the wake-up
    # that makes B dispatch it are separate, so grabbed and sent may come either way).
    assert Counter(k for k in kinds(b_frames) if k != "progress") == {
        "grabbed": 1, "sent": 1, "completed": 1}, on_b.summary()
    assert kinds(b_frames)[-1] == "completed", on_b.summary()
    for name, frames in (("A", a_frames), ("B", b_frames)):
        downloading = [f["data"]["queueItem"] for f in frames if f["event"] == "progress"]
        assert any(0 < item["sizeleft"] < served.size for item in downloading), (
            f"{name} saw no progress mid-download: {downloading}")

    for follower, frames in ((on_a, a_frames), (on_b, b_frames)):
        for frame in frames:
            assert frame["data"]["eventType"] == frame["event"]
            assert frame["data"]["queueItem"]["id"] == item_id
            assert frame["data"]["queueItem"]["title"] == title
        ids = [f["id"].rpartition("-") for f in follower.frames if "id" in f]
        assert len({run for run, _, _ in ids}) == 1, f"{follower.name}'s event ids: {ids}"
        numbers = [int(n) for _, _, n in ids]
        assert numbers == sorted(set(numbers)), f"{follower.name}'s event ids: {ids}"

    # The relayed item is the item B completed, field for field.
    assert completed_on_a["data"]["queueItem"] == completed_on_b["data"]["queueItem"]
    done = completed_on_a["data"]["queueItem"]
    assert done["status"] == "completed" and done["sizeleft"] == 0, done
    assert done["downloadClient"] == "Managed aria2" and done["size"] == served.size, done
    output = Path(done["outputPath"])
    assert output.parent == cluster.downloads, output
    assert sha256_file(output) == served.sha256
    assert output.read_bytes() == served.path.read_bytes()


def test_a_removal_on_a_replica_streams_on_the_processors_process(cluster: Cluster) -> None:
    served = cluster.files.files[SLOW]
    title = "Relay.Removed.2024.1080p.WEB-DL"
    with Follower(cluster.replica, "A") as on_a, Follower(cluster.processor, "B") as on_b:
        with cluster.http(cluster.replica) as http:
            item_id = grab(http, served.url, title)
            on_b.event(item_id, "sent")  # B has it downloading
            # From the queue only (the next test removes from the client too); the
            # download is left to the client (Radarr's flag).
            removed = http.delete(f"/api/v3/queue/{item_id}",
                                  params={"removeFromClient": "false"})
            assert removed.status_code == 200, removed.text
        gone = on_b.event(item_id, "removed")
        on_a.event(item_id, "removed")
        settle(on_a, on_b)
        with cluster.http(cluster.processor) as http:
            assert http.get(f"/api/v3/queue/{item_id}").status_code == 404
    assert gone["data"]["queueItem"]["id"] == item_id
    assert gone["data"]["queueItem"]["title"] == title
    for follower in (on_a, on_b):
        frames = kinds(follower.of(item_id))
        assert Counter(frames)["removed"] == 1 and frames[-1] == "removed", follower.summary()
        assert Counter(frames)["grabbed"] == 1 and Counter(frames)["sent"] == 1, frames


def test_a_replica_removes_a_download_from_the_managed_aria2c_it_started_before(
        cluster: Cluster) -> None:
    served = cluster.files.files[SLOW]
    with Follower(cluster.processor, "B") as on_b, \
            cluster.http(cluster.replica) as http:
        item_id = grab(http, served.url, "Relay.Client.2024.720p")
        try:
            on_b.event(item_id, "sent")
            removed = http.delete(f"/api/v3/queue/{item_id}")
            assert removed.status_code == 200, removed.text
            on_b.event(item_id, "removed")
        finally:  # B knows its client: the item and its download go (no effect if gone)
            with cluster.http(cluster.processor) as on_processor:
                on_processor.delete(f"/api/v3/queue/{item_id}")
