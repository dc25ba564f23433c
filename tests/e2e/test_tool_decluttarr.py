"""decluttarr against a live `queuarr serve` driving a real qBittorrent.

Replayed from decluttarr v1.x, commit ff035bf23c3fe9229efe90a2ee73984c1633fb0c
(`git describe`: v1.41.2-101-gff035bf, 2024-10-20), github.com/ManiMatter/decluttarr:
the same requests (with `requests`, as decluttarr sends them, so booleans go out as
`True`/`False`), in the same order, with the same decisions. Line numbers below are of
that commit:

- main.py 41-54, src/utils/loadScripts.py: getArrInstanceName (22-29: GET system/status,
  `instanceName`), instanceChecks (138-222: GET system/status, `appName` must be Radarr,
  `version` >= RADARR_MIN_VERSION 5.3.6.8608 from config/definitions.py 111; GET
  config/ui `uiLanguage` must be <= 1; qBittorrent login and app/version >= 4.3.0),
  createQbitProtectionTag (224-233), getProtectedAndPrivateFromQbit (31-60: qBittorrent
  hashes upper-cased);
- src/utils/shared.py: get_queue (25-34: POST command RefreshMonitoredDownloads, then
  get_arr_records 10-22: GET queue for totalRecords, then GET queue?page=1&pageSize=N),
  filterOutDelayedQueueItems (37-59), execute_checks (92-167), permittedAttemptsCheck
  (170-264, PERMITTED_ATTEMPTS 3), remove_download (267-310: DELETE queue/{id}
  ?removeFromClient=..&blocklist=..), qBitOffline (359-374);
- the jobs' filters: remove_failed.py 40-44, remove_metadata_missing.py 38-46,
  remove_stalled.py 38-46, remove_orphans.py 31-45 (includeUnknownMovieItems=True queue
  minus the default queue), remove_missing_files.py 38-60.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
from packaging import version

from tests.api.radarr_schema import validate_blocklist_page, validate_queue_page
from tests.daemons import FileServer, QbittorrentDaemon
from tests.e2e.conftest import LiveServer
from tests.e2e.tools import (
    add_qbittorrent,
    dead_magnet,
    dead_torrent,
    grab,
    queue_item,
    serving,
    torrent_state,
    wait_for_item,
    wait_for_state,
)

RADARR_MIN_VERSION = "5.3.6.8608"  # config/definitions.py 111
QBITTORRENT_MIN_VERSION = "4.3.0"  # config/definitions.py 121
PROTECTION_TAG = "Don't Kill"  # NO_STALLED_REMOVAL_QBIT_TAG default, definitions.py 27
PERMITTED_ATTEMPTS = 3  # definitions.py 26
STALLED = "The download is stalled with no connections"
METADATA = "qBittorrent is downloading metadata"
MOVIE = {"title": "Heat", "year": 1995, "tmdbId": 949}


@dataclass
class Decluttarr:
    """decluttarr's state and requests for one Radarr instance and one qBittorrent."""

    base_url: str  # RADARR_URL + '/api/v3' (definitions.py 103)
    api_key: str
    qbit_url: str  # QBITTORRENT_URL + '/api/v2' (definitions.py 108)
    qbit_user: str
    qbit_password: str
    name: str = "Radarr"
    qbit_cookie: dict[str, str] = field(default_factory=dict)
    qbit_version: str = ""
    defective: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    deleted: list[str] = field(default_factory=list)
    requests_made: list[tuple[str, str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    # -- rest.py: rest_get / rest_post / rest_delete ------------------------------------

    def _get(self, url: str, params: Any = None, cookies: Any = None,
             key: bool = True) -> Any:
        headers = {"X-Api-Key": self.api_key} if key else None
        response = requests.get(url, params=params, headers=headers, cookies=cookies)
        self.requests_made.append(("GET", response.url, response.status_code))
        response.raise_for_status()  # rest.py 24 (decluttarr prints and returns None)
        return response.json()

    def _post_command(self) -> None:
        response = requests.post(self.base_url + "/command",
                                 json={"name": "RefreshMonitoredDownloads"},
                                 headers={"X-Api-Key": self.api_key})
        self.requests_made.append(("POST", response.url, response.status_code))
        # rest.py 78: an error is only logged; decluttarr goes on. Radarr answers 201.
        assert response.status_code in (200, 201), response.text

    def _delete(self, url: str, params: dict[str, Any]) -> None:
        response = requests.delete(url, params=params, headers={"X-Api-Key": self.api_key})
        self.requests_made.append(("DELETE", response.url, response.status_code))
        response.raise_for_status()

    # -- start-up (main.py 41-54) --------------------------------------------------------

    def start(self) -> None:
        self.name = self._get(self.base_url + "/system/status")["instanceName"]
        response = requests.get(self.base_url + "/system/status", params=None,
                                headers={"X-Api-Key": self.api_key})
        response.raise_for_status()
        status = response.json()
        assert status["appName"].upper() == "RADARR", (
            f"decluttarr stops: RADARR_URL points to a {status['appName']} instance")
        assert version.parse(status["version"]) >= version.parse(RADARR_MIN_VERSION), status
        ui_language = self._get(self.base_url + "/config/ui")["uiLanguage"]
        assert not ui_language > 1, "decluttarr stops: the UI language is not English"
        login = requests.post(self.qbit_url + "/auth/login",
                              data={"username": self.qbit_user, "password": self.qbit_password},
                              headers={"content-type": "application/x-www-form-urlencoded"})
        assert login.text != "Fails.", "qBittorrent login failed"
        login.raise_for_status()
        self.qbit_cookie = {"SID": login.cookies["SID"]}
        self.qbit_version = requests.get(self.qbit_url + "/app/version",
                                         cookies=self.qbit_cookie).text[1:]
        assert version.parse(self.qbit_version) >= version.parse(QBITTORRENT_MIN_VERSION)
        tags = self._get(self.qbit_url + "/torrents/tags", cookies=self.qbit_cookie, key=False)
        if PROTECTION_TAG not in tags:
            requests.post(self.qbit_url + "/torrents/createTags", data={"tags": PROTECTION_TAG},
                          headers={"content-type": "application/x-www-form-urlencoded"},
                          cookies=self.qbit_cookie).raise_for_status()

    def protected_and_private(self) -> tuple[list[str], list[str]]:
        """loadScripts.py 31-60, IGNORE_PRIVATE_TRACKERS on (its default)."""
        protected: list[str] = []
        private: list[str] = []
        for item in self._get(self.qbit_url + "/torrents/info", params={},
                              cookies=self.qbit_cookie, key=False):
            if PROTECTION_TAG in item.get("tags"):
                protected.append(str.upper(item["hash"]))
            if version.parse(self.qbit_version) >= version.parse("5.1.0"):
                if item["private"]:
                    private.append(str.upper(item["hash"]))
            else:
                properties = self._get(self.qbit_url + "/torrents/properties",
                                       params={"hash": item["hash"]},
                                       cookies=self.qbit_cookie, key=False)
                if properties.get("is_private", False):
                    private.append(str.upper(item["hash"]))
        return protected, private

    # -- shared.py -----------------------------------------------------------------------

    def get_queue(self, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        params = params or {}
        self._post_command()
        first = self._get(self.base_url + "/queue", params)
        validate_queue_page(first)
        count = first["totalRecords"]
        if count == 0:
            return []
        page = self._get(self.base_url + "/queue", {"page": "1", "pageSize": count} | params)
        validate_queue_page(page)
        seen: set[tuple[Any, ...]] = set()
        kept = []
        for item in page["records"]:  # filterOutDelayedQueueItems, shared.py 37-59
            combination = (item["title"], item.get("protocol", "No protocol"),
                           item.get("indexer", "No indexer"))
            if item["status"] == "delay":
                seen.add(combination)
            else:
                kept.append(item)
        return kept

    def qbit_offline(self) -> bool:
        maindata = self._get(self.qbit_url + "/sync/maindata", cookies=self.qbit_cookie,
                             key=False)
        return bool(maindata["server_state"]["connection_status"] == "disconnected")

    def execute_checks(self, affected: list[dict[str, Any]], fail_type: str,
                       protected: list[str], private: list[str], *, blocklist: bool,
                       attempts_check: bool) -> list[dict[str, Any]]:
        try:
            return self._checks(affected, fail_type, protected, private,
                                blocklist=blocklist, attempts_check=attempts_check)
        except Exception as error:  # shared.py 165-167: logged, nothing removed
            self.errors.append(repr(error))
            return []

    def _checks(self, affected: list[dict[str, Any]], fail_type: str,
                protected: list[str], private: list[str], *, blocklist: bool,
                attempts_check: bool) -> list[dict[str, Any]]:
        ids: list[str] = []
        for item in reversed(list(affected)):
            if item["downloadId"] not in ids:
                ids.append(item["downloadId"])
            else:
                affected.remove(item)
        affected = [i for i in affected if i["downloadId"] not in private]
        affected = [i for i in affected if i["downloadId"] not in protected]
        if attempts_check:
            affected = self.permitted_attempts(affected, fail_type)
        for item in affected:
            if item["downloadId"] not in self.deleted:
                self._delete(f"{self.base_url}/queue/{item['id']}",
                             {"removeFromClient": True, "blocklist": blocklist})
                self.deleted.append(item["downloadId"])
        return affected

    def permitted_attempts(self, affected: list[dict[str, Any]], fail_type: str
                           ) -> list[dict[str, Any]]:
        tracked = self.defective.setdefault(fail_type, {})
        current = [i["downloadId"] for i in affected]
        for recovered in [d for d in tracked if d not in current]:
            del tracked[recovered]
        kept = []
        for item in affected:
            entry = tracked.setdefault(item["downloadId"], {"title": item["title"],
                                                            "Attempts": 0})
            entry["Attempts"] += 1
            if PERMITTED_ATTEMPTS - entry["Attempts"] <= -1:
                kept.append(item)
        return kept

    # -- the jobs ------------------------------------------------------------------------

    def _job(self, fail_type: str, selects: Callable[[dict[str, Any]], bool], *,
             blocklist: bool, attempts_check: bool) -> list[dict[str, Any]]:
        protected, private = self.protected_and_private()
        queue = self.get_queue()
        if not queue or self.qbit_offline():
            return []
        affected = [i for i in queue if selects(i)]
        return self.execute_checks(affected, fail_type, protected, private,
                                   blocklist=blocklist, attempts_check=attempts_check)

    def remove_failed(self) -> list[dict[str, Any]]:
        return self._job("failed", lambda i: "errorMessage" in i and "status" in i
                         and i["status"] == "failed", blocklist=False, attempts_check=False)

    def remove_metadata_missing(self) -> list[dict[str, Any]]:
        return self._job("missing metadata", lambda i: "errorMessage" in i and "status" in i
                         and i["status"] == "queued" and i["errorMessage"] == METADATA,
                         blocklist=True, attempts_check=True)

    def remove_stalled(self) -> list[dict[str, Any]]:
        return self._job("stalled", lambda i: "errorMessage" in i and "status" in i
                         and i["status"] == "warning" and i["errorMessage"] == STALLED,
                         blocklist=True, attempts_check=True)

    def remove_orphans(self) -> list[dict[str, Any]]:
        protected, private = self.protected_and_private()
        full = self.get_queue({"includeUnknownMovieItems": True})
        known = self.get_queue()
        if not full:
            return []
        known_ids = [i["id"] for i in known]
        affected = [i for i in full if i["id"] not in known_ids]
        return self.execute_checks(affected, "orphan", protected, private, blocklist=False,
                                   attempts_check=False)

    def until_removed(self, job: Callable[[], list[dict[str, Any]]]) -> list[dict[str, Any]]:
        """Run a job pass after pass (decluttarr runs every REMOVE_TIMER minutes) until it
        removes something or PERMITTED_ATTEMPTS + 2 passes went by."""
        for _ in range(PERMITTED_ATTEMPTS + 2):
            removed = job()
            if removed:
                return removed
        return []


@pytest.fixture
def setup(tmp_path: Path, qbittorrent: QbittorrentDaemon
          ) -> Iterator[tuple[LiveServer, QbittorrentDaemon, Decluttarr]]:
    with serving(tmp_path / "queuarr") as server:
        add_qbittorrent(server, qbittorrent)
        tool = Decluttarr(server.url + "/api/v3", server.api_key, qbittorrent.url + "/api/v2",
                          qbittorrent.username, qbittorrent.password)
        yield server, qbittorrent, tool


def blocklisted(server: LiveServer) -> list[str]:
    response = requests.get(server.url + "/api/v3/blocklist", params={"pageSize": 100},
                            headers={"X-Api-Key": server.api_key})
    response.raise_for_status()
    validate_blocklist_page(response.json())
    return [r["sourceTitle"] for r in response.json()["records"]]


def in_queue(server: LiveServer, item_id: int) -> bool:
    response = requests.get(f"{server.url}/api/v3/queue/{item_id}",
                            headers={"X-Api-Key": server.api_key})
    return response.status_code == 200


def stalled_torrent(server: LiveServer, qbittorrent: QbittorrentDaemon, tmp_path: Path,
                    title: str, seed: int) -> tuple[int, str]:
    torrent, info_hash = dead_torrent(tmp_path, title, seed)
    item_id = grab(server, {"torrentFile": torrent, "title": title, "movieId": 1,
                            "movie": MOVIE})
    wait_for_state(qbittorrent, info_hash, {"stalledDL"})
    return item_id, info_hash


def test_decluttarr_starts_against_queuarr(
        setup: tuple[LiveServer, QbittorrentDaemon, Decluttarr]) -> None:
    server, _, tool = setup
    tool.start()
    assert tool.name == "Queuarr"
    assert tool.get_queue() == []
    assert ("POST", server.url + "/api/v3/command", 201) in tool.requests_made


def test_a_stalled_torrent_is_removed_from_qbittorrent_and_blocklisted(
        setup: tuple[LiveServer, QbittorrentDaemon, Decluttarr], tmp_path: Path) -> None:
    server, qbittorrent, tool = setup
    tool.start()
    item_id, info_hash = stalled_torrent(server, qbittorrent, tmp_path,
                                         "Heat.1995.1080p.BluRay.x264-STALL", 1)
    item = wait_for_item(server, item_id, "the queue to show the stall as Radarr does",
                         status="warning", errorMessage=STALLED)
    assert item["downloadId"] == info_hash.upper()
    removed = tool.until_removed(tool.remove_stalled)
    assert [r["id"] for r in removed] == [item_id], tool.errors
    assert ("DELETE", f"{server.url}/api/v3/queue/{item_id}?removeFromClient=True"
            "&blocklist=True", 200) in tool.requests_made
    assert not in_queue(server, item_id)
    assert torrent_state(qbittorrent, info_hash) is None
    assert "Heat.1995.1080p.BluRay.x264-STALL" in blocklisted(server)


def test_a_stalled_torrent_tagged_dont_kill_is_kept(
        setup: tuple[LiveServer, QbittorrentDaemon, Decluttarr], tmp_path: Path) -> None:
    server, qbittorrent, tool = setup
    tool.start()
    item_id, info_hash = stalled_torrent(server, qbittorrent, tmp_path,
                                         "Heat.1995.1080p.BluRay.x264-KEEP", 2)
    with qbittorrent.web_client() as web:
        web.post("/api/v2/torrents/addTags",
                 data={"hashes": info_hash, "tags": PROTECTION_TAG}).raise_for_status()
    wait_for_item(server, item_id, "the stall shown", status="warning", errorMessage=STALLED)
    protected, _ = tool.protected_and_private()
    assert queue_item(server, item_id)["downloadId"] in protected
    assert tool.until_removed(tool.remove_stalled) == []
    assert in_queue(server, item_id)
    assert torrent_state(qbittorrent, info_hash) == "stalledDL"
    assert blocklisted(server) == []


class DhtQbittorrent(QbittorrentDaemon):
    """DHT on (bound to loopback, so it finds nobody): Radarr shows metaDL as "queued,
    downloading metadata" only then; with DHT off it is a warning that magnets cannot
    resolve (its QBittorrent.cs), which is what the other tests' qBittorrent has."""

    def expected_preferences(self) -> dict[str, Any]:
        return super().expected_preferences() | {"dht": True}


@pytest.fixture
def dht_qbittorrent(tmp_path_factory: pytest.TempPathFactory,
                    qbittorrent: QbittorrentDaemon) -> Iterator[QbittorrentDaemon]:
    daemon = DhtQbittorrent(tmp_path_factory.mktemp("qbittorrent-dht"),
                            binary=qbittorrent.binary,
                            conf={"BitTorrent": {"Session\\DHTEnabled": "true"}})
    daemon.start()
    try:
        yield daemon
    finally:
        daemon.stop()


def test_a_magnet_stuck_on_metadata_is_removed_and_blocklisted(
        tmp_path: Path, dht_qbittorrent: QbittorrentDaemon) -> None:
    with serving(tmp_path / "queuarr") as server:
        add_qbittorrent(server, dht_qbittorrent)
        tool = Decluttarr(server.url + "/api/v3", server.api_key,
                          dht_qbittorrent.url + "/api/v2", dht_qbittorrent.username,
                          dht_qbittorrent.password)
        metadata_case(server, dht_qbittorrent, tool)


def metadata_case(server: LiveServer, qbittorrent: QbittorrentDaemon,
                  tool: Decluttarr) -> None:
    tool.start()
    magnet, info_hash = dead_magnet("Heat.1995.2160p.WEB-DL.x265-META")
    item_id = grab(server, {"downloadUrl": magnet, "movieId": 1, "movie": MOVIE})
    wait_for_state(qbittorrent, info_hash, {"metaDL"})
    item = wait_for_item(server, item_id, "the queue to show qBittorrent's metaDL",
                         status="queued", errorMessage=METADATA)
    assert item["downloadId"] == info_hash.upper()
    removed = tool.until_removed(tool.remove_metadata_missing)
    assert [r["id"] for r in removed] == [item_id], tool.errors
    assert not in_queue(server, item_id)
    assert torrent_state(qbittorrent, info_hash) is None
    assert blocklisted(server) == ["Heat.1995.2160p.WEB-DL.x265-META"]


def test_a_download_that_failed_in_the_client_is_removed_without_blocklisting(
        tmp_path: Path, qbittorrent: QbittorrentDaemon) -> None:
    """What remove_failed selects: status failed with an errorMessage. Here qBittorrent
    had the download (so it has a downloadId, as every Radarr queue item has) and Queuarr
    failed it: it is over QUEUARR_MAX_SIZE once qBittorrent knows its size."""
    with serving(tmp_path / "queuarr", {"QUEUARR_MAX_SIZE": "100000"}) as server, \
            FileServer(tmp_path / "served") as files:
        add_qbittorrent(server, qbittorrent)
        tool = Decluttarr(server.url + "/api/v3", server.api_key,
                          qbittorrent.url + "/api/v2", qbittorrent.username,
                          qbittorrent.password)
        tool.start()
        torrent, info_hash = dead_torrent(tmp_path, "Heat.1995.720p.HDTV-FAIL", 3)
        (files.directory / "big.torrent").write_bytes(base64.b64decode(torrent))
        item_id = grab(server, {"downloadUrl": files.url_for("big.torrent"),
                                "title": "Heat.1995.720p.HDTV-FAIL", "movieId": 1,
                                "movie": MOVIE})
        item = wait_for_item(server, item_id, "the item to fail", status="failed")
        assert item["errorMessage"] and item["downloadId"] == info_hash.upper()
        before = blocklisted(server)  # Queuarr blocklists what it fails, as Radarr does
        removed = tool.remove_failed()
        assert [r["id"] for r in removed] == [item_id], tool.errors
        assert ("DELETE", f"{server.url}/api/v3/queue/{item_id}?removeFromClient=True"
                "&blocklist=False", 200) in tool.requests_made
        assert not in_queue(server, item_id)
        assert blocklisted(server) == before


def test_an_item_without_a_movie_is_what_the_orphan_job_removes(
        setup: tuple[LiveServer, QbittorrentDaemon, Decluttarr]) -> None:
    """decluttarr's orphans are the items only includeUnknownMovieItems=True lists: in
    Queuarr, grabs that name no movie. A grab for a movie is not one."""
    server, qbittorrent, tool = setup
    tool.start()
    orphan_magnet, orphan_hash = dead_magnet("Some.Download.2021.1080p.WEB-DL-ORPHAN")
    known_magnet, known_hash = dead_magnet("Heat.1995.1080p.WEB-DL-KNOWN")
    orphan = grab(server, {"downloadUrl": orphan_magnet})
    known = grab(server, {"downloadUrl": known_magnet, "movieId": 1, "movie": MOVIE})
    for info_hash in (orphan_hash, known_hash):
        wait_for_state(qbittorrent, info_hash, {"metaDL"})
    wait_for_item(server, orphan, "the orphan sent", downloadId=orphan_hash.upper())
    wait_for_item(server, known, "the known item sent", downloadId=known_hash.upper())
    removed = tool.remove_orphans()
    assert [r["id"] for r in removed] == [orphan]
    assert not in_queue(server, orphan) and in_queue(server, known)
    assert torrent_state(qbittorrent, orphan_hash) is None
    assert torrent_state(qbittorrent, known_hash) == "metaDL"
    assert blocklisted(server) == []
