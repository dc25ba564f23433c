"""A small video site on loopback for the yt-dlp tests, with real media made by ffmpeg.

`make_media` encodes, once per session, a short clip, a bigger clip (for slow transfers), a
third video in WebM and an HLS rendition. `MediaSite` serves them (GET, HEAD, single Range)
beside HTML pages that yt-dlp's *generic* extractor understands (`<video>` elements), plus
the awkward cases a download client must survive: a 404, a redirect, a transfer that drops
half way, and a throttled one.
"""

from __future__ import annotations

import contextlib
import hashlib
import html
import http.server
import itertools
import re
import socket
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO
from urllib.parse import unquote, urlsplit

from tests.conftest import require_binary

FFMPEG = "ffmpeg"
CLIP, BIG, THIRD, HLS_PLAYLIST = "clip.mp4", "big.mp4", "third.webm", "hls/index.m3u8"
DEFAULT_SLOW_RATE = 256 * 1024  # bytes per second

_LAVFI = ("-f", "lavfi", "-i")
_H264_AAC = ("-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
             "-c:a", "aac", "-b:a", "64k", "-shortest")
# What to encode: output name -> ffmpeg arguments between the inputs and the output path.
_RECIPES: dict[str, tuple[str, ...]] = {
    CLIP: (*_LAVFI, "testsrc=size=320x240:rate=25:duration=3",
           *_LAVFI, "sine=frequency=440:duration=3",
           *_H264_AAC, "-b:v", "400k", "-movflags", "+faststart"),
    # Noise keeps x264 from compressing the pattern away: the file must be a few MB.
    BIG: (*_LAVFI, "testsrc=size=320x240:rate=25:duration=10",
          *_LAVFI, "sine=frequency=660:duration=10", "-vf", "noise=alls=40:allf=t",
          *_H264_AAC, "-b:v", "4M", "-movflags", "+faststart"),
    THIRD: (*_LAVFI, "smptebars=size=320x240:rate=25:duration=3",
            *_LAVFI, "sine=frequency=880:duration=3",
            "-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "300k",
            "-c:a", "libopus", "-b:a", "48k", "-shortest"),
    HLS_PLAYLIST: (*_LAVFI, "testsrc2=size=320x240:rate=25:duration=4",
                   *_LAVFI, "sine=frequency=550:duration=4", *_H264_AAC, "-g", "25",
                   "-f", "hls", "-hls_time", "1", "-hls_playlist_type", "vod",
                   "-hls_segment_filename", "{dir}/seg-%d.ts"),
}

CONTENT_TYPES = {".mp4": "video/mp4", ".webm": "video/webm",
                 ".m3u8": "application/vnd.apple.mpegurl", ".ts": "video/mp2t",
                 ".html": "text/html; charset=utf-8"}


@dataclass(frozen=True)
class Served:
    """A media file: its name (its path on the site, e.g. `hls/seg-0.ts`), where it is on
    disk, its size and its sha256."""

    name: str
    path: Path
    size: int
    sha256: str


def require_ffmpeg() -> str:
    """The path of ffmpeg, or skip (fail under CI=true) when it is not installed."""
    return require_binary(FFMPEG)


def make_media(directory: Path, ffmpeg: str) -> dict[str, Served]:
    """Encode every recipe into `directory`; every file made (HLS segments too), by name."""
    for name, recipe in _RECIPES.items():
        output = directory / name
        output.parent.mkdir(parents=True, exist_ok=True)
        arguments = [part.replace("{dir}", str(output.parent)) for part in recipe]
        done = subprocess.run([ffmpeg, "-v", "error", "-nostdin", "-y", *arguments, str(output)],
                              capture_output=True, text=True, timeout=120, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"ffmpeg could not make {name}:\n{done.stderr}")
    return {path.relative_to(directory).as_posix(): _served(directory, path)
            for path in sorted(directory.rglob("*")) if path.is_file()}


