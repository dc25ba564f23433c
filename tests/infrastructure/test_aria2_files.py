"""Which files removing an aria2 download deletes (aria2 deletes none itself); the real
daemon's side is tests/clients/test_shared_folder.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from infrastructure.clients.aria2_files import delete_files, in_use


def multi(gid: str, directory: Path, name: str, files: list[str],
          status: str = "complete") -> dict[str, Any]:
    return {"gid": gid, "status": status, "dir": str(directory),
            "bittorrent": {"mode": "multi", "info": {"name": name}},
            "files": [{"path": str(directory / name / f)} for f in files]}


def touch(*paths: Path) -> None:
    for path in paths:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")


def test_a_file_or_control_file_another_download_uses_is_kept(tmp_path: Path) -> None:
    """Two namesakes that even list one same file: removing one keeps that file and the
    control file they share, and deletes the rest of its own."""
    ours = multi("a" * 16, tmp_path, "Movie", ["a.mkv", "same.nfo"])
    theirs = multi("b" * 16, tmp_path, "Movie", ["b.mkv", "same.nfo"], status="active")
    folder = tmp_path / "Movie"
    touch(folder / "a.mkv", folder / "b.mkv", folder / "same.nfo", tmp_path / "Movie.aria2")

    delete_files("aria2", [ours], in_use([ours, theirs], {ours["gid"]}), [tmp_path])

    assert sorted(p.name for p in tmp_path.rglob("*")) == [
        "Movie", "Movie.aria2", "b.mkv", "same.nfo"]


def test_a_removed_download_uses_nothing(tmp_path: Path) -> None:
    ours = multi("a" * 16, tmp_path, "Movie", ["a.mkv"])
    gone = multi("b" * 16, tmp_path, "Movie", ["a.mkv"], status="removed")
    touch(tmp_path / "Movie" / "a.mkv", tmp_path / "Movie" / "sub" / "extra")

    delete_files("aria2", [ours], in_use([ours, gone], {ours["gid"]}), [tmp_path])

    # A file the torrent does not list stays, and so do the folders that hold it.
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["Movie", "extra", "sub"]


def test_nothing_outside_the_roots_and_no_root_is_deleted(tmp_path: Path) -> None:
    root, outside = tmp_path / "root", tmp_path / "outside"
    escaped = multi("a" * 16, outside, "Movie", ["a.mkv"])
    touch(outside / "Movie" / "a.mkv")
    (root / "Movie").mkdir(parents=True)
    (root / "Movie" / "a.mkv").symlink_to(outside / "Movie" / "a.mkv")
    linked = multi("b" * 16, root, "Movie", ["a.mkv"])

    delete_files("aria2", [escaped, linked], set(), [root])

    assert (outside / "Movie" / "a.mkv").exists()
    assert root.is_dir()
