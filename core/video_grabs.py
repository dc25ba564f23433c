"""Grabbing video pages: which URLs go to the yt-dlp client, the `extractor:id` key that
deduplicates them, and a playlist turned into one item per entry.

A URL that one of yt-dlp's site extractors claims (offline: no request is made to decide)
becomes a VIDEO item when a yt-dlp client is enabled; a grab that names a yt-dlp client
makes any http(s) URL one (yt-dlp's generic extractor reads pages with a <video>), and so
does yt-dlp being the only enabled client that fetches http(s) URLs; a grab that names
another client keeps the URL a plain file. A video whose key the URL itself
holds is deduplicated before anything is fetched; playlists, and pages whose videos are
only known once read, are probed (yt-dlp in a guarded process of its own)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from core.clients import ClientDescriptor, ClientKind
from core.domain import NewItem, QueueItem, SourceKind
from core.errors import Duplicate, InvalidRelease, QueuarrError, SourceRefused
from core.links import url_hash
from core.offload import off_loop
from core.ports import QueueRepository, VideoSites
from core.videos import VideoEntry, VideoListing

# A title that is still a video's key ("youtube:dQw4w9WgXcQ"): the item was grabbed
# without a title and without fetching the page; the client's title replaces it.
_KEY_TITLE = re.compile(r"[a-z0-9_]+:[\w.-]+")


def key_hash(key: str) -> str:
    """The url_hash a video's key is stored as: one release whatever URL form was sent."""
    return hashlib.sha256(f"video:{key}".encode()).hexdigest()


def is_key_title(title: str) -> bool:
    return _KEY_TITLE.fullmatch(title) is not None


@dataclass(frozen=True, slots=True)
class Skipped:
    """A playlist entry that was not queued, and why (a duplicate names its item)."""

    url: str
    title: str | None
    reason: str
    existing_id: int | None = None


@dataclass(frozen=True, slots=True)
class Taken:
    """What one grab queued: one item, or a playlist's (with its group and the entries
    skipped); `over_cap` counts the entries past QUEUARR_PLAYLIST_MAX."""

    items: tuple[QueueItem, ...]
    skipped: tuple[Skipped, ...] = ()
    group_id: int | None = None
    group_title: str | None = None
    over_cap: int = 0


def nothing_taken(taken: Taken) -> QueuarrError:
    """Why a playlist queued nothing, as the refusal of a single grab would say it."""
    first = taken.skipped[0] if taken.skipped else None
    if first is not None and first.existing_id is not None:
        return Duplicate(f"Every entry of the playlist is already queued ({first.reason})",
                         first.existing_id)
    return InvalidRelease(first.reason if first is not None else "The playlist is empty")


@dataclass(frozen=True, slots=True)
class Routed:
    """A grab after video routing: the item to store, or a playlist to expand."""

    item: NewItem
    playlist: VideoListing | None = None


def _ytdlp_wanted(item: NewItem, clients: Sequence[ClientDescriptor]) -> bool | None:
    """True: the grab names a yt-dlp client, or yt-dlp is the only enabled client that can
    fetch an http(s) URL at all; False: the grab names another client, or no yt-dlp client
    is enabled; None: up to the URL."""
    if item.download_client is not None:
        named = next((c for c in clients if c.name == item.download_client), None)
        return named is not None and named.kind is ClientKind.YTDLP
    if not any(c.enabled and c.kind is ClientKind.YTDLP for c in clients):
        return False
    if not any(c.enabled and SourceKind.HTTP in c.sources for c in clients):
        return True
    return None


class VideoRouter:
    """Turns an http(s) grab into a VIDEO item or a playlist when yt-dlp should take it."""

    def __init__(self, sites: VideoSites, items: QueueRepository, playlist_max: int) -> None:
        self.sites = sites
        self.items = items
        self.playlist_max = playlist_max

    async def route(self, item: NewItem, titled: bool,
                    clients: Sequence[ClientDescriptor]) -> Routed:
        """`titled`: the caller named the release (else its title is the URL's last
        segment, which a video's title or key replaces)."""
        if item.source is not SourceKind.HTTP or not item.download_url:
            return Routed(item)
        wanted = _ytdlp_wanted(item, clients)
        if wanted is False:
            return Routed(item)
        match = await off_loop("videos", 1, self.sites.match, item.download_url)
        if match is None and wanted is None:
            return Routed(item)  # a plain file: aria2 fetches it
        if match is not None and match.key is not None and not match.playlist:
            video = replace(item, source=SourceKind.VIDEO, download_url=match.url,
                            url_hash=key_hash(match.key),
                            title=item.title if titled else match.key)
            existing = await self.items.find_active(None, video.url_hash)
            if existing is not None:  # refused before anything is fetched
                raise Duplicate(f"Video {match.key} is already in the queue as item "
                                f"{existing.id}", existing.id)
            return Routed(video)
        url = match.url if match is not None else item.download_url
        try:
            listing = await self.sites.probe(url, self.playlist_max)
        except SourceRefused as exc:
            raise InvalidRelease(f"yt-dlp cannot read {url}: {exc.message}") from None
        if listing.playlist:
            return Routed(replace(item, source=SourceKind.VIDEO, download_url=url), listing)
        entry = listing.entries[0] if listing.entries else VideoEntry(url, listing.title,
                                                                      listing.key)
        key = entry.key or listing.key
        title = item.title if titled else (entry.title or listing.title or key or item.title)
        return Routed(replace(item, source=SourceKind.VIDEO, download_url=url, title=title,
                              url_hash=key_hash(key) if key else item.url_hash))

    def entries(self, playlist: NewItem, listing: VideoListing, group_id: int
                ) -> list[NewItem]:
        """One item per entry of the playlist, in the group."""
        return [replace(playlist, download_url=e.url, title=e.title or e.key or e.url,
                        url_hash=key_hash(e.key) if e.key else url_hash(e.url),
                        size=0, group_id=group_id, release_id=None)
                for e in listing.entries[: self.playlist_max]]
