"""contrib/queuarr.service: a plain `queuarr serve` in systemd's hardened sandbox. The
unit is read as systemd reads it (keys may repeat; an empty value resets a list), and,
where systemd-analyze is installed, verified and scored by it too."""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from api.server import STOP_GRACE
from tests.conftest import require_binary
from tests.daemons import free_port
from tests.deploy.names import ROOT, unknown_settings

UNIT = ROOT / "contrib" / "queuarr.service"
DATA_DIR = "/var/lib/queuarr"
MAX_EXPOSURE = 3.0  # systemd-analyze security: 0 is locked down, 10 is wide open
START_GUARD = 90.0  # seconds: a serve that has not answered by then is broken

HARDENING = {
    "ProtectSystem": "strict",
    "ProtectHome": "yes",
    "PrivateTmp": "yes",
    "PrivateDevices": "yes",
    "NoNewPrivileges": "yes",
    "ProtectKernelTunables": "yes",
    "ProtectKernelModules": "yes",
    "ProtectKernelLogs": "yes",
    "ProtectControlGroups": "yes",
    "RestrictNamespaces": "yes",
    "LockPersonality": "yes",
    "MemoryDenyWriteExecute": "yes",
    "SystemCallArchitectures": "native",
    "UMask": "0027",
}

Unit = dict[str, dict[str, list[str]]]


def parse(text: str) -> Unit:
    """section -> key -> values in order. An empty assignment resets the key's list, as
    systemd does for list settings (and `Key=` alone is then an empty list)."""
    unit: Unit = {}
    section: dict[str, list[str]] | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = unit.setdefault(line[1:-1], {})
            continue
        assert section is not None, f"{line!r} outside a section"
        key, sep, value = line.partition("=")
        assert sep, f"{line!r} is not Key=value"
        values = section.setdefault(key.strip(), [])
        if value.strip():
            values.append(value.strip())
        else:
            values.clear()
    return unit


@pytest.fixture(scope="module")
def service() -> dict[str, list[str]]:
    return parse(UNIT.read_text(encoding="utf-8"))["Service"]


def _one(service: dict[str, list[str]], key: str) -> str:
    values = service.get(key)
    assert values is not None, f"{key}= is missing"
    assert len(values) == 1, f"{key}= is set {len(values)} times"
    return values[0]


def _environment(service: dict[str, list[str]]) -> dict[str, str]:
    pairs = [pair for line in service.get("Environment", []) for pair in shlex.split(line)]
    return dict(pair.split("=", 1) for pair in pairs)


def test_the_parser_reads_repeated_keys_and_resets() -> None:
    unit = parse("[Service]\nA=1\nA=2 3\nB=x\nB=\n; note\n")
    assert unit == {"Service": {"A": ["1", "2 3"], "B": []}}


def test_it_runs_queuarr_serve_as_its_own_user(service: dict[str, list[str]]) -> None:
    command = shlex.split(_one(service, "ExecStart"))
    assert Path(command[0]).name == "queuarr" and command[1:] == ["serve"]
    assert Path(command[0]).is_absolute()
    assert _one(service, "Type") == "simple"
    assert _one(service, "User") == _one(service, "Group") == "queuarr"
    assert _one(service, "Restart") == "on-failure"
    assert any(v.lstrip("-") == "/etc/queuarr/queuarr.env"
               for v in service["EnvironmentFile"])


def test_it_keeps_its_state_in_the_state_directory(service: dict[str, list[str]]) -> None:
    assert _one(service, "StateDirectory") == "queuarr"
    assert _environment(service)["QUEUARR_DATA_DIR"] == DATA_DIR


def test_every_hardening_directive_is_set(service: dict[str, list[str]]) -> None:
    for key, wanted in HARDENING.items():
        assert _one(service, key) == wanted, key
    assert service["CapabilityBoundingSet"] == []  # empty: no capability at all
    families = set(" ".join(service["RestrictAddressFamilies"]).split())
    assert {"AF_UNIX", "AF_INET", "AF_INET6"} <= families
    assert families <= {"AF_UNIX", "AF_INET", "AF_INET6", "AF_NETLINK"}


def test_only_the_data_and_download_dirs_are_writable(service: dict[str, list[str]]) -> None:
    writable = [p.lstrip("-") for line in service["ReadWritePaths"] for p in line.split()]
    assert DATA_DIR in writable
    assert all(Path(p).is_absolute() and p not in ("/", "/etc", "/usr") for p in writable)


