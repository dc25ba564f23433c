"""Video grabs and the yt-dlp client (issue 15's closing figures): `python -m bench --only
videos [--quick]` (or `python -m bench.videos`); see bench/README.md. Everything is
loopback: the media are made with ffmpeg and served by the tests' local video site
(tests/ytdlp/media.py). No targets: each figure is a ratio against a bare reference
measured in the same run.

1. **Download.** A 5 MB video page downloaded by the YtDlpClient (a worker process,
   status files, supervision; from add() to COMPLETED read through statuses(), polled
   every 50 ms) vs bare `yt_dlp.YoutubeDL(...).download([url])` in a fresh `python -c`
   process (the same yt-dlp start-up, no Queuarr). Median of the repeats.
2. **Probe.** A page of three videos read by the Prober (a guarded process, JSON out) vs
   the bare `yt_dlp` flat extraction of the same page in a fresh process.
3. **Grab.** QueueService.take of N YouTube URLs (each a new video: the offline
   extractor match and key, no network) vs N magnets through the same service (memory
   store, the same video router and clients): CPU per grab and the ratio; then the N
   other URL forms of the same videos refused as duplicates (409 before any fetch)."""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.procs import cpu_model
from bench.report import _num, _table, narrator, publish, ratio, write_section
from core.clients import ClientConfig, ClientKind, ClientState
from core.domain import SourceKind
from core.errors import Duplicate
from core.grab import GrabRequest
from core.service import QueueService
from infrastructure.bootstrap import Stores, assemble
from infrastructure.clock import SystemClock
from infrastructure.settings import Settings
from infrastructure.ytdlp.client import YtDlpClient
from infrastructure.ytdlp.config import YtDlpConfig, ensure_directories
from infrastructure.ytdlp.probe import Prober
from tests.clients.harness import queue_item
from tests.ytdlp.media import BIG, MediaSite, make_media, require_ffmpeg

SECTION_START = "<!-- videos:start -->"
SECTION_END = "<!-- videos:end -->"

BARE_DOWNLOAD = """
import sys, yt_dlp
with yt_dlp.YoutubeDL({"quiet": True, "noprogress": True, "paths": {"home": sys.argv[2]},
                       "outtmpl": {"default": "%(id)s.%(ext)s"}}) as ydl:
    ydl.download([sys.argv[1]])
"""
BARE_PROBE = """
import json, sys, yt_dlp
with yt_dlp.YoutubeDL({"quiet": True, "extract_flat": "in_playlist"}) as ydl:
    print(json.dumps(len(list(ydl.extract_info(sys.argv[1], download=False)["entries"]))))
"""


