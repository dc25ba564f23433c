"""qBittorrent through its Web API (qbittorrent-api, called off the event loop).

The traps this adapter is built around (see the reference's adapter gotchas):
- log in once, again only on a 403, and after a refused login wait before trying again:
  qBittorrent bans an IP after repeated failed logins;
- the Web API version is read once per session: `stop`/`start` from 2.11 on,
  `pause`/`resume` before (qbittorrent-api branches on the version it read);
- a failed add answers 200 with `Fails.` on older builds, 409 on newer ones, and JSON
  counts from 2.14: the body is authoritative, and an add is only done once the torrent
  is found again, by info hash or by the item's tag;
- statuses come from `sync/maindata` with `rid`: after the first full answer, each
  cycle only carries what changed, merged here into a local copy.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

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
from infrastructure.clients.blocking import BlockingRunner
from infrastructure.clients.paths import subdirectory

log = logging.getLogger(__name__)

# Every state qBittorrent reports (4.1 to 5.x), mapped to ours.
STATE_MAP: dict[str, ClientState] = {
    "downloading": ClientState.DOWNLOADING,
    "forcedDL": ClientState.DOWNLOADING,
    "metaDL": ClientState.METADATA,
    "forcedMetaDL": ClientState.METADATA,
    "stalledDL": ClientState.STALLED,
    "queuedDL": ClientState.QUEUED,
    "checkingDL": ClientState.CHECKING,
    "pausedDL": ClientState.PAUSED,
    "stoppedDL": ClientState.PAUSED,
    "allocating": ClientState.DOWNLOADING,
    "uploading": ClientState.COMPLETED,
    "stalledUP": ClientState.COMPLETED,
    "queuedUP": ClientState.COMPLETED,
    "pausedUP": ClientState.COMPLETED,
    "stoppedUP": ClientState.COMPLETED,
    "forcedUP": ClientState.COMPLETED,
    "checkingUP": ClientState.CHECKING,
    "checkingResumeData": ClientState.CHECKING,
    "moving": ClientState.MOVING,
    "missingFiles": ClientState.MISSING_FILES,
    "error": ClientState.ERROR,
    "unknown": ClientState.UNKNOWN,
}
_STATE_ERRORS = {
    "missingFiles": "qBittorrent reports missing files",
    "error": "qBittorrent reports an error for this torrent (often a full disk or an I/O "
             "error; see its log)",
}
# Radarr's view of each state and its message, as Radarr's adapter words them
# (src/NzbDrone.Core/Download/Clients/QBittorrent/QBittorrent.cs GetItems, messages from
# src/NzbDrone.Core/Localization/Core/en.json; Radarr v6.0.3.10276, commit 1b9662d5).
# A state Radarr does not list is `downloading` with "Unknown download state: ...".
D = DownloadItemStatus
METADATA_MESSAGE = "qBittorrent is downloading metadata"
DHT_DISABLED_MESSAGE = "qBittorrent cannot resolve magnet link with DHT disabled"
STALLED_MESSAGE = "The download is stalled with no connections"
MISSING_FILES_MESSAGE = "qBittorrent is reporting missing files"
ERROR_MESSAGE = "qBittorrent is reporting an error"
RADARR_VIEW: dict[str, tuple[DownloadItemStatus, str | None]] = {
    "error": (D.WARNING, ERROR_MESSAGE),
    "stoppedDL": (D.PAUSED, None),
    "pausedDL": (D.PAUSED, None),
    "queuedDL": (D.QUEUED, None),
    "checkingDL": (D.QUEUED, None),
    "checkingUP": (D.QUEUED, None),
    "checkingResumeData": (D.QUEUED, None),
    "pausedUP": (D.COMPLETED, None),
    "stoppedUP": (D.COMPLETED, None),
    "uploading": (D.COMPLETED, None),
    "stalledUP": (D.COMPLETED, None),
    "queuedUP": (D.COMPLETED, None),
    "forcedUP": (D.COMPLETED, None),
    "stalledDL": (D.WARNING, STALLED_MESSAGE),
    "missingFiles": (D.WARNING, MISSING_FILES_MESSAGE),
    "metaDL": (D.QUEUED, METADATA_MESSAGE),  # with DHT off: warning, DHT_DISABLED_MESSAGE
    "forcedMetaDL": (D.QUEUED, METADATA_MESSAGE),
    "forcedDL": (D.DOWNLOADING, None),
    "moving": (D.DOWNLOADING, None),
    "downloading": (D.DOWNLOADING, None),
}
DHT_CHECK_EVERY = 60.0  # seconds between reads of qBittorrent's DHT preference
NO_ETA = 8640000  # qBittorrent's "infinity"
TAG_PREFIX = "queuarr-"
WEB_API_VERSION = re.compile(r"\d{1,4}(\.\d{1,4}){1,3}")  # 2.11.4


@dataclass(frozen=True, slots=True)
class QbittorrentConfig:
    url: str
    username: str | None = None
    password: SecretStr | None = None
    category: str | None = "queuarr"
    save_path: str | None = None
    add_stopped: bool = False
    timeout: float = 10.0  # per HTTP request
    confirm_timeout: float = 10.0  # how long an add may take to show up
    login_cooldown: float = 60.0  # after a refused login, no new attempt for this long


def item_tag(item_id: int) -> str:
    return f"{TAG_PREFIX}{item_id}"


def radarr_view(raw_state: str, dht_enabled: bool = True
                ) -> tuple[DownloadItemStatus, str | None]:
    """Radarr's status and message for a qBittorrent state (QBittorrent.cs GetItems)."""
    if not dht_enabled and raw_state in ("metaDL", "forcedMetaDL"):
        return D.WARNING, DHT_DISABLED_MESSAGE
    return RADARR_VIEW.get(raw_state) or (D.DOWNLOADING,
                                          f"Unknown download state: {raw_state}")


