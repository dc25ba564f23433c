"""Made-up .torrent bytes for the tests of the limits on them."""

from __future__ import annotations

import hashlib
import math


def many_files(count: int, piece: int = 16384) -> bytes:
    """A .torrent listing `count` one-byte files, 24 bytes each (410,000 fit in 10 MB)."""
    pieces = math.ceil(count / piece)
    info = (b"d5:filesl" + b"d6:lengthi1e4:pathl1:aee" * count
            + b"e4:name3:big12:piece lengthi%de6:pieces%d:" % (piece, 20 * pieces)
            + hashlib.sha1(b"x").digest() * pieces + b"e")
    return b"d4:info" + info + b"e"
