"""The container conventions every *arr image honours (linuxserver.io's PUID, PGID, UMASK
and TZ), applied by the `queuarr` command before it writes anything. They are read from
the environment as they are, without the QUEUARR_ prefix, because that is where a
compose file or `docker run -e` puts them.

Started as root with PUID set, Queuarr gives its data dir (all of it: it holds only
Queuarr's own state) and the download dir itself (not what is in it: the media belong to
the user and to other apps) to PUID:PGID, then drops to them for good. Nothing is written
to /etc, so any uid works. Started as someone else, a PUID that is not ours is reported
and ignored, as other images do."""

from __future__ import annotations

import logging
import os
import stat
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from infrastructure.private_files import private_dir

MAX_ID = 2**32 - 2  # (uid_t)-1 means "unchanged" to the kernel
UTC_NAMES = frozenset({"UTC", "Etc/UTC", "GMT", "Etc/GMT", "UCT", "Zulu", "Universal"})

Note = tuple[int, str]  # (logging level, message): logged once logging is configured


class RunAsError(ValueError):
    """PUID, PGID or UMASK cannot be used as given."""


@dataclass(frozen=True)
class RunAs:
    uid: int | None
    gid: int | None
    umask: int | None
    tz: str | None


def read(environ: Mapping[str, str]) -> RunAs:
    """The four variables, checked; empty counts as unset. PGID defaults to PUID; a PGID
    without a PUID is refused, since it cannot be applied alone."""
    uid = _id(environ, "PUID")
    gid = _id(environ, "PGID")
    if gid is not None and uid is None:
        raise RunAsError(f"PGID={gid} is set without PUID: set both (or neither)")
    raw_umask = environ.get("UMASK", "").strip()
    umask = None
    if raw_umask:
        try:
            umask = int(raw_umask, 8)
        except ValueError:
            umask = -1
        if not 0 <= umask <= 0o777:
            raise RunAsError(f"UMASK={raw_umask!r} is not an octal mask such as 022 or 002")
    tz = environ.get("TZ", "").strip() or None
    return RunAs(uid, uid if gid is None else gid, umask, tz)


def _id(environ: Mapping[str, str], name: str) -> int | None:
    raw = environ.get(name, "").strip()
    if not raw:
        return None
    if not raw.isdigit() or int(raw) > MAX_ID:
        raise RunAsError(f"{name}={raw!r} is not a numeric id (0 to {MAX_ID})")
    return int(raw)


def apply(wanted: RunAs, data_dir: Path, download_dir: Path,
          roots: Sequence[Path] = ()) -> list[Note]:
    """Apply the umask and the time zone, then, as root with PUID set, hand over
    `data_dir` (its tree, leaving out any of `roots` inside it) and `download_dir` (the
    directory alone), creating them if missing, and drop to PUID:PGID. What a person
    should know comes back as notes."""
    notes: list[Note] = []
    if wanted.umask is not None:
        os.umask(wanted.umask)
    if wanted.tz is not None:
        notes += _time_zone(wanted.tz)
    if wanted.uid is None or wanted.gid is None:
        return notes
    uid, gid = wanted.uid, wanted.gid
    if os.geteuid() != 0:
        if (uid, gid) != (os.getuid(), os.getgid()):
            notes.append((logging.WARNING, f"PUID={uid} PGID={gid} ignored: Queuarr was "
                          f"started as uid {os.getuid()} gid {os.getgid()}, not as root, "
                          "so it cannot change user"))
        return notes
    if uid == 0:
        notes.append((logging.WARNING, "PUID=0: Queuarr runs as root (a downloader "
                      "reachable from the network had better not)"))
    notes += _hand_over(data_dir, download_dir, roots, uid, gid)
    _drop(uid, gid)
    home = os.environ.get("HOME", "")
    if not home or not os.access(home, os.W_OK | os.X_OK):
        os.environ["HOME"] = str(data_dir.resolve())  # yt-dlp's cache and the like
    return notes


def _time_zone(tz: str) -> list[Note]:
    """Make the process's local time (log times included) follow TZ now."""
    os.environ["TZ"] = tz
    time.tzset()
    name = tz.removeprefix(":")
    zones = Path(os.environ.get("TZDIR") or "/usr/share/zoneinfo")
    posix_rule = "/" not in name and any(c.isdigit() for c in name)  # CET-1CEST, UTC0
    if name in UTC_NAMES or posix_rule or (zones / name).is_file():
        return []
    return [(logging.WARNING, f"TZ={tz}: no such zone in {zones} (a misspelt name, or "
             "tzdata is not installed): local time is UTC")]


def _hand_over(data_dir: Path, download_dir: Path, roots: Sequence[Path],
               uid: int, gid: int) -> list[Note]:
    data_dir, download_dir = data_dir.resolve(), download_dir.resolve()
    private_dir(data_dir)
    download_dir.mkdir(parents=True, exist_ok=True)
    keep_out = {download_dir, *(root.resolve() for root in roots)}
    notes: list[Note] = []
    changed = 0
    for directory, subdirs, files in os.walk(data_dir):  # symlinks are not followed
        here = Path(directory)
        subdirs[:] = [d for d in subdirs if here / d not in keep_out]
        for path in (here, *(here / name for name in files)):
            changed += _give(path, uid, gid, notes)
    changed += _give(download_dir, uid, gid, notes)
    if changed:
        notes.append((logging.INFO, f"Gave {changed} files and directories in {data_dir} "
                      f"and {download_dir} to {uid}:{gid}"))
    return notes


def _give(path: Path, uid: int, gid: int, notes: list[Note]) -> int:
    """1 when `path` changed owner. Symlinks are left alone, and so are files with other
    hard links: root following a link planted in the data dir would hand over whatever
    it points to (/etc/shadow)."""
    try:
        info = path.lstat()
        if stat.S_ISLNK(info.st_mode) or (info.st_uid, info.st_gid) == (uid, gid):
            return 0
        if not stat.S_ISDIR(info.st_mode) and info.st_nlink > 1:
            notes.append((logging.WARNING, f"{path} has other hard links: left as it is"))
            return 0
        os.chown(path, uid, gid, follow_symlinks=False)
    except OSError as exc:  # NFS with root_squash, a read-only mount: say so, go on
        notes.append((logging.WARNING, f"Could not give {path} to {uid}:{gid}: "
                      f"{exc.strerror or exc}"))
        return 0
    return 1


def _drop(uid: int, gid: int) -> None:
    """Groups first, then the gid, then the uid: once the uid is not root, the others
    can no longer be changed."""
    os.setgroups([gid])
    os.setgid(gid)
    os.setuid(uid)
    if uid != 0:
        try:
            os.setuid(0)
        except PermissionError:
            return
        raise RuntimeError("root could be regained after dropping privileges")


def run_as(environ: Mapping[str, str], data_dir: Path, download_dir: Path,
           roots: Sequence[Path] = ()) -> list[Note]:
    """read() then apply(): what `queuarr` calls first."""
    return apply(read(environ), data_dir, download_dir, roots)
