"""`queuarr --version` (issue 17), as installed and through api.cli.main, and the same
version where a running server shows it: system/status and /metrics."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from api.cli import main
from api.version import QUEUARR_VERSION
from tests.e2e.conftest import LiveServer


def test_the_installed_command_prints_its_version() -> None:
    command = Path(sys.executable).parent / "queuarr"
    done = subprocess.run([str(command), "--version"], capture_output=True, text=True,
                          timeout=60, check=False)
    assert (done.returncode, done.stdout, done.stderr) == (0, "queuarr 0.1.0\n", "")
    assert QUEUARR_VERSION == "0.1.0"  # from the installed package's metadata


def test_main_prints_the_version_and_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out == f"queuarr {QUEUARR_VERSION}\n"


def test_a_running_server_shows_its_version(live_server: LiveServer) -> None:
    headers = {"X-Api-Key": live_server.api_key}
    status = httpx.get(f"{live_server.url}/api/v3/system/status", headers=headers, timeout=10)
    assert status.json()["packageVersion"] == QUEUARR_VERSION
    metrics = httpx.get(f"{live_server.url}/metrics", headers=headers, timeout=10)
    samples = {s.name: s for f in text_string_to_metric_families(metrics.text)
               for s in f.samples}
    assert samples["queuarr_build_info"].labels["version"] == QUEUARR_VERSION
    assert samples["process_resident_memory_bytes"].value > 0
