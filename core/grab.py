"""Grab validation: turn what a caller sent into a NewItem, or say exactly what is wrong."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime

from core.domain import DownloadProtocol, MovieInfo, NewItem, Priority, SourceKind
from core.errors import InvalidRelease, ReleaseTooLarge
from core.links import MAX_SIZE, check_http_url, filename_from_url, parse_magnet, url_hash
from core.offload import off_loop
from core.ports import TorrentParser
from core.retry import RetryPolicy
from core.text import refuse_nul

MAX_TORRENT_BYTES = 10 * 1024 * 1024
MAX_TORRENT_FILES = 100_000  # a .torrent listing more is refused before it is decoded
MAX_TITLE_LENGTH = 1000
MAX_NAME_LENGTH = 200
INT32_MAX = 2**31 - 1


@dataclass(frozen=True, slots=True)
class GrabRequest:
    """A release as a caller hands it in, already decoded from the wire."""

    title: str | None = None
    download_url: str | None = None
    torrent_file: bytes | None = None
    protocol: DownloadProtocol | None = None
    movie_id: int | None = None
    movie: MovieInfo | None = None
    release_id: str | None = None
    indexer: str | None = None
    size: int | None = None
    seeders: int | None = None
    leechers: int | None = None
    priority: Priority = Priority.NORMAL
    download_client: str | None = None
    category: str | None = None
    force: bool = False
    retry_policy: RetryPolicy | None = None
    tags: tuple[int, ...] = ()  # Radarr's tag ids: the item goes to clients sharing one
    origin_chat: int | None = None  # the chat door's chat and user that handed it in
    origin_user: int | None = None
    save_under: str | None = None  # a plain sub-directory of the client's download dir


def _clean_text(value: str | None, what: str, limit: int) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    if len(value) > limit:
        raise InvalidRelease(f"{what} is longer than {limit} characters")
    if any(c != "\t" and unicodedata.category(c) == "Cc" for c in value):
        raise InvalidRelease(f"{what} contains control characters")
    return value


def _check_category(category: str | None) -> str | None:
    category = _clean_text(category, "category", MAX_NAME_LENGTH)
    if category is None:
        return None
    parts = category.replace("\\", "/").split("/")
    if category.startswith(("/", "\\", "~")) or ".." in parts or "" in parts or ":" in category:
        raise InvalidRelease(
            f"category {category!r} is not a plain name: no '..', leading '/', '~' or ':'"
        )
    return category


def _check_dir_name(name: str | None) -> str | None:
    """One plain directory name: it cannot lead out of the directory it is put under."""
    name = _clean_text(name, "save directory", MAX_NAME_LENGTH)
    if name is not None and (name in (".", "..") or any(c in name for c in "/\\:~")):
        raise InvalidRelease(f"save directory {name!r} is not a plain directory name")
    return name


def _non_negative(value: int | None, what: str, limit: int = MAX_SIZE) -> int | None:
    if value is None:
        return None
    if value < 0 or value > limit:
        raise InvalidRelease(f"{what} must be between 0 and {limit}, got {value}")
    return value


def validate_grab(
    request: GrabRequest,
    parser: TorrentParser,
    now: datetime,
    max_size: int | None,
) -> NewItem:
    """Validate and normalise a grab; raises InvalidRelease or ReleaseTooLarge."""
    url = request.download_url.strip() if request.download_url else None
    if url and request.torrent_file is not None:
        raise InvalidRelease("Give either downloadUrl or torrentFile, not both")
    if request.protocol is DownloadProtocol.USENET:
        raise InvalidRelease("Usenet releases are not supported: Queuarr has no usenet client")

    info_hash: str | None = None
    link_hash: str | None = None
    torrent: bytes | None = None
    name: str | None = None
    size = _non_negative(request.size, "size")
    if request.torrent_file is not None:
        if len(request.torrent_file) > MAX_TORRENT_BYTES:
            raise InvalidRelease(f"torrentFile is larger than {MAX_TORRENT_BYTES} bytes")
        meta = parser.parse(request.torrent_file)
        source, protocol = SourceKind.TORRENT_FILE, DownloadProtocol.TORRENT
        info_hash, name, torrent = meta.info_hash, meta.name, request.torrent_file
        size = _non_negative(meta.size, "The .torrent's total size")
    elif url is None:
        raise InvalidRelease(
            "Give downloadUrl (a magnet link, a .torrent URL or an http(s) file) or torrentFile"
        )
    elif url[:7].lower() == "magnet:":
        magnet = parse_magnet(url)
        source, protocol = SourceKind.MAGNET, DownloadProtocol.TORRENT
        info_hash, name = magnet.info_hash, magnet.name
        size = magnet.size if magnet.size is not None else size
    else:
        url = check_http_url(url)
        link_hash = url_hash(url)
        name = filename_from_url(url)
        is_torrent = request.protocol is DownloadProtocol.TORRENT or (
            (name or "").lower().endswith(".torrent")
        )
        if is_torrent:
            source, protocol = SourceKind.TORRENT_URL, DownloadProtocol.TORRENT
            if name and name.lower().endswith(".torrent"):
                name = name[: -len(".torrent")]
        else:
            source, protocol = SourceKind.HTTP, DownloadProtocol.UNKNOWN

    title = _clean_text(request.title, "title", MAX_TITLE_LENGTH) or _clean_text(
        name, "release name", MAX_TITLE_LENGTH
    )
    if title is None:
        raise InvalidRelease("title is required when the release carries no name")
    if max_size is not None and size is not None and size > max_size:
        raise ReleaseTooLarge(
            f"Release {title!r} is {size} bytes, over the size limit of {max_size} bytes"
        )
    movie_id = request.movie_id
    if movie_id is not None and not 0 < movie_id <= INT32_MAX:
        raise InvalidRelease(f"movieId must be a positive 32-bit integer, got {movie_id}")
    if request.movie is not None:
        refuse_nul("The movie's title", request.movie.title, request.movie.sort_title,
                   error=InvalidRelease)
    return NewItem(
        title=title,
        source=source,
        protocol=protocol,
        added_at=now,
        download_url=url,
        torrent=torrent,
        info_hash=info_hash,
        url_hash=link_hash,
        movie_id=movie_id,
        movie=request.movie,
        release_id=_clean_text(request.release_id, "releaseId", MAX_NAME_LENGTH),
        indexer=_clean_text(request.indexer, "indexer", MAX_NAME_LENGTH),
        size=size or 0,
        seeders=_non_negative(request.seeders, "seeders", INT32_MAX),
        leechers=_non_negative(request.leechers, "leechers", INT32_MAX),
        priority=request.priority,
        download_client=_clean_text(request.download_client, "downloadClient", MAX_NAME_LENGTH),
        category=_check_category(request.category),
        retry_policy=request.retry_policy,
        tags=tuple(sorted(set(request.tags))),
        origin_chat=request.origin_chat,
        origin_user=request.origin_user,
        save_under=_check_dir_name(request.save_under),
    )


async def validate_grab_off_loop(request: GrabRequest, parser: TorrentParser, now: datetime,
                                 max_size: int | None) -> NewItem:
    """validate_grab, with a .torrent decoded off the event loop by the process's one
    torrent worker: uploads at once are decoded in turn, so they cost one decoding's
    memory, not one each."""
    if request.torrent_file is None:
        return validate_grab(request, parser, now, max_size)
    return await off_loop("torrent", 1, validate_grab, request, parser, now, max_size)
