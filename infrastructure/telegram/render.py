"""Plain-text answers of the Telegram commands, and the inline buttons that go with them
(as (label, callback data) rows, turned into Telegram markup by the commands module).
Pure functions of core values: nothing here calls a service or Telegram."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from core.domain import HistoryEntry, ItemState, QueueItem, QueueStats
from core.states import PAUSABLE, RETRYABLE
from infrastructure.notifiers.telegram import eta, human

MAX_TEXT = 4096  # Telegram's limit per message
TITLE = 60  # characters of a title shown in a list
DOWNLOADING = frozenset({ItemState.DOWNLOADING, ItemState.WARNING})

Buttons = list[list[tuple[str, str]]]  # rows of (label, callback data)


def short(title: str, limit: int = TITLE) -> str:
    return title if len(title) <= limit else title[: limit - 1] + "…"


def _progress(item: QueueItem) -> str:
    parts = [item.state.value, f"{item.progress:.1f}%"]
    if item.state in DOWNLOADING:
        parts.append(f"ETA {eta(item.eta_seconds)}")
        parts.append(f"↓ {human(item.download_speed)}/s")
    return " · ".join(parts)


# -- /queue ------------------------------------------------------------------------------

def queue_text(items: Sequence[QueueItem], offset: int, page: int, pages: int,
               total: int) -> str:
    """One page of the active and waiting items; positions count from the first page."""
    if total == 0:
        return "The queue is empty."
    lines = [f"Queue: {total} active or waiting · page {page}/{pages}"]
    for position, item in enumerate(items, start=offset + 1):
        lines.append(f"{position}. #{item.id} {short(item.title)}")
        lines.append(f"   {_progress(item)}")
    return "\n".join(lines)[:MAX_TEXT]


def queue_buttons(items: Sequence[QueueItem], page: int, pages: int) -> Buttons:
    """A button per item (opens its view), four a row, then ◀ ▶ when there are pages."""
    rows: Buttons = []
    opens = [(f"#{item.id}", f"item:open:{item.id}") for item in items]
    rows += [opens[i : i + 4] for i in range(0, len(opens), 4)]
    return rows + page_buttons("queue", page, pages)


def page_buttons(kind: str, page: int, pages: int) -> Buttons:
    """◀ ▶ to the page before and after, as far as there is one; none for one page."""
    turn = []
    if page > 1:
        turn.append(("◀", f"{kind}:{page - 1}"))
    if page < pages:
        turn.append(("▶", f"{kind}:{page + 1}"))
    return [turn] if turn else []


# -- one item ----------------------------------------------------------------------------

def item_text(item: QueueItem) -> str:
    lines = [f"#{item.id} {item.title}",
             f"{_progress(item)} · {human(item.size)}",
             f"Priority: {item.priority.wire}"]
    if item.download_client:
        lines.append(f"Client: {item.download_client}")
    if item.error_message:
        lines.append(f"Error: {item.error_message}")
    return "\n".join(lines)[:MAX_TEXT]


def item_buttons(item: QueueItem) -> Buttons:
    """The actions that suit the item's state; remove asks to be confirmed."""
    row = []
    if item.state in PAUSABLE:
        row.append(("⏸ Pause", f"item:pause:{item.id}"))
    if item.state is ItemState.PAUSED:
        row.append(("▶ Resume", f"item:resume:{item.id}"))
    if item.state in RETRYABLE:
        row.append(("↻ Retry", f"item:retry:{item.id}"))
    row.append(("✖ Remove", f"item:remove:{item.id}"))
    return [row]


def confirm_buttons(item_id: int) -> Buttons:
    return [[("Yes, remove it", f"item:really-remove:{item_id}"),
             ("No", f"item:show:{item_id}")]]


# -- /status -----------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Speeds:
    down: int = 0
    up: int = 0


def status_text(stats: QueueStats, speeds: Speeds,
                disks: Sequence[tuple[str, tuple[int, int] | None]], paused: bool) -> str:
    lines = [f"Queue: {stats.total} items",
             f"{stats.downloading} downloading, {stats.pending} waiting, {stats.paused} "
             f"paused, {stats.retrying} retrying, {stats.permanent_failures} failed, "
             f"{stats.completed} completed",
             f"Speed: ↓ {human(speeds.down)}/s · ↑ {human(speeds.up)}/s"]
    for path, usage in disks:
        lines.append(f"Free in {path}: " + ("unknown" if usage is None else
                                            f"{human(usage[0])} of {human(usage[1])}"))
    lines.append("Dispatching: paused (/resume starts it)" if paused else "Dispatching: on")
    return "\n".join(lines)[:MAX_TEXT]


# -- /history ----------------------------------------------------------------------------

def history_text(rows: Sequence[HistoryEntry], now: datetime) -> str:
    if not rows:
        return "No history yet."
    lines = ["Last changes, newest first:"]
    for row in rows:
        moved = (f" ({row.from_state or 'new'} → {row.to_state})"
                 if row.to_state is not None and row.from_state != row.to_state else "")
        lines.append(f"{_ago(now - row.at)} #{row.item_id} {row.event}{moved}: "
                     f"{short(row.source_title or '', 40)}")
        if row.message:
            lines.append(f"   {short(row.message, 80)}")
    return "\n".join(lines)[:MAX_TEXT]


def _ago(delta: timedelta) -> str:
    seconds = max(0, int(delta.total_seconds()))
    if seconds < 60:
        return f"{seconds}s ago"
    if seconds < 3600:
        return f"{seconds // 60}m ago"
    if seconds < 86400:
        return f"{seconds // 3600}h ago"
    return f"{seconds // 86400}d ago"
