"""Tags in routing (core.clients.route), as Radarr's DownloadClientProvider picks a client:
an item with tags goes to the clients that share one, else to clients without tags; a
client with tags never takes an item that shares none."""

from __future__ import annotations

from datetime import UTC, datetime

from core.clients import ClientConfig, ClientDescriptor, ClientKind, route
from core.domain import DownloadProtocol, ItemState, QueueItem, SourceKind

QBIT = ClientKind.QBITTORRENT
ARIA2 = ClientKind.ARIA2
NOW = datetime(2024, 1, 1, tzinfo=UTC)


def item(*tags: int, source: SourceKind = SourceKind.MAGNET,
         client: str | None = None) -> QueueItem:
    return QueueItem(
        id=1, title="Some.Movie.2020", source=source,
        protocol=DownloadProtocol.UNKNOWN if source is SourceKind.HTTP
        else DownloadProtocol.TORRENT,
        state=ItemState.QUEUED, added_at=NOW, updated_at=NOW, download_client=client,
        tags=tags,
    )


def client(name: str, *tags: int, kind: ClientKind = QBIT, priority: int = 1,
           enabled: bool = True) -> ClientDescriptor:
    return ClientDescriptor(name, kind, enabled, priority, frozenset(tags))


def routed(it: QueueItem, *clients: ClientDescriptor) -> str | None:
    chosen = route(it, clients)
    return chosen.name if chosen is not None else None


def test_an_item_with_a_tag_goes_to_the_client_that_shares_it_over_a_better_untagged_one(
        ) -> None:
    assert routed(item(2), client("plain", priority=1),
                  client("movies", 2, priority=50)) == "movies"


def test_an_item_whose_tags_no_client_shares_goes_to_a_client_without_tags() -> None:
    assert routed(item(7), client("tagged", 2), client("plain", priority=40)) == "plain"


def test_an_item_without_tags_never_goes_to_a_client_with_tags() -> None:
    assert routed(item(), client("tagged", 2, priority=1),
                  client("plain", priority=50)) == "plain"
    assert routed(item(), client("tagged", 2)) is None


def test_an_item_whose_tags_are_shared_by_no_client_has_no_route_when_every_client_is_tagged(
        ) -> None:
    assert routed(item(3), client("a", 1), client("b", 2)) is None


def test_among_the_clients_that_share_a_tag_priority_still_decides() -> None:
    assert routed(item(1, 2), client("low", 1, priority=10), client("high", 2, priority=2),
                  client("plain", priority=1)) == "high"


def test_a_disabled_client_that_shares_the_tag_is_passed_over_for_an_untagged_one() -> None:
    assert routed(item(2), client("off", 2, enabled=False), client("plain")) == "plain"


def test_a_sharing_client_that_cannot_take_the_source_is_passed_over() -> None:
    http = item(2, source=SourceKind.HTTP)
    assert routed(http, client("qbit", 2), client("aria", kind=ARIA2)) == "aria"


def test_a_named_client_is_used_whatever_its_tags_as_radarr_does_with_a_chosen_client(
        ) -> None:
    assert routed(item(client="tagged"), client("tagged", 5), client("plain")) == "tagged"


def test_a_client_configurations_tags_reach_routing() -> None:
    config = ClientConfig("qbit", QBIT, {}, tags=(4, 9))
    assert config.descriptor.tags == frozenset({4, 9})
