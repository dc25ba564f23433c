"""What a video URL holds (one video, or a playlist's first entries), asked of yt-dlp in a
process of its own behind the private-address guard.

`python -m infrastructure.ytdlp.probe` reads one JSON request on stdin (`url`, `limit`,
`allow_private`, `cookies_file`) and prints one JSON object: a `VideoListing`, or
`{"error": text, "permanent": bool}`. `Prober` runs it from the event loop, with a time
limit, and turns the answer into a `VideoListing` or a `SourceRefused`/`SourceUnavailable`.
The guard replaces `socket.getaddrinfo` for the whole process, which is why this runs apart.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import os
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from core.errors import SourceRefused, SourceUnavailable
from core.videos import VideoEntry, VideoListing
from infrastructure.ytdlp.failures import classify
from infrastructure.ytdlp.sites import NAME_IDS, YtDlpSites, key_of, media_url

DEFAULT_TIMEOUT = 60.0
# yt-dlp's HTTP errors that will not pass by asking again later.


class _Quiet:
    """yt-dlp's logger: nothing on the terminal (errors reach us as exceptions)."""

    def debug(self, msg: str) -> None: ...
    def info(self, msg: str) -> None: ...
    def warning(self, msg: str) -> None: ...
    def error(self, msg: str) -> None: ...


def extract(url: str, limit: int, cookies_file: str | None) -> dict[str, Any]:
    """yt-dlp's flat extraction of `url`, asking for one entry past the cap (to know whether
    the cap cut the playlist)."""
    from yt_dlp import YoutubeDL  # type: ignore[import-untyped]

    options: dict[str, Any] = {
        "extract_flat": "in_playlist", "skip_download": True, "quiet": True,
        "no_warnings": True, "noplaylist": False, "playlistend": limit + 1,
        "logger": _Quiet(), "socket_timeout": 20,
    }
    if cookies_file:
        options["cookiefile"] = cookies_file
    with YoutubeDL(options) as ydl:
        info = ydl.extract_info(url, download=False)
    return dict(info or {})


def entry_url(entry: Mapping[str, Any]) -> str | None:
    """The URL that, handed to yt-dlp on its own, downloads this entry: a reference's URL, an
    HTML5 `<video>`'s media (its page would be the whole playlist again), else its page."""
    if entry.get("_type") in ("url", "url_transparent"):
        return str(entry["url"])
    if str(entry.get("extractor_key") or "").lower() in NAME_IDS:
        return media_url(entry)
    page = entry.get("webpage_url") or entry.get("original_url")
    return str(page) if page else media_url(entry)


def listing_of(info: Mapping[str, Any], url: str, limit: int,
               sites: YtDlpSites | None = None) -> VideoListing:
    """The listing yt-dlp's info describes: at most `limit` entries; `found` is the playlist's
    size when yt-dlp knows it, else the entries seen (limit + 1 when the cap cut it)."""
    title = info.get("title")
    if info.get("_type") not in ("playlist", "multi_video"):
        page = str(info.get("webpage_url") or url)
        entry = VideoEntry(page, title, key_of(info))
        return VideoListing(title, entry.key, url, (entry,), False, 1)
    sites = sites or YtDlpSites()
    entries: list[VideoEntry] = []
    seen = [e for e in info.get("entries") or () if e]  # None: an entry yt-dlp could not read
    for entry in seen[:limit]:
        target = entry_url(entry)
        if target is None:
            continue
        key = key_of(entry)
        if key is None:
            match = sites.match(target)
            key = match.key if match else None
        entries.append(VideoEntry(target, entry.get("title"), key))
    found = max(int(info.get("playlist_count") or 0), len(seen))
    return VideoListing(title, key_of(info), str(info.get("webpage_url") or url),
                        tuple(entries), True, found)


def answer(request: Mapping[str, Any]) -> dict[str, Any]:
    """The probe's JSON answer to one request (the guard already installed)."""
    url = str(request["url"])
    limit = max(1, int(request.get("limit") or 1))
    try:
        info = extract(url, limit, request.get("cookies_file"))
    except Exception as exc:  # the process boundary: every failure is an answer
        text, permanent = classify(exc)
        return {"error": text, "permanent": permanent}
    return dataclasses.asdict(listing_of(info, url, limit))


def main() -> None:
    # Whatever yt-dlp or a library prints must not mix with the answer: stdout is kept for
    # the answer alone and fd 1 goes to stderr while yt-dlp runs.
    out = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    request = json.loads(sys.stdin.read())
    from infrastructure.ytdlp.guard import install

    install(bool(request.get("allow_private")))
    result = answer(request)
    out.write(json.dumps(result, default=str) + "\n")
    out.flush()


class Prober:
    """Asks a probe process what a URL holds, from the event loop (one process a call)."""

    def __init__(self, *, allow_private: bool, cookies_file: str | None = None,
                 timeout: float = DEFAULT_TIMEOUT,
                 python_command: Sequence[str] | None = None) -> None:
        self.allow_private = allow_private
        self.cookies_file = cookies_file
        self.timeout = timeout
        self.command = (*(python_command or (sys.executable,)),
                        "-m", "infrastructure.ytdlp.probe")

    async def probe(self, url: str, limit: int) -> VideoListing:
        """What `url` holds, at most `limit` entries; SourceRefused when it never will be
        fetched (missing, unsupported, private address), SourceUnavailable when it may."""
        request = json.dumps({"url": url, "limit": limit, "allow_private": self.allow_private,
                              "cookies_file": self.cookies_file}).encode()
        process = await asyncio.create_subprocess_exec(
            *self.command, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE)
        try:
            stdout, stderr = await asyncio.wait_for(process.communicate(request), self.timeout)
        except TimeoutError:
            raise SourceUnavailable(f"probing {url} took more than {self.timeout:g} s") from None
        finally:
            if process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                await process.wait()
        try:
            result = json.loads(stdout)
        except ValueError:
            tail = stderr.decode(errors="replace").strip()[-500:]
            raise SourceUnavailable(
                f"the probe of {url} failed (exit {process.returncode}): {tail}") from None
        if "error" in result:
            error = SourceRefused if result.get("permanent") else SourceUnavailable
            raise error(str(result["error"]))
        return VideoListing(
            result["title"], result["key"], result["url"],
            tuple(VideoEntry(e["url"], e["title"], e["key"]) for e in result["entries"]),
            bool(result["playlist"]), int(result["found"]))


if __name__ == "__main__":
    main()
