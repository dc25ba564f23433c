"""Parsing magnets and http(s) URLs, URL normalisation and base64 decoding."""

from __future__ import annotations

import base64
import hashlib

import pytest

from core.errors import InvalidRelease
from core.links import (
    MAX_MAGNET_LENGTH,
    MAX_URL_LENGTH,
    check_http_url,
    decode_base64,
    normalise_url,
    parse_magnet,
    url_hash,
)

RAW_HASH = bytes(range(20))
HEX = RAW_HASH.hex()  # 000102...13
BASE32 = base64.b32encode(RAW_HASH).decode()  # 32 characters
OTHER_HEX = "ab" * 20


def magnet(*params: str) -> str:
    return "magnet:?" + "&".join(params)


# -- magnets -----------------------------------------------------------------------------


def test_magnet_with_a_hex_info_hash_gives_that_hash_in_lower_case() -> None:
    parsed = parse_magnet(magnet(f"xt=urn:btih:{HEX.upper()}"))

    assert parsed.info_hash == HEX
    assert parsed.name is None
    assert parsed.size is None
    assert parsed.trackers == ()


def test_magnet_with_a_base32_info_hash_gives_the_hex_form() -> None:
    assert len(BASE32) == 32
    assert parse_magnet(magnet(f"xt=urn:btih:{BASE32}")).info_hash == HEX


def test_magnet_with_a_lower_case_base32_info_hash_gives_the_hex_form() -> None:
    assert parse_magnet(magnet(f"xt=urn:btih:{BASE32.lower()}")).info_hash == HEX


def test_magnet_name_size_and_trackers_are_parsed() -> None:
    uri = magnet(
        f"xt=urn:btih:{HEX}",
        "dn=Some.Movie.2024.1080p%20WEB",
        "xl=123456789",
        "tr=udp%3A%2F%2Ftracker.one%3A1337%2Fannounce",
        "tr=http://tracker.two/announce",
    )

    parsed = parse_magnet(uri)

    assert parsed.name == "Some.Movie.2024.1080p WEB"
    assert parsed.size == 123456789
    assert parsed.trackers == ("udp://tracker.one:1337/announce", "http://tracker.two/announce")


def test_magnet_trackers_given_twice_are_kept_once() -> None:
    uri = magnet(f"xt=urn:btih:{HEX}", "tr=http://t/a", "tr=http://t/a", "tr=http://t/b")

    assert parse_magnet(uri).trackers == ("http://t/a", "http://t/b")


def test_magnet_with_an_upper_case_prefix_is_accepted() -> None:
    assert parse_magnet(f"MAGNET:?xt=urn:btih:{HEX}").info_hash == HEX


def test_magnet_with_an_upper_case_urn_is_accepted() -> None:
    assert parse_magnet(magnet(f"xt=URN:BTIH:{HEX}")).info_hash == HEX


def test_magnet_with_a_blank_name_has_no_name() -> None:
    assert parse_magnet(magnet(f"xt=urn:btih:{HEX}", "dn=%20%20")).name is None


def test_magnet_without_an_info_hash_is_refused() -> None:
    with pytest.raises(InvalidRelease, match="no 'xt=urn:btih:'"):
        parse_magnet(magnet("dn=Some.Movie", "tr=http://t/a"))


def test_magnet_with_only_a_non_bittorrent_urn_is_refused() -> None:
    with pytest.raises(InvalidRelease):
        parse_magnet(magnet("xt=urn:sha1:" + "a" * 32))


@pytest.mark.parametrize(
    "value",
    [
        "a" * 39,  # too short for hex
        "a" * 41,  # too long for hex
        "g" * 40,  # not hex
        "A" * 31,  # too short for base32
        "1" * 32,  # '1' is not in the base32 alphabet
        "",
    ],
)
def test_magnet_with_an_invalid_info_hash_is_refused(value: str) -> None:
    with pytest.raises(InvalidRelease):
        parse_magnet(magnet(f"xt=urn:btih:{value}"))


