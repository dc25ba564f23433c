"""Parsing .torrent files with torf, behind core.ports.TorrentParser."""

from __future__ import annotations

import hashlib
import io

from core.errors import InvalidRelease
from core.grab import MAX_TORRENT_BYTES
from core.ports import TorrentMeta
from infrastructure.torrent_shape import scan


class TorfParser:
    """Reads and validates a .torrent from bytes (never from a path), refusing anything
    larger than the grab limit, listing more than MAX_TORRENT_FILES files or malformed
    (infrastructure.torrent_shape) before torf decodes it. CPU-bound: call it off the
    event loop."""

    def parse(self, data: bytes) -> TorrentMeta:
        if len(data) > MAX_TORRENT_BYTES:
            raise InvalidRelease(f"torrentFile is larger than {MAX_TORRENT_BYTES} bytes")
        if not data.startswith(b"d"):
            raise InvalidRelease("torrentFile is not a bencoded .torrent file")
        import torf  # here, not at start: only a .torrent needs it

        shape = scan(data)
        if shape.info is None:
            raise InvalidRelease("torrentFile has no info dictionary")
        try:
            torrent = torf.Torrent.read_stream(io.BytesIO(data), validate=True)
            info_hash = hashlib.sha1(data[shape.info[0]:shape.info[1]]).hexdigest()
            name = torrent.name
            size = torrent.size
            trackers = tuple(url for tier in (torrent.trackers or ()) for url in tier)
        except (torf.TorfError, ValueError, TypeError, KeyError, RecursionError) as exc:
            raise InvalidRelease(f"torrentFile is not a valid .torrent: {exc}") from None
        if not name:
            raise InvalidRelease("torrentFile has no name")
        return TorrentMeta(info_hash=info_hash.lower(), name=str(name), size=int(size),
                           trackers=tuple(str(t) for t in trackers))
