"""Real download clients on loopback: a qBittorrent and an aria2 per test, a seeding
qBittorrent (with its embedded tracker) per module, payloads it seeds, and a file server.

When `qbittorrent-nox` or `aria2c` is not installed, the tests that need it skip, except
under CI=true, where they fail (as the Postgres tests do)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import require_binary
from tests.daemons import (
    ARIA2_BINARY,
    QBITTORRENT_BINARY,
    Aria2Daemon,
    FileServer,
    Payload,
    QbittorrentDaemon,
    Seeder,
    ServedFile,
    seed_payload,
)

PAYLOAD_SIZE = 3 * 1024 * 1024 + 12_345  # not a multiple of the piece size: a short last piece


@pytest.fixture
def qbittorrent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[QbittorrentDaemon]:
    """A fresh, empty qBittorrent (a leecher: no tracker), stopped after the test."""
    daemon = QbittorrentDaemon(tmp_path_factory.mktemp("qbittorrent"),
                               binary=require_binary(QBITTORRENT_BINARY))
    daemon.start()
    try:
        yield daemon
    finally:
        daemon.stop()


@pytest.fixture
def aria2(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Aria2Daemon]:
    """A fresh, empty aria2c with RPC and a random secret, killed after the test (its state is
    thrown away, and an idle aria2 takes a second to notice SIGTERM)."""
    daemon = Aria2Daemon(tmp_path_factory.mktemp("aria2"), binary=require_binary(ARIA2_BINARY))
    daemon.start()
    try:
        yield daemon
    finally:
        daemon.kill()


@pytest.fixture(scope="module")
def seeder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeder]:
    """A qBittorrent with its embedded tracker, shared by the module's tests."""
    with Seeder(tmp_path_factory.mktemp("seeder"),
                binary=require_binary(QBITTORRENT_BINARY)) as running:
        yield running


@pytest.fixture(scope="module")
def make_seeded_payload(seeder: Seeder, tmp_path_factory: pytest.TempPathFactory
                        ) -> Callable[..., Payload]:
    """`make_seeded_payload(name, size, seed=0, piece_size=None)`: a new file the seeder
    seeds, with its torrent announcing to the seeder's tracker."""
    directory = tmp_path_factory.mktemp("payloads")

    def make(name: str, size: int, seed: int = 0, piece_size: int | None = None) -> Payload:
        return seed_payload(seeder, directory, name, size, seed, piece_size)

    return make


@pytest.fixture(scope="module")
def payload(make_seeded_payload: Callable[..., Payload]) -> Payload:
    """A ~3 MiB file the seeder seeds: path, sha256, size, torrent, info_hash, magnet."""
    return make_seeded_payload("queuarr-payload.bin", PAYLOAD_SIZE, seed=1)


@pytest.fixture
def file_server(tmp_path: Path) -> Iterator[FileServer]:
    """A loopback HTTP server (GET, HEAD, Range) with one generated file, `payload.bin`."""
    with FileServer(tmp_path / "served") as server:
        server.add("payload.bin", 2 * 1024 * 1024 + 7, seed=2)
        yield server


@pytest.fixture
def served_file(file_server: FileServer) -> ServedFile:
    """The file `file_server` serves: name, path, url, sha256, size."""
    return file_server.files["payload.bin"]
