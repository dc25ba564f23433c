"""Content codings for compressed answers (api.compression): which one a client's
Accept-Encoding asks for, and the encoders.

Levels were chosen by CPU, measured on the whole 10k-item queue (8.4 MB of JSON, in the
chunks the list streams): zstd 1 is 8 ms for 8.2x, gzip 4 is 44 ms for 7.6x (gzip 6 would
be 65 ms for 8.5x), brotli 4 is 37 ms for 8.7x. brotli and zstd are imported on first
use, so a server whose clients never ask for them does not carry them."""

from __future__ import annotations

import importlib.util
import sys
import zlib
from collections.abc import Callable
from types import ModuleType
from typing import Any, Protocol

GZIP_LEVEL = 4
BROTLI_QUALITY = 4
ZSTD_LEVEL = 1
# Among codings a client accepts equally: the cheapest for the best ratio first.
PREFERENCE = ("zstd", "br", "gzip")


class Encoder(Protocol):
    """One response body's compressor; each call returns the bytes to send now."""

    def compress(self, data: bytes) -> bytes: ...
    def flush(self, data: bytes) -> bytes:
        """`data` and everything before it, decodable by the client at once (SSE)."""
        ...
    def finish(self, data: bytes) -> bytes: ...


class _Gzip:
    __slots__ = ("_z",)

    def __init__(self) -> None:
        self._z = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 16 + zlib.MAX_WBITS)

    def compress(self, data: bytes) -> bytes:
        return self._z.compress(data)

    def flush(self, data: bytes) -> bytes:
        return self._z.compress(data) + self._z.flush(zlib.Z_SYNC_FLUSH)

    def finish(self, data: bytes) -> bytes:
        return self._z.compress(data) + self._z.flush()


class _Brotli:
    __slots__ = ("_c",)

    def __init__(self) -> None:
        self._c: Any = _module("brotli").Compressor(quality=BROTLI_QUALITY)

    def compress(self, data: bytes) -> bytes:
        out: bytes = self._c.process(data)
        return out

    def flush(self, data: bytes) -> bytes:
        out: bytes = self._c.process(data) + self._c.flush()
        return out

    def finish(self, data: bytes) -> bytes:
        out: bytes = self._c.process(data) + self._c.finish()
        return out


class _Zstd:
    __slots__ = ("_c", "_modes")

    def __init__(self) -> None:
        self._modes: Any = _module(_ZSTD).ZstdCompressor
        self._c: Any = self._modes(level=ZSTD_LEVEL)

    def compress(self, data: bytes) -> bytes:
        out: bytes = self._c.compress(data)
        return out

    def flush(self, data: bytes) -> bytes:
        out: bytes = self._c.compress(data, self._modes.FLUSH_BLOCK)
        return out

    def finish(self, data: bytes) -> bytes:
        out: bytes = self._c.compress(data, self._modes.FLUSH_FRAME)
        return out


def _whole_gzip(data: bytes) -> bytes:
    return _Gzip().finish(data)


def _whole_brotli(data: bytes) -> bytes:
    out: bytes = _module("brotli").compress(data, quality=BROTLI_QUALITY)
    return out


def _whole_zstd(data: bytes) -> bytes:
    # One shot: the frame says the size, and the window fits it (cheaper on small bodies).
    out: bytes = _module(_ZSTD).compress(data, ZSTD_LEVEL)
    return out


# Python 3.14's zstd is in the standard library; before, the same API is backports.zstd.
_ZSTD = "compression.zstd" if sys.version_info >= (3, 14) else "backports.zstd"
_loaded: dict[str, ModuleType] = {}


def _module(name: str) -> ModuleType:
    found = _loaded.get(name)
    if found is None:
        found = _loaded[name] = importlib.import_module(name)
    return found


def _importable(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ImportError:  # a parent package is missing
        return False


# coding -> (a streaming encoder, a whole body at once), and what it needs installed.
CODECS: dict[str, tuple[Callable[[], Encoder], Callable[[bytes], bytes]]] = {
    "zstd": (_Zstd, _whole_zstd), "br": (_Brotli, _whole_brotli),
    "gzip": (_Gzip, _whole_gzip)}
_NEEDS = {"zstd": _ZSTD, "br": "brotli"}


def installed() -> tuple[str, ...]:
    """The codings this installation can send, in PREFERENCE order (without importing
    them: brotli and zstd are dependencies, but a source install may lack them)."""
    return tuple(c for c in PREFERENCE if c not in _NEEDS or _importable(_NEEDS[c]))


def _weights(accept: str) -> dict[str, float]:
    weights: dict[str, float] = {}
    for part in accept.lower().split(","):
        coding, *params = (p.strip() for p in part.split(";"))
        if not coding:
            continue
        weight = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip() == "q":
                try:
                    weight = float(value.strip())
                except ValueError:
                    weight = -1.0
        if not 0.0 <= weight <= 1.0:
            continue  # a malformed entry says nothing
        coding = "gzip" if coding == "x-gzip" else coding
        weights[coding] = max(weight, weights.get(coding, 0.0))
    return weights


def choose(accept: str, offered: tuple[str, ...]) -> str | None:
    """The coding to send for an Accept-Encoding value, or None for identity: the highest
    q among `offered` (ties in `offered`'s order), `*` standing for codings not named;
    q=0 refuses. Identity wins only when the client ranks it above every coding offered.
    A client that refuses identity and everything offered still gets identity."""
    weights = _weights(accept)
    star = weights.get("*")
    best, best_q = None, 0.0
    for coding in offered:
        q = weights.get(coding, star if star is not None else 0.0)
        if q > best_q:
            best, best_q = coding, q
    identity = weights.get("identity", star)
    if best is not None and identity is not None and identity > best_q:
        return None
    return best