def test_magnet_with_two_different_info_hashes_is_refused() -> None:
    with pytest.raises(InvalidRelease, match="more than one"):
        parse_magnet(magnet(f"xt=urn:btih:{HEX}", f"xt=urn:btih:{OTHER_HEX}"))


def test_magnet_with_the_same_info_hash_in_hex_and_base32_is_accepted() -> None:
    parsed = parse_magnet(magnet(f"xt.1=urn:btih:{HEX}", f"xt.2=urn:btih:{BASE32}"))

    assert parsed.info_hash == HEX


def test_magnet_that_is_not_a_magnet_is_refused() -> None:
    with pytest.raises(InvalidRelease, match="magnet:"):
        parse_magnet(f"http://example.com/?xt=urn:btih:{HEX}")


@pytest.mark.parametrize("value", ["12a", "-5", "1.5", ""])
def test_magnet_with_a_non_numeric_size_is_refused(value: str) -> None:
    with pytest.raises(InvalidRelease, match="xl"):
        parse_magnet(magnet(f"xt=urn:btih:{HEX}", f"xl={value}"))


@pytest.mark.parametrize("value", ["99999999999999999999", "9" * 5000, "9223372036854775808",
                                   "0" * 30 + "9223372036854775808"])
def test_a_magnet_size_past_what_a_bigint_holds_is_an_invalid_release(value: str) -> None:
    # 20 digits overflowed the BIGINT column; 5,000 made int() itself raise ValueError.
    with pytest.raises(InvalidRelease, match="larger than 9223372036854775807 bytes"):
        parse_magnet(magnet(f"xt=urn:btih:{HEX}", f"xl={value}"))


def test_the_largest_size_a_bigint_holds_is_a_valid_magnet_size() -> None:
    link = magnet(f"xt=urn:btih:{HEX}", "xl=" + "0" * 40 + "9223372036854775807")
    assert parse_magnet(link).size == 2**63 - 1


def test_magnet_with_a_non_ascii_digit_as_size_is_refused_as_an_invalid_release() -> None:
    # '²' counts as a digit for str.isdigit() but int() cannot read it.
    with pytest.raises(InvalidRelease):
        parse_magnet(magnet(f"xt=urn:btih:{HEX}", "xl=%C2%B2"))


def test_magnet_at_the_length_cap_is_accepted_and_one_longer_is_refused() -> None:
    base = magnet(f"xt=urn:btih:{HEX}", "dn=")
    at_cap = base + "x" * (MAX_MAGNET_LENGTH - len(base))
    assert len(at_cap) == MAX_MAGNET_LENGTH

    assert parse_magnet(at_cap).info_hash == HEX
    with pytest.raises(InvalidRelease, match="longer than"):
        parse_magnet(at_cap + "x")


# -- normalise_url -----------------------------------------------------------------------


def test_normalised_url_has_lower_case_scheme_and_host_but_keeps_the_path_case() -> None:
    assert normalise_url("HTTPS://Tracker.Example.COM/Some/Path.torrent") == (
        "https://tracker.example.com/Some/Path.torrent"
    )


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://example.com:80/a", "http://example.com/a"),
        ("https://example.com:443/a", "https://example.com/a"),
        ("http://example.com:443/a", "http://example.com:443/a"),
        ("https://example.com:80/a", "https://example.com:80/a"),
        ("http://example.com:8080/a", "http://example.com:8080/a"),
    ],
)
def test_normalised_url_drops_only_the_default_port_of_its_scheme(url: str, expected: str) -> None:
    assert normalise_url(url) == expected


def test_normalised_url_drops_the_fragment() -> None:
    assert normalise_url("http://example.com/a.torrent#section") == "http://example.com/a.torrent"


def test_normalised_url_of_a_bare_host_has_a_root_path() -> None:
    assert normalise_url("http://example.com") == "http://example.com/"