def to_status(torrent_hash: str, t: dict[str, Any]) -> DownloadStatus:
    """A DownloadStatus from one `sync/maindata` (or `torrents/info`) torrent (Radarr's
    view as with DHT on: statuses() corrects metadata downloads when it is off)."""
    raw_state = str(t.get("state", "unknown"))
    state = STATE_MAP.get(raw_state, ClientState.UNKNOWN)
    item_status, message = radarr_view(raw_state)
    eta = t.get("eta")
    # -1 while a magnet's metadata is missing: the size is not known yet.
    size = max(int(t.get("size") or t.get("total_size") or 0), 0)
    left = max(int(t.get("amount_left") or 0), 0)
    output = t.get("content_path") or None
    if output is None and t.get("save_path") and t.get("name"):
        output = f"{str(t['save_path']).rstrip('/')}/{t['name']}"
    return DownloadStatus(
        download_id=torrent_hash,
        state=state,
        total_bytes=size,
        left_bytes=left,
        progress=round(float(t.get("progress") or 0.0) * 100, 4),
        download_speed=int(t.get("dlspeed") or 0),
        upload_speed=int(t.get("upspeed") or 0),
        eta_seconds=None if eta is None or int(eta) >= NO_ETA else int(eta),
        seeders=None if t.get("num_seeds") is None else int(t["num_seeds"]),
        output_path=output,
        error=_STATE_ERRORS.get(raw_state),
        name=t.get("name"),
        item_status=item_status,
        message=message,
    )


class MainData:
    """The local copy of `sync/maindata`, kept current with incremental (rid) updates,
    and a DownloadStatus per torrent rebuilt only when that torrent changed."""

    def __init__(self) -> None:
        self.rid = 0
        self.torrents: dict[str, dict[str, Any]] = {}
        self.server_state: dict[str, Any] = {}
        self.statuses: dict[str, DownloadStatus] = {}

    def merge(self, data: dict[str, Any]) -> None:
        if data.get("full_update"):
            # The answer was parsed for us alone: its dicts are ours to keep and update.
            self.torrents = dict(data.get("torrents") or {})
            self.server_state = dict(data.get("server_state") or {})
            self.statuses = {h: to_status(h, t) for h, t in self.torrents.items()}
        else:
            for torrent_hash, changes in (data.get("torrents") or {}).items():
                known = self.torrents.get(torrent_hash)
                if known is None:
                    known = self.torrents[torrent_hash] = changes
                else:
                    known.update(changes)
                self.statuses[torrent_hash] = to_status(torrent_hash, known)
            for torrent_hash in data.get("torrents_removed") or ():
                self.torrents.pop(torrent_hash, None)
                self.statuses.pop(torrent_hash, None)
            self.server_state.update(data.get("server_state") or {})
        self.rid = int(data.get("rid") or 0)


