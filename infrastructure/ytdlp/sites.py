"""Which URLs are a video site's (one of yt-dlp's site extractors claims them), and the
`extractor:id` key that deduplicates a video whichever form of its URL was sent.

Everything here is offline: yt-dlp's extractors match a URL with their regular expressions
and read the id from it (`get_temp_id`), without fetching anything. The key from an
extracted info dict (`key_of`) is for what the URL alone cannot tell: the generic extractor
and a playlist's entries.

A URL carrying both a video and a playlist (`watch?v=ID&list=PL…`): yt-dlp downloads the
playlist unless told `noplaylist`; here it is the video alone unless the caller asks for the
playlist (`match(url, playlist=True)`), since a person who sends one video's link means that
video. The match then carries the URL without the playlist, which downloads just the video.
"""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from core.videos import VideoMatch

# Extractors that claim URLs which are not a site's: yt-dlp's generic one (every URL), and
# the ones for typos and byte-order marks (they hand over to another extractor).
CATCH_ALL = frozenset({"Generic", "CommonMistakes", "UnicodeBOM"})
# Extractors whose ids are made from a page's or a file's name, so not unique across sites:
# their key is made from the URL instead.
NAME_IDS = frozenset({"generic", "html5mediaembed"})
# Query parameters that add a playlist to a video URL (YouTube's, and the sites that copy it).
PLAYLIST_PARAMS = frozenset({"list", "index", "start_radio"})


def available() -> bool:
    """Whether yt-dlp is installed (the `video` extra)."""
    return importlib.util.find_spec("yt_dlp") is not None


class YtDlpSites:
    """yt-dlp's site extractors, loaded on first use (once, whichever thread asks first)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._extractors: Sequence[Any] | None = None

    def _classes(self) -> Sequence[Any]:
        if self._extractors is None:
            with self._lock:
                if self._extractors is None:
                    from yt_dlp.extractor import (  # type: ignore[import-untyped]
                        gen_extractor_classes,
                    )

                    self._extractors = tuple(
                        ie for ie in gen_extractor_classes() if ie.ie_key() not in CATCH_ALL)
        return self._extractors

    def match(self, url: str, *, playlist: bool = False) -> VideoMatch | None:
        """The site extractor that claims `url`, or None (the generic extractor's, a file,
        a magnet, not a URL). A video URL that also names a playlist is the video alone
        unless `playlist` is asked for."""
        url = url.strip()
        found = self._claim(url)
        if found is None or not _names_playlist(url):
            return found
        if playlist:
            # youtu.be/ID?list=… is claimed as a video by a redirector that yields the list.
            return VideoMatch(found.extractor, found.key if found.playlist else None, True, url)
        alone = _without_playlist(url)
        single = self._claim(alone)
        return single if single is not None and not single.playlist else found

    def _claim(self, url: str) -> VideoMatch | None:
        parts = urlsplit(url)
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            return None  # site extractors also claim bare ids and `ytsearch:` queries
        for ie in self._classes():
            if ie.suitable(url):
                name = ie.ie_key()
                temp_id = ie.get_temp_id(url)
                key = f"{name.lower()}:{temp_id}" if temp_id else None
                return VideoMatch(name, key, ie._RETURN_TYPE != "video", url)
        return None


def _names_playlist(url: str) -> bool:
    return any(k in PLAYLIST_PARAMS for k, _ in parse_qsl(urlsplit(url).query))


def _without_playlist(url: str) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
             if k not in PLAYLIST_PARAMS]
    return urlunsplit(parts._replace(query=urlencode(query)))


def media_url(info: Mapping[str, Any]) -> str | None:
    """The URL that downloads this entry on its own: a reference's `url`, else the media's
    (an HTML5 `<video>`'s file or manifest: the only format's), else its page."""
    if info.get("_type") in ("url", "url_transparent"):
        return str(info["url"])
    formats = info.get("formats") or []
    for source in (info, formats[0] if len(formats) == 1 else {}):
        found = source.get("manifest_url") or source.get("url")
        if found:
            return str(found)
    page = info.get("webpage_url")
    return str(page) if page else None


def key_of(info: Mapping[str, Any]) -> str | None:
    """The dedup key of an extracted video (or a flat entry): `extractor:id`, except for the
    generic extractors, whose ids are made from names and so are keyed by their URL."""
    extractor = str(info.get("extractor_key") or info.get("ie_key") or "").lower()
    if not extractor:
        return None
    if extractor in NAME_IDS:
        url = media_url(info)
        return f"generic:{url}" if url else None
    video_id = info.get("id")
    return f"{extractor}:{video_id}" if video_id else None
