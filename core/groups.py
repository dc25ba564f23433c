"""Groups: the items one playlist or channel link became, handled together. Every action
is the queue's own, item by item (QueueService), over the group's items in a state it
applies to; an item that moved on meanwhile is left as it is."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from core.domain import ItemGroup, ItemState, QueueItem
from core.errors import NotFound
from core.service import QueueService, RemoveOptions
from core.states import PAUSABLE, RETRYABLE


@dataclass(frozen=True, slots=True)
class Group:
    group: ItemGroup
    items: list[QueueItem]


class GroupService:
    def __init__(self, queue: QueueService) -> None:
        self.queue = queue

    async def get(self, group_id: int) -> Group:
        group = await self.queue.items.group(group_id)
        items = await self.queue.items.in_group(group_id) if group is not None else []
        if group is None or not items:  # a group whose items are all gone is gone too
            raise NotFound(f"Group {group_id} not found")
        return Group(group, items)

    async def pause(self, group_id: int) -> list[int]:
        return await self._each(group_id, PAUSABLE - {ItemState.PAUSED}, self.queue.pause)

    async def resume(self, group_id: int) -> list[int]:
        return await self._each(group_id, frozenset({ItemState.PAUSED}), self.queue.resume)

    async def retry(self, group_id: int) -> list[int]:
        """Queue the group's failed (and waiting-to-retry) items again."""
        found = await self.get(group_id)
        ids = [i.id for i in found.items if i.state in RETRYABLE]
        return await self.queue.retry(ids) if ids else []

    async def remove(self, group_id: int, options: RemoveOptions) -> list[int]:
        """Remove every item of the group (from its client too, as options say)."""
        found = await self.get(group_id)
        ids = [i.id for i in found.items]
        if ids:
            await self.queue.remove_many(ids, options)
        return ids

    async def _each(self, group_id: int, states: frozenset[ItemState],
                    action: Callable[[int], Awaitable[QueueItem]]) -> list[int]:
        found = await self.get(group_id)
        return await self.queue.each((i.id for i in found.items if i.state in states), action)