@pytest.mark.parametrize(
    "tracking",
    ["utm_source=x", "UTM_Medium=y", "utm_campaign=z", "fbclid=abc", "gclid=def",
     "msclkid=1", "_ga=2"],
)
def test_normalised_url_removes_tracking_parameters(tracking: str) -> None:
    assert normalise_url(f"http://example.com/get?id=7&{tracking}") == (
        "http://example.com/get?id=7"
    )


def test_normalised_url_without_any_parameter_left_has_no_question_mark() -> None:
    assert normalise_url("http://example.com/a?utm_source=x&fbclid=y") == "http://example.com/a"


def test_normalised_url_sorts_the_query_and_keeps_other_parameters() -> None:
    assert normalise_url("http://example.com/get?passkey=s3cret&id=7&b=&a=1") == (
        "http://example.com/get?a=1&b=&id=7&passkey=s3cret"
    )


def test_normalised_url_keeps_a_parameter_that_only_starts_like_a_tracking_one() -> None:
    assert normalise_url("http://example.com/get?utmost=1&gclid_x=2") == (
        "http://example.com/get?gclid_x=2&utmost=1"
    )


def test_normalised_url_decodes_unreserved_characters_in_the_path() -> None:
    assert normalise_url("http://example.com/%7Euser/a%2Db") == "http://example.com/~user/a-b"


# -- url_hash ----------------------------------------------------------------------------


def test_url_hash_is_the_sha256_of_the_normalised_url() -> None:
    url = "HTTP://Example.com:80/a.torrent?utm_source=x#f"

    assert url_hash(url) == hashlib.sha256(b"http://example.com/a.torrent").hexdigest()


@pytest.mark.parametrize(
    "equivalent",
    [
        "http://example.com/get?a=1&id=7",
        "HTTP://EXAMPLE.COM/get?id=7&a=1",
        "http://example.com:80/get?id=7&a=1#top",
        "http://example.com/get?utm_source=feed&id=7&fbclid=x&a=1",
        "  http://example.com/get?id=7&a=1  ",
    ],
)
def test_url_hash_is_equal_for_equivalent_urls(equivalent: str) -> None:
    assert url_hash(equivalent) == url_hash("http://example.com/get?a=1&id=7")


def test_url_hash_is_stable_across_calls() -> None:
    url = "https://example.com/x.torrent?id=1"

    assert url_hash(url) == url_hash(url)
    assert len(url_hash(url)) == 64


@pytest.mark.parametrize(
    "different",
    [
        "http://example.com/get?a=1&id=8",  # another parameter value
        "https://example.com/get?a=1&id=7",  # another scheme
        "http://example.org/get?a=1&id=7",  # another host
        "http://example.com:8080/get?a=1&id=7",  # another port
        "http://example.com/Get?a=1&id=7",  # path case matters
        "http://example.com/get?a=1",  # a parameter less
        "http://example.com/get?a=1&id=7&passkey=k",  # a parameter more
    ],
)
def test_url_hash_differs_for_different_urls(different: str) -> None:
    assert url_hash(different) != url_hash("http://example.com/get?a=1&id=7")


# -- check_http_url ----------------------------------------------------------------------


def test_http_and_https_urls_are_accepted_without_surrounding_blanks() -> None:
    assert check_http_url("  http://example.com/a  ") == "http://example.com/a"
    assert check_http_url("HTTPS://example.com/a") == "HTTPS://example.com/a"


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/file.torrent",
        "file:///etc/passwd",
        "javascript:alert(1)",
        "example.com/file.torrent",
        "",
    ],
)
def test_urls_that_are_not_http_are_refused(url: str) -> None:
    with pytest.raises(InvalidRelease, match="http"):
        check_http_url(url)


