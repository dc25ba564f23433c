"""aria2 through its JSON-RPC interface (aria2p, called off the event loop).

- Every call carries the `token:` secret; the RPC must be on loopback (checked when the
  client is configured).
- Each item gets a GID derived from its id, so an add that timed out after aria2 took it
  is found again instead of being added twice; torrents are also found by info hash.
- A magnet (or a .torrent URL) first downloads metadata under one GID, then aria2
  starts the real download under another (`followedBy`). Statuses follow that link and
  report the real download's GID, which the item then tracks.
- Statuses for all items come from one `system.multicall` of `tellStatus` with `keys`.
- aria2 cannot delete a download's files; `remove(delete_data=True)` deletes them
  here, only inside the configured download roots.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import hashlib
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from pydantic import SecretStr

from core.clients import ClientState, DownloadItemStatus
from core.domain import Priority, QueueItem, SourceKind
from core.errors import (
    BadRequest,
    ClientRejected,
    ClientUnavailable,
    DownloadClientError,
    TransientClientError,
)
from core.ports import ClientInfo, DownloadStatus
from infrastructure.clients.aria2_files import (
    PATH_KEYS,
    base_path,
    delete_files,
    in_use,
    is_metadata,
)
from infrastructure.clients.blocking import BlockingRunner
from infrastructure.clients.paths import disk_usage, subdirectory
from infrastructure.net.addresses import is_loopback_host

if TYPE_CHECKING:  # aria2p (and requests under it) loads with the first call
    import aria2p

log = logging.getLogger(__name__)

STATUS_KEYS = [
    "gid", "status", "totalLength", "completedLength", "downloadSpeed", "uploadSpeed",
    "numSeeders", "errorCode", "errorMessage", "followedBy", "following", "infoHash",
    "dir", "files", "bittorrent", "seeder",
]

# aria2's exit/error codes (aria2c(1), "EXIT STATUS"): which ones a retry cannot fix.
PERMANENT_ERRORS = {
    3: "resource not found",
    4: "too many 'resource not found' errors",
    10: "pieces differ from the control file",
    13: "the file already exists",
    20: "could not parse the Metalink",
    23: "too many redirects",
    24: "HTTP authorisation failed",
    25: "could not parse the bencoded file (.torrent)",
    26: "the .torrent is corrupted or lacks information",
    27: "bad magnet URI",
    28: "bad or unrecognised option",
    30: "could not parse the JSON-RPC request",
}
TRANSIENT_ERRORS = {
    1: "unknown error",
    2: "timed out",
    5: "download too slow",
    6: "network problem",
    7: "unfinished downloads at shutdown",
    8: "the server does not support resume",
    9: "not enough disk space",
    11: "the same file is being downloaded",
    12: "the same info hash is being downloaded",
    14: "renaming failed",
    15: "could not open an existing file",
    16: "could not create or truncate a file",
    17: "file I/O error",
    18: "could not create a directory",
    19: "name resolution failed",
    21: "FTP command failed",
    22: "bad HTTP response header",
    29: "the server is overloaded",
    32: "checksum validation failed",
}
STATE_MAP = {
    "active": ClientState.DOWNLOADING,
    "waiting": ClientState.QUEUED,
    "paused": ClientState.PAUSED,
    "error": ClientState.FAILED,
    "complete": ClientState.COMPLETED,
    "removed": ClientState.REMOVED,
}

# Radarr's view of a download (src/NzbDrone.Core/Download/Clients/Aria2/Aria2.cs GetItems,
# Radarr v6.0.3.10276, commit 1b9662d5): waiting is queued, paused paused, error and
# removed failed, complete completed, active completed once every byte is there, else
# downloading; the message is aria2's errorMessage. Radarr skips a magnet's metadata
# download altogether; Queuarr shows it queued, as Radarr's qBittorrent adapter does.
RADARR_VIEW = {
    ClientState.QUEUED: DownloadItemStatus.QUEUED,
    ClientState.METADATA: DownloadItemStatus.QUEUED,
    ClientState.PAUSED: DownloadItemStatus.PAUSED,
    ClientState.DOWNLOADING: DownloadItemStatus.DOWNLOADING,
    ClientState.COMPLETED: DownloadItemStatus.COMPLETED,
    ClientState.FAILED: DownloadItemStatus.FAILED,
    ClientState.REMOVED: DownloadItemStatus.FAILED,
}

VERSION = re.compile(r"\d{1,4}(\.\d{1,4}){1,3}")  # aria2.getVersion: 1.37.0


def is_permanent(code: int) -> bool:
    return code in PERMANENT_ERRORS


def item_gid(item: QueueItem) -> str:
    """A GID of the item's own: 16 hex digits, never all zero."""
    key = f"queuarr|{item.id}|{item.info_hash or item.url_hash or item.download_url or ''}"
    gid = hashlib.sha256(key.encode()).hexdigest()[:16]
    return gid if gid.strip("0") else "0000000000000001"


