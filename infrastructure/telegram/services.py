"""What the bot's handlers get: the same core services the HTTP API calls (the queue,
intake, releases, dispatching's pause switch). Handlers hold no queue logic of their
own."""

from __future__ import annotations

from dataclasses import dataclass

from core.dispatching import Dispatching
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
    dispatching: Dispatching  # pause or resume all dispatching
    releases: ReleaseService | None = None
