"""docker-compose.yml, checked for what matters (`docker compose config` is not
installable here): the three services and their healthchecks, start order, named
volumes, one /data mount shared by Queuarr and qBittorrent (TRaSH's layout: the paths
agree, hardlinks and atomic moves work), settings that exist, no secret in the file."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from infrastructure.settings import Settings
from tests.deploy.names import ROOT, setting_env_names, unknown_settings
from tests.deploy.test_dockerfile import DOCKERFILE, healthcheck_command, parse

COMPOSE = ROOT / "docker-compose.yml"
SERVICES = {"queuarr", "postgres", "qbittorrent"}
SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|API_KEY", re.IGNORECASE)
# Compose's interpolation: $$, $NAME, ${NAME}, ${NAME:-default}, ${NAME-default},
# ${NAME:?error}, ${NAME?error}.
VARIABLE = re.compile(r"\$\$|\$\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])"
                      r"(?P<arg>[^}]*))?\}|\$(?P<plain>[A-Za-z_][A-Za-z0-9_]*)")
DOTENV = {  # what a person puts in .env
    "QUEUARR_API_KEY": "k" * 32, "POSTGRES_PASSWORD": "p0stgres", "QBITTORRENT_PASSWORD":
    "qbt-password", "PUID": "1000", "PGID": "1000", "TZ": "Europe/Berlin",
}


def interpolate(value: str, env: dict[str, str]) -> str:
    def one(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group("braced") or match.group("plain")
        op, arg = match.group("op") or "", match.group("arg") or ""
        present = env.get(name)
        unset = present is None or (present == "" and op.startswith(":"))
        if op.endswith("?") and unset:
            raise KeyError(f"{name}: {arg}")
        if op.endswith("-") and unset:
            return arg
        return present or ""

    return VARIABLE.sub(one, value)


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def _service(compose: dict[str, Any], name: str) -> dict[str, Any]:
    service = compose["services"][name]
    assert isinstance(service, dict)
    return service


def _environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment", {})
    if isinstance(env, list):  # the KEY=value list form
        env = dict(item.split("=", 1) for item in env)
    return {key: str(value) for key, value in env.items()}


def _mounts(service: dict[str, Any]) -> dict[str, str]:
    """Target -> source, for the short `source:target[:mode]` form."""
    mounts = {}
    for volume in service.get("volumes", []):
        assert isinstance(volume, str), "use the short form source:target"
        source, target = volume.split(":")[:2]
        mounts[target] = source
    return mounts


def test_the_interpolation_follows_compose() -> None:
    env = {"A": "a", "EMPTY": ""}
    assert interpolate("${A}-$A-$$A-${B:-b}-${EMPTY:-e}-${EMPTY-e}", env) == "a-a-$A-b-e-"
    with pytest.raises(KeyError, match="B: say so"):
        interpolate("${B:?say so}", env)


def test_there_are_queuarr_postgres_and_qbittorrent_each_with_a_healthcheck(
        compose: dict[str, Any]) -> None:
    assert set(compose["services"]) == SERVICES
    for name in SERVICES:
        service = _service(compose, name)
        test = service["healthcheck"]["test"]
        assert test[0] in ("CMD", "CMD-SHELL") and len(test) > 1, name
        assert service["restart"] == "unless-stopped", name
        assert "image" in service, name


def test_queuarr_is_built_here_and_waits_for_a_healthy_postgres(
        compose: dict[str, Any]) -> None:
    queuarr = _service(compose, "queuarr")
    assert queuarr["build"] == "."
    assert queuarr["image"] == "queuarr"
    depends = queuarr["depends_on"]
    assert depends["postgres"]["condition"] == "service_healthy"
    for name, rule in depends.items():
        assert name in SERVICES and rule["condition"] in (
            "service_started", "service_healthy", "service_completed_successfully")


def test_queuarr_checks_its_health_as_the_image_does(compose: dict[str, Any]) -> None:
    image_check = healthcheck_command(parse(DOCKERFILE.read_text(encoding="utf-8")))
    assert _service(compose, "queuarr")["healthcheck"]["test"] == ["CMD", *image_check]


def test_postgres_and_qbittorrent_are_checked_by_their_own_tools(
        compose: dict[str, Any]) -> None:
    postgres = _service(compose, "postgres")
    assert "pg_isready" in postgres["healthcheck"]["test"]
    assert postgres["image"].startswith("postgres:1")
    qbittorrent = _service(compose, "qbittorrent")
    assert qbittorrent["image"].startswith("lscr.io/linuxserver/qbittorrent")
    web_port = _environment(qbittorrent)["WEBUI_PORT"]
    assert any(f"127.0.0.1:{web_port}" in part for part in qbittorrent["healthcheck"]["test"])


def test_named_volumes_are_declared_and_each_is_used(compose: dict[str, Any]) -> None:
    declared = set(compose["volumes"])
    used = set()
    for name in SERVICES:
        for source in _mounts(_service(compose, name)).values():
            if not source.startswith(("/", ".", "~", "$")):
                assert source in declared, f"{name}: volume {source} is not declared"
                used.add(source)
    assert used == declared


def test_queuarr_and_qbittorrent_share_one_data_mount_and_keep_their_own_config(
        compose: dict[str, Any]) -> None:
    queuarr = _mounts(_service(compose, "queuarr"))
    qbittorrent = _mounts(_service(compose, "qbittorrent"))
    assert queuarr["/data"] == qbittorrent["/data"]
    assert queuarr["/config"] != qbittorrent["/config"]
    assert _mounts(_service(compose, "postgres"))["/var/lib/postgresql/data"] not in (
        queuarr["/config"], queuarr["/data"])


def test_the_download_dir_is_on_the_shared_mount_and_qbittorrent_is_reached_by_name(
        compose: dict[str, Any]) -> None:
    env = _environment(_service(compose, "queuarr"))
    assert Path(env["QUEUARR_DOWNLOAD_DIR"]).is_relative_to("/data")
    qbt = urlsplit(env["QUEUARR_QBITTORRENT_URL"])
    assert qbt.hostname == "qbittorrent"
    assert str(qbt.port) == _environment(_service(compose, "qbittorrent"))["WEBUI_PORT"]


def test_every_queuarr_name_in_the_compose_file_is_a_setting(
        compose: dict[str, Any]) -> None:
    text = COMPOSE.read_text(encoding="utf-8")
    assert unknown_settings(text) == set()
    env = _environment(_service(compose, "queuarr"))
    queuarr_names = {name for name in env if name.startswith("QUEUARR_")}
    assert queuarr_names and queuarr_names <= setting_env_names()


def test_the_environment_queuarr_gets_makes_valid_settings(
        compose: dict[str, Any], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # no .env of the developer's
    postgres = _environment(_service(compose, "postgres"))
    for name, value in _environment(_service(compose, "queuarr")).items():
        monkeypatch.setenv(name, interpolate(value, DOTENV))
    settings = Settings()
    assert settings.api_key is not None
    assert settings.api_key.get_secret_value() == DOTENV["QUEUARR_API_KEY"]
    database = urlsplit(settings.database)
    assert database.scheme == "postgresql+asyncpg" and database.hostname == "postgres"
    assert database.username == postgres["POSTGRES_USER"]
    assert database.password == DOTENV["POSTGRES_PASSWORD"]
    assert database.path == f"/{postgres['POSTGRES_DB']}"
    assert settings.qbittorrent_password.get_secret_value() == DOTENV["QBITTORRENT_PASSWORD"]


def test_the_api_key_and_the_postgres_password_must_be_given(
        compose: dict[str, Any]) -> None:
    env = _environment(_service(compose, "queuarr"))
    for missing in ("QUEUARR_API_KEY", "POSTGRES_PASSWORD"):
        dotenv = {k: v for k, v in DOTENV.items() if k != missing}
        with pytest.raises(KeyError, match=missing):
            for value in env.values():
                interpolate(value, dotenv)


def test_no_secret_is_written_in_the_file(compose: dict[str, Any]) -> None:
    for name in SERVICES:
        for key, value in _environment(_service(compose, name)).items():
            if SECRET_NAME.search(key):  # one variable; a default only if it is empty
                match = VARIABLE.fullmatch(value)
                assert match is not None, f"{name}: {key}={value}"
                assert (match.group("op") or "?").endswith("?") or not match.group("arg"), (
                    f"{name}: {key} has a default")
            for password in re.findall(r"://[^/:@]+:([^@]*)@", value):
                assert VARIABLE.fullmatch(password), f"{name}: {key} has a password"


def test_the_container_ports_are_the_ones_the_apps_listen_on(
        compose: dict[str, Any]) -> None:
    ports = [str(p) for p in _service(compose, "queuarr")["ports"]]
    assert [p.rsplit(":", 1)[-1] for p in ports] == [str(Settings.model_fields["port"].default)]
    web_port = _environment(_service(compose, "qbittorrent"))["WEBUI_PORT"]
    assert any(p.endswith(f":{web_port}") for p in _service(compose, "qbittorrent")["ports"])


def test_queuarr_and_qbittorrent_run_as_the_same_user_and_time_zone(
        compose: dict[str, Any]) -> None:
    queuarr = _environment(_service(compose, "queuarr"))
    qbittorrent = _environment(_service(compose, "qbittorrent"))
    for name in ("PUID", "PGID", "UMASK", "TZ"):
        assert queuarr[name] == qbittorrent[name], name
