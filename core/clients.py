"""Download clients as core sees them: the states a client reports, what each kind of
client can take, and routing a queue item to one. Pure; adapters live in
`infrastructure/clients/`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from core.domain import DownloadProtocol, QueueItem, SourceKind
from core.errors import BadRequest


class ClientState(StrEnum):
    """A download's state in its client, normalised across clients."""

    QUEUED = "queued"  # waiting in the client's own queue
    METADATA = "metadata"  # a magnet whose metadata is still being fetched
    CHECKING = "checking"  # hashing existing data
    DOWNLOADING = "downloading"
    STALLED = "stalled"  # downloading, but no peer sends anything
    PAUSED = "paused"
    MOVING = "moving"
    COMPLETED = "completed"  # every wanted byte is on disk (seeding or stopped)
    MISSING_FILES = "missingFiles"  # the client lost the data: a client-side fault
    ERROR = "error"  # the client is in trouble (I/O, disk full): a client-side fault
    FAILED = "failed"  # the download itself failed; DownloadStatus.permanent says how
    REMOVED = "removed"
    UNKNOWN = "unknown"


class DownloadItemStatus(StrEnum):
    """Radarr's DownloadItemStatus: a download's state in its client the way Radarr's
    download-client adapters word it; the queue resource shows it as `status` while the
    client has the download."""

    QUEUED = "queued"
    PAUSED = "paused"
    DOWNLOADING = "downloading"
    COMPLETED = "completed"
    FAILED = "failed"
    WARNING = "warning"


# Client-side faults: the release is not to blame (Sonarr #4554: never blocklist for these).
CLIENT_FAULT_STATES = frozenset({ClientState.MISSING_FILES, ClientState.ERROR})
# States that count towards stall detection rather than failure.
STALL_STATES = frozenset({ClientState.STALLED, ClientState.METADATA})


class ClientKind(StrEnum):
    """Radarr's `implementation` names for the clients Queuarr drives."""

    QBITTORRENT = "QBittorrent"
    ARIA2 = "Aria2"
    YTDLP = "YtDlp"  # Queuarr's own: Radarr has no such client


# What each kind can be fed.
KIND_SOURCES: dict[ClientKind, frozenset[SourceKind]] = {
    ClientKind.QBITTORRENT: frozenset(
        {SourceKind.MAGNET, SourceKind.TORRENT_FILE, SourceKind.TORRENT_URL}),
    # aria2 fetches any URL as a file; a page yt-dlp extracts is a VIDEO item, for yt-dlp
    # only (a grab that names aria2 for such a URL gets an HTTP item: the page itself).
    ClientKind.ARIA2: frozenset(SourceKind) - {SourceKind.VIDEO},
    # yt-dlp takes pages; a grab that names it makes any http(s) URL one (core.video_grabs).
    ClientKind.YTDLP: frozenset({SourceKind.VIDEO}),
}
TORRENT_SOURCES = frozenset({SourceKind.MAGNET, SourceKind.TORRENT_FILE, SourceKind.TORRENT_URL})


@dataclass(frozen=True, slots=True)
class ClientDescriptor:
    """What routing needs to know of one configured client."""

    name: str
    kind: ClientKind
    enabled: bool = True
    priority: int = 1  # Radarr: 1 is the highest, 50 the lowest
    tags: frozenset[int] = frozenset()  # Radarr's tag ids

    @property
    def sources(self) -> frozenset[SourceKind]:
        return KIND_SOURCES[self.kind]

    @property
    def protocol(self) -> DownloadProtocol:
        """The protocol Radarr files the client under (aria2 is a torrent client to it;
        yt-dlp is neither of Radarr's two)."""
        if self.kind is ClientKind.YTDLP:
            return DownloadProtocol.UNKNOWN
        return DownloadProtocol.TORRENT


def _preference(source: SourceKind, client: ClientDescriptor) -> tuple[int, int, str]:
    # Direct http(s) downloads prefer aria2 first: it is the http client; torrents go
    # by priority alone.
    http_rank = 0 if source is not SourceKind.HTTP or client.kind is ClientKind.ARIA2 else 1
    return (client.priority, http_rank, client.name.casefold())


def route(
    item: QueueItem, clients: Sequence[ClientDescriptor]
) -> ClientDescriptor | None:
    """The client an item goes to: the one it names if it names one, else the enabled
    client of the best priority that can take its source (ties by name). None when no
    enabled client can take it. Tags as Radarr's DownloadClientProvider: among the
    clients that can take it, those that share a tag with the item if any do, else
    those without tags; a client with tags never takes an item that shares none."""
    if item.download_client is not None:
        named = next((c for c in clients if c.name == item.download_client), None)
        if named is None or not named.enabled or item.source not in named.sources:
            return None
        return named
    able = [c for c in clients if c.enabled and item.source in c.sources]
    wanted = set(item.tags)
    sharing = [c for c in able if c.tags & wanted]
    able = sharing or [c for c in able if not c.tags]
    return min(able, key=lambda c: _preference(item.source, c), default=None)


def check_named_client(
    name: str, source: SourceKind, clients: Sequence[ClientDescriptor]
) -> ClientDescriptor:
    """The client a grab names, or BadRequest saying why it cannot take the release."""
    client = next((c for c in clients if c.name == name), None)
    if client is None:
        known = ", ".join(sorted(c.name for c in clients)) or "none configured"
        raise BadRequest(f"Unknown download client {name!r} (known: {known})")
    if not client.enabled:
        raise BadRequest(f"Download client {name!r} is disabled")
    if source not in client.sources:
        raise BadRequest(
            f"Download client {name!r} ({client.kind.value}) cannot take a {source.value} "
            "release; direct http(s) downloads need aria2")
    return client


class ClientSource(StrEnum):
    """Where a client's configuration comes from; only `api` ones are edited through
    the API."""

    API = "api"
    SETTINGS = "settings"
    MANAGED = "managed"


@dataclass(frozen=True, slots=True)
class ClientConfig:
    """A configured download client: Radarr's DownloadClientResource, secrets included."""

    name: str
    kind: ClientKind
    fields: dict[str, object]
    enable: bool = True
    priority: int = 1
    source: ClientSource = ClientSource.API
    remove_completed: bool = True
    remove_failed: bool = True
    tags: tuple[int, ...] = ()
    id: int | None = None

    @property
    def descriptor(self) -> ClientDescriptor:
        return ClientDescriptor(self.name, self.kind, self.enable, self.priority,
                                frozenset(self.tags))
