"""validate_grab: what a caller sent becomes a NewItem, or an exact refusal."""

from __future__ import annotations

import pytest
import torf

from core.domain import DownloadProtocol, MovieInfo, NewItem, Priority, SourceKind
from core.errors import InvalidRelease, ReleaseTooLarge
from core.grab import INT32_MAX, MAX_TORRENT_BYTES, GrabRequest, validate_grab
from core.links import url_hash
from core.ports import TorrentMeta, TorrentParser
from infrastructure.torrents import TorfParser
from tests.fakes import EPOCH, FakeTorrentParser

HASH = "0123456789abcdef0123456789abcdef01234567"
MAGNET = f"magnet:?xt=urn:btih:{HASH.upper()}&dn=Magnet.Name.2024&xl=5000"
META = TorrentMeta(info_hash="fe" * 20, name="Torrent.Name.2023.1080p", size=7777)


@pytest.fixture
def fake() -> FakeTorrentParser:
    return FakeTorrentParser(META)


@pytest.fixture(scope="module")
def real_torrent(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, torf.Torrent]:
    folder = tmp_path_factory.mktemp("payload") / "Real.Movie.2022.720p"
    folder.mkdir()
    (folder / "movie.mkv").write_bytes(b"m" * 40_000)
    (folder / "movie.nfo").write_bytes(b"n" * 123)
    torrent = torf.Torrent(path=folder, trackers=["http://tracker.example/announce"])
    torrent.generate()
    return torrent.dump(), torrent


def grab(request: GrabRequest, parser: TorrentParser | None = None,
         max_size: int | None = None) -> NewItem:
    return validate_grab(request, parser or FakeTorrentParser(META), EPOCH, max_size)


# -- sources -----------------------------------------------------------------------------


def test_magnet_grab_becomes_a_torrent_item_keyed_by_its_info_hash() -> None:
    new = grab(GrabRequest(title="My Title", download_url=f"  {MAGNET}  "))

    assert new.source is SourceKind.MAGNET
    assert new.protocol is DownloadProtocol.TORRENT
    assert new.info_hash == HASH
    assert new.url_hash is None
    assert new.download_url == MAGNET
    assert new.torrent is None
    assert new.title == "My Title"
    assert new.added_at == EPOCH


def test_torrent_file_grab_is_parsed_and_stored(fake: FakeTorrentParser) -> None:
    new = grab(GrabRequest(title="My Title", torrent_file=b"d4:spam4:eggse"), fake)

    assert fake.parsed == [b"d4:spam4:eggse"]
    assert new.source is SourceKind.TORRENT_FILE
    assert new.protocol is DownloadProtocol.TORRENT
    assert new.info_hash == META.info_hash
    assert new.torrent == b"d4:spam4:eggse"
    assert new.download_url is None
    assert new.url_hash is None


def test_real_torrent_file_grab_takes_hash_name_and_size_from_the_torrent(
    real_torrent: tuple[bytes, torf.Torrent],
) -> None:
    data, torrent = real_torrent

    new = grab(GrabRequest(torrent_file=data, size=1), TorfParser())

    assert new.source is SourceKind.TORRENT_FILE
    assert new.info_hash == torrent.infohash.lower()
    assert new.title == "Real.Movie.2022.720p"
    assert new.size == 40_000 + 123
    assert new.torrent == data


def test_real_torrent_parser_refuses_a_torrent_file_that_is_not_one() -> None:
    with pytest.raises(InvalidRelease):
        grab(GrabRequest(title="x", torrent_file=b"<html>not a torrent</html>"), TorfParser())


