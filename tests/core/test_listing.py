"""Radarr's listing rules: sort keys, directions, the past-the-end page, status order,
filters and the sort values every repository orders by."""

from __future__ import annotations

from datetime import timedelta
from itertools import pairwise

import pytest

from core.domain import DownloadProtocol, ItemState, MovieInfo, QueueItem, SourceKind
from core.listing import (
    NO_ETA,
    RADARR_STATUS,
    SORT_COLUMNS,
    SORT_KEYS,
    STATUS_RANK,
    QueueFilter,
    RadarrStatus,
    SortDirection,
    page_past_end,
    page_window,
    resolve_direction,
    resolve_sort_key,
    sort_values,
)
from core.quality import QUALITY_BY_ID, Language, QualityModel
from tests.fakes import EPOCH

S = ItemState

RADARR_SORT_KEYS = [
    "added", "downloadClient", "estimatedCompletionTime", "indexer", "languages",
    "movies.sortTitle", "progress", "protocol", "quality", "size", "status",
    "timeleft", "title", "year",
]


def item(**fields: object) -> QueueItem:
    values: dict[str, object] = {
        "id": 1, "title": "Some.Movie.2020", "source": SourceKind.MAGNET,
        "protocol": DownloadProtocol.TORRENT, "state": S.QUEUED, "added_at": EPOCH,
        "updated_at": EPOCH, "movie_id": 10,
    }
    values.update(fields)
    return QueueItem(**values)  # type: ignore[arg-type]


# -- sort keys ---------------------------------------------------------------------------


def test_the_allow_list_is_radarrs() -> None:
    assert sorted(SORT_KEYS) == sorted(RADARR_SORT_KEYS)
    assert set(SORT_COLUMNS) == set(RADARR_SORT_KEYS)


@pytest.mark.parametrize("key", RADARR_SORT_KEYS)
def test_an_allowed_sort_key_is_echoed_and_resolved_to_itself(key: str) -> None:
    assert resolve_sort_key(key) == (key, key)


@pytest.mark.parametrize(
    ("sent", "canonical"),
    [
        ("TITLE", "title"),
        ("timeLeft", "timeleft"),
        ("Movies.SortTitle", "movies.sortTitle"),
        ("downloadclient", "downloadClient"),
        ("ESTIMATEDCOMPLETIONTIME", "estimatedCompletionTime"),
    ],
)
def test_sort_keys_match_case_insensitively_and_are_echoed_as_sent(
    sent: str, canonical: str
) -> None:
    assert resolve_sort_key(sent) == (sent, canonical)


@pytest.mark.parametrize(
    "sent", [None, "", "bogus", "sortTitle", "movie.sortTitle", "title ", "id", "added;drop"]
)
def test_an_unknown_sort_key_becomes_timeleft(sent: str | None) -> None:
    assert resolve_sort_key(sent) == ("timeleft", "timeleft")


# -- directions --------------------------------------------------------------------------


def test_an_omitted_direction_is_descending() -> None:
    assert resolve_direction(None) is SortDirection.DESCENDING


def test_the_default_direction_is_ascending() -> None:
    assert resolve_direction(SortDirection.DEFAULT) is SortDirection.ASCENDING


@pytest.mark.parametrize("direction", [SortDirection.ASCENDING, SortDirection.DESCENDING])
def test_an_explicit_direction_is_kept(direction: SortDirection) -> None:
    assert resolve_direction(direction) is direction


# -- paging ------------------------------------------------------------------------------


def test_a_page_past_the_end_becomes_total_divided_by_page_size() -> None:
    # Radarr's example: 25 records, pageSize 10, page 9 gives page 2 (records 11-20).
    assert page_past_end(9, 10, 25) == 2


@pytest.mark.parametrize(
    ("page", "page_size", "total", "expected"),
    [
        (5, 10, 30, 3),  # total a multiple of the page size: the real last page
        (4, 10, 29, 2),  # integer division misses the partial last page
        (3, 10, 5, 1),  # never below page 1
        (100, 1, 7, 7),
    ],
)
def test_the_page_past_the_end_follows_radarrs_integer_division(
    page: int, page_size: int, total: int, expected: int
) -> None:
    assert page_past_end(page, page_size, total) == expected


@pytest.mark.parametrize(
    ("page", "page_size", "window"),
    [(1, 10, (0, 10)), (3, 10, (20, 10)), (0, 10, (0, 10)), (-4, 5, (0, 5)), (2, 0, (0, 0))],
)
def test_page_window_is_one_based_and_treats_low_pages_as_the_first(
    page: int, page_size: int, window: tuple[int, int]
) -> None:
    assert page_window(page, page_size) == window


