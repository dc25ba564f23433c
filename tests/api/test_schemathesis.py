"""Property-based run of schemathesis over the app's own /openapi.json, in-process (ASGI),
on the memory store with a seeded queue: every operation, valid and invalid inputs, must
answer without a 5xx, with a documented status code and a body matching its documented
schema. Then the stateful phase, following the links schemathesis infers."""

from __future__ import annotations

import asyncio
import tempfile
from datetime import timedelta
from pathlib import Path

import hypothesis
import schemathesis
from hypothesis import HealthCheck
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)

from api.app import create_app
from core.blocklist import BlocklistService
from core.clients import ClientConfig, ClientKind
from core.domain import (
    DownloadProtocol,
    HistoryEvent,
    ItemState,
    MovieInfo,
    NewBlocklistEntry,
    NewItem,
    SourceKind,
)
from core.ratelimit import FailureLimiter
from core.service import QueueService
from core.sizes import QualityDefinitions
from core.tags import TagService
from infrastructure.bootstrap import Container, wire_releases
from infrastructure.clients.registry import ClientRegistry
from infrastructure.housekeeping import Housekeeping
from infrastructure.memory import (
    MemoryBlocklistRepository,
    MemoryClientConfigRepository,
    MemoryQueueRepository,
)
from infrastructure.memory_config import MemoryQualityDefinitionRepository, MemoryTagRepository
from infrastructure.memory_release import (
    MemoryCandidateRepository,
    MemoryCustomFormatRepository,
    MemoryNotificationRepository,
    MemoryQualityProfileRepository,
)
from infrastructure.net.guard import UrlGuard
from infrastructure.notifiers.webhook import WebhookNotifier
from infrastructure.settings import Settings
from infrastructure.torrents import TorfParser
from tests.api.conftest import API_KEY, info_hash
from tests.fakes import FakeClock

CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance]
MAX_EXAMPLES = 40


async def _seed(items: MemoryQueueRepository, blocklist: MemoryBlocklistRepository,
                clock: FakeClock) -> None:
    """Items 1-12 in every state (so small generated ids hit), plus blocklist entries."""
    states = [ItemState.QUEUED, ItemState.DOWNLOADING, ItemState.PAUSED, ItemState.RETRYING,
              ItemState.CLIENT_UNAVAILABLE, ItemState.WARNING, ItemState.COMPLETED,
              ItemState.FAILED]
    now = clock.now()
    for n in range(12):
        stored = await items.add(NewItem(
            title=f"Seeded.Movie.{n}.2020.1080p-GRP", source=SourceKind.MAGNET,
            protocol=DownloadProtocol.TORRENT, added_at=now, info_hash=info_hash(f"st-{n}"),
            movie_id=n + 1 if n % 4 else None,
            movie=MovieInfo(title=f"Movie {n}", year=2000 + n) if n % 4 else None, size=1000,
        ), HistoryEvent("grabbed"))
        state = states[n % len(states)]
        changes: dict[str, object] = {"state": state, "updated_at": now}
        if state is ItemState.DOWNLOADING:
            changes.update(size_left=400, progress=60.0, eta_seconds=90000,
                           estimated_completion_at=now + timedelta(seconds=90000))
        if state in (ItemState.RETRYING, ItemState.CLIENT_UNAVAILABLE):
            changes["next_attempt_at"] = now + timedelta(minutes=10)
        await items.update([(stored, stored.evolve(**changes))], HistoryEvent("updated"))
    for n in range(3):
        await blocklist.add(NewBlocklistEntry(f"Blocked.{n}", now, DownloadProtocol.TORRENT,
                                              movie_id=n + 1, info_hash=info_hash(f"bl-{n}")))


FORMATS, PROFILES = MemoryCustomFormatRepository(), MemoryQualityProfileRepository()
CANDIDATES, NOTIFICATIONS = MemoryCandidateRepository(), MemoryNotificationRepository()


def _build_app():  # type: ignore[no-untyped-def]
    clock = FakeClock()
    items, blocklist = MemoryQueueRepository(clock), MemoryBlocklistRepository()
    asyncio.run(_seed(items, blocklist, clock))
    settings = Settings(data_dir=Path(tempfile.gettempdir()), api_key=API_KEY,
                        managed_aria2="false")
    configs = MemoryClientConfigRepository()
    asyncio.run(configs.add(ClientConfig("aria2", ClientKind.ARIA2, fields={
        "host": "127.0.0.1", "port": 1, "secretToken": "s3cret"})))
    container = Container(
        settings=settings, api_key=API_KEY, clock=clock,
        queue=QueueService(items, blocklist, clock, TorfParser()),
        blocklist=BlocklistService(blocklist), started_at=clock.now(),
        clients=ClientRegistry(configs, settings.roots, timeout=2),
    )
    container.releases = wire_releases(
        container.queue, blocklist, FORMATS, PROFILES, CANDIDATES, clock, settings)
    container.notifications = NOTIFICATIONS
    container.tags = TagService(MemoryTagRepository(), configs)
    container.definitions = QualityDefinitions(MemoryQualityDefinitionRepository())
    container.webhook = WebhookNotifier(NOTIFICATIONS, UrlGuard())  # private: refused
    # At start: the default formats and profile, and the clients loaded (as build() has it).
    container.housekeeping = Housekeeping(settings, container.dispatching, container.clients,
                                          container.releases)
    app = create_app(container=container)
    # Schemathesis sends made-up ?apikey= values by the hundred; past the limit on wrong
    # keys (tests/api/test_auth_limit.py) everything after would be a 429.
    app.state.auth_failures = FailureLimiter(limit=1_000_000)
    return app


APP = _build_app()
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)
schema.config.update(headers={"X-Api-Key": API_KEY})
schema.config.generation.update(max_examples=MAX_EXAMPLES)

SETTINGS = hypothesis.settings(
    max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
    suppress_health_check=list(HealthCheck),
)


@schema.parametrize()
@SETTINGS
def test_every_operation_answers_documented_statuses_and_bodies_and_never_5xx(
    case: schemathesis.Case,
) -> None:
    case.call_and_validate(headers={"X-Api-Key": API_KEY}, checks=CHECKS)


APIWorkflow = schema.as_state_machine()


class Workflows(APIWorkflow):  # type: ignore[misc,valid-type]
    """Stateful phase: sequences of calls along the links schemathesis infers."""

    def setup(self) -> None:
        # Each run starts from no custom formats or profiles: the phase above created
        # some, and state that differs between Hypothesis's replays of one example makes
        # its data generation flaky.
        for repository in (FORMATS, PROFILES, CANDIDATES, NOTIFICATIONS):
            repository._rows.clear()

    def get_call_kwargs(self, case: schemathesis.Case) -> dict[str, object]:
        return {"headers": {"X-Api-Key": API_KEY}}

    def validate_response(self, response: schemathesis.Response, case: schemathesis.Case,
                          **kwargs: object) -> None:
        case.validate_response(response, checks=CHECKS)


Workflows.TestCase.settings = hypothesis.settings(
    max_examples=25, stateful_step_count=8, deadline=None, derandomize=True, database=None,
    suppress_health_check=list(HealthCheck),
)
TestStatefulWorkflowsPassEveryCheck = Workflows.TestCase
