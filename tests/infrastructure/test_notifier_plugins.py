"""Notifier plugins come from the `queuarr.notifiers` entry-point group: Queuarr's own
are registered there, another package's are found the same way, and a broken one is
reported and skipped."""

from __future__ import annotations

import logging
from importlib.metadata import EntryPoint
from pathlib import Path
from typing import Any

import pytest

import infrastructure.notifiers as plugins
from core.events import QueueEvent
from infrastructure.memory_release import MemoryNotificationRepository
from infrastructure.notifiers import GROUP, PluginContext, load_notifiers
from infrastructure.settings import Settings
from tests.fakes import FakeClock


class Extra:
    name = "extra"

    async def notify(self, event: QueueEvent) -> None:
        return None


def make_extra(context: PluginContext) -> Extra:
    return Extra()


def make_nothing(context: PluginContext) -> None:
    return None


def make_broken(context: PluginContext) -> Any:
    raise RuntimeError("this plugin is broken")


def context(tmp_path: Path, **settings: Any) -> PluginContext:
    return PluginContext(Settings(data_dir=tmp_path, **settings), FakeClock(),
                         MemoryNotificationRepository())


def test_queuarrs_own_notifiers_are_registered_as_entry_points(tmp_path: Path) -> None:
    names = {e.name for e in plugins.entry_points(group=GROUP)}
    assert {"webhook", "telegram"} <= names
    loaded = load_notifiers(context(tmp_path))
    assert [n.name for n in loaded.notifiers] == ["webhook"]  # Telegram: no token
    assert loaded.broken == {}
    with_token = load_notifiers(context(tmp_path, telegram_token="1:x",
                                        telegram_chat_ids="5"))
    assert sorted(n.name for n in with_token.notifiers) == ["telegram", "webhook"]


def test_another_packages_plugin_is_loaded_and_a_broken_one_skipped(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    here = __name__
    found = [EntryPoint("extra", f"{here}:make_extra", GROUP),
             EntryPoint("quiet", f"{here}:make_nothing", GROUP),
             EntryPoint("broken", f"{here}:make_broken", GROUP),
             EntryPoint("missing", "no_such_package.plugin:make", GROUP)]
    monkeypatch.setattr(plugins, "entry_points", lambda group: found)
    with caplog.at_level(logging.ERROR, "queuarr.notifiers"):
        loaded = load_notifiers(context(tmp_path))
    assert [n.name for n in loaded.notifiers] == ["extra"]
    assert set(loaded.broken) == {"broken", "missing"}
    assert "this plugin is broken" in loaded.broken["broken"]
    assert "ModuleNotFoundError" in loaded.broken["missing"]
    assert "broken" in caplog.text and "skipped" in caplog.text
