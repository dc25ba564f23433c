"""core.ports.VideoSites over yt-dlp: offline matching (sites.YtDlpSites) and guarded
probes in a process of their own (probe.Prober)."""

from __future__ import annotations

from core.videos import VideoListing, VideoMatch
from infrastructure.ytdlp.probe import Prober
from infrastructure.ytdlp.sites import YtDlpSites


class YtDlpVideos:
    def __init__(self, sites: YtDlpSites, prober: Prober) -> None:
        self.sites = sites
        self.prober = prober

    def match(self, url: str) -> VideoMatch | None:
        return self.sites.match(url)

    async def probe(self, url: str, limit: int) -> VideoListing:
        return await self.prober.probe(url, limit)
