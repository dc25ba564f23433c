"""Save paths confined to the configured download roots.

A save path or directory handed to a client is a write-anywhere primitive (aria2's
`dir`, qBittorrent's `savepath`), and deleting files for aria2 is ours to do: both only
ever happen inside a configured root, checked after resolving symlinks.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Sequence
from pathlib import Path

from core.errors import BadRequest

_DRIVE_OR_UNC = re.compile(r"^(?:[A-Za-z]:|\\\\|//)")


def _resolved(path: str | Path) -> Path:
    return Path(os.path.realpath(str(path)))


def is_within(path: str | Path, roots: Sequence[Path]) -> bool:
    """Whether `path`, symlinks resolved, is one of the roots or inside one."""
    target = _resolved(path)
    for root in roots:
        base = _resolved(root)
        if target == base or base in target.parents:
            return True
    return False


def confine(value: str, roots: Sequence[Path], what: str = "path") -> str:
    """`value` as an absolute path inside a root, or BadRequest saying why not."""
    if not value or "\x00" in value:
        raise BadRequest(f"{what} must be a non-empty path without NUL characters")
    if value.startswith("~") or _DRIVE_OR_UNC.match(value):
        raise BadRequest(f"{what} {value!r}: no '~', drive letters or UNC paths")
    parts = value.replace("\\", "/").split("/")
    if ".." in parts:
        raise BadRequest(f"{what} {value!r} must not contain '..'")
    if not os.path.isabs(value):
        raise BadRequest(f"{what} {value!r} must be an absolute path")
    if not roots:
        raise BadRequest(f"{what} {value!r}: no download roots are configured")
    if not is_within(value, roots):
        allowed = ", ".join(str(r) for r in roots)
        raise BadRequest(f"{what} {value!r} is outside the download roots ({allowed})")
    return os.path.normpath(value)


def subdirectory(base: str, name: str, roots: Sequence[Path]) -> str:
    """`name`, one plain directory name (an item's `save_under`), under `base`; a
    BadRequest if it is not plain or, with roots configured, leaves them."""
    if not name or name in (".", "..") or any(c in name for c in "/\\\x00:~"):
        raise BadRequest(f"{name!r} is not a plain directory name")
    path = os.path.join(base, name)
    if roots and not is_within(path, roots):
        allowed = ", ".join(str(r) for r in roots)
        raise BadRequest(f"{path!r} is outside the download roots ({allowed})")
    return path


def disk_usage(path: str | Path) -> tuple[int, int] | None:
    """(free, total) bytes of the file system that holds `path`, or would hold it: the
    nearest existing parent is measured. None when it cannot be read."""
    where = Path(path)
    while not where.exists() and where != where.parent:
        where = where.parent
    try:
        total, _, free = shutil.disk_usage(where)
    except OSError:
        return None
    return free, total
