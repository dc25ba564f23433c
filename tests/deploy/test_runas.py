"""PUID, PGID, UMASK and TZ (infrastructure/runas.py). The drop is tested for real: as
root, `queuarr` runs in a child process with PUID=65534, and the child's /proc status,
the owners and modes of what it wrote, and the dirs it was handed are looked at. Not
root (a laptop), those tests skip; under CI=true (which runs as root) they fail."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import stat
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from infrastructure.runas import RunAs, RunAsError, apply, read
from tests.conftest import IN_CI
from tests.daemons import free_port

NOBODY = 65534
WINTER_NOON = 1705320000  # 2024-01-15 12:00 UTC: 13:00 CET in Berlin
START_GUARD = 90.0  # seconds: a serve that has not answered by then is broken
# The child runs the `queuarr` command (api.cli.main) with this venv's packages, under
# whichever interpreter the dropped user can read (see _python_for_nobody).
BOOT = ("import site, sys; site.addsitedir(sys.argv[1]); from api.cli import main; "
        "sys.exit(main(sys.argv[2:]))")
SITE_PACKAGES = sysconfig.get_path("purelib")


def _need_root() -> None:
    if os.geteuid() != 0:
        message = "changing owners and dropping privileges needs root"
        if IN_CI:
            pytest.fail(message + " (CI=true runs as root: these tests must run)")
        pytest.skip(message)


def _as_nobody() -> dict[str, object]:
    return {"user": NOBODY, "group": NOBODY, "extra_groups": []}


def _python_for_nobody() -> str:
    """An interpreter that can still import the standard library once it is uid 65534:
    this one, unless it lives where others cannot read (a pyenv under /root, 0700);
    then the system's python of the same version (the venv's packages fit it)."""
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    for candidate in (sys.executable, f"/usr/bin/python{version}",
                      f"/usr/local/bin/python{version}"):
        if not os.path.exists(candidate):
            continue
        try:
            probe = subprocess.run(
                [candidate, "-c", f"import sys, json, asyncio; assert sys.version."
                 f"startswith('{version}.')"], capture_output=True, timeout=60,
                **_as_nobody())  # type: ignore[call-overload]
        except PermissionError:  # the interpreter itself is out of reach
            continue
        if probe.returncode == 0:
            return str(candidate)
    message = f"no python{version} that uid {NOBODY} can run"
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture
def base() -> Iterator[Path]:
    """A directory every user can traverse (pytest's tmp_path is root's alone)."""
    path = Path(tempfile.mkdtemp(prefix="queuarr-runas-"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _env(base: Path, **values: str) -> dict[str, str]:
    """A clean environment: nothing of the developer's QUEUARR_ settings leaks in."""
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": "/root",
            "QUEUARR_DATA_DIR": str(base / "config"),
            "QUEUARR_DOWNLOAD_DIR": str(base / "data" / "downloads"),
            "QUEUARR_MANAGED_ARIA2": "false", "QUEUARR_YTDLP": "false", **values}