def _timed(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    return time.perf_counter() - started


async def _client_download(url: str, root: Path, n: int) -> float:
    config = YtDlpConfig(directory=root / f"client-{n}", roots=(root,),
                         state_dir=root / f"state-{n}", allow_private=True)
    ensure_directories(config)
    client = YtDlpClient("yt-dlp", config)
    item = queue_item(SourceKind.VIDEO, url=url)
    started = time.perf_counter()
    download_id = await client.add(item, None)
    while True:
        status = (await client.statuses([download_id])).get(download_id)
        if status is not None and status.state in (ClientState.COMPLETED, ClientState.FAILED):
            break
        await asyncio.sleep(0.05)
    elapsed = time.perf_counter() - started
    await client.shutdown()
    if status is None or status.state is not ClientState.COMPLETED:
        raise RuntimeError(f"the client's download failed: {status.error}")
    return elapsed


def download(site: MediaSite, root: Path, repeats: int) -> dict[str, Any]:
    url = site.page("Big", f'<video src="/{BIG}"></video>')
    client, bare = [], []
    for n in range(repeats):
        bare.append(_timed([sys.executable, "-c", BARE_DOWNLOAD, url, str(root / f"bare-{n}")]))
        client.append(asyncio.run(_client_download(url, root, n)))
    size = site.files[BIG].size
    return {"bytes": size, "client_s": statistics.median(client),
            "bare_s": statistics.median(bare)}


def probe(site: MediaSite, repeats: int) -> dict[str, Any]:
    prober = Prober(allow_private=True)
    ours, bare = [], []
    for _ in range(repeats):
        bare.append(_timed([sys.executable, "-c", BARE_PROBE, site.three_videos_url]))
        started = time.perf_counter()
        listing = asyncio.run(prober.probe(site.three_videos_url, 300))
        ours.append(time.perf_counter() - started)
        assert len(listing.entries) == 3
    return {"probe_s": statistics.median(ours), "bare_s": statistics.median(bare)}


def _video_id(n: int) -> str:
    return hashlib.sha256(str(n).encode()).hexdigest()[:11]


async def grabs(n: int, data_dir: Path) -> dict[str, Any]:
    clock = SystemClock()
    settings = Settings(data_dir=data_dir, managed_aria2="false", ytdlp="true")
    container = assemble(settings, clock, "k" * 32, Stores.memory(clock))
    try:
        await container.housekeeping.ensure_defaults()
        registry = container.clients
        await registry.create(ClientConfig("yt-dlp", ClientKind.YTDLP, fields={},
                                           priority=50), force=True)
        queue: QueueService = container.queue
        await queue.take(GrabRequest(download_url="https://youtu.be/warmup00000"))

        async def run(requests: list[GrabRequest]) -> tuple[float, int]:
            refused = 0
            started = time.process_time()
            for request in requests:
                try:
                    await queue.take(request)
                except Duplicate:
                    refused += 1
            return (time.process_time() - started) / len(requests), refused

        videos, _ = await run([GrabRequest(
            download_url=f"https://www.youtube.com/watch?v={_video_id(i)}") for i in range(n)])
        magnets, _ = await run([GrabRequest(
            download_url=f"magnet:?xt=urn:btih:{hashlib.sha1(str(i).encode()).hexdigest()}"
                         f"&dn=Some.Movie.{i}") for i in range(n)])
        dupes, refused = await run([GrabRequest(
            download_url=f"https://youtu.be/{_video_id(i)}") for i in range(n)])
        return {"n": n, "video_ms": videos * 1000, "magnet_ms": magnets * 1000,
                "duplicate_ms": dupes * 1000, "refused": refused}
    finally:
        await container.aclose()


def render(results: dict[str, Any]) -> str:
    d, p, g = results["download"], results["probe"], results["grabs"]
    mib_s = d["bytes"] / 2**20
    rows = [
        [f"download {mib_s:.1f} MiB (s, median of {results['repeats']})",
         _num(d["client_s"]), _num(d["bare_s"]), _num(ratio(d["client_s"], d["bare_s"]))],
        ["probe a page of 3 videos (s)", _num(p["probe_s"]), _num(p["bare_s"]),
         _num(ratio(p["probe_s"], p["bare_s"]))],
        [f"CPU per grab, {g['n']} YouTube URLs vs magnets (ms)", _num(g["video_ms"], 3),
         _num(g["magnet_ms"], 3), _num(ratio(g["video_ms"], g["magnet_ms"]))],
        [f"CPU per refused other form ({g['refused']}/{g['n']} refused) vs magnet grab (ms)",
         _num(g["duplicate_ms"], 3), _num(g["magnet_ms"], 3),
         _num(ratio(g["duplicate_ms"], g["magnet_ms"]))],
    ]
    return "\n".join([
        SECTION_START, "## Videos (yt-dlp)", "", f"{results['cpu']}", "",
        _table(["measure", "Queuarr", "reference", "ratio"], rows), "",
        "References: bare yt-dlp in a fresh process (download, probe); a magnet grab "
        "through the same QueueService (grabs).", SECTION_END])


def write(results: dict[str, Any], text: str, out: Path) -> tuple[Path, Path, Path]:
    return write_section(results, text, out, "videos", SECTION_START, SECTION_END)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench --only videos")
    p.add_argument("--quick", action="store_true", help="one repeat, fewer grabs")
    p.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = p.parse_args(argv)
    repeats, n = (1, 200) if args.quick else (3, 2000)
    say = narrator("videos")
    with tempfile.TemporaryDirectory(prefix="queuarr-bench-videos-") as tmp:
        root = Path(tmp)
        say("making the media with ffmpeg")
        files = make_media(root / "media", require_ffmpeg())
        with MediaSite(files) as site:
            say(f"download: {repeats} x bare yt-dlp and the client")
            download_row = download(site, root / "downloads", repeats)
            say(f"probe: {repeats} x bare and the Prober")
            probe_row = probe(site, repeats)
        say(f"grabs: {n} YouTube URLs, {n} magnets, {n} duplicates")
        grab_row = asyncio.run(grabs(n, root / "data"))
    results = {"cpu": f"{cpu_model()}, {os.cpu_count()} CPUs, Python "
               f"{platform.python_version()}", "repeats": repeats,
               "download": download_row, "probe": probe_row, "grabs": grab_row}
    publish(results, render(results), write, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
