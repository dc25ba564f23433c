"""Deleting an aria2 download's files, which aria2 cannot do itself.

Only the files the download lists are deleted (and its `.aria2` control file), never a
path another download aria2 still knows uses, and only inside the download roots; then
the folders they leave empty, up to the download's own directory. Two torrents may share
a top-level folder name: removing one must leave the other's files (a folder is never
deleted whole).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from infrastructure.clients.paths import is_within

log = logging.getLogger(__name__)

# What remove() asks aria2 for: enough to know every path a download uses.
PATH_KEYS = ["gid", "status", "dir", "files", "bittorrent", "followedBy", "following"]


def is_metadata(status: dict[str, Any]) -> bool:
    """A magnet's metadata download (`[METADATA]name`), not the payload."""
    files = status.get("files") or []
    return bool(files) and str(files[0].get("path", "")).startswith("[METADATA]")


def base_path(status: dict[str, Any]) -> str | None:
    """Where the download saves: its top-level folder (a multi-file torrent) or its file."""
    directory = status.get("dir") or ""
    torrent = status.get("bittorrent") or {}
    info = torrent.get("info") or {}
    files = status.get("files") or []
    if info.get("name") and torrent.get("mode") == "multi":
        return os.path.join(directory, info["name"])
    if files and files[0].get("path"):
        return str(files[0]["path"])
    return None


def paths_of(status: dict[str, Any]) -> list[Path]:
    """The files a download writes: its payload files and its control file."""
    if is_metadata(status):
        return []
    found = [Path(str(f["path"])) for f in status.get("files") or [] if f.get("path")]
    base = base_path(status)
    if base:
        found.append(Path(f"{base}.aria2"))
    return list(dict.fromkeys(found))


def _real(path: str | Path) -> Path:
    return Path(os.path.realpath(path))


def in_use(downloads: Iterable[dict[str, Any]], mine: set[str]) -> set[Path]:
    """Every path (resolved) a download other than `mine` uses; removed ones use none."""
    return {_real(p) for d in downloads
            if str(d.get("gid")) not in mine and d.get("status") != "removed"
            for p in paths_of(d)}


def delete_files(name: str, chain: Sequence[dict[str, Any]], others: set[Path],
                 roots: Sequence[Path]) -> None:
    """Delete what the downloads in `chain` wrote, except paths in `others`, then the
    folders that leaves empty (never a root, never a download's own directory)."""
    for status in chain:
        stop = {_real(r) for r in roots}
        if status.get("dir"):
            stop.add(_real(status["dir"]))
        for path in paths_of(status):
            if not roots or not is_within(path, roots) or _real(path) in stop:
                log.warning("%s: not deleting %s: outside the download roots", name, path)
                continue
            if _real(path) in others:
                log.info("%s: not deleting %s: another download uses it", name, path)
                continue
            if path.is_dir() and not path.is_symlink():
                log.warning("%s: not deleting %s: a folder, not a file", name, path)
                continue
            path.unlink(missing_ok=True)
            _prune(path.parent, stop, roots)


def _prune(folder: Path, stop: set[Path], roots: Sequence[Path]) -> None:
    """Remove `folder` and its parents while they are empty, inside the roots."""
    while is_within(folder, roots) and _real(folder) not in stop:
        try:
            folder.rmdir()
        except OSError:  # not empty (another download's files), or gone
            return
        folder = folder.parent
