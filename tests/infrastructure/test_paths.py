"""Save paths confined to the download roots (infrastructure.clients.paths): confine()
refuses anything that is not an absolute path inside a root once symlinks are resolved,
and is_within() is the check behind it."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.errors import BadRequest
from infrastructure.clients.paths import confine, is_within


@pytest.fixture
def root(tmp_path: Path) -> Path:
    made = tmp_path / "data"
    made.mkdir()
    return made


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    made = tmp_path / "elsewhere"
    made.mkdir()
    return made


def refused(value: str, roots: list[Path], what: str = "savePath") -> str:
    with pytest.raises(BadRequest) as caught:
        confine(value, roots, what)
    message = caught.value.message
    assert message.startswith(what), message
    return message


# -- refused -------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["../", "../etc", "../../x", "./../x"])
def test_a_relative_parent_is_refused(value: str, root: Path) -> None:
    assert "must not contain '..'" in refused(value, [root])


def test_dot_dot_inside_an_absolute_path_is_refused_even_when_it_would_stay_inside(
        root: Path) -> None:
    assert "must not contain '..'" in refused(f"{root}/../etc", [root])
    assert "must not contain '..'" in refused(f"{root}/a/../b", [root])
    assert "must not contain '..'" in refused("/data/../etc", [Path("/data")])


def test_dot_dot_between_backslashes_is_refused(root: Path) -> None:
    assert "must not contain '..'" in refused(f"{root}\\..\\..\\etc", [root])


@pytest.mark.parametrize("value", ["data", "data/movies", "./data", "movies/"])
def test_a_relative_path_is_refused(value: str, root: Path,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(root.parent)  # even where it would land inside the root
    assert "must be an absolute path" in refused(value, [root])


@pytest.mark.parametrize("value", ["~/x", "~", "~root/x"])
def test_a_home_directory_is_refused(value: str, root: Path) -> None:
    assert "no '~'" in refused(value, [root])


@pytest.mark.parametrize("value", ["C:\\x", "c:/x", "D:", "\\\\server\\share",
                                   "//server/share", "\\\\?\\C:\\x"])
def test_drive_letters_and_unc_paths_are_refused(value: str, root: Path) -> None:
    assert "drive letters or UNC paths" in refused(value, [root])


def test_a_nul_character_is_refused(root: Path) -> None:
    assert "without NUL characters" in refused(f"{root}/a\x00b", [root])


def test_an_empty_path_is_refused(root: Path) -> None:
    assert "non-empty path" in refused("", [root])


def test_a_path_outside_the_roots_is_refused(root: Path, outside: Path) -> None:
    message = refused(str(outside / "movies"), [root])
    assert "is outside the download roots" in message
    assert str(root) in message  # says where paths may go
    assert "outside the download roots" in refused("/etc", [root])
    assert "outside the download roots" in refused("/", [root])


def test_a_sibling_whose_name_starts_with_the_root_is_outside(root: Path) -> None:
    sibling = root.parent / f"{root.name}2"
    sibling.mkdir()
    assert "outside the download roots" in refused(str(sibling), [root])
    assert "outside the download roots" in refused(str(sibling / "x"), [root])


def test_a_symlink_inside_a_root_pointing_outside_is_refused(root: Path, outside: Path) -> None:
    (root / "escape").symlink_to(outside, target_is_directory=True)
    assert "outside the download roots" in refused(str(root / "escape"), [root])
    assert "outside the download roots" in refused(str(root / "escape" / "movies"), [root])


def test_a_symlink_to_a_file_outside_is_refused(root: Path, outside: Path) -> None:
    target = outside / "passwd"
    target.write_text("x")
    (root / "link").symlink_to(target)
    assert "outside the download roots" in refused(str(root / "link"), [root])


def test_nothing_is_accepted_without_roots(root: Path) -> None:
    assert "no download roots are configured" in refused(str(root), [])


def test_the_message_names_what_was_checked(root: Path) -> None:
    assert refused("relative", [root], "directory").startswith("directory 'relative'")


# -- accepted ------------------------------------------------------------------------


def test_the_root_itself_is_accepted(root: Path) -> None:
    assert confine(str(root), [root]) == str(root)
    assert confine(f"{root}/", [root]) == str(root)


def test_a_nested_path_is_accepted_and_normalised_even_when_it_does_not_exist(
        root: Path) -> None:
    assert confine(str(root / "movies" / "new"), [root]) == str(root / "movies" / "new")
    assert confine(f"{root}//movies/./new/", [root]) == str(root / "movies" / "new")


def test_any_of_several_roots_will_do(root: Path, outside: Path) -> None:
    assert confine(str(outside / "x"), [root, outside]) == str(outside / "x")


def test_a_symlink_inside_a_root_pointing_inside_a_root_is_accepted(root: Path) -> None:
    (root / "real").mkdir()
    (root / "alias").symlink_to(root / "real", target_is_directory=True)
    assert confine(str(root / "alias" / "x"), [root]) == str(root / "alias" / "x")


def test_a_root_reached_through_a_symlink_is_accepted(tmp_path: Path, root: Path) -> None:
    (tmp_path / "via").symlink_to(root, target_is_directory=True)
    assert confine(str(tmp_path / "via" / "x"), [root]) == str(tmp_path / "via" / "x")
    assert confine(str(root / "x"), [tmp_path / "via"]) == str(root / "x")


def test_percent_encoded_dots_are_just_a_name(root: Path) -> None:
    # confine() does no URL decoding: '%2e%2e' is a directory called '%2e%2e' inside the
    # root, not a way up, and the path is handed on as it is.
    for value in (f"{root}/%2e%2e", f"{root}/%2e%2e/%2e%2e/etc", f"{root}/%2E%2E%2Fetc"):
        assert confine(value, [root]) == value
        assert is_within(value, [root])


def test_dots_that_are_not_dot_dot_are_names(root: Path) -> None:
    for value in (f"{root}/...", f"{root}/..movies", f"{root}/movies..", f"{root}/.hidden"):
        assert confine(value, [root]) == value


# -- is_within() ---------------------------------------------------------------------


@pytest.mark.parametrize(("relative", "inside"), [
    ("data", True), ("data/a/b", True), ("data/../data/a", True), ("elsewhere", False),
    ("data2", False), ("", False), ("data/../elsewhere", False),
])
def test_is_within(tmp_path: Path, root: Path, outside: Path, relative: str,
                   inside: bool) -> None:
    (tmp_path / "data2").mkdir()
    assert is_within(tmp_path / relative, [root]) is inside
