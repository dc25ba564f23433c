"""Video pages and playlists as core sees them: what a URL is (a site's video, a playlist)
and what a playlist holds, with the `extractor:id` key that deduplicates videos
(`youtube:dQw4w9WgXcQ`) whichever form of the URL was sent."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class VideoMatch:
    """A URL that a video site's extractor claims, known without fetching anything.

    `key` is None when the id cannot be read from the URL alone (it then comes from the
    extracted info). `url` is what to hand the downloader: the URL sent, or, when a video
    URL also names a playlist and the video alone was chosen, that URL without the playlist.
    """

    extractor: str
    key: str | None
    playlist: bool
    url: str


@dataclass(frozen=True, slots=True)
class VideoEntry:
    """One video of a listing; `url`, downloaded on its own, downloads this video."""

    url: str
    title: str | None
    key: str | None


@dataclass(frozen=True, slots=True)
class VideoListing:
    """What a probe of a URL found: one video (`playlist` False, one entry) or a playlist's
    first entries; `found` counts the entries the playlist has, before the cap."""

    title: str | None
    key: str | None
    url: str
    entries: tuple[VideoEntry, ...]
    playlist: bool
    found: int
