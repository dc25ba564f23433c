"""Whether Radarr's parser finds a movie in a title (Parser.ParseMovieTitle returns a
result with a primary title): Radarr answers a pushed release it cannot parse with
400 "Unable to parse", whatever the title's quality says.

The rules are Radarr's (src/NzbDrone.Core/Parser/Parser.cs, ParserCommon.cs): hashed and
password titles are refused; then, after the quality words and site names are cleaned
off, one of the movie-title patterns must match with a title before the year (or an
anime subgroup and hash, a PassThePopcorn [tag], a German/TrueFrench tracker title). The
patterns are .NET's, which the `regex` module reads as they are."""

from __future__ import annotations

from collections.abc import Callable

import regex

_I = regex.IGNORECASE

_EDITION = (
    r"\(?\b(?<edition>(((Recut.|Extended.|Ultimate.)?(Director.?s|Collector.?s|Theatrical|"
    r"Ultimate|Extended|Despecialized|(Special|Rouge|Final|Assembly|Imperial|Diamond|"
    r"Signature|Hunter|Rekall)(?=(.(Cut|Edition|Version)))|\d{2,3}(th)?.Anniversary)"
    r"(?:.(Cut|Edition|Version))?(.(Extended|Uncensored|Remastered|Unrated|Uncut|Open.?Matte|"
    r"IMAX|Fan.?Edit))?|((Uncensored|Remastered|Unrated|Uncut|Open?.Matte|IMAX|Fan.?Edit|"
    r"Restored|((2|3|4)in1))))))\b\)?")

# Parser.ReportMovieTitleRegex, in Radarr's order.
_MOVIE_TITLE = [regex.compile(p, _I) for p in (
    r"^(?:\[(?<subgroup>.+?)\][-_. ]?)(?<title>(?![(\[]).+?)?(?:(?:[-_\W](?<![)\[!]))*"
    r"(?<year>(1(8|9)|20)\d{2}(?!p|i|x|\d+|\]|\W\d+)))+.*?(?<hash>\[\w{8}\])?(?:$|\.)",
    r"^(?:\[(?<subgroup>.+?)\][-_. ]?)(?<title>(?![(\[]).+?)((v)(?:\d{1,2})(?:([-_. ])))"
    r"(\[.*)?(?:[\[(][^])])?.*?(?<hash>\[\w{8}\])(?:$|\.)",
    r"^(?:\[(?<subgroup>.+?)\][-_. ]?)(?<title>(?![(\[]).+?)(\[.*).*?(?<hash>\[\w{8}\])"
    r"(?:$|\.)",
    r"^(?:\[(?<subgroup>.+?)\][-_. ]?)(?<title>(?![(\[]).+)(?:[\[(][^])]).*?"
    r"(?<hash>\[\w{8}\])(?:$|\.)",
    r"^(?<title>(?![(\[]).+?)((\W|_))(" + _EDITION + r".{1,3})?(?:(?<!(19|20)\d{2}.*?)"
    r"(?<!(?:Good|The)[_ .-])(German|TrueFrench))(.+?)(?=((19|20)\d{2}|$))"
    r"(?<year>(19|20)\d{2}(?!p|i|\d+|\]|\W\d+))?(\W+|_|$)(?!\\)",
    r"^(?<title>(?![(\[]).+?)?(?:(?:[-_\W](?<![)\[!]))*" + _EDITION
    + r".{1,3}(?<year>(1(8|9)|20)\d{2}(?!p|i|\d+|\]|\W\d+)))+(\W+|_|$)(?!\\)",
    r"^(?<title>(?![(\[]).+?)?(?:(?:[-_\W](?<![)\[!]))*(?<year>(1(8|9)|20)\d{2}"
    r"(?!p|i|(1(8|9)|20)\d{2}|\]|\W(1(8|9)|20)\d{2})))+(\W+|_|$)(?!\\)",
    r"^(?<title>.+?)?(?:(?:[-_\W](?<![()\[!]))*(?<year>(\[\w *\])))+(\W+|_|$)(?!\\)",
    r"^(?<title>(?![(\[]).+?)?(?:(?:[-_\W](?<![)!]))*(?<year>(1(8|9)|20)\d{2}"
    r"(?!p|i|\d+|\W\d+)))+(\W+|_|$)(?!\\)",
    r"^(?<title>.+?)?(?:(?:[-_\W](?<![)\[!]))*(?<year>(1(8|9)|20)\d{2}"
    r"(?!p|i|\d+|\]|\W\d+)))+(\W+|_|$)(?!\\)",
)]