def _served(directory: Path, path: Path) -> Served:
    data = path.read_bytes()
    return Served(path.relative_to(directory).as_posix(), path, len(data),
                  hashlib.sha256(data).hexdigest())


_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """(first, last) byte of a single Range, None to send the whole file (no Range, or one
    this server does not understand, which HTTP lets it ignore). Raises ValueError when the
    range is not satisfiable."""
    match = _RANGE.match((header or "").strip())
    if match is None or match.groups() == ("", ""):
        return None
    first, last = match.groups()
    if first == "":  # a suffix: the last N bytes
        start, end = max(size - int(last), 0), size - 1
    else:
        start, end = int(first), min(int(last), size - 1) if last else size - 1
    if start >= size or start > end:
        raise ValueError(f"bytes {header} of {size}")
    return start, end


class MediaSite:
    """The site, started when built: `requests` records (method, path, Range header) of every
    request in order; the `*_url` attributes are absolute URLs of its pages.

    `/<name>` serves `files[name]`; `/drop/<name>` serves it so that the first GET from the
    start (no Range, or `bytes=0-`) sends half the body it announced and closes;
    `/slow/<name>` serves it at `slow_rate` bytes/s (counting its writes in `slow_writes`).
    """

    def __init__(self, files: dict[str, Served]) -> None:
        self.files = dict(files)
        self.requests: list[tuple[str, str, str | None]] = []
        self.slow_rate = DEFAULT_SLOW_RATE
        self.slow_writes = 0
        self._pages: dict[str, bytes] = {}
        self._redirects: dict[str, str] = {}
        self._numbers = itertools.count(1)
        self._lock = threading.Lock()
        self._drop_armed = True
        self._closing = threading.Event()
        self._connections: set[socket.socket] = set()
        self._server = _MediaHTTPServer(("127.0.0.1", 0), _MediaHandler)
        self._server.site = self
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self.video_page_url = self._add_page("/video.html", "A clip", _video(CLIP))
        self.three_videos_url = self._add_page(
            "/three.html", "Three clips", "".join(_video(name) for name in (CLIP, BIG, THIRD)))
        self.hls_url = f"{self.url}/{HLS_PLAYLIST}"
        self.hls_page_url = self._add_page(
            "/hls.html", "A stream", f'<video controls><source src="{HLS_PLAYLIST}" '
            'type="application/x-mpegURL"></video>')
        self.missing_url = f"{self.url}/missing.html"
        self.dropping_url = self._add_page("/dropping.html", "A dropping clip",
                                           _video(f"drop/{CLIP}"))
        self.slow_url = self._add_page("/slow.html", "A slow clip", _video(f"slow/{BIG}"))
        self._thread = threading.Thread(target=self._server.serve_forever, name="media-site",
                                        kwargs={"poll_interval": 0.1}, daemon=True)
        self._thread.start()

    def page(self, title: str, html_body: str) -> str:
        """Add a page titled `title` whose body is `html_body`; return its URL."""
        return self._add_page(f"/pages/{next(self._numbers)}.html", title, html_body)

    def redirect_url(self, target: str) -> str:
        """A URL that answers 302 to `target`."""
        path = f"/redirect/{next(self._numbers)}"
        self._redirects[path] = target
        return self.url + path

    def reset_drop(self) -> None:
        """Make the next GET from the start of a `/drop/` file drop half way again."""
        with self._lock:
            self._drop_armed = True

    def take_drop(self) -> bool:
        """Whether this GET is the one to drop (disarming the drop if so)."""
        with self._lock:
            armed, self._drop_armed = self._drop_armed, False
        return armed

    def count_slow_write(self) -> None:
        with self._lock:
            self.slow_writes += 1

    def close(self) -> None:
        """Stop serving and cut every open connection (a throttled transfer included)."""
        if self._closing.is_set():
            return
        self._closing.set()
        self._server.shutdown()
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):  # already closed by its client
                connection.shutdown(socket.SHUT_RDWR)
        self._server.server_close()
        self._thread.join(timeout=5)

    def _add_page(self, path: str, title: str, body: str) -> str:
        self._pages[path] = (f"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
                             f"<title>{html.escape(title)}</title></head>\n"
                             f"<body>\n{body}\n</body></html>\n").encode()
        return self.url + path

    def __enter__(self) -> MediaSite:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()


