"""Trackers and web seeds in private address space come out of what a download client
gets: a magnet's `tr`, `ws`, `as` and `xs`; a .torrent's `announce`, `announce-list`,
`url-list` and `httpseeds`. Each host is resolved once; a tracker that does not resolve
when the release is sent is removed too (it cannot be checked; DHT and the other trackers
still find peers). Peer addresses (`x.pe`) stay: they are BitTorrent peers, not URLs the
client fetches, and LAN peers are ordinary."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Iterable
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlsplit

from infrastructure.net.guard import PrivateAddress, Unresolvable, UrlGuard
from infrastructure.torrent_shape import scan

if TYPE_CHECKING:  # torf loads with the first .torrent
    import torf

MAGNET_URL_KEYS = frozenset({"tr", "ws", "as", "xs"})
DEFAULT_PORTS = {"http": 80, "https": 443, "udp": 80, "ws": 80, "wss": 443}


async def _allowed(guard: UrlGuard, url: str) -> bool:
    try:
        parts = urlsplit(url)
        host, port = parts.hostname or "", parts.port
    except ValueError:
        return False
    try:
        await guard.addresses(host, port or DEFAULT_PORTS.get(parts.scheme.lower(), 80))
    except (PrivateAddress, Unresolvable):
        return False
    return True


async def removed(guard: UrlGuard, urls: Iterable[str]) -> set[str]:
    """The URLs among `urls` that must not reach the client."""
    unique = list(dict.fromkeys(urls))
    verdicts = await asyncio.gather(*(_allowed(guard, u) for u in unique))
    return {url for url, ok in zip(unique, verdicts, strict=True) if not ok}


async def filter_magnet(guard: UrlGuard, magnet: str) -> tuple[str, set[str]]:
    """The magnet without its private trackers and sources (the rest kept as written),
    and what was removed."""
    segments = [s for s in magnet[8:].split("&") if s]
    pairs = [parse_qsl(s, keep_blank_values=True)[:1] or [(s, "")] for s in segments]
    urls = [pair[0] for pair in pairs if pair[0][0].lower() in MAGNET_URL_KEYS]
    drop = await removed(guard, [value for _, value in urls])
    if not drop:
        return magnet, drop
    kept = [segment for segment, pair in zip(segments, pairs, strict=True)
            if not (pair[0][0].lower() in MAGNET_URL_KEYS and pair[0][1] in drop)]
    return "magnet:?" + "&".join(kept), drop


def _read(data: bytes) -> torf.Torrent:
    import torf

    try:
        return torf.Torrent.read_stream(io.BytesIO(data), validate=False)
    except torf.TorfError as exc:  # a ValueError for the caller, who need not import torf
        raise ValueError(str(exc)) from exc


async def filter_torrent(guard: UrlGuard, data: bytes) -> tuple[bytes, set[str]]:
    """The .torrent without its private trackers and web seeds, and what was removed.
    The info dictionary is not touched, so the info hash stays what it was."""
    torrent = await asyncio.to_thread(_read, data)
    trackers = [str(url) for tier in (torrent.trackers or ()) for url in tier]
    seeds = [str(u) for u in (torrent.webseeds or ())] + \
        [str(u) for u in (torrent.httpseeds or ())]
    drop = await removed(guard, trackers + seeds)
    if not drop:
        return data, drop

    def rewrite() -> bytes:
        import torf

        try:
            torrent.trackers = [[str(u) for u in tier if str(u) not in drop]
                                for tier in (torrent.trackers or ())]
            torrent.webseeds = [str(u) for u in (torrent.webseeds or ())
                                if str(u) not in drop]
            torrent.httpseeds = [str(u) for u in (torrent.httpseeds or ())
                                 if str(u) not in drop]
            dumped: bytes = torrent.dump(validate=False)
        except torf.TorfError as exc:
            raise ValueError(str(exc)) from exc
        # torf re-encodes the info dictionary with sorted keys: put the original bytes
        # back, so that the info hash is the one the release was grabbed with.
        original, rewritten = scan(data).info, scan(dumped).info
        if original is None or rewritten is None:
            raise ValueError("it has no info dictionary")
        return (dumped[:rewritten[0]] + data[original[0]:original[1]]
                + dumped[rewritten[1]:])

    return await asyncio.to_thread(rewrite), drop
