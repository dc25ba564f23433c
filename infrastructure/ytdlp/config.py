"""The yt-dlp client's settings, checked once when the client is configured: where files
go (inside the download roots), where the job state lives, and what yt-dlp is asked for."""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

from core.errors import BadRequest
from infrastructure.clients.paths import confine

MERGE_FORMATS = frozenset({"avi", "flv", "mkv", "mov", "mp4", "webm"})
DEFAULT_TEMPLATE = "%(title).150B [%(id)s].%(ext)s"


def default_format(has_ffmpeg: bool) -> str:
    """Best video up to 1080p plus best audio, falling back to the best single file;
    without ffmpeg nothing can be merged, so single files only."""
    if has_ffmpeg:
        return "bv*[height<=1080]+ba/b[height<=1080]/bv*+ba/b"
    return "b[height<=1080]/b"


def _worker_command() -> tuple[str, ...]:
    return (sys.executable, "-m", "infrastructure.ytdlp.worker")


def check_template(template: str) -> str:
    """An output template that stays under the download directory: relative, no `..`."""
    if not template or "\x00" in template:
        raise ValueError("the yt-dlp output template must be non-empty, without NUL")
    if os.path.isabs(template) or template.startswith(("~", "\\")) or template[1:2] == ":":
        raise ValueError(f"the yt-dlp output template {template!r} must be relative")
    if ".." in template.replace("\\", "/").split("/"):
        raise ValueError(f"the yt-dlp output template {template!r} must not contain '..'")
    return template


@dataclass(frozen=True, slots=True)
class YtDlpConfig:
    directory: Path  # where files are saved (an item's save_under is appended)
    roots: tuple[Path, ...]  # every file written must resolve inside one of these
    state_dir: Path  # one job directory per download
    format: str | None = None  # None: default_format(ffmpeg is not None)
    merge_format: str = "mp4/mkv"
    subtitles: bool = False
    cookies_file: Path | None = None
    rate_limit: int | None = None  # bytes per second
    output_template: str = DEFAULT_TEMPLATE
    max_active: int = 2
    allow_private: bool = False
    ffmpeg: str | None = field(default_factory=lambda: shutil.which("ffmpeg"))
    worker_command: tuple[str, ...] = field(default_factory=_worker_command)
    # yt-dlp's own retries within one attempt; past them the job fails (transiently)
    # and the processor's retry starts it again, keeping its partial files.
    retries: int = 3

    def __post_init__(self) -> None:
        if not self.roots:
            raise ValueError("the yt-dlp client needs at least one download root")
        try:
            confine(str(self.directory), self.roots, "the yt-dlp download directory")
        except BadRequest as exc:
            raise ValueError(exc.message) from None
        if not self.state_dir.is_absolute():
            raise ValueError(f"the yt-dlp state directory {self.state_dir} must be absolute")
        check_template(self.output_template)
        merge = self.merge_format.split("/")
        if not all(m in MERGE_FORMATS for m in merge):
            raise ValueError(f"the merge format {self.merge_format!r} must be one or more of "
                             f"{', '.join(sorted(MERGE_FORMATS))}, separated by '/'")
        if self.format is not None and not self.format.strip():
            raise ValueError("the yt-dlp format must not be empty")
        if self.cookies_file is not None and not self.cookies_file.is_absolute():
            raise ValueError(f"the cookies file {self.cookies_file} must be an absolute path")
        if self.rate_limit is not None and self.rate_limit <= 0:
            raise ValueError("the yt-dlp rate limit must be a positive number of bytes/s")
        if self.max_active < 1:
            raise ValueError("the yt-dlp client needs max_active >= 1")
        if self.retries < 0:
            raise ValueError("the yt-dlp retries must be >= 0")
        if not self.worker_command:
            raise ValueError("the yt-dlp worker command must not be empty")

    @property
    def chosen_format(self) -> str:
        return self.format or default_format(self.ffmpeg is not None)


def ensure_directories(config: YtDlpConfig) -> None:
    """Create the download and state directories (at start-up, by the composition root).
    The client itself never creates them: one that vanished is a volume not mounted, and
    the client says it is unavailable instead of writing under the mount point."""
    config.directory.mkdir(parents=True, exist_ok=True)
    config.state_dir.mkdir(parents=True, exist_ok=True)