def _queuarr(python: str, base: Path, env: dict[str, str], *args: str,
             **options: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([python, "-c", BOOT, SITE_PACKAGES, *args], cwd=base, env=env,
                          capture_output=True, text=True, timeout=120, **options)  # type: ignore[call-overload]


def _owner(path: Path) -> tuple[int, int]:
    info = path.lstat()
    return info.st_uid, info.st_gid


def _status(pid: int) -> dict[str, str]:
    lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    return dict(line.split(":\t", 1) for line in lines if ":\t" in line)


# Reading the four variables.

def test_puid_and_pgid_are_numbers_and_pgid_defaults_to_puid() -> None:
    assert read({"PUID": "1000", "PGID": "100"}) == RunAs(1000, 100, None, None)
    assert read({"PUID": " 1000 "}) == RunAs(1000, 1000, None, None)
    assert read({"PUID": "", "PGID": "", "UMASK": "", "TZ": ""}) == RunAs(None, None, None,
                                                                          None)
    assert read({"PUID": "0", "PGID": "0"}) == RunAs(0, 0, None, None)


@pytest.mark.parametrize("environ", [
    {"PUID": "abc"}, {"PUID": "-1"}, {"PUID": "1000", "PGID": "1e3"},
    {"PUID": str(2**32 - 1)}, {"PGID": "1000"},
])
def test_an_unusable_puid_or_pgid_is_refused(environ: dict[str, str]) -> None:
    with pytest.raises(RunAsError, match=r"PUID|PGID"):
        read(environ)


def test_umask_is_octal() -> None:
    assert read({"UMASK": "022"}).umask == 0o022
    assert read({"UMASK": "002"}).umask == 0o002
    assert read({"UMASK": "0027"}).umask == 0o027
    for bad in ("999", "abc", "-22", "1777"):
        with pytest.raises(RunAsError, match="UMASK"):
            read({"UMASK": bad})


# Applied in this process: the umask and the time zone (both are put back).

@pytest.fixture
def umask_kept() -> Iterator[None]:
    before = os.umask(0o022)
    os.umask(before)
    try:
        yield
    finally:
        os.umask(before)


@pytest.fixture
def tz_kept(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_the_umask_is_applied_without_root(umask_kept: None, tmp_path: Path) -> None:
    apply(RunAs(None, None, 0o027, None), tmp_path, tmp_path / "downloads")
    os.umask(current := os.umask(0))
    assert current == 0o027
    (tmp_path / "made").mkdir()
    assert stat.S_IMODE((tmp_path / "made").stat().st_mode) == 0o750


def test_tz_moves_the_local_time_of_the_running_process(tz_kept: None,
                                                        tmp_path: Path) -> None:
    if not Path("/usr/share/zoneinfo/Europe/Berlin").is_file() and not IN_CI:
        pytest.skip("no zone files here (apt install tzdata)")
    assert time.localtime(WINTER_NOON).tm_hour == 12
    notes = apply(RunAs(None, None, None, "Europe/Berlin"), tmp_path, tmp_path / "d")
    local = time.localtime(WINTER_NOON)
    assert (local.tm_hour, local.tm_zone, local.tm_gmtoff) == (13, "CET", 3600)
    assert notes == []


def test_an_unknown_zone_is_reported(tz_kept: None, tmp_path: Path) -> None:
    notes = apply(RunAs(None, None, None, "Europe/Atlantis"), tmp_path, tmp_path / "d")
    assert [m for _, m in notes] == [
        "TZ=Europe/Atlantis: no such zone in /usr/share/zoneinfo (a misspelt name, or "
        "tzdata is not installed): local time is UTC"]
    assert apply(RunAs(None, None, None, "UTC"), tmp_path, tmp_path / "d") == []
    assert apply(RunAs(None, None, None, "CET-1CEST"), tmp_path, tmp_path / "d") == []


# Handing the dirs over: as root, in this process, without dropping (the drop is below).

def test_the_data_dir_tree_is_handed_over_but_not_download_roots_links_or_hard_links(
        base: Path) -> None:
    _need_root()
    from infrastructure.runas import _hand_over

    config = base / "config"
    (config / "backups").mkdir(parents=True)
    (config / "backups" / "old.zip").write_bytes(b"zip")
    (config / "downloads").mkdir()            # a download root inside the data dir
    (config / "downloads" / "Movie.mkv").write_bytes(b"film")
    secret = base / "shadow"
    secret.write_text("root's")
    (config / "planted-link").symlink_to(secret)
    os.link(secret, config / "planted-hardlink")
    notes = _hand_over(config, config / "downloads", [], NOBODY, NOBODY)

    assert _owner(config) == _owner(config / "backups" / "old.zip") == (NOBODY, NOBODY)
    assert _owner(config / "downloads") == (NOBODY, NOBODY)
    assert _owner(config / "downloads" / "Movie.mkv") == (0, 0)  # media are not ours
    assert _owner(secret) == (0, 0)  # neither through the symlink nor the hard link
    assert any("has other hard links" in m for _, m in notes)


# The real thing: `queuarr` as root with PUID/PGID, in a child process.

def test_serve_drops_to_puid_with_the_umask_and_owns_what_it_writes(base: Path) -> None:
    _need_root()
    python = _python_for_nobody()
    config = base / "config"
    config.mkdir(mode=0o755)
    (config / "left-by-root.txt").write_text("an earlier run as root")
    (base / "data").mkdir(mode=0o755)
    port = free_port()
    env = _env(base, PUID=str(NOBODY), PGID=str(NOBODY), UMASK="027", TZ="Europe/Berlin",
               QUEUARR_PORT=str(port), QUEUARR_LOG_FILE=str(config / "logs" / "queuarr.log"))
    log = (base / "serve.log").open("w")
    child = subprocess.Popen([python, "-c", BOOT, SITE_PACKAGES, "serve"], cwd=base,
                             env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + START_GUARD
        while time.monotonic() < deadline and child.poll() is None:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"http://127.0.0.1:{port}/ping", timeout=2).status_code == 200:
                    break
            time.sleep(0.2)
        else:
            pytest.fail("serve did not answer:\n" + (base / "serve.log").read_text())
        status = _status(child.pid)
    finally:
        child.send_signal(signal.SIGTERM)
        child.wait(timeout=60)
        log.close()

    assert status["Uid"].split() == [str(NOBODY)] * 4  # real, effective, saved, fs
    assert status["Gid"].split() == [str(NOBODY)] * 4
    assert status["Groups"].split() == [str(NOBODY)]
    assert status["Umask"] == "0027"
    assert child.returncode == 0, (base / "serve.log").read_text()
    # handed over: the data dir, what root left in it, and the new download dir
    for path in (config, config / "left-by-root.txt", base / "data" / "downloads"):
        assert _owner(path) == (NOBODY, NOBODY), path
    # written after the drop: the database, the API key, the log (owner-only as ever) ...
    for name in ("queuarr.db", "api_key", "logs/queuarr.log"):
        assert _owner(config / name) == (NOBODY, NOBODY), name
        assert stat.S_IMODE((config / name).stat().st_mode) == 0o600, name
    # ... and what follows the umask: the log dir and the download dir, 0777 & ~027
    for directory in (config / "logs", base / "data" / "downloads"):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o750, directory
    assert _owner(base / "data") == (0, 0)  # the media root is left alone
    text = (base / "serve.log").read_text()
    assert f"Gave 3 files and directories in {config}" in text


def test_only_the_download_dir_itself_is_handed_over_not_its_contents(base: Path) -> None:
    _need_root()
    python = _python_for_nobody()
    downloads = base / "data" / "downloads"
    (downloads / "Movie (2024)").mkdir(parents=True)
    (downloads / "Movie (2024)" / "Movie.mkv").write_bytes(b"film")
    done = _queuarr(python, base, _env(base, PUID=str(NOBODY), PGID=str(NOBODY)), "migrate")
    assert done.returncode == 0, done.stderr
    assert _owner(downloads) == (NOBODY, NOBODY)
    assert _owner(downloads / "Movie (2024)") == (0, 0)
    assert _owner(downloads / "Movie (2024)" / "Movie.mkv") == (0, 0)
    assert _owner(base / "config" / "queuarr.db") == (NOBODY, NOBODY)


def test_home_becomes_the_data_dir_when_the_old_one_is_out_of_reach(base: Path) -> None:
    """yt-dlp keeps a cache under ~; root's home (0700) is no use to PUID."""
    _need_root()
    python = _python_for_nobody()
    show = ("import os, site, sys; site.addsitedir(sys.argv[1]); from pathlib import Path; "
            "from infrastructure.runas import run_as; "
            "run_as(os.environ, Path(sys.argv[2]), Path(sys.argv[3])); "
            "print(os.getuid(), os.environ['HOME'])")
    home = base / "home"
    home.mkdir(mode=0o700)
    done = subprocess.run(
        [python, "-c", show, SITE_PACKAGES, str(base / "config"), str(base / "downloads")],
        cwd=base, env={"PUID": str(NOBODY), "HOME": str(home), "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [str(NOBODY), str(base / "config")]


def test_puid_zero_stays_root_and_says_so(base: Path) -> None:
    _need_root()
    done = _queuarr(sys.executable, base, _env(base, PUID="0", PGID="0"), "migrate")
    assert done.returncode == 0, done.stderr
    assert "PUID=0: Queuarr runs as root" in done.stderr
    assert _owner(base / "config" / "queuarr.db") == (0, 0)


def test_not_root_a_foreign_puid_is_reported_and_ignored(base: Path) -> None:
    """As root, the child is started as uid 65534; otherwise it runs as whoever we are."""
    if os.geteuid() == 0:
        python, options, me = _python_for_nobody(), _as_nobody(), NOBODY
        (base / "config").mkdir()
        os.chown(base / "config", NOBODY, NOBODY)
    else:
        python, options, me = sys.executable, {}, os.getuid()
    other = 1000 if me != 1000 else 1001
    done = _queuarr(python, base, _env(base, PUID=str(other), UMASK="077"), "migrate",
                    **options)
    assert done.returncode == 0, done.stderr
    assert (f"PUID={other} PGID={other} ignored: Queuarr was started as uid {me}"
            in done.stderr)
    db = base / "config" / "queuarr.db"
    assert db.stat().st_uid == me


@pytest.mark.parametrize(("environ", "message"), [
    ({"PGID": "1000"}, "queuarr: PGID=1000 is set without PUID: set both (or neither)"),
    ({"UMASK": "abc"}, "queuarr: UMASK='abc' is not an octal mask such as 022 or 002"),
    ({"PUID": "me"}, "queuarr: PUID='me' is not a numeric id"),
])
def test_the_command_refuses_unusable_values_before_doing_anything(
        base: Path, environ: dict[str, str], message: str) -> None:
    done = _queuarr(sys.executable, base, _env(base, **environ), "migrate")
    assert done.returncode == 2
    assert done.stderr.startswith(message)
    assert not (base / "config").exists()