@pytest.mark.parametrize("url", ["http:///path/only", "http://", "https://:8080/x"])
def test_urls_without_a_host_are_refused(url: str) -> None:
    with pytest.raises(InvalidRelease, match="no host"):
        check_http_url(url)


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com/a file.torrent",
        "http://exa mple.com/a",
        "http://example.com/a\tb",
        "http://example.com/a\nb",
        "http://example.com/a\x00b",
    ],
)
def test_urls_with_blanks_or_control_characters_are_refused(url: str) -> None:
    with pytest.raises(InvalidRelease):
        check_http_url(url)


@pytest.mark.parametrize("url", ["http://example.com:99999/a", "http://example.com:port/a",
                                 "http://example.com:-1/a"])
def test_urls_with_a_bad_port_are_refused(url: str) -> None:
    with pytest.raises(InvalidRelease):
        check_http_url(url)


def test_urls_longer_than_the_cap_are_refused() -> None:
    base = "http://example.com/"
    at_cap = base + "a" * (MAX_URL_LENGTH - len(base))

    assert check_http_url(at_cap) == at_cap
    with pytest.raises(InvalidRelease, match="longer than"):
        check_http_url(at_cap + "a")


# -- decode_base64 -----------------------------------------------------------------------

# Bytes chosen so that standard base64 needs '+' and '/', and url-safe needs '-' and '_'.
AWKWARD = bytes([0xFB, 0xFF, 0xBF, 0xFE, 0x00, 0x3E])


def test_standard_base64_is_decoded() -> None:
    encoded = base64.b64encode(AWKWARD).decode()
    assert "+" in encoded and "/" in encoded

    assert decode_base64(encoded, "torrentFile", 100) == AWKWARD


def test_url_safe_base64_is_decoded() -> None:
    encoded = base64.urlsafe_b64encode(AWKWARD).decode()
    assert "-" in encoded and "_" in encoded

    assert decode_base64(encoded, "torrentFile", 100) == AWKWARD


@pytest.mark.parametrize("data", [b"a", b"ab", b"abcd", b"abcde"])
def test_base64_without_its_padding_is_decoded(data: bytes) -> None:
    encoded = base64.b64encode(data).decode().rstrip("=")

    assert decode_base64(encoded, "torrentFile", 100) == data


def test_base64_with_line_breaks_is_decoded() -> None:
    encoded = base64.encodebytes(b"x" * 100).decode()  # MIME style: one line every 76
    assert "\n" in encoded.strip()

    assert decode_base64(encoded, "torrentFile", 1000) == b"x" * 100


@pytest.mark.parametrize("data", ["not base64!", "YWJj*ZGVm", "A", "YWJjZ"])
def test_invalid_standard_base64_is_refused_naming_what_it_is(data: str) -> None:
    with pytest.raises(InvalidRelease, match="torrentFile is not valid base64"):
        decode_base64(data, "torrentFile", 100)


@pytest.mark.parametrize("data", ["!!!!-AAA", "AAAA-___*"])
def test_invalid_characters_in_url_safe_base64_are_refused(data: str) -> None:
    with pytest.raises(InvalidRelease, match="not valid base64"):
        decode_base64(data, "torrentFile", 100)


def test_base64_of_exactly_the_limit_is_accepted() -> None:
    data = bytes(range(30))

    assert decode_base64(base64.b64encode(data).decode(), "torrentFile", 30) == data


def test_base64_far_over_the_limit_is_refused_before_decoding() -> None:
    with pytest.raises(InvalidRelease, match="torrentFile is larger than 30 bytes"):
        decode_base64("A" * 1000 + "!", "torrentFile", 30)


@pytest.mark.parametrize("extra", [1, 2, 3])
def test_base64_of_a_few_bytes_over_the_limit_is_refused(extra: int) -> None:
    encoded = base64.b64encode(b"x" * (30 + extra)).decode()

    with pytest.raises(InvalidRelease, match="larger than 30 bytes"):
        decode_base64(encoded, "torrentFile", 30)