def _video(src: str) -> str:
    return f'<video controls src="{html.escape(src)}"></video>'


class _MediaHTTPServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    site: MediaSite

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hangs up (yt-dlp closing a kept-alive connection, or close()) is
        # normal here; anything else is a bug of the site and is printed.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _MediaHandler(http.server.BaseHTTPRequestHandler):
    server: _MediaHTTPServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # keep pytest output clean
        pass

    def setup(self) -> None:
        super().setup()
        with self.server.site._lock:
            self.server.site._connections.add(self.connection)

    def finish(self) -> None:
        with self.server.site._lock:
            self.server.site._connections.discard(self.connection)
        super().finish()

    def do_HEAD(self) -> None:
        self._answer(body=False)

    def do_GET(self) -> None:
        self._answer(body=True)

    def _answer(self, body: bool) -> None:
        site = self.server.site
        wanted = self.headers.get("Range")
        site.requests.append((self.command, self.path, wanted))
        path = unquote(urlsplit(self.path).path)
        if path in site._pages:
            self._send(200, ".html", site._pages[path], body)
        elif path in site._redirects:
            self.send_response(302)
            self.send_header("Location", site._redirects[path])
            self.send_header("Content-Length", "0")
            self.end_headers()
        else:
            mode, _, name = path.lstrip("/").partition("/")
            if mode not in ("drop", "slow"):
                mode, name = "", path.lstrip("/")
            if name not in site.files:
                self._send(404, ".html", b"<html><body>Not found</body></html>\n", body)
            else:
                self._file(site.files[name], mode, wanted, body)

    def _file(self, served: Served, mode: str, wanted: str | None, body: bool) -> None:
        try:
            span = parse_range(wanted, served.size)
        except ValueError:
            self.send_response(416)
            self.send_header("Content-Range", f"bytes */{served.size}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        start, end = span or (0, served.size - 1)
        self.send_response(200 if span is None else 206)
        self.send_header("Content-Type", CONTENT_TYPES.get(served.path.suffix, "video/mp4"))
        self.send_header("Content-Length", str(end - start + 1))
        self.send_header("Accept-Ranges", "bytes")
        if span is not None:
            self.send_header("Content-Range", f"bytes {start}-{end}/{served.size}")
        self.end_headers()
        if not body:
            return
        length = end - start + 1
        site = self.server.site
        if mode == "drop" and start == 0 and end == served.size - 1 and site.take_drop():
            # Half the announced body, then end the connection: the client sees it cut short.
            length = length // 2
            self.close_connection = True
        with served.path.open("rb") as handle:
            handle.seek(start)
            try:
                if mode == "slow":
                    self._paced(handle, length)
                else:
                    self.wfile.write(handle.read(length))
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True

    def _paced(self, handle: BinaryIO, length: int) -> None:
        """Write `length` bytes at `site.slow_rate` (read again before each write, so a test
        can speed a transfer up), in about sixteen writes a second."""
        site = self.server.site
        while length > 0:
            rate = max(1, site.slow_rate)
            chunk = handle.read(min(length, max(1, rate // 16)))
            site.count_slow_write()  # before the write: a reader with every byte sees it
            self.wfile.write(chunk)
            length -= len(chunk)
            if site._closing.wait(len(chunk) / rate):
                self.close_connection = True
                return

    def _send(self, status: int, suffix: str, content: bytes, body: bool) -> None:
        self.send_response(status)
        self.send_header("Content-Type", CONTENT_TYPES[suffix])
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        if body:
            self.wfile.write(content)
