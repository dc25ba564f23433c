"""Routing a queue item to a download client (core.clients.route) and checking the client
a grab names (core.clients.check_named_client). Pure: descriptors and items only."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import pytest

from core.clients import ClientDescriptor, ClientKind, check_named_client, route
from core.domain import DownloadProtocol, ItemState, QueueItem, SourceKind
from core.errors import BadRequest

QBIT = ClientKind.QBITTORRENT
ARIA2 = ClientKind.ARIA2
NOW = datetime(2024, 1, 1, tzinfo=UTC)
TORRENT_SOURCES = (SourceKind.MAGNET, SourceKind.TORRENT_FILE, SourceKind.TORRENT_URL)


def item(source: SourceKind = SourceKind.MAGNET, client: str | None = None) -> QueueItem:
    return QueueItem(
        id=1, title="Some.Movie.2020", source=source,
        protocol=DownloadProtocol.UNKNOWN if source is SourceKind.HTTP
        else DownloadProtocol.TORRENT,
        state=ItemState.QUEUED, added_at=NOW, updated_at=NOW, download_client=client,
    )


def routed(source: SourceKind, clients: Sequence[ClientDescriptor],
           client: str | None = None) -> str | None:
    chosen = route(item(source, client), clients)
    return chosen.name if chosen is not None else None


# -- route(): no client named --------------------------------------------------------


@pytest.mark.parametrize("source", list(SourceKind))
def test_no_clients_means_no_route(source: SourceKind) -> None:
    assert routed(source, []) is None


@pytest.mark.parametrize("source", TORRENT_SOURCES)
def test_priority_one_beats_priority_two_whatever_the_names_and_order(
        source: SourceKind) -> None:
    clients = [ClientDescriptor("alpha", QBIT, priority=2),
               ClientDescriptor("zulu", QBIT, priority=1),
               ClientDescriptor("Aardvark", ARIA2, priority=3)]
    assert routed(source, clients) == "zulu"
    assert routed(source, list(reversed(clients))) == "zulu"


def test_priority_fifty_is_the_last_resort() -> None:
    clients = [ClientDescriptor("low", QBIT, priority=50),
               ClientDescriptor("high", QBIT, priority=49)]
    assert routed(SourceKind.MAGNET, clients) == "high"
    assert routed(SourceKind.MAGNET, clients[:1]) == "low"


def test_a_disabled_client_is_skipped_even_with_the_best_priority() -> None:
    clients = [ClientDescriptor("best", QBIT, enabled=False, priority=1),
               ClientDescriptor("second", QBIT, priority=2)]
    assert routed(SourceKind.MAGNET, clients) == "second"


def test_only_disabled_clients_means_no_route() -> None:
    clients = [ClientDescriptor("a", QBIT, enabled=False),
               ClientDescriptor("b", ARIA2, enabled=False)]
    for source in SourceKind:
        assert routed(source, clients) is None


def test_http_goes_only_to_aria2_even_when_qbittorrent_has_the_better_priority() -> None:
    clients = [ClientDescriptor("qbit", QBIT, priority=1),
               ClientDescriptor("aria", ARIA2, priority=10)]
    assert routed(SourceKind.HTTP, clients) == "aria"
    assert routed(SourceKind.MAGNET, clients) == "qbit"


def test_http_with_only_qbittorrent_has_no_route() -> None:
    clients = [ClientDescriptor("qbit", QBIT), ClientDescriptor("qbit2", QBIT, priority=5)]
    assert routed(SourceKind.HTTP, clients) is None


def test_http_with_aria2_disabled_has_no_route() -> None:
    clients = [ClientDescriptor("qbit", QBIT), ClientDescriptor("aria", ARIA2, enabled=False)]
    assert routed(SourceKind.HTTP, clients) is None


@pytest.mark.parametrize("source", sorted(set(SourceKind) - {SourceKind.VIDEO}))
def test_aria2_takes_every_source_but_video_pages(source: SourceKind) -> None:
    assert routed(source, [ClientDescriptor("aria", ARIA2)]) == "aria"


def test_a_video_page_goes_to_yt_dlp_only_and_files_never_do() -> None:
    clients = [ClientDescriptor("aria", ARIA2), ClientDescriptor("qbit", QBIT),
               ClientDescriptor("yt", ClientKind.YTDLP, priority=50)]
    assert routed(SourceKind.VIDEO, clients) == "yt"
    assert routed(SourceKind.VIDEO, clients[:2]) is None
    for source in set(SourceKind) - {SourceKind.VIDEO}:
        assert routed(source, [clients[2]]) is None, source


@pytest.mark.parametrize("source", TORRENT_SOURCES)
def test_qbittorrent_takes_every_torrent_source(source: SourceKind) -> None:
    assert routed(source, [ClientDescriptor("qbit", QBIT)]) == "qbit"


def test_ties_are_broken_by_name_ignoring_case() -> None:
    # Code-point order would put "Bravo" and "Charlie" before "alpha".
    clients = [ClientDescriptor("Charlie", QBIT), ClientDescriptor("Bravo", ARIA2),
               ClientDescriptor("alpha", QBIT)]
    assert routed(SourceKind.MAGNET, clients) == "alpha"
    assert routed(SourceKind.MAGNET, clients[:2]) == "Bravo"
    assert routed(SourceKind.MAGNET, list(reversed(clients))) == "alpha"


def test_ties_between_aria2_clients_for_http_are_broken_by_name_ignoring_case() -> None:
    clients = [ClientDescriptor("Zeta", ARIA2), ClientDescriptor("beta", ARIA2),
               ClientDescriptor("Alpha", QBIT)]
    assert routed(SourceKind.HTTP, clients) == "beta"


def test_a_tie_is_broken_by_name_only_among_the_best_priority() -> None:
    clients = [ClientDescriptor("aaa", QBIT, priority=2), ClientDescriptor("zzz", QBIT)]
    assert routed(SourceKind.MAGNET, clients) == "zzz"


# -- route(): a client named ---------------------------------------------------------


def test_a_named_client_is_used_even_with_a_worse_priority() -> None:
    clients = [ClientDescriptor("best", QBIT, priority=1),
               ClientDescriptor("named", QBIT, priority=50)]
    assert routed(SourceKind.MAGNET, clients, client="named") == "named"


def test_a_named_aria2_client_takes_http() -> None:
    clients = [ClientDescriptor("a1", ARIA2), ClientDescriptor("a2", ARIA2, priority=9)]
    assert routed(SourceKind.HTTP, clients, client="a2") == "a2"


def test_a_named_client_that_is_disabled_is_not_replaced_by_another() -> None:
    clients = [ClientDescriptor("named", QBIT, enabled=False), ClientDescriptor("other", QBIT)]
    assert routed(SourceKind.MAGNET, clients, client="named") is None


def test_a_named_client_that_cannot_take_the_source_is_not_replaced_by_another() -> None:
    clients = [ClientDescriptor("qbit", QBIT), ClientDescriptor("aria", ARIA2)]
    assert routed(SourceKind.HTTP, clients, client="qbit") is None


def test_an_unknown_named_client_routes_nowhere() -> None:
    clients = [ClientDescriptor("qbit", QBIT), ClientDescriptor("aria", ARIA2)]
    assert routed(SourceKind.MAGNET, clients, client="gone") is None


# -- check_named_client() ------------------------------------------------------------


def test_check_named_client_returns_the_client_when_it_can_take_the_release() -> None:
    clients = [ClientDescriptor("qbit", QBIT), ClientDescriptor("aria", ARIA2)]
    assert check_named_client("qbit", SourceKind.MAGNET, clients) is clients[0]
    assert check_named_client("aria", SourceKind.HTTP, clients) is clients[1]


def test_check_named_client_names_the_known_clients_when_the_name_is_unknown() -> None:
    clients = [ClientDescriptor("zeta", QBIT), ClientDescriptor("alpha", ARIA2)]
    with pytest.raises(BadRequest) as caught:
        check_named_client("gone", SourceKind.MAGNET, clients)
    assert caught.value.message == "Unknown download client 'gone' (known: alpha, zeta)"


def test_check_named_client_says_none_are_configured() -> None:
    with pytest.raises(BadRequest) as caught:
        check_named_client("gone", SourceKind.MAGNET, [])
    assert caught.value.message == "Unknown download client 'gone' (known: none configured)"


def test_check_named_client_refuses_a_disabled_client() -> None:
    clients = [ClientDescriptor("qbit", QBIT, enabled=False)]
    with pytest.raises(BadRequest) as caught:
        check_named_client("qbit", SourceKind.MAGNET, clients)
    assert caught.value.message == "Download client 'qbit' is disabled"


def test_check_named_client_refuses_http_for_qbittorrent_and_says_aria2_is_needed() -> None:
    clients = [ClientDescriptor("qbit", QBIT)]
    with pytest.raises(BadRequest) as caught:
        check_named_client("qbit", SourceKind.HTTP, clients)
    assert caught.value.message == (
        "Download client 'qbit' (QBittorrent) cannot take a http release; "
        "direct http(s) downloads need aria2")


def test_check_named_client_matches_the_name_exactly() -> None:
    clients = [ClientDescriptor("qbit", QBIT)]
    with pytest.raises(BadRequest, match="Unknown download client 'QBIT'"):
        check_named_client("QBIT", SourceKind.MAGNET, clients)
