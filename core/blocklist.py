"""BlocklistService: listing and removing blocklisted releases."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from core.domain import BlocklistEntry, DownloadProtocol, NewBlocklistEntry
from core.errors import BadRequest, NotFound
from core.listing import SortDirection, page_window, resolve_direction
from core.ports import BlocklistRepository

# Folded sort key -> canonical spelling; anything else sorts by date.
SORT_KEYS = {"date": "date", "sourcetitle": "sourceTitle", "indexer": "indexer",
             "protocol": "protocol", "movieid": "movieId"}


def same_release(entry: NewBlocklistEntry) -> tuple[str | None, str | None, str | None]:
    """What makes a new entry the same as a stored one (find()'s arguments): its info
    hash or URL hash when it has one; its title only when it has neither. (A namesake
    with another hash is another release: it gets its own entry.)"""
    if entry.info_hash is not None or entry.url_hash is not None:
        return entry.info_hash, entry.url_hash, None
    return None, None, entry.source_title


@dataclass(frozen=True, slots=True)
class BlocklistPage:
    page: int
    page_size: int
    sort_key: str
    sort_direction: SortDirection
    total_records: int
    records: list[BlocklistEntry]


class BlocklistService:
    def __init__(self, entries: BlocklistRepository) -> None:
        self.entries = entries

    async def page(
        self,
        page: int = 1,
        page_size: int = 10,
        sort_key: str | None = None,
        direction: SortDirection | None = None,
        movie_ids: frozenset[int] | None = None,
        protocols: frozenset[DownloadProtocol] | None = None,
    ) -> BlocklistPage:
        """A page of the blocklist, newest first unless asked otherwise."""
        if page_size < 0:
            raise BadRequest(f"pageSize must not be negative, got {page_size}")
        folded = (sort_key or "date").lower()
        key = folded if folded in SORT_KEYS else "date"
        resolved = resolve_direction(direction)
        offset, limit = page_window(page, page_size)
        total, records = await self.entries.page(
            offset, limit, key, resolved is SortDirection.DESCENDING, movie_ids, protocols
        )
        return BlocklistPage(page, page_size, SORT_KEYS[key], resolved, total, records)

    async def remove(self, ids: Sequence[int]) -> None:
        """Remove entries, all or nothing: an unknown id removes none."""
        unique = list(dict.fromkeys(ids))
        if len(await self.entries.get_many(unique)) != len(unique):
            raise NotFound()
        await self.entries.delete(unique)
