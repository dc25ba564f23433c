"""Drills with a real aria2c: the client goes down under the processor and comes back;
nothing burns an attempt, nothing is sent twice, everything is sent once it is back."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from core.clients import ClientDescriptor, ClientKind
from core.domain import DownloadProtocol, HistoryEvent, ItemState, NewItem, SourceKind
from core.processor import Processor, ProcessorConfig
from infrastructure.memory import MemoryBlocklistRepository, MemoryQueueRepository
from tests.clients.harness import aria2_client, aria2_downloads
from tests.daemons import Aria2Daemon, ServedFile
from tests.fakes import FakeClock

S = ItemState


class OneClient:
    def __init__(self, client: object) -> None:
        self.client = client

    def get(self, name: str) -> object:
        return self.client if name == "aria2" else None

    def descriptors(self) -> list[ClientDescriptor]:
        return [ClientDescriptor("aria2", ClientKind.ARIA2)]


async def test_client_down_drill(aria2: Aria2Daemon, served_file: ServedFile,
                                 tmp_path: Path) -> None:
    clock = FakeClock(datetime.now(UTC))  # real daemons, but time we can move
    items = MemoryQueueRepository(clock)
    blocklist = MemoryBlocklistRepository()
    client = aria2_client(aria2)
    processor = Processor(items, OneClient(client), clock, "drill",  # type: ignore[arg-type]
                          ProcessorConfig(max_active=20), blocklist)
    try:
        grabbed = [await items.add(NewItem(
            title=f"Copy.{n}", source=SourceKind.HTTP, protocol=DownloadProtocol.UNKNOWN,
            added_at=clock.now(), download_url=f"{served_file.url}?copy={n}",
            url_hash=f"{n:064x}"), HistoryEvent("grabbed")) for n in range(10)]
        aria2.stop()
        await processor.dispatch()
        for item in grabbed:
            waiting = await items.get(item.id)
            assert waiting is not None and waiting.state is S.CLIENT_UNAVAILABLE
            assert waiting.attempts == 0
        assert await processor.dispatch() != []  # retried at once (step 0), still down
        assert not processor.backoffs["aria2"].ready(clock.now())  # now backing off 1 min
        aria2.start()
        assert await processor.dispatch() == []  # nothing is due before the backoff ends
        clock.advance(minutes=1)
        sent = await processor.dispatch()  # the first success sends them all
        assert sorted(sent) == sorted(i.id for i in grabbed)
        for item in grabbed:
            done = await items.get(item.id)
            assert done is not None and done.state is S.DOWNLOADING and done.attempts == 0
        gids = [d["gid"] for d in aria2_downloads(aria2)]
        assert len(gids) == len(set(gids)) == 10  # each sent exactly once
        assert processor.backoffs["aria2"].available
        for item in grabbed:  # an outage is never the release's fault
            assert await blocklist.find(None, item.url_hash, item.title) is None
    finally:
        client.close()