@dataclass(frozen=True, slots=True)
class Aria2Config:
    url: str  # http://127.0.0.1:6800, with or without /jsonrpc
    secret: SecretStr
    directory: str | None = None
    roots: tuple[Path, ...] = field(default_factory=tuple)
    timeout: float = 10.0


def rpc_endpoint(url: str) -> tuple[str, int]:
    """aria2p's (host, port) from an RPC URL; BadRequest unless it is on loopback."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BadRequest(f"aria2 RPC URL {url!r} must be http(s)://host:port[/jsonrpc]")
    if parts.path.rstrip("/") not in ("", "/jsonrpc"):
        raise BadRequest(f"aria2 RPC URL {url!r}: the path must be /jsonrpc or empty")
    if not is_loopback_host(parts.hostname):
        raise BadRequest(
            f"aria2 RPC must be on loopback (127.0.0.1, ::1 or localhost), not "
            f"{parts.hostname!r}: anyone who reaches it can write files anywhere")
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{parts.scheme}://{host}", parts.port or 6800


def _fault(result: Any) -> dict[str, Any] | None:
    """A system.multicall element is [value] or a fault struct."""
    return result if isinstance(result, dict) and "code" in result else None


def to_status(download_id: str, s: dict[str, Any]) -> DownloadStatus:
    total = int(s.get("totalLength") or 0)
    done = int(s.get("completedLength") or 0)
    speed = int(s.get("downloadSpeed") or 0)
    raw = str(s.get("status", ""))
    state = STATE_MAP.get(raw, ClientState.UNKNOWN)
    error = None
    permanent = False
    if is_metadata(s) and state not in (ClientState.FAILED, ClientState.REMOVED):
        # A magnet's metadata, not the payload: nothing of the release is here yet, even
        # when the metadata itself is complete and the real download not yet started.
        # Paused, it says so (else a paused magnet would read as running).
        total, done = 0, 0
        if state is not ClientState.PAUSED:
            state = ClientState.METADATA
    elif state is ClientState.DOWNLOADING:
        if s.get("seeder") == "true" or (total > 0 and done >= total):
            state = ClientState.COMPLETED
    elif state is ClientState.FAILED:
        code = int(s.get("errorCode") or 1)
        permanent = is_permanent(code)
        reason = PERMANENT_ERRORS.get(code) or TRANSIENT_ERRORS.get(code, "error")
        error = f"aria2 error {code} ({reason}): {s.get('errorMessage') or ''}".strip()
    left = max(total - done, 0)
    info = (s.get("bittorrent") or {}).get("info") or {}
    return DownloadStatus(
        download_id=download_id,
        state=state,
        total_bytes=total,
        left_bytes=left,
        progress=round(done * 100 / total, 4) if total else 0.0,
        download_speed=speed,
        upload_speed=int(s.get("uploadSpeed") or 0),
        eta_seconds=(left // speed) if speed and left else (0 if total and not left else None),
        seeders=int(s["numSeeders"]) if s.get("numSeeders") is not None else None,
        output_path=base_path(s),
        error=error,
        permanent=permanent,
        name=info.get("name"),
        item_status=RADARR_VIEW.get(state),
        message=str(s.get("errorMessage") or "") or None,
    )


class Aria2Client:
    """The DownloadClient port for aria2."""

    def __init__(self, name: str, config: Aria2Config) -> None:
        self.name = name
        self.config = config
        self._endpoint = host, port = rpc_endpoint(config.url)
        self._server = f"{host}:{port}/jsonrpc"  # as aria2p's Client.server says it
        self._run = BlockingRunner(name, self._translate, deadline=config.timeout + 5)
        self._version: str | None = None  # set once what answers is known to be aria2

    @functools.cached_property
    def _rpc(self) -> aria2p.Client:
        """Built at the first call, on its worker thread: a server whose aria2 is idle
        need not import aria2p and requests at start."""
        import aria2p

        host, port = self._endpoint
        return aria2p.Client(host=host, port=port,
                             secret=self.config.secret.get_secret_value(),
                             timeout=self.config.timeout)

    def _translate(self, exc: BaseException) -> DownloadClientError:
        import aria2p
        import requests

        # What answered is never repeated: it may be another service on that port, and
        # these messages end up in items' errors and in /health.
        if isinstance(exc, aria2p.ClientException):
            if "unauthorized" in str(exc).lower():
                return ClientUnavailable(f"{self.name}: aria2 refused the RPC secret")
            code = exc.code if isinstance(exc.code, int) else "?"
            return TransientClientError(
                f"{self.name}: {self._server} answered JSON-RPC error {code}")
        if isinstance(exc, ValueError):  # not JSON: something else answers on that port
            return ClientUnavailable(f"{self.name}: {self._server} is not aria2's RPC")
        if isinstance(exc, requests.ConnectionError | requests.Timeout | OSError):
            return ClientUnavailable(f"{self.name}: cannot reach aria2 at {self._server}")
        return TransientClientError(
            f"{self.name}: {type(exc).__name__} from aria2 at {self._server}")

    async def _identify(self) -> str:
        """aria2's version; ClientUnavailable when what answers is not aria2's RPC. Asked
        before the first call, so that only aria2's own fault messages are ever shown."""
        not_aria2 = f"{self.name}: {self._server} is not aria2's RPC"
        try:
            answer = await self._run(lambda: self._rpc.get_version())
        except TransientClientError as exc:
            raise ClientUnavailable(f"{exc.message}: not aria2's RPC") from exc
        version = answer.get("version") if isinstance(answer, dict) else None
        if not isinstance(version, str) or not VERSION.fullmatch(version):
            raise ClientUnavailable(not_aria2)
        self._version = version
        return version

    async def _multicall(self, calls: list[tuple[str, list[Any]]]) -> list[Any]:
        if not calls:
            return []
        if self._version is None:
            await self._identify()
        result = await self._run(self._rpc.multicall2, calls)
        if not isinstance(result, list) or len(result) != len(calls):
            raise ClientUnavailable(f"{self.name}: {self._server} is not aria2's RPC")
        for element in result:
            fault = _fault(element)
            if fault is not None and "unauthorized" in str(fault.get("message", "")).lower():
                raise ClientUnavailable(f"{self.name}: aria2 refused the RPC secret")
        return list(result)

    async def test(self) -> ClientInfo:
        return ClientInfo(self.name, await self._identify())

    # -- adding ------------------------------------------------------------------------

    async def _status(self, gid: str, keys: list[str]) -> dict[str, Any] | None:
        (result,) = await self._multicall([("aria2.tellStatus", [gid, keys])])
        return None if _fault(result) else dict(result[0])

    async def _find_by_hash(self, info_hash: str) -> str | None:
        keys = ["gid", "infoHash", "status", "followedBy", "files"]
        active, waiting, stopped = await self._multicall([
            ("aria2.tellActive", [keys]),
            ("aria2.tellWaiting", [0, 10000, keys]),
            ("aria2.tellStopped", [0, 10000, keys]),
        ])
        best: str | None = None
        for listing in (active, waiting, stopped):
            for s in [] if _fault(listing) else listing[0]:
                if str(s.get("infoHash", "")).lower() != info_hash:
                    continue
                if s.get("status") in ("removed", "error") or s.get("followedBy"):
                    continue
                if not is_metadata(s):
                    return str(s["gid"])
                best = best or str(s["gid"])
        return best

    async def add(self, item: QueueItem, torrent: bytes | None) -> str:
        gid = item_gid(item)
        known = await self._status(gid, ["gid", "status", "followedBy"])
        if known is not None:
            if known.get("status") not in ("error", "removed"):
                followed = known.get("followedBy") or []
                return str(followed[0]) if followed else gid
            # A failed or removed earlier attempt: clear it so the GID can be reused.
            await self._multicall([("aria2.removeDownloadResult", [gid])])
        if item.info_hash:
            found = await self._find_by_hash(item.info_hash)
            if found is not None:
                return found
        options: dict[str, str] = {"gid": gid}
        directory = self.config.directory
        if item.save_under:  # a sub-directory of ours, or of aria2's own dir
            directory = await self._under(directory, item.save_under)
        if directory:
            options["dir"] = directory
        if item.source is SourceKind.TORRENT_FILE:
            if torrent is None:
                raise ClientRejected(f"item {item.id} has no stored .torrent file")
            call = ("aria2.addTorrent", [base64.b64encode(torrent).decode(), [], options])
        elif item.download_url:
            call = ("aria2.addUri", [[item.download_url], options])
        else:
            raise ClientRejected(f"item {item.id} has nothing aria2 can download")
        (result,) = await self._multicall([call])
        fault = _fault(result)
        if fault is None:
            return str(result[0])
        message = str(fault.get("message", ""))
        if "not unique" in message.lower():
            return gid  # taken by an earlier attempt that timed out: it is ours
        raise ClientRejected(f"{self.name}: aria2 refused {item.title!r}: {message}")

    async def _under(self, directory: str | None, name: str) -> str:
        if directory is None:
            (result,) = await self._multicall([("aria2.getGlobalOption", [])])
            directory = None if _fault(result) else result[0].get("dir")
        if not directory:
            raise ClientRejected(f"{self.name}: aria2 has no download directory to put "
                                 f"{name!r} under")
        try:
            return subdirectory(directory, name, self.config.roots)
        except BadRequest as exc:
            raise ClientRejected(f"{self.name}: {exc.message}") from None

    # -- following ---------------------------------------------------------------------

    async def statuses(self, download_ids: Sequence[str]) -> dict[str, DownloadStatus]:
        ids = list(dict.fromkeys(download_ids))
        results = await self._multicall([("aria2.tellStatus", [g, STATUS_KEYS]) for g in ids])
        found: dict[str, dict[str, Any]] = {}
        follow: dict[str, str] = {}
        for gid, result in zip(ids, results, strict=True):
            if _fault(result):
                continue
            status = result[0]
            found[gid] = status
            children = status.get("followedBy") or []
            if children:
                follow[gid] = str(children[-1])
        while follow:  # a .torrent URL can chain: URL -> .torrent -> real download
            pending = list(follow.items())
            children = await self._multicall(
                [("aria2.tellStatus", [child, STATUS_KEYS]) for _, child in pending])
            follow = {}
            for (gid, _), result in zip(pending, children, strict=True):
                if _fault(result):
                    continue
                found[gid] = result[0]
                grandchildren = result[0].get("followedBy") or []
                if grandchildren:
                    follow[gid] = str(grandchildren[-1])
        return {gid: to_status(str(s["gid"]), s) for gid, s in found.items()}

    async def pause(self, download_id: str) -> None:
        """Pause the download and what aria2 started after it (a magnet's or a .torrent
        URL's real download, under a new GID), or it would go on unpaused."""
        for status in await self._chain(download_id, ["gid", "status", "followedBy"]):
            if status.get("status") in ("active", "waiting"):
                await self._quiet_call("aria2.pause", str(status["gid"]),
                                       ignore=("cannot be paused",))

    async def resume(self, download_id: str) -> None:
        for status in await self._chain(download_id, ["gid", "status", "followedBy"]):
            if status.get("status") == "paused":
                await self._quiet_call("aria2.unpause", str(status["gid"]),
                                       ignore=("cannot be unpaused",))

    async def _chain(self, download_id: str, keys: list[str]) -> list[dict[str, Any]]:
        """The download and those that followed it (followedBy), oldest first."""
        chain: list[dict[str, Any]] = []
        gid: str | None = download_id
        while gid is not None and len(chain) < 4:
            status = await self._status(gid, keys)
            if status is None:
                break
            chain.append(status)
            children = status.get("followedBy") or []
            gid = str(children[-1]) if children else None
        return chain

    async def _quiet_call(self, method: str, gid: str, ignore: tuple[str, ...]) -> None:
        (result,) = await self._multicall([(method, [gid])])
        fault = _fault(result)
        if fault is not None:
            message = str(fault.get("message", ""))
            if "not found" in message.lower() or any(i in message for i in ignore):
                return
            raise TransientClientError(f"{self.name}: aria2 {method}: {message}")

    async def remove(self, download_id: str, delete_data: bool) -> None:
        chain = await self._chain(download_id, PATH_KEYS)
        if not chain:
            return
        running = [s["gid"] for s in chain if s.get("status") in ("active", "waiting", "paused")]
        await self._multicall([("aria2.forceRemove", [g]) for g in running])
        await self._wait_stopped(running)
        await self._multicall([("aria2.removeDownloadResult", [s["gid"]]) for s in chain])
        if delete_data:
            others = in_use(await self._everything(PATH_KEYS), {str(s["gid"]) for s in chain})
            await asyncio.to_thread(delete_files, self.name, chain, others,
                                    list(self.config.roots))

    async def _everything(self, keys: list[str]) -> list[dict[str, Any]]:
        """Every download aria2 knows (active, waiting, stopped), in one call."""
        lists = await self._multicall([
            ("aria2.tellActive", [keys]),
            ("aria2.tellWaiting", [0, 10000, keys]),
            ("aria2.tellStopped", [0, 10000, keys]),
        ])
        return [d for listing in lists if not _fault(listing) for d in listing[0]]

    async def _wait_stopped(self, gids: list[str]) -> None:
        for _ in range(50):
            if not gids:
                return
            results = await self._multicall([("aria2.tellStatus", [g, ["status"]]) for g in gids])
            gids = [g for g, r in zip(gids, results, strict=True)
                    if not _fault(r) and r[0].get("status") not in ("removed", "complete",
                                                                     "error")]
            if gids:
                await asyncio.sleep(0.05)

    async def set_priority(self, download_id: str, priority: int) -> None:
        how = {Priority.VERY_HIGH: ("POS_SET", 0), Priority.HIGH: ("POS_SET", 0),
               Priority.LOW: ("POS_END", 0)}.get(Priority(priority))
        if how is None:
            return
        await self._multicall([("aria2.changePosition", [download_id, how[1], how[0]])])
        # A fault here means the download is not waiting: there is no queue to move in.

    async def free_space(self) -> int | None:
        (result,) = await self._multicall([("aria2.getGlobalOption", [])])
        directory = self.config.directory or (None if _fault(result) else result[0].get("dir"))
        # aria2 is on loopback, so its directory is ours to measure.
        if not directory:
            return None
        usage = await asyncio.to_thread(disk_usage, directory)
        return None if usage is None else usage[0]

    def close(self) -> None:
        """Release the worker threads."""
        self._run.close()
