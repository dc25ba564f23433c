"""What the bot's handlers get: the same core services the HTTP API calls, and the
container's pause switch. Handlers hold no queue logic of their own."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from core.intake import Intake
from core.ports import Clock
from core.selection import ReleaseService
from core.service import QueueService
from infrastructure.settings import Settings


@dataclass
class BotServices:
    queue: QueueService
    intake: Intake
    clock: Clock
    settings: Settings
    set_paused: Callable[[bool], Awaitable[None]]  # pause or resume all dispatching
    paused: Callable[[], Awaitable[bool]]
    releases: ReleaseService | None = None
