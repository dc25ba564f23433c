"""Settings from the environment: prefix, database URL fallback, sizes and secrets."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError

from infrastructure.settings import Settings, parse_size

SECRET = "0123456789abcdef0123456789abcdef"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No QUEUARR_ variable, DATABASE_URL or .env file from the machine running the tests."""
    for name in list(os.environ):
        if name.upper().startswith("QUEUARR_") or name.upper() == "DATABASE_URL":
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def test_settings_are_read_from_queuarr_prefixed_variables(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("QUEUARR_PORT", "9090")
    monkeypatch.setenv("QUEUARR_HOST", "0.0.0.0")
    monkeypatch.setenv("QUEUARR_DATA_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("QUEUARR_LOG_LEVEL", "debug")
    monkeypatch.setenv("QUEUARR_INSTANCE_NAME", "Den")

    settings = Settings()

    assert settings.instance_name == "Den"
    assert settings.port == 9090
    assert settings.host == "0.0.0.0"
    assert settings.data_dir == tmp_path / "state"
    assert settings.log_level == "DEBUG"


def test_unprefixed_variables_other_than_database_url_are_ignored(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PORT", "9090")
    monkeypatch.setenv("HOST", "0.0.0.0")
    monkeypatch.setenv("API_KEY", SECRET)

    settings = Settings()

    assert settings.port == 7878
    assert settings.host == "127.0.0.1"
    assert settings.api_key is None


def test_a_dotenv_file_in_the_working_directory_is_read(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("QUEUARR_PORT=8123\n", encoding="utf-8")

    assert Settings().port == 8123


def test_the_environment_wins_over_the_dotenv_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / ".env").write_text("QUEUARR_PORT=8123\n", encoding="utf-8")
    monkeypatch.setenv("QUEUARR_PORT", "8124")

    assert Settings().port == 8124


@pytest.mark.parametrize("port", ["0", "65536", "http"])
def test_a_port_outside_the_tcp_range_is_refused(
    monkeypatch: pytest.MonkeyPatch, port: str
) -> None:
    monkeypatch.setenv("QUEUARR_PORT", port)

    with pytest.raises(ValidationError):
        Settings()


def test_an_unknown_log_level_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUEUARR_LOG_LEVEL", "chatty")

    with pytest.raises(ValidationError):
        Settings()


# -- database URL ------------------------------------------------------------------------


def test_the_default_database_is_sqlite_in_the_data_dir(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")

    expected = (tmp_path / "data" / "queuarr.db").resolve()
    assert settings.database == f"sqlite+aiosqlite:///{expected}"
    assert settings.database.startswith("sqlite+aiosqlite:")


def test_the_default_database_path_is_absolute_for_a_relative_data_dir(tmp_path: Path) -> None:
    settings = Settings(data_dir=Path("rel"))

    assert settings.database == f"sqlite+aiosqlite:///{tmp_path.resolve()}/rel/queuarr.db"


def test_the_default_data_dir_is_data_in_the_working_directory(tmp_path: Path) -> None:
    settings = Settings()

    assert settings.database == (
        f"sqlite+aiosqlite:///{(tmp_path / 'data' / 'queuarr.db').resolve()}"
    )


def test_unprefixed_database_url_is_used_when_no_queuarr_one_is_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql+asyncpg://u@db/queuarr")

    settings = Settings()

    assert settings.database == "postgresql+asyncpg://u@db/queuarr"
    assert not settings.database.startswith("sqlite")


def test_queuarr_database_url_wins_over_database_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql+asyncpg://u@other/db")
    monkeypatch.setenv("QUEUARR_DATABASE_URL", "postgresql+asyncpg://u@mine/queuarr")

    assert Settings().database == "postgresql+asyncpg://u@mine/queuarr"


def test_an_empty_database_url_means_the_default_sqlite_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("QUEUARR_DATABASE_URL", "")

    assert Settings(data_dir=tmp_path).database == (
        f"sqlite+aiosqlite:///{(tmp_path / 'queuarr.db').resolve()}"
    )


# -- max size ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "size"),
    [
        ("2G", 2_000_000_000),
        ("2g", 2_000_000_000),
        ("2GB", 2_000_000_000),
        ("1.5GiB", 1_610_612_736),  # 1.5 * 1024**3
        ("700MB", 700_000_000),
        ("700 MiB", 734_003_200),  # 700 * 1024**2
        ("512K", 512_000),
        ("1Ti", 1_099_511_627_776),
        ("1048576", 1_048_576),
        ("  42b ", 42),
    ],
)
def test_max_size_is_parsed_from_human_sizes(
    monkeypatch: pytest.MonkeyPatch, raw: str, size: int
) -> None:
    monkeypatch.setenv("QUEUARR_MAX_SIZE", raw)

    assert Settings().max_size == size
    assert parse_size(raw) == size


def test_max_size_accepts_a_plain_integer() -> None:
    assert Settings(max_size=123456).max_size == 123456
    assert parse_size(123456) == 123456


def test_max_size_is_unlimited_when_unset_or_empty(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().max_size is None
    monkeypatch.setenv("QUEUARR_MAX_SIZE", "")
    assert Settings().max_size is None


@pytest.mark.parametrize("raw", ["lots", "2X", "G2", "1.2.3G", "-5", "2 G B", "2i", "10iB"])
def test_an_invalid_max_size_is_a_validation_error(
    monkeypatch: pytest.MonkeyPatch, raw: str
) -> None:
    monkeypatch.setenv("QUEUARR_MAX_SIZE", raw)

    with pytest.raises(ValidationError):
        Settings()


@pytest.mark.parametrize("raw", ["lots", "2X", "2i", "10iB"])
def test_parse_size_refuses_what_is_not_a_size_with_a_value_error(raw: str) -> None:
    with pytest.raises(ValueError, match="not a size"):
        parse_size(raw)


@pytest.mark.parametrize("raw", ["0", "0G", 0, -1])
def test_a_max_size_of_zero_or_less_is_refused(raw: object) -> None:
    with pytest.raises(ValidationError, match="positive"):
        Settings(max_size=raw)


# -- API key -----------------------------------------------------------------------------


def test_the_api_key_is_a_secret_that_its_repr_does_not_show(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("QUEUARR_API_KEY", SECRET)

    settings = Settings()

    assert isinstance(settings.api_key, SecretStr)
    assert settings.api_key.get_secret_value() == SECRET
    assert SECRET not in repr(settings.api_key)
    assert SECRET not in str(settings.api_key)
    assert SECRET not in repr(settings)
    assert SECRET not in str(settings.model_dump())


@pytest.mark.parametrize("short", ["k", "hunter2", "nineteen-characters"])
def test_an_api_key_shorter_than_20_characters_is_refused_without_echoing_it(
    monkeypatch: pytest.MonkeyPatch, short: str,
) -> None:
    monkeypatch.setenv("QUEUARR_API_KEY", short)

    with pytest.raises(ValidationError, match="at least 20 characters") as refused:
        Settings()

    assert repr(short) not in str(refused.value)


def test_an_api_key_of_20_characters_is_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUEUARR_API_KEY", "twenty-characters-ok")

    settings = Settings()

    assert settings.api_key is not None
    assert settings.api_key.get_secret_value() == "twenty-characters-ok"


@pytest.mark.parametrize("blank", ["", "   "])
def test_a_blank_api_key_counts_as_none(monkeypatch: pytest.MonkeyPatch, blank: str) -> None:
    monkeypatch.setenv("QUEUARR_API_KEY", blank)

    assert Settings().api_key is None


def test_the_database_password_is_hidden_in_the_settings_repr(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("QUEUARR_DATABASE_URL", "postgresql+asyncpg://u:hunter2@db/queuarr")
    settings = Settings()
    assert "hunter2" not in repr(settings) and "hunter2" not in str(settings.model_dump())
    assert settings.database == "postgresql+asyncpg://u:hunter2@db/queuarr"


def test_download_client_settings_and_the_seed_fallbacks(monkeypatch: pytest.MonkeyPatch,
                                                         tmp_path: Path) -> None:
    for name in ("QUEUARR_QBITTORRENT_URL", "QUEUARR_QBITTORRENT_USERNAME",
                 "QUEUARR_QBITTORRENT_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("QBITTORRENT_URL", "http://127.0.0.1:8080")
    monkeypatch.setenv("QBITTORRENT_USERNAME", "admin")
    monkeypatch.setenv("QBITTORRENT_PASSWORD", "seed-password")
    monkeypatch.setenv("QUEUARR_MANAGED_ARIA2", "off")
    monkeypatch.setenv("QUEUARR_DOWNLOAD_ROOTS", f"{tmp_path / 'a'}, {tmp_path / 'b'}")
    settings = Settings(data_dir=tmp_path)
    assert settings.qbittorrent_url == "http://127.0.0.1:8080"
    assert settings.qbittorrent_username == "admin"
    assert settings.qbittorrent_password.get_secret_value() == "seed-password"
    assert "seed-password" not in repr(settings)
    assert settings.managed_aria2 == "false"
    assert settings.downloads == (tmp_path / "downloads").resolve()
    assert settings.roots == [settings.downloads, (tmp_path / "a").resolve(),
                              (tmp_path / "b").resolve()]
    monkeypatch.setenv("QUEUARR_QBITTORRENT_URL", "http://qbit:8080")
    assert Settings(data_dir=tmp_path).qbittorrent_url == "http://qbit:8080"  # prefixed wins
    with pytest.raises(ValueError):
        Settings(data_dir=tmp_path, managed_aria2="sometimes")


def test_every_setting_is_in_the_readme_configuration_table() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    table = readme[readme.index("## Configuration"):]
    for name in Settings.model_fields:
        assert f"| `QUEUARR_{name.upper()}` |" in table, name


@pytest.mark.parametrize("name", ["", "x" * 101])
def test_an_empty_or_overlong_instance_name_is_refused(name: str) -> None:
    with pytest.raises(ValidationError, match="instance_name"):
        Settings(instance_name=name)
