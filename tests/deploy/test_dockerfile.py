"""The Dockerfile, read the way Docker reads it (no daemon here, and hadolint is not
installable): what every *arr image promises (state in /config, media in /data, PUID/PGID
applied by starting as root), a slim build, and a healthcheck that is run for real."""

from __future__ import annotations

import http.server
import json
import re
import shlex
import subprocess
import sys
import threading
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.deploy.names import ROOT, unknown_settings

DOCKERFILE = ROOT / "Dockerfile"


@dataclass(frozen=True)
class Instruction:
    name: str  # upper case
    args: str


def parse(text: str) -> list[Instruction]:
    """Instructions with their continuation lines joined; comment lines dropped (also
    inside a continuation, as Docker drops them)."""
    instructions: list[Instruction] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1].strip() + " "
            continue
        name, _, args = (pending + line).partition(" ")
        instructions.append(Instruction(name.upper(), args.strip()))
        pending = ""
    assert not pending, "the Dockerfile ends inside a continuation"
    return instructions


@pytest.fixture(scope="module")
def instructions() -> list[Instruction]:
    return parse(DOCKERFILE.read_text(encoding="utf-8"))


def _all(instructions: list[Instruction], name: str) -> list[str]:
    return [i.args for i in instructions if i.name == name]


def _env(instructions: list[Instruction]) -> dict[str, str]:
    values: dict[str, str] = {}
    for args in _all(instructions, "ENV"):
        for pair in shlex.split(args):
            key, sep, value = pair.partition("=")
            assert sep, f"ENV {pair!r}: use the KEY=value form"
            values[key] = value
    return values


def _exec_form(args: str) -> list[str]:
    value = json.loads(args)
    assert isinstance(value, list) and all(isinstance(v, str) for v in value), args
    return value


def healthcheck_command(instructions: list[Instruction]) -> list[str]:
    (args,) = _all(instructions, "HEALTHCHECK")
    options, _, command = args.partition("CMD ")
    assert command, "HEALTHCHECK needs a CMD"
    assert "--interval=" in options and "--timeout=" in options
    return _exec_form(command)


def test_the_parser_joins_continuations_and_drops_comments() -> None:
    parsed = parse("FROM a:1.2\n# note\nRUN one \\\n  # inside\n  && two\nCMD [\"x\"]\n")
    assert parsed == [Instruction("FROM", "a:1.2"), Instruction("RUN", "one && two"),
                      Instruction("CMD", '["x"]')]


def test_the_base_image_is_python_slim_pinned_to_a_minor_version(
        instructions: list[Instruction]) -> None:
    (image,) = _all(instructions, "FROM")
    assert re.fullmatch(r"python:3\.\d+-slim(-[a-z]+)?", image), image


def test_packages_come_from_one_apt_layer_without_recommends_and_without_lists(
        instructions: list[Instruction]) -> None:
    apt = [run for run in _all(instructions, "RUN") if "apt-get" in run]
    assert len(apt) == 1, apt
    (run,) = apt
    assert "apt-get update" in run and "apt-get install" in run
    assert "--no-install-recommends" in run
    assert "DEBIAN_FRONTEND=noninteractive apt-get install" in run  # tzdata would ask
    assert "rm -rf /var/lib/apt/lists/*" in run
    packages = set(run.split("--no-install-recommends", 1)[1].split("&&")[0].split())
    # aria2c (the managed client), ffmpeg (yt-dlp merges), tzdata (TZ)
    assert {"aria2", "ffmpeg", "tzdata"} <= packages


def test_the_image_installs_the_telegram_and_video_extras(
        instructions: list[Instruction]) -> None:
    pip = [run for run in _all(instructions, "RUN") if "pip install" in run]
    assert len(pip) == 1, pip
    extras = re.search(r"\.\[([a-z,]+)\]", pip[0])
    assert extras is not None, pip[0]
    wanted = set(extras.group(1).split(","))
    assert {"telegram", "video"} <= wanted
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert wanted <= set(project["project"]["optional-dependencies"])


def test_state_lives_in_config_and_downloads_under_the_data_mount(
        instructions: list[Instruction]) -> None:
    (volumes,) = _all(instructions, "VOLUME")
    assert _exec_form(volumes) == ["/config", "/data"]
    env = _env(instructions)
    assert env["QUEUARR_DATA_DIR"] == "/config"
    assert env["QUEUARR_DOWNLOAD_DIR"].startswith("/data/")
    assert env["QUEUARR_HOST"] == "0.0.0.0"
    assert _all(instructions, "EXPOSE") == [env["QUEUARR_PORT"]]


def test_every_queuarr_name_in_the_dockerfile_is_a_setting() -> None:
    assert unknown_settings(DOCKERFILE.read_text(encoding="utf-8")) == set()


def test_it_starts_as_root_to_apply_puid_and_pgid_and_defaults_to_another_user(
        instructions: list[Instruction]) -> None:
    # A USER line would start `queuarr` unprivileged: PUID/PGID could not be applied.
    assert _all(instructions, "USER") in ([], ["root"])
    env = _env(instructions)
    assert int(env["PUID"]) > 0 and int(env["PGID"]) > 0
    assert re.fullmatch(r"0?[0-7]{3}", env["UMASK"])
    assert env["TZ"]


def test_nothing_is_fetched_by_add_and_every_copy_source_is_in_the_repository(
        instructions: list[Instruction]) -> None:
    assert _all(instructions, "ADD") == []
    copies = _all(instructions, "COPY")
    assert copies
    for args in copies:
        words = [w for w in shlex.split(args) if not w.startswith("--")]
        for source in words[:-1]:
            assert (ROOT / source).exists(), f"COPY {source}: not in the repository"


def test_the_entry_point_is_the_queuarr_command_serving(
        instructions: list[Instruction]) -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    (entrypoint,) = _all(instructions, "ENTRYPOINT")
    assert _exec_form(entrypoint) == ["queuarr"]
    assert "queuarr" in project["project"]["scripts"]
    (cmd,) = _all(instructions, "CMD")
    assert _exec_form(cmd)[0] == "serve"


class _PingServer(http.server.ThreadingHTTPServer):
    """200 at `path_ok`, 404 anywhere else: where the healthcheck looks is what is
    tested."""

    daemon_threads = True
    path_ok = "/ping"


class _Ping(http.server.BaseHTTPRequestHandler):
    server: _PingServer

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self.send_response(200 if self.path == self.server.path_ok else 404)
        self.end_headers()


@pytest.fixture
def ping_server() -> Iterator[_PingServer]:
    server = _PingServer(("127.0.0.1", 0), _Ping)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(("url_base", "path", "healthy"), [
    ("", "/ping", True),
    ("/queuarr", "/queuarr/ping", True),
    ("queuarr/", "/queuarr/ping", True),
    ("", "/queuarr/ping", False),     # a URL base the check does not know: unhealthy
    ("/queuarr", "/ping", False),
])
def test_the_healthcheck_pings_under_the_url_base(
        instructions: list[Instruction], ping_server: _PingServer, url_base: str,
        path: str, healthy: bool) -> None:
    command = healthcheck_command(instructions)
    assert command[0] == "python"
    ping_server.path_ok = path
    port = str(ping_server.server_address[1])
    env = {"QUEUARR_PORT": port, "QUEUARR_URL_BASE": url_base, "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, *command[1:]], env=env, capture_output=True,
                          text=True, timeout=60)
    assert (done.returncode == 0) is healthy, done.stderr