_HASHED = [regex.compile(p, flags) for p, flags in (
    (r"^[0-9a-zA-Z]{32}", 0), (r"^[a-z0-9]{24}$", 0), (r"^[A-Z]{11}\d{3}$", 0),
    (r"^[a-z]{12}\d{3}$", 0), (r"^Backup_\d{5,}S\d{2}-\d{2}$", 0), (r"^123$", 0),
    (r"^abc$", _I), (r"^abc[-_. ]xyz", _I), (r"^b00bs$", _I),
)]
_EXTENSION = regex.compile(r"\.(mkv|mp4|avi|m4v|ts|wmv|divx|xvid|m2ts|iso|img|torrent|"
                           r"nzb)$", _I)
_SIMPLE_TITLE = regex.compile(
    r"(?:(480|540|576|720|1080|2160)[ip]|[xh][\W_]?26[45]|DD\W?5\W1|[<>?*]|848x480|1280x720|"
    r"1920x1080|3840x2160|4096x2160|(8|10)b(it)?|10-bit)\s*?(?![a-b0-9])", _I)
_WEBSITE_PREFIX = regex.compile(
    r"^(?:(?:\[|\()\s*)?(?:www\.)?[-a-z0-9-]{1,256}\.(?<!Naruto-Kun\.)(?:[a-z]{2,6}\.[a-z]{2,6}"
    r"|xn--[a-z0-9-]{4,}|[a-z]{2,})\b(?:\s*(?:\]|\))|[ -]{2,})[ -]*", _I)
_WEBSITE_POSTFIX = regex.compile(
    r"(?:\[\s*)?(?:www\.)?[-a-z0-9-]{1,256}\.(?:xn--[a-z0-9-]{4,}|[a-z]{2,6})\b(?:\s*\])$", _I)
_TORRENT_SUFFIX = regex.compile(r"\[(?:ettv|rartv|rarbg|cttv|publichd)\]$", _I)
_QUALITY_BRACKETS = regex.compile(r"\[[a-z0-9 ._-]+\]$", _I)
_REQUEST_INFO = regex.compile(r"^(?:\[.+?\])+")


def finds_a_movie(title: str, names_a_quality: Callable[[str], bool]) -> bool:
    """Radarr's ParseMovieTitle(title) is not null and has a primary title.
    `names_a_quality(text)`: whether Radarr's quality parser finds a quality in text (a
    trailing [bracket] that names one is cleaned off first)."""
    lowered = title.lower()
    if "password" in lowered and "yenc" in lowered:
        return False
    if not any(c.isalnum() for c in title):
        return False
    bare = _EXTENSION.sub("", title)
    if any(p.search(bare) for p in _HASHED):
        return False
    release = bare.strip("-_").replace("【", "[").replace("】", "]")
    simple = _SIMPLE_TITLE.sub("", release)
    simple = _WEBSITE_PREFIX.sub("", simple, count=1)
    simple = _WEBSITE_POSTFIX.sub("", simple, count=1)
    simple = _TORRENT_SUFFIX.sub("", simple, count=1)
    simple = _QUALITY_BRACKETS.sub(
        lambda m: "" if names_a_quality(m.group(0)) else m.group(0), simple, count=1)
    for pattern in _MOVIE_TITLE:
        match = pattern.search(simple)
        if match is None:
            continue
        name = match.group("title")
        if name is None or name == "(":
            continue  # Radarr's ParseMovieMatchCollection: no result, try the next
        name = _REQUEST_INFO.sub("", name.replace("_", " ")).strip(" ")
        return bool(name.replace(".", " ").strip())
    return False
