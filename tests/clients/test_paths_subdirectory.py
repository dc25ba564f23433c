"""An item's `save_under` joined to a client's directory: one plain name, never out of
the directory or the download roots."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.errors import BadRequest
from infrastructure.clients.paths import subdirectory


def test_a_plain_name_goes_under_the_directory(tmp_path: Path) -> None:
    assert subdirectory(str(tmp_path), "tg--100123", [tmp_path]) == str(tmp_path / "tg--100123")


@pytest.mark.parametrize("name", ["", ".", "..", "a/b", "../x", "a\\b", "~x", "c:x", "a\x00"])
def test_anything_but_a_plain_name_is_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(BadRequest):
        subdirectory(str(tmp_path), name, [tmp_path])


def test_a_directory_that_leads_out_of_the_roots_is_refused(tmp_path: Path) -> None:
    (tmp_path / "roots").mkdir()
    (tmp_path / "roots" / "out").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(BadRequest, match="outside the download roots"):
        subdirectory(str(tmp_path / "roots"), "out", [tmp_path / "roots"])