def test_a_stop_has_time_to_be_graceful(service: dict[str, list[str]]) -> None:
    assert int(_one(service, "TimeoutStopSec")) > STOP_GRACE
    # SIGTERM to Queuarr alone: it stops the aria2c and yt-dlp workers it started itself.
    assert _one(service, "KillMode") == "mixed"


def test_every_queuarr_name_in_the_unit_is_a_setting() -> None:
    assert unknown_settings(UNIT.read_text(encoding="utf-8")) == set()


def _analyze() -> str:
    path = shutil.which("systemd-analyze")
    if path is None:  # an extra check, where systemd is installed; the rest is above
        pytest.skip("systemd-analyze is not installed")
    return path


def _runnable_copy(tmp_path: Path) -> Path:
    """The unit with ExecStart pointing at this venv's queuarr: verify checks that the
    command exists, and /opt/queuarr is where it is installed, not where tests run."""
    queuarr = Path(sys.executable).parent / "queuarr"
    assert queuarr.exists()
    text = UNIT.read_text(encoding="utf-8")
    copy = tmp_path / UNIT.name
    copy.write_text(text.replace("/opt/queuarr/.venv/bin/queuarr", str(queuarr)))
    return copy


def test_systemd_analyze_verifies_the_unit_without_a_complaint(tmp_path: Path) -> None:
    analyze = _analyze()
    done = subprocess.run([analyze, "verify", str(_runnable_copy(tmp_path))],
                          capture_output=True, text=True, timeout=120)
    # An unknown or misspelt key is only a warning (exit 0): any output fails the test.
    assert done.returncode == 0 and not done.stderr.strip() and not done.stdout.strip(), (
        done.stdout + done.stderr)


def test_systemd_analyze_scores_the_sandbox_as_locked_down(tmp_path: Path) -> None:
    analyze = _analyze()
    done = subprocess.run([analyze, "security", "--offline=true", "--no-pager",
                           str(_runnable_copy(tmp_path))],
                          capture_output=True, text=True, timeout=120)
    if "--offline" in done.stderr and done.returncode != 0:
        pytest.skip("this systemd-analyze cannot score a unit file offline (systemd < 252)")
    score = re.search(r"Overall exposure level for \S+: (\d+(?:\.\d+)?)", done.stdout)
    assert score is not None, done.stdout + done.stderr
    assert float(score.group(1)) <= MAX_EXPOSURE


# MemoryDenyWriteExecute=yes kills a process that maps writable memory executable (a
# JIT). Linux 6.3+ offers the same rule to any process (prctl PR_SET_MDWE), so a serve
# with its managed aria2c can be run under it here, without systemd.
UNDER_MDWE = """
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
if libc.prctl(65, 1, 0, 0, 0) != 0:  # PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN
    sys.exit(f"MDWE: {os.strerror(ctypes.get_errno())}")
os.execv(sys.argv[1], sys.argv[1:])
"""


def test_serve_and_its_aria2c_run_without_writable_executable_memory(tmp_path: Path) -> None:
    require_binary("aria2c")
    if tuple(int(p) for p in re.findall(r"\d+", os.uname().release)[:2]) < (6, 3):
        pytest.skip("PR_SET_MDWE needs Linux 6.3 or later")
    # The rule holds across exec: a writable and executable mapping is refused.
    wx = ("import mmap; mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | "
          "mmap.PROT_EXEC)")
    refused = subprocess.run([sys.executable, "-c", UNDER_MDWE, sys.executable, "-c", wx],
                             capture_output=True, text=True, timeout=60)
    assert "PermissionError" in refused.stderr, refused.stderr
    port = free_port()
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "QUEUARR_DATA_DIR":
           str(tmp_path / "data"), "QUEUARR_PORT": str(port),
           "QUEUARR_MANAGED_ARIA2": "true", "QUEUARR_YTDLP": "false"}
    log = tmp_path / "serve.log"
    queuarr = str(Path(sys.executable).parent / "queuarr")
    with log.open("w") as out:
        child = subprocess.Popen([sys.executable, "-c", UNDER_MDWE, queuarr, "serve"],
                                 cwd=tmp_path, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + START_GUARD
        answered = False
        while not answered and time.monotonic() < deadline and child.poll() is None:
            with contextlib.suppress(httpx.HTTPError):
                answered = httpx.get(f"http://127.0.0.1:{port}/ping", timeout=2).is_success
            time.sleep(0.2)
    finally:
        child.send_signal(signal.SIGTERM)
        child.wait(timeout=60)
    assert answered, log.read_text()
    assert "Started the managed aria2c" in log.read_text()
    assert child.returncode == 0, log.read_text()
