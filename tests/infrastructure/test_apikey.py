"""The API key: configured, or generated once and kept owner-only in the data dir."""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

import pytest

from infrastructure.apikey import KEY_FILE, load_or_create_api_key
from infrastructure.settings import Settings


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.upper().startswith("QUEUARR_") or name.upper() == "DATABASE_URL":
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_missing_key_is_generated_as_32_hex_characters_and_stored(tmp_path: Path) -> None:
    data_dir = tmp_path / "data" / "nested"  # does not exist yet

    key, created = load_or_create_api_key(Settings(data_dir=data_dir))

    assert created
    assert re.fullmatch(r"[0-9a-f]{32}", key)
    assert (data_dir / KEY_FILE).read_text(encoding="utf-8").strip() == key


def test_the_stored_key_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    load_or_create_api_key(Settings(data_dir=tmp_path))

    assert mode(tmp_path / KEY_FILE) == 0o600


def test_the_stored_key_is_owner_only_even_under_a_permissive_umask(tmp_path: Path) -> None:
    previous = os.umask(0)
    try:
        load_or_create_api_key(Settings(data_dir=tmp_path))
    finally:
        os.umask(previous)

    assert mode(tmp_path / KEY_FILE) == 0o600


def test_the_stored_key_is_reused_on_the_next_start(tmp_path: Path) -> None:
    first, created_first = load_or_create_api_key(Settings(data_dir=tmp_path))
    second, created_second = load_or_create_api_key(Settings(data_dir=tmp_path))

    assert (created_first, created_second) == (True, False)
    assert second == first


def test_two_data_dirs_get_different_keys(tmp_path: Path) -> None:
    a, _ = load_or_create_api_key(Settings(data_dir=tmp_path / "a"))
    b, _ = load_or_create_api_key(Settings(data_dir=tmp_path / "b"))

    assert a != b


def test_a_key_file_written_by_hand_is_used_without_its_blanks(tmp_path: Path) -> None:
    (tmp_path / KEY_FILE).write_text("  handwritten-key-of-26-chars \n", encoding="utf-8")

    assert load_or_create_api_key(Settings(data_dir=tmp_path)) == (
        "handwritten-key-of-26-chars", False)


def test_a_key_file_shorter_than_20_characters_is_refused_without_showing_it(
    tmp_path: Path,
) -> None:
    (tmp_path / KEY_FILE).write_text("short-secret-key\n", encoding="utf-8")

    with pytest.raises(ValueError, match="shorter than 20 characters") as refused:
        load_or_create_api_key(Settings(data_dir=tmp_path))

    assert "short-secret-key" not in str(refused.value)
    assert (tmp_path / KEY_FILE).read_text(encoding="utf-8") == "short-secret-key\n"


def test_the_generated_key_is_long_enough_to_be_configured(tmp_path: Path) -> None:
    key, created = load_or_create_api_key(Settings(data_dir=tmp_path))

    assert created
    assert Settings(api_key=key).api_key is not None


def test_an_empty_key_file_is_replaced_by_a_generated_key(tmp_path: Path) -> None:
    (tmp_path / KEY_FILE).write_text("\n", encoding="utf-8")

    key, created = load_or_create_api_key(Settings(data_dir=tmp_path))

    assert created
    assert re.fullmatch(r"[0-9a-f]{32}", key)
    assert (tmp_path / KEY_FILE).read_text(encoding="utf-8").strip() == key


def test_a_key_generated_into_an_existing_readable_file_is_made_owner_only(
    tmp_path: Path,
) -> None:
    path = tmp_path / KEY_FILE
    path.write_text("", encoding="utf-8")
    path.chmod(0o644)

    load_or_create_api_key(Settings(data_dir=tmp_path))

    assert mode(path) == 0o600


def test_a_configured_key_wins_and_nothing_is_written(tmp_path: Path) -> None:
    (tmp_path / KEY_FILE).write_text("stored-key\n", encoding="utf-8")
    other = tmp_path / "other"

    configured = "configured-key-0123456789"
    assert load_or_create_api_key(Settings(data_dir=tmp_path, api_key=configured)) == (
        configured, False,
    )
    assert load_or_create_api_key(Settings(data_dir=other, api_key=configured)) == (
        configured, False,
    )
    assert not other.exists()
    assert (tmp_path / KEY_FILE).read_text(encoding="utf-8") == "stored-key\n"


def test_a_key_configured_in_the_environment_wins(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("QUEUARR_API_KEY", "from-the-environment-0123")

    assert load_or_create_api_key(Settings(data_dir=tmp_path)) == (
        "from-the-environment-0123", False)
    assert not (tmp_path / KEY_FILE).exists()