# -- status order ------------------------------------------------------------------------


def test_status_rank_orders_states_like_radarrs_pascal_case_status_names() -> None:
    # Radarr sorts by Status.ToString(), compared as strings:
    # Completed < Delay < DownloadClientUnavailable < Downloading < Failed < Paused
    # < Queued < Warning.
    expected = [
        [S.COMPLETED],
        [S.RETRYING],
        [S.CLIENT_UNAVAILABLE],
        [S.DOWNLOADING],
        [S.FAILED],
        [S.PAUSED],
        [S.QUEUED, S.SENDING],
        [S.WARNING],
    ]
    for lower, higher in pairwise(expected):
        for a in lower:
            for b in higher:
                assert STATUS_RANK[a] < STATUS_RANK[b], (a, b)
    assert STATUS_RANK[S.QUEUED] == STATUS_RANK[S.SENDING]


def test_status_rank_agrees_with_sorting_the_pascal_case_names() -> None:
    def pascal(state: ItemState) -> str:
        value = RADARR_STATUS[state].value
        return value[0].upper() + value[1:]

    by_rank = sorted(ItemState, key=lambda s: (STATUS_RANK[s], s.value))
    by_name = sorted(ItemState, key=lambda s: (pascal(s), s.value))

    assert by_rank == by_name


def test_every_state_maps_to_a_radarr_status_as_the_design_says() -> None:
    assert RADARR_STATUS == {
        S.QUEUED: RadarrStatus.QUEUED,
        S.SENDING: RadarrStatus.QUEUED,
        S.DOWNLOADING: RadarrStatus.DOWNLOADING,
        S.PAUSED: RadarrStatus.PAUSED,
        S.RETRYING: RadarrStatus.DELAY,
        S.CLIENT_UNAVAILABLE: RadarrStatus.DOWNLOAD_CLIENT_UNAVAILABLE,
        S.WARNING: RadarrStatus.WARNING,
        S.COMPLETED: RadarrStatus.COMPLETED,
        S.FAILED: RadarrStatus.FAILED,
    }


def test_a_status_filter_covers_every_state_shown_with_that_status() -> None:
    queued = QueueFilter(statuses=QueueFilter.for_statuses([RadarrStatus.QUEUED]))
    assert queued.counter_states == {S.QUEUED, S.SENDING}
    two = QueueFilter(statuses=QueueFilter.for_statuses(
        [RadarrStatus.DELAY, RadarrStatus.FAILED]))
    assert two.counter_states == {S.RETRYING, S.FAILED}
    assert QueueFilter.for_statuses([]) is None


def test_only_a_status_no_client_view_shows_is_counted_from_the_counters() -> None:
    assert QueueFilter(statuses=frozenset({RadarrStatus.DELAY})).counter_only
    assert QueueFilter(statuses=frozenset(
        {RadarrStatus.DOWNLOAD_CLIENT_UNAVAILABLE, RadarrStatus.DELAY})).counter_only
    for status in ("queued", "paused", "downloading", "completed", "failed", "warning"):
        assert not QueueFilter(statuses=frozenset({RadarrStatus(status)})).counter_only


# -- filters -----------------------------------------------------------------------------


def test_the_default_filter_hides_unknown_movies_only() -> None:
    flt = QueueFilter()

    assert flt.matches(item(movie_id=10))
    assert not flt.matches(item(movie_id=None))
    assert QueueFilter(include_unknown=True).matches(item(movie_id=None))


def test_filter_by_movie_ids() -> None:
    flt = QueueFilter(include_unknown=True, movie_ids=frozenset({10, 11}))

    assert flt.matches(item(movie_id=11))
    assert not flt.matches(item(movie_id=12))
    assert not flt.matches(item(movie_id=None))


def test_filter_by_protocol_is_an_exact_match() -> None:
    flt = QueueFilter(protocol=DownloadProtocol.TORRENT)

    assert flt.matches(item(protocol=DownloadProtocol.TORRENT))
    assert not flt.matches(item(protocol=DownloadProtocol.UNKNOWN))


def test_filter_by_states() -> None:
    flt = QueueFilter(states=frozenset({S.FAILED, S.PAUSED}))

    assert flt.matches(item(state=S.PAUSED))
    assert not flt.matches(item(state=S.DOWNLOADING))


