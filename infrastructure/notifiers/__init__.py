"""Notifier plugins: every `queuarr.notifiers` entry point is a factory
`plugin(context: PluginContext) -> Notifier | None` (None: not configured). Queuarr's own
webhook and Telegram notifiers are registered the same way (pyproject.toml), so another
package adds one by declaring an entry point, without touching this code. A plugin that
fails to load or to build is logged at start-up and skipped."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from importlib.metadata import entry_points

from core.events import Notifier
from core.ports import Clock, NotificationRepository
from infrastructure.settings import Settings

log = logging.getLogger("queuarr.notifiers")
GROUP = "queuarr.notifiers"


@dataclass
class PluginContext:
    settings: Settings
    clock: Clock
    notifications: NotificationRepository


@dataclass
class Loaded:
    notifiers: list[Notifier] = field(default_factory=list)
    broken: dict[str, str] = field(default_factory=dict)  # entry point -> why


def load_notifiers(context: PluginContext) -> Loaded:
    loaded = Loaded()
    for entry in sorted(entry_points(group=GROUP), key=lambda e: e.name):
        try:
            notifier = entry.load()(context)
        except Exception as exc:  # a plugin's own bug must not stop Queuarr
            why = f"{type(exc).__name__}: {exc}"
            loaded.broken[entry.name] = why
            log.error("Notifier plugin %r (%s) is broken and skipped: %s", entry.name,
                      entry.value, why)
            continue
        if notifier is not None:
            loaded.notifiers.append(notifier)
            log.info("Notifier %r enabled", entry.name)
    return loaded
