"""The pass over .torrent bytes before torf decodes them (infrastructure.torrent_shape):
the file count, the limits on values and nesting, malformed bencode, and where the info
dictionary is. TorfParser's use of it is in test_torrents.py."""

from __future__ import annotations

import pytest

from core.errors import InvalidRelease
from core.grab import MAX_TORRENT_FILES
from infrastructure.torrent_shape import scan
from tests.torrent_data import many_files


def test_a_torrent_listing_as_many_files_as_the_cap_passes_the_scan() -> None:
    shape = scan(many_files(MAX_TORRENT_FILES))
    assert shape.files == MAX_TORRENT_FILES


def test_the_file_count_is_exact_at_the_boundary() -> None:
    assert scan(many_files(3), max_files=3).files == 3
    with pytest.raises(InvalidRelease, match="lists more than 3 files"):
        scan(many_files(4), max_files=3)


def test_too_many_values_are_refused_before_they_are_all_read() -> None:
    data = b"d1:al" + b"i0e" * 100 + b"ee"  # the dictionary, "a", the list, 100 integers
    assert scan(data, max_tokens=103).tokens == 103
    with pytest.raises(InvalidRelease, match="more than 102 values"):
        scan(data, max_tokens=102)


def test_values_nested_too_deep_are_refused() -> None:
    with pytest.raises(InvalidRelease, match="nested more than 5 deep"):
        scan(b"d1:a" + b"l" * 5 + b"e" * 5 + b"e", max_depth=5)
    assert scan(b"d1:a" + b"l" * 4 + b"e" * 4 + b"e", max_depth=5).tokens == 6


@pytest.mark.parametrize(("data", "why"), [
    (b"li1ee", "not a bencoded dictionary"),
    (b"di1e1:ae", "key at byte 1 is not a string"),
    (b"d1:ai1ee1:x", "3 bytes after the end"),
    (b"d1:ai1e", "it is cut short"),
    (b"d1:ai1x", "unexpected byte at 4"),
    (b"d4:infod1:ai1ee4:infod1:bi2eee", "two info dictionaries"),
])
def test_malformed_bencode_is_refused_with_where(data: bytes, why: str) -> None:
    with pytest.raises(InvalidRelease, match=why):
        scan(data)


def test_the_info_value_is_found_among_the_other_top_level_keys() -> None:
    info = b"d4:name1:x6:lengthi5ee"
    data = b"d8:announce3:url4:info" + info + b"7:comment2:hie"
    start, end = scan(data).info or (0, 0)
    assert data[start:end] == info
