"""Release sources made safe for the download client at send time (core.ports.
SourcePreparer), through the guarded HTTP client:

- a .torrent URL is fetched by Queuarr (every redirect hop checked, a redirect to a magnet
  followed); the client gets the bytes, never the URL;
- an http(s) file's redirect chain is followed and checked; the client gets the final URL
  (skipped when QUEUARR_ALLOW_PRIVATE_URLS is true: there is nothing to refuse);
- trackers and web seeds in private address space are removed (infrastructure.net.trackers).

A private target fails the item for good; a network error or a 5xx is transient. httpx
and the client load at the first fetch: a server that is never handed a .torrent URL or
a direct link never needs them (issue 18)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from core.domain import QueueItem, SourceKind
from core.errors import InvalidRelease, SourceRefused, SourceUnavailable
from core.grab import MAX_TORRENT_BYTES
from core.links import parse_magnet
from core.ports import Prepared, TorrentParser
from infrastructure.net.guard import PrivateAddress, UrlGuard
from infrastructure.net.trackers import filter_magnet, filter_torrent

if TYPE_CHECKING:
    import httpx

    from infrastructure.net.http import Answer

USER_AGENT = "Queuarr"
TRANSIENT_STATUS = frozenset({408, 425, 429})


def _note(drop: set[str]) -> tuple[str, ...]:
    if not drop:
        return ()
    return (f"Removed {len(drop)} tracker(s) or web seed(s) in private address space or "
            f"not resolvable: {', '.join(sorted(drop))}",)


class SourcePreparer:
    def __init__(self, guard: UrlGuard, parser: TorrentParser,
                 http: httpx.AsyncClient | None = None, timeout: float = 30.0) -> None:
        self.guard = guard
        self.parser = parser
        self.http = http  # the guarded client, built at the first fetch
        self.timeout = timeout

    def client(self) -> httpx.AsyncClient:
        """The one guarded client of these fetches, built at the first fetch."""
        if self.http is None:
            from infrastructure.net.http import guarded_client

            self.http = guarded_client(self.guard, self.timeout, {"User-Agent": USER_AGENT})
        return self.http

    async def aclose(self) -> None:
        if self.http is not None:
            await self.http.aclose()

    async def prepare(self, item: QueueItem, torrent: bytes | None) -> Prepared:
        url = item.download_url or ""
        if item.source is SourceKind.TORRENT_FILE and torrent is not None:
            return await self._torrent(item, torrent, ())
        if item.source is SourceKind.MAGNET:
            return await self._magnet(item, url, ())
        if item.source is SourceKind.TORRENT_URL:
            answer = await self._get(url, MAX_TORRENT_BYTES)
            if answer.magnet is not None:
                return await self._magnet(item, answer.magnet,
                                          (f"{url} redirected to a magnet link",))
            try:
                meta = await asyncio.to_thread(self.parser.parse, answer.body)
            except InvalidRelease as exc:
                raise SourceRefused(f"{answer.url} is not a .torrent file: {exc.message}"
                                    ) from None
            fetched = item.evolve(source=SourceKind.TORRENT_FILE,
                                  info_hash=item.info_hash or meta.info_hash)
            return await self._torrent(fetched, answer.body,
                                       (f"Fetched the .torrent from {answer.url}",))
        if item.source is SourceKind.HTTP and not self.guard.allow_private:
            answer = await self._get(url, None)
            if answer.magnet is not None:
                return await self._magnet(item, answer.magnet,
                                          (f"{url} redirected to a magnet link",))
            if answer.url != url:
                return Prepared(item.evolve(download_url=answer.url), None,
                                (f"{url} redirects to {answer.url}",))
        return Prepared(item, torrent)

    async def _get(self, url: str, max_bytes: int | None) -> Answer:
        import httpx

        from infrastructure.net.http import NotFetchable, follow

        try:
            answer = await follow(self.client(), url, max_bytes)
        except PrivateAddress as exc:
            raise SourceRefused(f"Not fetched: {exc}") from None
        except NotFetchable as exc:
            raise SourceRefused(exc.message) from None
        except httpx.HTTPError as exc:
            raise SourceUnavailable(f"Cannot fetch {url}: {exc or type(exc).__name__}"
                                    ) from None
        if answer.status >= 500 or answer.status in TRANSIENT_STATUS:
            raise SourceUnavailable(f"{answer.url} answered {answer.status}")
        if answer.status >= 400:
            raise SourceRefused(f"{answer.url} answered {answer.status}")
        return answer

    async def _magnet(self, item: QueueItem, magnet: str, notes: tuple[str, ...]
                      ) -> Prepared:
        try:
            info_hash = parse_magnet(magnet).info_hash
        except InvalidRelease as exc:
            raise SourceRefused(exc.message) from None
        if not self.guard.allow_private:
            magnet, drop = await filter_magnet(self.guard, magnet)
            notes += _note(drop)
        return Prepared(item.evolve(source=SourceKind.MAGNET, download_url=magnet,
                                    info_hash=item.info_hash or info_hash), None, notes)

    async def _torrent(self, item: QueueItem, data: bytes, notes: tuple[str, ...]
                       ) -> Prepared:
        if not self.guard.allow_private:
            try:
                data, drop = await filter_torrent(self.guard, data)
            except (InvalidRelease, ValueError, TypeError, KeyError) as exc:  # torf's too
                raise SourceRefused(f"Cannot remove the private trackers of {item.title!r}:"
                                    f" {exc}") from None
            notes += _note(drop)
        return Prepared(item, data, notes)
