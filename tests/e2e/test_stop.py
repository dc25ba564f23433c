"""Stopping and starting again, end to end, on a real `queuarr serve`: SIGTERM ends the
live event streams and exits 0 with the leases given back and the managed aria2c's
session saved, whatever is connected (an SSE client, a download client that never
answers); and on SQLite a start gives back at once the leases a killed run left behind,
instead of when they expire."""

from __future__ import annotations

import http.server
import signal
import socket
import sqlite3
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from tests.clients.conftest import require_binary
from tests.drills_support import history_rows, log_tail
from tests.e2e.conftest import LiveServer, start_server

HANG_GUARD = 30.0  # seconds: a stop that takes longer than this is a hang, not a figure
LONG_LEASE = "86400"  # a lease that cannot expire while a test runs


class _Hanging(http.server.BaseHTTPRequestHandler):
    """Starts a 50 MiB response, sends 64 KiB of it, then waits: a download that goes on
    (`downloading`) for as long as the test wants."""

    protocol_version = "HTTP/1.1"
    server: _HangingServer

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(50 * 1024 * 1024))
        self.end_headers()
        try:
            self.wfile.write(b"\0" * 65536)
            self.wfile.flush()
            self.server.released.wait(120)
        except OSError:
            pass


class _HangingServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    released: threading.Event


@pytest.fixture
def hanging_url() -> Iterator[str]:
    server = _HangingServer(("127.0.0.1", 0), _Hanging)
    server.released = threading.Event()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/Big.File.2024.1080p.mkv"
    finally:
        server.released.set()
        server.shutdown()
        server.server_close()


