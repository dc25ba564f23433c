"""The examples in examples/ run against a real server and do what they say."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.e2e.conftest import LiveServer

ROOT = Path(__file__).resolve().parents[2]
MAGNET = "magnet:?xt=urn:btih:" + "5a" * 20 + "&dn=Example.Release.2020.1080p"


def run(script: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(ROOT / "examples" / script), *args],
                          capture_output=True, text=True, timeout=60, cwd=ROOT)


def test_grab_and_watch_queues_a_release_and_lists_it(live_server: LiveServer) -> None:
    done = run("grab_and_watch.py", MAGNET, "--url", live_server.url, "--api-key",
               live_server.api_key, "--movie-id", "4", "--polls", "1")
    assert done.returncode == 0, done.stderr
    assert "queued as item" in done.stdout
    assert "Example.Release.2020.1080p" in done.stdout
    again = run("grab_and_watch.py", MAGNET, "--url", live_server.url, "--api-key",
                live_server.api_key, "--polls", "1")
    assert again.returncode == 0 and "already queued as item" in again.stdout


def test_radarr_client_example_reads_the_queue_through_pyarr(live_server: LiveServer) -> None:
    done = run("radarr_client.py", "--url", live_server.url, "--api-key", live_server.api_key)
    assert done.returncode == 0, done.stderr
    assert "Queuarr (Radarr API" in done.stdout
    assert "queued (" in done.stdout