def test_real_torrent_parser_refuses_a_truncated_torrent_file(
    real_torrent: tuple[bytes, torf.Torrent],
) -> None:
    data, _ = real_torrent
    with pytest.raises(InvalidRelease):
        grab(GrabRequest(title="x", torrent_file=data[: len(data) // 2]), TorfParser())


def test_torrent_url_is_recognised_by_its_path_ending() -> None:
    url = "https://indexer.example/dl/Some.Movie.2021.TORRENT?passkey=k"

    new = grab(GrabRequest(title="t", download_url=url))

    assert new.source is SourceKind.TORRENT_URL
    assert new.protocol is DownloadProtocol.TORRENT
    assert new.info_hash is None
    assert new.url_hash == url_hash(url)
    assert new.download_url == url


def test_torrent_url_is_recognised_by_the_protocol_the_caller_gave() -> None:
    url = "https://indexer.example/download.php?id=42"

    new = grab(GrabRequest(title="t", download_url=url, protocol=DownloadProtocol.TORRENT))

    assert new.source is SourceKind.TORRENT_URL
    assert new.protocol is DownloadProtocol.TORRENT
    assert new.url_hash == url_hash(url)


def test_plain_http_file_is_an_http_item_of_unknown_protocol() -> None:
    url = "https://files.example/movies/Some.Movie.2020.mkv"

    new = grab(GrabRequest(title="t", download_url=url))

    assert new.source is SourceKind.HTTP
    assert new.protocol is DownloadProtocol.UNKNOWN
    assert new.info_hash is None
    assert new.url_hash == url_hash(url)


def test_equivalent_urls_get_the_same_url_hash() -> None:
    a = grab(GrabRequest(title="t", download_url="HTTP://Files.Example:80/a.mkv?utm_source=x"))
    b = grab(GrabRequest(title="t", download_url="http://files.example/a.mkv"))

    assert a.url_hash == b.url_hash


def test_a_download_url_that_is_neither_magnet_nor_http_is_refused() -> None:
    with pytest.raises(InvalidRelease, match="magnet link or an http"):
        grab(GrabRequest(title="t", download_url="ftp://files.example/a.torrent"))


def test_an_invalid_magnet_is_refused() -> None:
    with pytest.raises(InvalidRelease):
        grab(GrabRequest(title="t", download_url="magnet:?xt=urn:btih:nothex"))


def test_a_grab_with_neither_url_nor_torrent_file_is_refused() -> None:
    with pytest.raises(InvalidRelease, match="Give downloadUrl"):
        grab(GrabRequest(title="t"))


def test_a_grab_with_both_download_url_and_torrent_file_is_refused(
    fake: FakeTorrentParser,
) -> None:
    with pytest.raises(InvalidRelease, match="not both"):
        grab(GrabRequest(title="t", download_url=MAGNET, torrent_file=b"d4:infodee"), fake)
    assert fake.parsed == []


@pytest.mark.parametrize("url", [MAGNET, "http://files.example/a.mkv", None])
def test_usenet_releases_are_refused(url: str | None) -> None:
    with pytest.raises(InvalidRelease, match=r"[Uu]senet"):
        grab(GrabRequest(title="t", download_url=url, protocol=DownloadProtocol.USENET))


def test_a_torrent_file_over_the_limit_is_refused_before_parsing(
    fake: FakeTorrentParser,
) -> None:
    with pytest.raises(InvalidRelease, match="larger than"):
        grab(GrabRequest(title="t", torrent_file=b"d" * (MAX_TORRENT_BYTES + 1)), fake)
    assert fake.parsed == []


# -- titles ------------------------------------------------------------------------------


def test_title_falls_back_to_the_magnet_name() -> None:
    assert grab(GrabRequest(download_url=MAGNET)).title == "Magnet.Name.2024"


def test_title_falls_back_to_the_torrent_name(fake: FakeTorrentParser) -> None:
    assert grab(GrabRequest(torrent_file=b"d4:infodee"), fake).title == META.name


def test_title_falls_back_to_the_url_file_name_without_torrent_extension() -> None:
    new = grab(GrabRequest(download_url="http://x.example/dl/Some%20Movie.2021.torrent?id=1"))

    assert new.title == "Some Movie.2021"


def test_title_falls_back_to_the_whole_file_name_of_an_http_file() -> None:
    assert grab(GrabRequest(download_url="http://x.example/files/Film.2020.mkv")).title == (
        "Film.2020.mkv"
    )


def test_a_blank_title_counts_as_no_title() -> None:
    assert grab(GrabRequest(title="   ", download_url=MAGNET)).title == "Magnet.Name.2024"


def test_the_given_title_wins_over_the_release_name_and_is_trimmed() -> None:
    assert grab(GrabRequest(title="  Given  ", download_url=MAGNET)).title == "Given"


@pytest.mark.parametrize(
    "url",
    [
        f"magnet:?xt=urn:btih:{HASH}",
        "http://x.example/",
        "http://x.example",
    ],
)
def test_title_is_required_when_the_release_carries_no_name(url: str) -> None:
    with pytest.raises(InvalidRelease, match="title is required"):
        grab(GrabRequest(download_url=url))


@pytest.mark.parametrize("bad", ["a\x00b", "line\nbreak", "carriage\rreturn", "esc\x1b[31m"])
def test_a_title_with_control_characters_is_refused(bad: str) -> None:
    with pytest.raises(InvalidRelease, match="title contains control characters"):
        grab(GrabRequest(title=bad, download_url=MAGNET))


@pytest.mark.parametrize("bad", ["del\x7fchar", "csi\x9b31m"])
def test_a_title_with_del_or_c1_control_characters_is_refused(bad: str) -> None:
    with pytest.raises(InvalidRelease, match="control characters"):
        grab(GrabRequest(title=bad, download_url=MAGNET))


def test_a_title_with_a_tab_is_accepted() -> None:
    assert grab(GrabRequest(title="a\tb", download_url=MAGNET)).title == "a\tb"


def test_a_magnet_name_with_control_characters_is_refused() -> None:
    with pytest.raises(InvalidRelease, match="control characters"):
        grab(GrabRequest(download_url=f"magnet:?xt=urn:btih:{HASH}&dn=a%0Ab"))


def test_a_title_over_a_thousand_characters_is_refused() -> None:
    assert len(grab(GrabRequest(title="t" * 1000, download_url=MAGNET)).title) == 1000
    with pytest.raises(InvalidRelease, match="longer than 1000"):
        grab(GrabRequest(title="t" * 1001, download_url=MAGNET))


# -- sizes -------------------------------------------------------------------------------


def test_magnet_size_comes_from_xl_over_the_request_size() -> None:
    assert grab(GrabRequest(title="t", download_url=MAGNET, size=1)).size == 5000


def test_magnet_without_xl_keeps_the_request_size() -> None:
    new = grab(GrabRequest(title="t", download_url=f"magnet:?xt=urn:btih:{HASH}", size=321))

    assert new.size == 321


def test_torrent_size_overrides_the_request_size(fake: FakeTorrentParser) -> None:
    assert grab(GrabRequest(torrent_file=b"d4:infodee", size=1), fake).size == META.size


def test_a_torrent_size_past_what_a_bigint_holds_is_refused() -> None:
    huge = FakeTorrentParser(TorrentMeta(info_hash="fe" * 20, name="Huge.2023", size=2**64))
    with pytest.raises(InvalidRelease, match="total size must be between 0 and "
                                             "9223372036854775807, got 18446744073709551616"):
        grab(GrabRequest(torrent_file=b"d4:infodee"), huge)


def test_url_grab_keeps_the_request_size_and_defaults_to_zero() -> None:
    url = "http://x.example/a.mkv"

    assert grab(GrabRequest(title="t", download_url=url, size=99)).size == 99
    assert grab(GrabRequest(title="t", download_url=url)).size == 0


def test_a_release_over_the_size_limit_is_refused_with_size_and_limit() -> None:
    with pytest.raises(ReleaseTooLarge) as raised:
        grab(GrabRequest(title="t", download_url=MAGNET), max_size=4999)

    assert "5000" in raised.value.message
    assert "4999" in raised.value.message


def test_a_release_exactly_at_the_size_limit_is_accepted() -> None:
    assert grab(GrabRequest(title="t", download_url=MAGNET), max_size=5000).size == 5000


def test_the_size_limit_applies_to_the_size_read_from_the_torrent(
    fake: FakeTorrentParser,
) -> None:
    with pytest.raises(ReleaseTooLarge, match=f"{META.size}.*{META.size - 1}"):
        grab(GrabRequest(torrent_file=b"d4:infodee", size=1), fake, max_size=META.size - 1)


def test_a_negative_size_is_refused() -> None:
    with pytest.raises(InvalidRelease, match="size"):
        grab(GrabRequest(title="t", download_url="http://x.example/a.mkv", size=-1))


@pytest.mark.parametrize("field", ["seeders", "leechers"])
def test_negative_seeders_or_leechers_are_refused(field: str) -> None:
    with pytest.raises(InvalidRelease, match=field):
        grab(GrabRequest(title="t", download_url=MAGNET, **{field: -1}))  # type: ignore[arg-type]


def test_seeders_over_int32_are_refused() -> None:
    with pytest.raises(InvalidRelease, match="seeders"):
        grab(GrabRequest(title="t", download_url=MAGNET, seeders=INT32_MAX + 1))


# -- movieId -----------------------------------------------------------------------------


@pytest.mark.parametrize("movie_id", [1, INT32_MAX])
def test_movie_id_within_positive_int32_is_kept(movie_id: int) -> None:
    assert grab(GrabRequest(title="t", download_url=MAGNET, movie_id=movie_id)).movie_id == (
        movie_id
    )


@pytest.mark.parametrize("movie_id", [0, -1, INT32_MAX + 1])
def test_movie_id_outside_positive_int32_is_refused(movie_id: int) -> None:
    with pytest.raises(InvalidRelease, match="movieId"):
        grab(GrabRequest(title="t", download_url=MAGNET, movie_id=movie_id))


def test_no_movie_id_means_an_unknown_movie() -> None:
    assert grab(GrabRequest(title="t", download_url=MAGNET)).movie_id is None


@pytest.mark.parametrize("movie", [MovieInfo(title="Heat\x00"),
                                   MovieInfo(title="Heat", sort_title="\x00heat")])
def test_a_movie_title_with_a_nul_is_refused(movie: MovieInfo) -> None:
    with pytest.raises(InvalidRelease, match="movie's title must not contain NUL"):
        grab(GrabRequest(title="t", download_url=MAGNET, movie=movie))


# -- category ----------------------------------------------------------------------------


@pytest.mark.parametrize("category", ["movies", "movies/4k", "Radarr Films"])
def test_a_plain_category_is_kept(category: str) -> None:
    assert grab(GrabRequest(title="t", download_url=MAGNET, category=category)).category == (
        category
    )


@pytest.mark.parametrize(
    "category",
    [
        "..",
        "../etc",
        "movies/../../etc",
        "movies\\..\\..\\etc",
        "/etc",
        "\\server\\share",
        "~",
        "~root/x",
        "C:\\temp",
        "c:movies",
        "movies//4k",
        "movies/",
    ],
)
def test_a_category_that_could_leave_the_download_folder_is_refused(category: str) -> None:
    with pytest.raises(InvalidRelease, match="category"):
        grab(GrabRequest(title="t", download_url=MAGNET, category=category))


def test_a_category_with_control_characters_is_refused() -> None:
    with pytest.raises(InvalidRelease, match="category"):
        grab(GrabRequest(title="t", download_url=MAGNET, category="mov\nies"))


# -- the rest of the request ------------------------------------------------------------


def test_other_request_fields_are_carried_over_and_trimmed() -> None:
    movie = MovieInfo(title="Film", year=2020, tmdb_id=5)
    request = GrabRequest(
        title="t", download_url=MAGNET, movie_id=7, movie=movie, release_id=" r1 ",
        indexer=" Indexer ", seeders=3, leechers=4, priority=Priority.HIGH,
        download_client=" qbit ", category=" movies ",
    )

    new = grab(request)

    assert (new.movie_id, new.movie, new.release_id, new.indexer) == (7, movie, "r1", "Indexer")
    assert (new.seeders, new.leechers, new.priority) == (3, 4, Priority.HIGH)
    assert (new.download_client, new.category) == ("qbit", "movies")


def test_url_and_magnet_grabs_never_consult_the_torrent_parser() -> None:
    parser = FakeTorrentParser(META)
    grab(GrabRequest(title="t", download_url="http://x.example/a.torrent"), parser)
    grab(GrabRequest(title="t", download_url=MAGNET), parser)

    assert parser.parsed == []


# -- origin --------------------------------------------------------------------------------


def test_the_chat_user_and_save_directory_a_grab_came_with_are_kept() -> None:
    new = grab(GrabRequest(download_url=MAGNET, origin_chat=-1001234567890,
                           origin_user=7_000_000_001, save_under="tg--1001234567890"))
    assert (new.origin_chat, new.origin_user, new.save_under) == (
        -1001234567890, 7_000_000_001, "tg--1001234567890")
    assert grab(GrabRequest(download_url=MAGNET)).save_under is None


@pytest.mark.parametrize("name", ["..", ".", "a/b", "..\\x", "~root", "c:x", "a\x01b"])
def test_a_save_directory_that_is_not_one_plain_name_is_refused(name: str) -> None:
    with pytest.raises(InvalidRelease):
        grab(GrabRequest(download_url=MAGNET, save_under=name))