@pytest.fixture
def silent_aria2_url() -> Iterator[str]:
    """An aria2 RPC address that accepts connections and never answers: a send to it
    stays in `sending` (under its lease) until the client timeout."""
    listener = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                held.append(listener.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/jsonrpc"
    finally:
        listener.close()
        for connection in held:
            connection.close()


class StreamReader:
    """GET /api/v3/queue/stream in a thread: the lines read, and how the stream ended."""

    def __init__(self, server: LiveServer) -> None:
        self.server = server
        self.lines: list[str] = []
        self.ending: str | None = None  # "ended" (cleanly), or the error
        self.opened = threading.Event()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()
        assert self.opened.wait(10), "the stream did not open"

    def _read(self) -> None:
        try:
            with httpx.Client(base_url=self.server.url, trust_env=False, timeout=None,
                              headers={"X-Api-Key": self.server.api_key}) as http, \
                    http.stream("GET", "/api/v3/queue/stream") as response:
                assert response.status_code == 200
                for line in response.iter_lines():
                    self.lines.append(line)
                    if line.startswith("event: status"):
                        self.opened.set()
            self.ending = "ended"
        except Exception as exc:
            self.ending = f"{type(exc).__name__}: {exc}"


def _grab(server: LiveServer, body: dict[str, str]) -> int:
    with httpx.Client(base_url=server.url, headers={"X-Api-Key": server.api_key},
                      trust_env=False) as http:
        made = http.post("/api/v3/queue/grab", json=body)
    assert made.status_code == 201, made.text
    return int(made.json()["id"])


def _rows(db: Path) -> dict[int, tuple[str, str | None]]:
    """id -> (state, lease_owner)."""
    with sqlite3.connect(db, timeout=30) as conn:
        return {r[0]: (r[1], r[2]) for r in conn.execute(
            "SELECT id, state, lease_owner FROM queue_item")}


def _wait_for_states(db: Path, wanted: dict[int, str], server: LiveServer,
                     timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        rows = _rows(db)
        if all(rows.get(i, ("",))[0] == state for i, state in wanted.items()):
            return
        assert time.monotonic() < deadline, (
            f"items not in {wanted} after {timeout} s: {rows}\n{log_tail(server.log)}")
        time.sleep(0.1)


def _stop(process: subprocess.Popen[bytes], server: LiveServer) -> tuple[int, float]:
    """SIGTERM; the exit code and the seconds it took (SIGKILL past HANG_GUARD)."""
    started = time.monotonic()
    process.send_signal(signal.SIGTERM)
    try:
        code = process.wait(timeout=HANG_GUARD)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        pytest.fail(f"`queuarr serve` still running {HANG_GUARD:g} s after SIGTERM:\n"
                    f"{log_tail(server.log)}")
    return code, time.monotonic() - started


def test_sigterm_ends_the_streams_gives_the_leases_back_saves_aria2s_session_and_exits_0(
        tmp_path: Path, hanging_url: str, silent_aria2_url: str) -> None:
    require_binary("aria2c")
    process, server = start_server(tmp_path, {
        "QUEUARR_MANAGED_ARIA2": "true", "QUEUARR_ALLOW_PRIVATE_URLS": "true",
        "QUEUARR_ARIA2_URL": silent_aria2_url, "QUEUARR_ARIA2_SECRET": "never-asked",
        "QUEUARR_CLIENT_TIMEOUT": "120", "QUEUARR_LEASE_SECONDS": LONG_LEASE,
        "QUEUARR_MIN_FREE_SPACE": "0", "QUEUARR_SYNC_INTERVAL": "1", "QUEUARR_LOG_LEVEL": "INFO",
        "QUEUARR_DISPATCH_INTERVAL": "0.5"})
    db = tmp_path / "queuarr.db"
    session = tmp_path / "aria2" / "aria2.session"
    try:
        stream = StreamReader(server)
        downloading = _grab(server, {"downloadUrl": hanging_url, "title": "Big.File.2024",
                                     "downloadClient": "Managed aria2"})
        sending = _grab(server, {"downloadUrl": hanging_url + "?stuck",
                                 "title": "Stuck.File.2024", "downloadClient": "aria2"})
        _wait_for_states(db, {downloading: "downloading", sending: "sending"}, server)
        (aria2c,) = [p for p in psutil.Process(process.pid).children(recursive=True)
                     if p.name().startswith("aria2c")]
        session.write_text("")  # what is in it after the stop was saved by the stop
    finally:
        code, seconds = _stop(process, server)
    print(f"queuarr serve stopped in {seconds:.2f} s")
    stream.thread.join(10)
    assert code == 0, log_tail(server.log)
    assert stream.ending == "ended", (stream.ending, stream.lines[-5:])
    rows = _rows(db)
    assert [r for r in rows.values() if r[1] is not None] == [], rows
    assert rows[sending][0] == "queued" and rows[downloading][0] == "downloading", rows
    assert history_rows(f"sqlite:///{db}")[sending][-1].event == "released"
    assert not aria2c.is_running() or aria2c.status() == psutil.STATUS_ZOMBIE
    assert hanging_url in session.read_text()


def test_a_start_on_sqlite_gives_back_the_leases_a_killed_run_left(
        tmp_path: Path, hanging_url: str, silent_aria2_url: str) -> None:
    settings = {"QUEUARR_MANAGED_ARIA2": "false", "QUEUARR_ALLOW_PRIVATE_URLS": "true",
                "QUEUARR_LEASE_SECONDS": LONG_LEASE, "QUEUARR_MIN_FREE_SPACE": "0",
                "QUEUARR_LOG_LEVEL": "INFO"}
    process, server = start_server(tmp_path, {
        **settings, "QUEUARR_ARIA2_URL": silent_aria2_url,
        "QUEUARR_ARIA2_SECRET": "never-asked", "QUEUARR_CLIENT_TIMEOUT": "120"})
    db = tmp_path / "queuarr.db"
    try:
        item = _grab(server, {"downloadUrl": hanging_url, "title": "Stuck.File.2024"})
        _wait_for_states(db, {item: "sending"}, server)
    finally:
        process.kill()  # as the OOM killer would: nothing is given back
        process.wait()
    ((state, dead_owner),) = _rows(db).values()
    assert state == "sending" and dead_owner is not None

    process, server = start_server(tmp_path, settings)  # answers once started
    try:
        state, owner = _rows(db)[item]
        history = history_rows(f"sqlite:///{db}")[item]
    finally:
        process.terminate()
        process.wait(timeout=HANG_GUARD)
    assert owner != dead_owner, (state, owner)
    given_back = [r for r in history if r.from_state == "sending" and r.event == "released"]
    assert [(r.from_state, r.to_state) for r in given_back] == [("sending", "queued")]
