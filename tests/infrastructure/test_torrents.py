"""TorfParser on real .torrent files made with torf, and on things that are not ones."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest
import torf

from core.errors import InvalidRelease
from core.grab import MAX_TORRENT_BYTES, MAX_TORRENT_FILES
from infrastructure.torrents import TorfParser
from tests.torrent_data import many_files

TRACKERS = ["http://tracker.one.example/announce", "udp://tracker.two.example:1337"]


def make_torrent(path: Path, trackers: list[str] | None = None) -> tuple[bytes, torf.Torrent]:
    torrent = torf.Torrent(path=path, trackers=trackers if trackers is not None else TRACKERS)
    torrent.generate()
    return torrent.dump(), torrent


@pytest.fixture
def single_file(tmp_path: Path) -> Path:
    path = tmp_path / "Some.Movie.2021.1080p.mkv"
    path.write_bytes(bytes(range(256)) * 200)  # 51,200 bytes
    return path


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    path = tmp_path / "Some.Movie.2021.2160p"
    path.mkdir()
    (path / "movie.mkv").write_bytes(b"m" * 70_000)
    (path / "Subs").mkdir()
    (path / "Subs" / "en.srt").write_bytes(b"s" * 1_234)
    return path


def info_dict_sha1(data: bytes) -> str:
    """The v1 info hash computed by hand: sha1 over the raw bencoded info dictionary.
    'info' sorts after every other top-level key torf writes, so it runs to the end."""
    start = data.index(b"4:infod") + len(b"4:info")
    assert data.endswith(b"e")
    return hashlib.sha1(data[start:-1]).hexdigest()


def test_a_single_file_torrent_gives_its_info_hash_name_and_size(single_file: Path) -> None:
    data, torrent = make_torrent(single_file)

    meta = TorfParser().parse(data)

    assert meta.info_hash == torrent.infohash.lower()
    assert meta.info_hash == info_dict_sha1(data)
    assert meta.name == "Some.Movie.2021.1080p.mkv"
    assert meta.size == 51_200


def test_a_folder_torrent_gives_the_folder_name_and_the_total_size(folder: Path) -> None:
    data, torrent = make_torrent(folder)

    meta = TorfParser().parse(data)

    assert meta.info_hash == torrent.infohash.lower()
    assert meta.info_hash == info_dict_sha1(data)
    assert meta.name == "Some.Movie.2021.2160p"
    assert meta.size == 70_000 + 1_234


def test_the_info_hash_is_forty_lower_case_hex_characters(single_file: Path) -> None:
    info_hash = TorfParser().parse(make_torrent(single_file)[0]).info_hash

    assert len(info_hash) == 40
    assert info_hash == info_hash.lower()
    int(info_hash, 16)


def test_the_trackers_are_read_from_every_tier(single_file: Path) -> None:
    assert TorfParser().parse(make_torrent(single_file)[0]).trackers == tuple(TRACKERS)


def test_a_torrent_without_trackers_has_none(single_file: Path) -> None:
    assert TorfParser().parse(make_torrent(single_file, trackers=[])[0]).trackers == ()


def test_different_content_gives_a_different_info_hash(tmp_path: Path) -> None:
    a = tmp_path / "a.bin"
    b = tmp_path / "b.bin"
    a.write_bytes(b"a" * 1000)
    b.write_bytes(b"b" * 1000)

    parser = TorfParser()
    assert parser.parse(make_torrent(a)[0]).info_hash != parser.parse(make_torrent(b)[0]).info_hash


@pytest.mark.parametrize(
    "data",
    [b"", b"hello world", b"<html><body>404</body></html>", b"\x00\x01\x02", b"i42e",
     b"l4:spame"],
)
def test_data_that_is_not_a_bencoded_dictionary_is_refused(data: bytes) -> None:
    with pytest.raises(InvalidRelease):
        TorfParser().parse(data)


@pytest.mark.parametrize("keep", [0.1, 0.5, 0.9])
def test_a_truncated_torrent_is_refused(single_file: Path, keep: float) -> None:
    data, _ = make_torrent(single_file)

    with pytest.raises(InvalidRelease):
        TorfParser().parse(data[: int(len(data) * keep)])


def test_a_torrent_missing_only_its_last_byte_is_refused(single_file: Path) -> None:
    data, _ = make_torrent(single_file)

    with pytest.raises(InvalidRelease):
        TorfParser().parse(data[:-1])


@pytest.mark.parametrize(
    "data", [b"de", b"d8:announce30:http://tracker.example/announcee", b"d4:spam4:eggse"]
)
def test_a_bencoded_dictionary_without_info_is_refused(data: bytes) -> None:
    with pytest.raises(InvalidRelease):
        TorfParser().parse(data)


def test_an_info_dictionary_without_pieces_is_refused() -> None:
    data = b"d4:infod6:lengthi10e4:name5:movie12:piece lengthi16384eee"

    with pytest.raises(InvalidRelease):
        TorfParser().parse(data)


def test_data_over_ten_megabytes_is_refused_before_decoding() -> None:
    assert MAX_TORRENT_BYTES == 10 * 1024 * 1024

    with pytest.raises(InvalidRelease, match="larger than"):
        TorfParser().parse(b"d" + b"0" * MAX_TORRENT_BYTES)


# -- limits checked before torf decodes (infrastructure.torrent_shape) -------------------


@pytest.fixture
def torf_must_not_decode(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("torf was asked to decode it")

    monkeypatch.setattr(torf.Torrent, "read_stream", refuse)


def test_a_torrent_listing_more_files_than_the_cap_is_refused_before_torf_decodes_it(
    torf_must_not_decode: None,
) -> None:
    # 410,000 such files (9.8 MB) took torf 26 s and 1.1 GB on this box.
    with pytest.raises(InvalidRelease, match=f"lists more than {MAX_TORRENT_FILES} files"):
        TorfParser().parse(many_files(MAX_TORRENT_FILES + 1))


def test_a_string_length_past_the_end_is_refused_without_reading_it(
    torf_must_not_decode: None,
) -> None:
    # torf asked for 999,999,999,999 bytes and died of a MemoryError: a 500.
    with pytest.raises(InvalidRelease, match="string at byte 14 runs past the end"):
        TorfParser().parse(b"d4:infod4:name999999999999:abcee")


def test_a_string_length_of_thousands_of_digits_is_refused(torf_must_not_decode: None
                                                           ) -> None:
    with pytest.raises(InvalidRelease, match="runs past the end"):
        TorfParser().parse(b"d4:infod4:name" + b"9" * 5000 + b":abcee")


def test_the_info_hash_is_the_sha1_of_the_info_bytes_as_sent() -> None:
    # Keys out of order: torf re-encoded them sorted and hashed that, which is not the
    # hash a download client computes from the file.
    info = (b"d6:lengthi5e12:piece lengthi16384e6:pieces20:" + b"a" * 20
            + b"4:name5:x.mkve")
    data = b"d4:info" + info + b"e"

    meta = TorfParser().parse(data)

    assert meta.info_hash == hashlib.sha1(info).hexdigest()
    assert meta.info_hash != torf.Torrent.read_stream(io.BytesIO(data)).infohash