def _conflict(exc: BaseException) -> bool:
    """qBittorrent answered 409 (qbittorrent-api's error is the cause of ours)."""
    import qbittorrentapi

    return isinstance(exc.__cause__, qbittorrentapi.Conflict409Error)


class QbittorrentClient:
    """The DownloadClient port for qBittorrent."""

    def __init__(
        self,
        name: str,
        config: QbittorrentConfig,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self.config = config
        self._monotonic = monotonic
        import qbittorrentapi  # here, not at start: most installations use no qBittorrent

        self._api = qbittorrentapi.Client(
            host=config.url,
            username=config.username or "",
            password=config.password.get_secret_value() if config.password else "",
            REQUESTS_ARGS={"timeout": (min(5.0, config.timeout), config.timeout)},
            SIMPLE_RESPONSES=True,
            DISABLE_LOGGING_DEBUG_OUTPUT=True,
            RAISE_NOTIMPLEMENTEDERROR_FOR_UNIMPLEMENTED_API_ENDPOINTS=True,
        )
        # qbittorrent-api retries a failed connection once; the deadline covers both.
        self._run = BlockingRunner(name, self._translate, deadline=config.timeout * 2 + 5)
        self._logged_in = False
        self._login_blocked_until = 0.0
        self._web_api_version: str | None = None
        self._categories: set[str] = set()
        self._maindata = MainData()
        self._sync_lock = asyncio.Lock()
        self._dht: tuple[float, bool] | None = None  # (read at, enabled)
        self.login_attempts = 0

    # -- session -----------------------------------------------------------------------

    def _translate(self, exc: BaseException) -> DownloadClientError:
        import qbittorrentapi

        if isinstance(exc, qbittorrentapi.LoginFailed | qbittorrentapi.Forbidden403Error):
            self._logged_in = False
            self._login_blocked_until = self._monotonic() + self.config.login_cooldown
            return ClientUnavailable(f"{self.name}: qBittorrent refused the login")
        # What answered is never repeated: it may be any service's page, and these
        # messages end up in items' errors and in /health.
        if isinstance(exc, qbittorrentapi.UnsupportedMediaType415Error):
            return ClientRejected(f"{self.name}: qBittorrent says the torrent is invalid")
        if isinstance(exc, qbittorrentapi.HTTP5XXError):
            return TransientClientError(
                f"{self.name}: qBittorrent failed (HTTP {_status(exc)})")
        if isinstance(exc, qbittorrentapi.HTTPError):
            return TransientClientError(
                f"{self.name}: qBittorrent answered HTTP {_status(exc)}")
        if isinstance(exc, qbittorrentapi.APIConnectionError | OSError):
            return ClientUnavailable(f"{self.name}: cannot reach qBittorrent at "
                                     f"{self.config.url}")
        return TransientClientError(
            f"{self.name}: {type(exc).__name__} from qBittorrent at {self.config.url}")

    def _identify(self) -> str:
        """In a worker thread: log in (with a username), then read the Web API version;
        ClientUnavailable when what answers at the URL is not qBittorrent's Web API."""
        import qbittorrentapi

        try:
            if self.config.username:
                self.login_attempts += 1
                self._api.auth_log_in()
            version = self._api.app_web_api_version()
        except qbittorrentapi.Forbidden403Error:
            raise  # refused or banned: the login's business
        except qbittorrentapi.HTTPError as exc:
            raise ClientUnavailable(
                f"{self.name}: {self.config.url} answered HTTP {_status(exc)}: not "
                "qBittorrent's Web API (check host, port and URL base)") from exc
        if not isinstance(version, str) or not WEB_API_VERSION.fullmatch(version.strip()):
            raise ClientUnavailable(
                f"{self.name}: {self.config.url} is not qBittorrent's Web API (check host, "
                "port and URL base)")
        return version.strip()

    def _login(self) -> None:
        """In a worker thread: log in if not yet logged in, at most once per cooldown."""
        if self._logged_in:
            return
        wait = self._login_blocked_until - self._monotonic()
        if wait > 0:
            raise ClientUnavailable(
                f"{self.name}: qBittorrent refused the login; next try in {wait:.0f} s")
        self._web_api_version = self._identify()
        self._logged_in = True

    def _call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        self._login()
        return fn(*args, **kwargs)

    async def _do(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return await self._run(self._call, fn, *args, **kwargs)

    @property
    def web_api_version(self) -> str | None:
        return self._web_api_version

    async def test(self) -> ClientInfo:
        version = await self._do(self._api.app_version)
        return ClientInfo(self.name, f"{version} (Web API {self._web_api_version})")

    # -- adding ------------------------------------------------------------------------

    async def _find(self, item: QueueItem) -> str | None:
        """The hash of the item's torrent if qBittorrent has it (by hash, else by tag)."""
        if item.info_hash:
            found = await self._do(self._api.torrents_info, torrent_hashes=item.info_hash)
            if found:
                return str(found[0]["hash"]).lower()
        found = await self._do(self._api.torrents_info, tag=item_tag(item.id))
        return str(found[0]["hash"]).lower() if found else None

    async def _ensure_category(self, category: str) -> None:
        if category in self._categories:
            return
        existing = await self._do(self._api.torrents_categories)
        if category not in existing:
            # A 409 means it was created meanwhile, or is invalid: the add will tell.
            with contextlib.suppress(TransientClientError):
                await self._do(self._api.torrents_create_category, name=category)
        self._categories.add(category)

    async def add(self, item: QueueItem, torrent: bytes | None) -> str:
        existing = await self._find(item)
        if existing is not None:
            return existing
        category = item.category or self.config.category
        if category:
            await self._ensure_category(category)
        save_path = self.config.save_path
        if item.save_under:  # a plain name: under the save path, never outside it
            base = save_path or str(await self._do(self._api.app_default_save_path))
            try:
                save_path = subdirectory(base, item.save_under, ())
            except BadRequest as exc:
                raise ClientRejected(f"{self.name}: {exc.message}") from None
        options: dict[str, Any] = {
            "category": category or None,
            "tags": item_tag(item.id),
            "save_path": save_path,
            "is_stopped": True if self.config.add_stopped else None,
        }
        if item.source is SourceKind.TORRENT_FILE:
            if torrent is None:
                raise ClientRejected(f"item {item.id} has no stored .torrent file")
            options["torrent_files"] = {f"{item.id}.torrent": torrent}
        elif item.source in (SourceKind.MAGNET, SourceKind.TORRENT_URL) and item.download_url:
            options["urls"] = item.download_url
        else:
            raise ClientRejected(f"qBittorrent cannot take a {item.source.value} download")
        try:
            answer = await self._do(self._api.torrents_add, **options)
            failed = _add_failed(answer)
        except TransientClientError as exc:
            if not _conflict(exc):
                raise
            failed = True
        if failed:
            # `Fails.`/409 also mean "already there": only a torrent we cannot find
            # again is a refusal.
            existing = await self._find(item)
            if existing is not None:
                return existing
            raise ClientRejected(f"{self.name}: qBittorrent refused {item.title!r}")
        return await self._confirm(item)

    async def _confirm(self, item: QueueItem) -> str:
        deadline = self._monotonic() + self.config.confirm_timeout
        delay = 0.05
        while True:
            found = await self._find(item)
            if found is not None:
                return found
            if self._monotonic() >= deadline:
                raise TransientClientError(
                    f"{self.name}: qBittorrent accepted {item.title!r} but does not list it "
                    f"after {self.config.confirm_timeout:g} s")
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.5)

    # -- following ---------------------------------------------------------------------

    async def sync(self) -> MainData:
        """One incremental `sync/maindata` call merged into the local copy."""
        async with self._sync_lock:
            data = await self._do(self._api.sync_maindata, rid=self._maindata.rid)
            self._maindata.merge(data)
            return self._maindata

    async def statuses(self, download_ids: Sequence[str]) -> dict[str, DownloadStatus]:
        known = (await self.sync()).statuses
        found: dict[str, DownloadStatus] = {}
        for download_id in download_ids:
            status = known.get(download_id) or known.get(download_id.lower())
            if status is not None:
                found[download_id] = status
        if any(s.state is ClientState.METADATA for s in found.values()) and not (
                await self._dht_enabled()):
            item_status, message = radarr_view("metaDL", dht_enabled=False)
            found = {k: replace(s, item_status=item_status, message=message)
                     if s.state is ClientState.METADATA else s for k, s in found.items()}
        return found

    async def _dht_enabled(self) -> bool:
        """qBittorrent's DHT preference (Radarr reads it to word a metadata download),
        read again at most every DHT_CHECK_EVERY seconds; assumed on if unreadable."""
        now = self._monotonic()
        if self._dht is None or now - self._dht[0] >= DHT_CHECK_EVERY:
            try:
                preferences = await self._do(self._api.app_preferences)
            except DownloadClientError as exc:
                log.info("%s: cannot read qBittorrent's DHT preference: %s", self.name,
                         exc.message)
                return True if self._dht is None else self._dht[1]
            enabled = not isinstance(preferences, dict) or bool(preferences.get("dht", True))
            self._dht = (now, enabled)
        return self._dht[1]

    async def pause(self, download_id: str) -> None:
        # torrents_stop calls `torrents/stop` from Web API 2.11 on, `torrents/pause` before.
        await self._do(self._api.torrents_stop, torrent_hashes=download_id)

    async def resume(self, download_id: str) -> None:
        await self._do(self._api.torrents_start, torrent_hashes=download_id)

    async def remove(self, download_id: str, delete_data: bool) -> None:
        """Delete the torrent, then the item tag(s) Queuarr gave it: qBittorrent keeps a
        tag in its list after the last torrent that had it is gone."""
        found = await self._do(self._api.torrents_info, torrent_hashes=download_id)
        ours = sorted({tag.strip() for torrent in found or ()
                       for tag in str(torrent.get("tags") or "").split(",")
                       if tag.strip().startswith(TAG_PREFIX)})
        await self._do(self._api.torrents_delete, delete_files=delete_data,
                       torrent_hashes=download_id)
        if ours:
            try:
                await self._do(self._api.torrents_delete_tags, tags=ours)
            except DownloadClientError as exc:  # the torrent is gone: that is what counts
                log.info("%s: tags %s left in qBittorrent: %s", self.name, ours,
                         exc.message)

    async def set_priority(self, download_id: str, priority: int) -> None:
        move = {
            Priority.VERY_HIGH: self._api.torrents_top_priority,
            Priority.HIGH: self._api.torrents_increase_priority,
            Priority.LOW: self._api.torrents_bottom_priority,
        }.get(Priority(priority))
        if move is None:
            return
        try:
            await self._do(move, torrent_hashes=download_id)
        except TransientClientError as exc:
            # 409: torrent queueing is off, so there is no queue to move in.
            if not _conflict(exc):
                raise

    async def free_space(self) -> int | None:
        state = (await self.sync()).server_state
        free = state.get("free_space_on_disk")
        return None if free is None else int(free)

    def close(self) -> None:
        """Release the worker threads."""
        self._run.close()


def _status(exc: BaseException) -> str:
    """The HTTP status of a qbittorrent-api error, never its body."""
    response = getattr(exc, "response", None)
    code = getattr(response, "status_code", None) or getattr(exc, "http_status_code", None)
    return str(code) if isinstance(code, int) else "error"


def _add_failed(answer: Any) -> bool:
    """Whether torrents/add said it failed: `Fails.` before 2.14, JSON counts after."""
    if isinstance(answer, str):
        return answer.strip().lower().startswith("fails")
    if isinstance(answer, dict):
        return int(answer.get("failure_count") or 0) > 0 and not (
            int(answer.get("success_count") or 0) or int(answer.get("pending_count") or 0))
    return False
