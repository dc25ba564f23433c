"""A real `queuarr serve` process on loopback, for tests that talk HTTP like clients do."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from infrastructure.settings import url_base

# The qBittorrent daemon fixture, for the demo tests here too.
from tests.clients.conftest import qbittorrent  # noqa: F401

API_KEY = "0123456789abcdef0123456789abcdef"


@dataclass(frozen=True)
class LiveServer:
    url: str
    api_key: str
    data_dir: Path
    log: Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(
    data_dir: Path, env: dict[str, str] | None = None, args: tuple[str, ...] = ()
) -> tuple[subprocess.Popen[bytes], LiveServer]:
    """Start `queuarr serve` (migrating a fresh SQLite file unless `env` says otherwise);
    `args` go to `serve`."""
    port = free_port()
    log = data_dir / "server.log"
    environment = {
        **os.environ,
        "QUEUARR_DATA_DIR": str(data_dir),
        "QUEUARR_DATABASE_URL": f"sqlite+aiosqlite:///{data_dir / 'queuarr.db'}",
        "QUEUARR_API_KEY": API_KEY,
        "QUEUARR_LOG_LEVEL": "DEBUG",
        **(env or {}),
    }
    with log.open("wb") as handle:  # the child keeps its own descriptor
        process = subprocess.Popen(
            [sys.executable, "-m", "api.cli", "serve", "--port", str(port), *args],
            env=environment, stdout=handle, stderr=subprocess.STDOUT,
            cwd=Path(__file__).resolve().parents[2],
        )
    # Under QUEUARR_URL_BASE, everything (/ping included) is under the base: so is `url`.
    base = url_base(environment.get("QUEUARR_URL_BASE", ""))
    server = LiveServer(f"http://127.0.0.1:{port}{base}", API_KEY, data_dir, log)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"queuarr serve exited: {log.read_text()}")
        try:
            if httpx.get(f"{server.url}/ping", timeout=1).status_code == 200:
                return process, server
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"queuarr serve did not answer /ping in 30 s: {log.read_text()}")


def stop_server(process: subprocess.Popen[bytes], timeout: float = 20) -> None:
    """SIGTERM (a graceful stop), then SIGKILL if it has not exited within `timeout`."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    # API only: these tests look at the queue as the API leaves it, before any processor
    # sends anything (tests/clients/test_processor_e2e.py runs the processor).
    process, server = start_server(tmp_path_factory.mktemp("live"), args=("--no-processor",))
    try:
        yield server
    finally:
        stop_server(process)
