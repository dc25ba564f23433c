"""One yt-dlp download in a process of its own: `python -m infrastructure.ytdlp.worker
JOB_DIR`. It reads `job.json`, installs the private-address guard before anything
connects, downloads one video with yt-dlp as a library and reports in `status.json`
(see jobs.py). Exit codes: 0 completed, 1 failed, 3 another worker holds the job.

ffmpeg and other external programs never fetch a URL here: they would resolve names
themselves, outside the guard. yt-dlp's native downloaders do all fetching; ffmpeg only
merges and remuxes local files."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

from infrastructure.clients.paths import is_within
from infrastructure.ytdlp import guard
from infrastructure.ytdlp.failures import classify
from infrastructure.ytdlp.jobs import FINAL, Job, Phase, Status, read_job, take_lock, write_status

WRITE_EVERY = 0.5  # seconds between progress writes; transitions are written at once
NO_EXTERNAL = "yt-dlp would hand this download to an external program (ffmpeg, rtmpdump)"


class Reporter:
    """Keeps the job's Status and writes it: throttled while bytes arrive, at once on a
    transition. A write that fails (the state volume went away) is skipped: the download
    goes on, and the adapter restarts the job if the final status is lost."""

    def __init__(self, job_dir: Path) -> None:
        self.job_dir = job_dir
        self.status = Status(Phase.DOWNLOADING, pid=os.getpid())
        self._written = 0.0
        self._parts: dict[str, tuple[int, int]] = {}  # format id -> (downloaded, total)
        self._estimates: dict[str, int] = {}  # format id -> size announced by the site

    def write(self, now: bool = True) -> None:
        if not now and time.monotonic() - self._written < WRITE_EVERY:
            return
        self._written = time.monotonic()
        try:
            write_status(self.job_dir, self.status)
        except OSError as exc:
            print(f"status not written: {exc}", file=sys.stderr)

    def planned(self, info: dict[str, Any], output: str) -> None:
        formats = info.get("requested_formats") or [info]
        for f in formats:
            size = f.get("filesize") or f.get("filesize_approx")
            self._estimates[str(f.get("format_id"))] = int(size or 0)
        self.status.title = info.get("title")
        self.status.output = output
        self.name(output)
        self._sum()
        self.write()

    def name(self, path: str | None) -> None:
        if path and path not in self.status.files:
            self.status.files.append(path)

    def _sum(self) -> None:
        keys = set(self._estimates) | set(self._parts)
        self.status.downloaded = sum(self._parts.get(k, (0, 0))[0] for k in keys)
        self.status.total = sum(self._parts[k][1] if self._parts.get(k, (0, 0))[1]
                                else self._estimates.get(k, 0) for k in keys)

    def progress(self, d: dict[str, Any]) -> None:
        fresh = d.get("filename") not in self.status.files
        self.name(d.get("filename"))
        self.name(d.get("tmpfilename"))
        key = str((d.get("info_dict") or {}).get("format_id"))
        total = int(d.get("total_bytes") or d.get("total_bytes_estimate") or 0)
        done = int(d.get("downloaded_bytes") or 0)
        if d.get("status") == "finished":
            total = total or done
            done = total
        self._parts[key] = (done, total)
        self._sum()
        self.status.speed = int(d.get("speed") or 0)
        eta = d.get("eta")
        self.status.eta = int(eta) if eta is not None else None
        self.write(now=fresh or d.get("status") != "downloading")

    def postprocessing(self, d: dict[str, Any]) -> None:
        if d.get("status") == "started" and self.status.state is not Phase.POSTPROCESSING:
            self.status.state = Phase.POSTPROCESSING
            self.status.speed, self.status.eta = 0, None
            self.write()

    def final(self, state: Phase, *, error: str | None = None, permanent: bool = False,
              output: str | None = None) -> None:
        assert state in FINAL
        self.status.state = state
        self.status.error, self.status.permanent = error, permanent
        self.status.speed, self.status.eta = 0, None
        if output is not None:
            self.status.output = output
            self.name(output)
        if state is Phase.COMPLETED:
            self.status.downloaded = self.status.total = max(
                self.status.total, _size(self.status.output))
        self.write()


def _size(path: str | None) -> int:
    try:
        return os.path.getsize(path) if path else 0
    except OSError:
        return 0


def ydl_options(job: Job, reporter: Reporter) -> dict[str, Any]:
    o = job.options
    params: dict[str, Any] = {
        "format": o["format"],
        "merge_output_format": o["merge_format"],
        "paths": {"home": job.directory},
        "outtmpl": {"default": o["output_template"]},
        "restrictfilenames": False,
        "windowsfilenames": True,
        "continuedl": True,
        "noprogress": True,
        "quiet": True,
        "no_warnings": False,
        "noplaylist": True,
        "extract_flat": "in_playlist",  # a playlist is refused, never walked
        "hls_prefer_native": True,
        "external_downloader": {"default": "native"},
        "retries": o.get("retries", 3),
        "fragment_retries": o.get("retries", 3),
        "progress_hooks": [reporter.progress],
        "postprocessor_hooks": [reporter.postprocessing],
    }
    if o.get("ffmpeg"):
        params["ffmpeg_location"] = o["ffmpeg"]
    if o.get("subtitles"):
        params["writesubtitles"] = True
        params["subtitleslangs"] = ["all", "-live_chat"]
    if o.get("cookies_file"):
        params["cookiefile"] = o["cookies_file"]
    if o.get("rate_limit"):
        params["ratelimit"] = int(o["rate_limit"])
    return params


def _refuse_external_fetchers() -> None:
    """ffmpeg (live HLS/DASH, formats the native downloaders cannot take) and rtmpdump
    would fetch the URL themselves: refuse those downloads (permanently)."""
    from yt_dlp.downloader.external import FFmpegFD  # type: ignore[import-untyped]
    from yt_dlp.downloader.rtmp import RtmpFD  # type: ignore[import-untyped]

    def refuse(self: Any, filename: str, info_dict: dict[str, Any]) -> bool:
        raise guard.PrivateTarget(f"{NO_EXTERNAL}; refused: it would bypass the "
                                  f"{guard.REFUSED} guard")

    FFmpegFD.real_download = refuse
    RtmpFD.real_download = refuse


def download(job: Job, reporter: Reporter) -> str:
    """Download the job's video; the final file's path."""
    import yt_dlp  # type: ignore[import-untyped]

    _refuse_external_fetchers()
    with yt_dlp.YoutubeDL(ydl_options(job, reporter)) as ydl:
        info = ydl.extract_info(job.url, download=False)
        if info is None:
            raise RuntimeError("yt-dlp found nothing to download")
        if info.get("_type") in ("playlist", "multi_video"):
            count = len(list(info.get("entries") or []))
            raise RuntimeError(f"{job.url} is a playlist of {count} videos; one job is "
                               "one video: grab its entries one by one")
        reporter.planned(info, ydl.prepare_filename(info))
        done = ydl.process_ie_result(info, download=True)
    downloads = (done or {}).get("requested_downloads") or []
    if not downloads or not downloads[0].get("filepath"):
        raise RuntimeError("yt-dlp reported no downloaded file")
    return str(downloads[0]["filepath"])


def run(job_dir: Path) -> int:
    lock = take_lock(job_dir)
    if lock is None:
        return 3
    job = read_job(job_dir)
    if job is None:
        print(f"no readable job in {job_dir}", file=sys.stderr)
        return 1
    guard.install(job.allow_private)
    reporter = Reporter(job_dir)
    reporter.write()
    roots = [Path(r) for r in job.roots]
    try:
        output = download(job, reporter)
        if not is_within(output, roots):
            Path(output).unlink(missing_ok=True)
            raise RuntimeError(f"yt-dlp wrote {output!r}, outside the download roots")
    except BaseException as exc:  # the job boundary: every failure is reported
        if isinstance(exc, KeyboardInterrupt | SystemExit):
            raise
        text, permanent = classify(exc)
        print(f"failed: {text}", file=sys.stderr)
        reporter.final(Phase.FAILED, error=text, permanent=permanent)
        return 1
    reporter.final(Phase.COMPLETED, output=output)
    return 0


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m infrastructure.ytdlp.worker JOB_DIR", file=sys.stderr)
        return 2
    return run(Path(argv[1]))


if __name__ == "__main__":
    sys.exit(main(sys.argv))
