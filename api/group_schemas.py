"""The answers of a playlist grab and of /api/v3/queue/group (Queuarr's own)."""

from __future__ import annotations

from datetime import datetime

from api.schemas import Out, QueueResource


class SkippedOut(Out):
    """A playlist entry not queued: a duplicate (existingId) or blocklisted."""

    url: str
    title: str | None = None
    reason: str
    existing_id: int | None = None


class PlaylistGrabOut(Out):
    """A playlist or channel grabbed: one item per entry, in one group."""

    group_id: int
    title: str
    items: list[QueueResource]
    skipped: list[SkippedOut]
    over_cap: int  # entries past QUEUARR_PLAYLIST_MAX, not queued


class GroupOut(Out):
    id: int
    title: str
    url: str | None = None
    added: datetime
    items: list[QueueResource]