def test_filter_by_quality_ids() -> None:
    bluray = QualityModel(QUALITY_BY_ID[7])
    flt = QueueFilter(quality_ids=frozenset({7}))

    assert flt.matches(item(quality=bluray))
    assert not flt.matches(item())  # unknown quality, id 0


def test_filter_by_languages_keeps_items_with_any_of_them() -> None:
    flt = QueueFilter(language_ids=frozenset({2, 3}))

    assert flt.matches(item(languages=(Language(1, "English"), Language(3, "Spanish"))))
    assert not flt.matches(item(languages=(Language(1, "English"),)))


def test_filters_combine_with_and() -> None:
    flt = QueueFilter(movie_ids=frozenset({10}), states=frozenset({S.QUEUED}))

    assert flt.matches(item(movie_id=10, state=S.QUEUED))
    assert not flt.matches(item(movie_id=10, state=S.FAILED))
    assert not flt.matches(item(movie_id=11, state=S.QUEUED))


def test_only_state_and_unknown_filters_can_be_answered_from_counters() -> None:
    assert QueueFilter(include_unknown=True, states=frozenset({S.QUEUED})).counter_only
    assert not QueueFilter(movie_ids=frozenset({1})).counter_only
    assert not QueueFilter(protocol=DownloadProtocol.TORRENT).counter_only
    assert not QueueFilter(quality_ids=frozenset({1})).counter_only
    assert not QueueFilter(language_ids=frozenset({1})).counter_only


# -- sort values -------------------------------------------------------------------------


def test_sort_values_has_a_value_for_every_sort_column() -> None:
    assert set(sort_values(item())) == set(SORT_COLUMNS.values())


def test_unknown_completion_time_sorts_after_every_real_one() -> None:
    eta = EPOCH + timedelta(hours=1)

    assert sort_values(item())["ect_sort"] == NO_ETA
    assert sort_values(item(estimated_completion_at=eta))["ect_sort"] == eta
    assert eta < NO_ETA


def test_sort_title_prefers_the_movie_sort_title_then_its_title_then_the_release() -> None:
    assert sort_values(item(movie=MovieInfo(title="Alien", sort_title="alien, the")))[
        "sort_title"] == "alien, the"
    assert sort_values(item(movie=MovieInfo(title="The ALIEN")))["sort_title"] == "the alien"
    assert sort_values(item(title="Release.NAME", movie=None))["sort_title"] == "release.name"


def test_client_indexer_and_language_keys_ignore_case_and_missing_values() -> None:
    values = sort_values(item(download_client="QBit", indexer="NZB",
                              languages=(Language(1, "English"), Language(2, "French"))))

    assert values["download_client_key"] == "qbit"
    assert values["indexer_key"] == "nzb"
    assert values["languages_key"] == "english,french"
    assert sort_values(item())["download_client_key"] == ""
    assert sort_values(item())["indexer_key"] == ""


def test_year_is_zero_when_the_movie_or_its_year_is_unknown() -> None:
    assert sort_values(item(movie=MovieInfo(year=1999)))["movie_year"] == 1999
    assert sort_values(item(movie=MovieInfo()))["movie_year"] == 0
    assert sort_values(item(movie=None))["movie_year"] == 0


def test_protocol_sorts_unknown_then_usenet_then_torrent() -> None:
    ranks = [sort_values(item(protocol=p))["protocol"] for p in
             (DownloadProtocol.UNKNOWN, DownloadProtocol.USENET, DownloadProtocol.TORRENT)]

    assert ranks == sorted(ranks)
    assert len(set(ranks)) == 3


def test_quality_sorts_by_the_default_profile_order() -> None:
    def rank(quality_id: int) -> object:
        return sort_values(item(quality=QualityModel(QUALITY_BY_ID[quality_id])))[
            "quality_rank"]

    # CAM (25) < SDTV (1) < WEBDL-720p (5) < Bluray-1080p (7) < Remux-2160p (31)
    assert rank(25) < rank(1) < rank(5) < rank(7) < rank(31)  # type: ignore[operator]


def test_status_sort_value_is_the_status_rank() -> None:
    for state in ItemState:
        assert sort_values(item(state=state))["status_rank"] == STATUS_RANK[state]


def test_plain_fields_are_taken_as_they_are() -> None:
    values = sort_values(item(size=123, progress=42.5, title="Exact.Case"))

    assert (values["size"], values["progress"], values["title"]) == (123, 42.5, "Exact.Case")
    assert values["added_at"] == EPOCH
