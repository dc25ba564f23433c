"""One pass over .torrent bytes before torf decodes them. torf's decoder is pure Python
and builds every value before anything is checked: a 9.8 MB file listing 410,000 files
took most of a minute and a gigabyte, and a string length of 999999999999 asked for a
terabyte. This pass builds nothing. It counts the files and the tokens, bounds the
nesting, checks that every string fits in the file, and finds the info dictionary's
bytes, whose SHA-1 is the info hash (BEP 3: the bytes as sent, as every client hashes
them; re-encoding 100,000 files to hash them cost torf 190 MB)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from core.errors import InvalidRelease
from core.grab import MAX_TORRENT_FILES

MAX_TOKENS = 20 * MAX_TORRENT_FILES  # values of every kind; a file takes 6 to ~15
MAX_DEPTH = 64  # lists and dictionaries inside one another (libtorrent allows 100)

_TOKEN = re.compile(rb"([0-9]+):|i-?[0-9]+e|[ld]|e")
_END, _INT = ord("e"), ord("i")


@dataclass(frozen=True, slots=True)
class Shape:
    files: int  # "length" keys with an integer value: one per file
    tokens: int
    info: tuple[int, int] | None  # where the top-level "info" value starts and ends


def _bad(why: str) -> InvalidRelease:
    return InvalidRelease(f"torrentFile is not a valid .torrent: {why}")


def scan(data: bytes, max_files: int = MAX_TORRENT_FILES, max_tokens: int = MAX_TOKENS,
         max_depth: int = MAX_DEPTH) -> Shape:
    """The shape of a bencoded dictionary; InvalidRelease when it is malformed or over a
    limit, found before the bytes past the limit are read."""
    if not data.startswith(b"d"):
        raise _bad("it is not a bencoded dictionary")
    match, end, digits = _TOKEN.match, len(data), len(str(len(data)))
    pos = depth = tokens = files = 0
    after_length = top_key = is_info = False
    info_start, info = -1, None
    while True:
        m = match(data, pos)
        if m is None:
            raise _bad("it is cut short" if pos >= end else f"unexpected byte at {pos}")
        start, pos = m.start(), m.end()
        kind = data[start]
        size = m.group(1)
        at_top = depth == 1
        if kind == _END:
            depth -= 1
            if depth < 0:
                raise _bad(f"unexpected end at {start}")
            if depth == 1 and info_start >= 0 and info is None:
                info = (info_start, pos)
            top_key = depth == 1
            if depth == 0:
                break
            continue
        tokens += 1
        if tokens > max_tokens:
            raise _bad(f"more than {max_tokens} values")
        if size is not None:
            n = int(size) if len(size) <= digits else end
            if n > end - pos:
                raise _bad(f"the string at byte {start} runs past the end of the file")
            after_length = n == 6 and data.startswith(b"length", pos)
            if at_top and top_key:
                is_info, top_key = n == 4 and data.startswith(b"info", pos), False
                if is_info and info_start >= 0:
                    raise _bad("it has two info dictionaries")
                pos += n
                continue
            pos += n
        elif at_top and top_key:
            raise _bad(f"a key at byte {start} is not a string")
        elif kind == _INT:
            if after_length:
                files += 1
                if files > max_files:
                    raise InvalidRelease(f"torrentFile lists more than {max_files} files")
            after_length = False
        else:  # a list or a dictionary opens
            after_length = False
            depth += 1
            if depth > max_depth:
                raise _bad(f"values nested more than {max_depth} deep")
            if depth == 1:  # the top-level dictionary: a key comes first
                top_key = True
                continue
        if at_top:  # a value of the top-level dictionary
            if is_info:
                info_start, is_info = start, False
                if depth == 1:  # a scalar: it ends here
                    info = (start, pos)
            top_key = depth == 1
    if pos != end:
        raise _bad(f"{end - pos} bytes after the end")
    return Shape(files, tokens, info)
