"""Radarr's tags: lower-case labels that download clients and queue items carry. A queue
item with tags goes to the clients that share one; see core.clients.route."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from core.errors import (
    BadRequest,
    Duplicate,
    InUse,
    NotFound,
    ValidationFailed,
    ValidationFailure,
)

if TYPE_CHECKING:  # core.ports imports Tag from here
    from core.ports import ClientConfigRepository, TagRepository

# Radarr's TagController: NotEmpty, then Matches("^[a-z0-9-]+$", IgnoreCase).
_LABEL = re.compile(r"^[a-z0-9-]+$", re.IGNORECASE | re.ASCII)
MAX_LABEL = 100  # the column's width


@dataclass(frozen=True, slots=True)
class Tag:
    id: int
    label: str


@dataclass(frozen=True, slots=True)
class TagDetails:
    """What uses a tag (Radarr's TagDetails). Queuarr has download clients; queue items
    that carry a tag do not hold it (Radarr's QueueResource has no tags)."""

    tag: Tag
    download_client_ids: tuple[int, ...] = ()

    @property
    def in_use(self) -> bool:
        return bool(self.download_client_ids)


def check_label(label: str | None) -> str:
    """The label as stored (lower case), or ValidationFailed in Radarr's words."""
    if label is None or not label.strip():
        raise ValidationFailed([ValidationFailure.not_empty("Label", label)])
    if not _LABEL.match(label):
        raise ValidationFailed([ValidationFailure(
            "Label", "Allowed characters a-z, 0-9 and -", label, "RegularExpressionValidator")])
    if len(label) > MAX_LABEL:
        raise ValidationFailed([ValidationFailure.too_long("Label", label, MAX_LABEL)])
    return label.lower()


class TagService:
    def __init__(self, tags: TagRepository, clients: ClientConfigRepository) -> None:
        self.tags = tags
        self.clients = clients

    async def all(self) -> list[Tag]:
        """Every tag, by label (Radarr's order)."""
        return sorted(await self.tags.list(), key=lambda t: t.label)

    async def get(self, tag_id: int) -> Tag:
        found = next((t for t in await self.tags.list() if t.id == tag_id), None)
        if found is None:
            raise NotFound(f"Tag {tag_id} does not exist")
        return found

    async def add(self, label: str | None) -> Tag:
        """Store a tag; a label that exists already gives the existing tag (as Radarr's
        TagService.Add does), so that tools may POST the tags they need every time."""
        label = check_label(label)
        for _ in range(2):
            existing = next((t for t in await self.tags.list() if t.label == label), None)
            if existing is not None:
                return existing
            try:
                return await self.tags.add(label)
            except BadRequest:  # another request stored it meanwhile: answer that one
                continue
        raise BadRequest(f"The tag {label!r} could not be stored; try again")

    async def update(self, tag_id: int, label: str | None) -> Tag:
        """Rename a tag; a label another tag has is a conflict (Radarr: 409)."""
        label = check_label(label)
        await self.get(tag_id)
        other = next((t for t in await self.tags.list()
                      if t.label == label and t.id != tag_id), None)
        if other is not None:
            raise Duplicate(f"Tag with ID {other.id} is labelled {label!r} already", other.id)
        try:
            return await self.tags.update(Tag(tag_id, label))
        except BadRequest:
            raise Duplicate(f"A tag labelled {label!r} exists already", tag_id) from None

    async def details(self) -> list[TagDetails]:
        clients = await self.clients.list()
        return [TagDetails(t, tuple(sorted(c.id for c in clients
                                           if c.id is not None and t.id in c.tags)))
                for t in await self.all()]

    async def detail(self, tag_id: int) -> TagDetails:
        tag = await self.get(tag_id)
        return next(d for d in await self.details() if d.tag.id == tag.id)

    async def delete(self, tag_id: int) -> None:
        """Delete a tag nothing uses; one that a download client carries is a conflict
        (Radarr: 409, ModelConflictException's words)."""
        details = await self.detail(tag_id)
        if details.in_use:
            raise InUse(f"Tag with ID {tag_id} '{details.tag.label}' cannot be deleted since "
                        "it's still in use")
        await self.tags.delete(tag_id)

    async def check_known(self, ids: Iterable[int], what: str = "Tags") -> tuple[int, ...]:
        """The ids, sorted and once each, or BadRequest naming those that are no tag."""
        wanted = sorted(set(ids))
        if not wanted:
            return ()
        known = {t.id for t in await self.tags.list()}
        unknown = [i for i in wanted if i not in known]
        if unknown:
            raise ValidationFailed([ValidationFailure(
                what, f"Unknown tag id(s) {', '.join(map(str, unknown))}; create them at "
                "/api/v3/tag first", list(wanted))])
        return tuple(wanted)
