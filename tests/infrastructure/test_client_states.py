"""The adapters' pure parts: every qBittorrent state and aria2 status mapped, aria2's
error codes split into permanent and transient, sync/maindata merging, and how a
submitted add answer is read."""

from __future__ import annotations

import pytest

from core.clients import CLIENT_FAULT_STATES, STALL_STATES, ClientState
from infrastructure.clients import aria2, qbittorrent
from infrastructure.clients.qbittorrent import MainData, _add_failed

S = ClientState

# Every state in qBittorrent's Web API documentation (4.1 to 5.x), and what it means here.
QBITTORRENT_STATES = [
    ("downloading", S.DOWNLOADING), ("forcedDL", S.DOWNLOADING), ("allocating", S.DOWNLOADING),
    ("metaDL", S.METADATA), ("forcedMetaDL", S.METADATA),
    ("stalledDL", S.STALLED), ("queuedDL", S.QUEUED), ("checkingDL", S.CHECKING),
    ("pausedDL", S.PAUSED), ("stoppedDL", S.PAUSED),
    ("uploading", S.COMPLETED), ("stalledUP", S.COMPLETED), ("queuedUP", S.COMPLETED),
    ("pausedUP", S.COMPLETED), ("stoppedUP", S.COMPLETED), ("forcedUP", S.COMPLETED),
    ("checkingUP", S.CHECKING), ("checkingResumeData", S.CHECKING), ("moving", S.MOVING),
    ("missingFiles", S.MISSING_FILES), ("error", S.ERROR), ("unknown", S.UNKNOWN),
]


@pytest.mark.parametrize(("raw", "expected"), QBITTORRENT_STATES)
def test_every_qbittorrent_state_is_mapped(raw: str, expected: ClientState) -> None:
    status = qbittorrent.to_status("ab" * 20, {"state": raw, "size": 100, "amount_left": 40,
                                               "progress": 0.6})
    assert status.state is expected
    assert qbittorrent.STATE_MAP[raw] is expected
    # Client-side faults carry a reason; nothing else claims an error.
    assert (status.error is not None) == (expected in CLIENT_FAULT_STATES)


def test_the_table_covers_the_whole_map_and_a_new_state_is_unknown() -> None:
    assert {raw for raw, _ in QBITTORRENT_STATES} == set(qbittorrent.STATE_MAP)
    assert qbittorrent.to_status("x", {"state": "someNewState"}).state is S.UNKNOWN
    assert {S.STALLED, S.METADATA} == STALL_STATES  # fed to stall detection, never failed


def test_qbittorrent_fields_are_converted() -> None:
    status = qbittorrent.to_status("ab" * 20, {
        "state": "downloading", "size": 1000, "total_size": 2000, "amount_left": 250,
        "progress": 0.75, "dlspeed": 500, "upspeed": 20, "eta": 8640000, "num_seeds": 3,
        "content_path": "/dl/Movie", "name": "Movie"})
    assert (status.total_bytes, status.left_bytes, status.progress) == (1000, 250, 75.0)
    assert (status.download_speed, status.upload_speed, status.seeders) == (500, 20, 3)
    assert status.eta_seconds is None  # 8640000 is qBittorrent's "infinity"
    assert status.output_path == "/dl/Movie"
    older = qbittorrent.to_status("x", {"state": "uploading", "save_path": "/dl/", "name": "M",
                                        "eta": 60})
    assert older.output_path == "/dl/M" and older.eta_seconds == 60


def test_maindata_merges_incremental_updates() -> None:
    data = MainData()
    data.merge({"rid": 1, "full_update": True, "server_state": {"free_space_on_disk": 9},
                "torrents": {"a": {"state": "downloading", "progress": 0.1}, "b": {"state": "x"}}})
    data.merge({"rid": 2, "torrents": {"a": {"progress": 0.5}, "c": {"state": "metaDL"}},
                "torrents_removed": ["b"], "server_state": {"dl_info_speed": 5}})
    assert data.rid == 2
    assert data.torrents == {"a": {"state": "downloading", "progress": 0.5},
                             "c": {"state": "metaDL"}}
    assert data.server_state == {"free_space_on_disk": 9, "dl_info_speed": 5}
    # Statuses follow the merged torrents: rebuilt for what changed, dropped when removed.
    assert set(data.statuses) == {"a", "c"}
    assert data.statuses["a"].progress == 50.0 and data.statuses["c"].state is S.METADATA
    data.merge({"rid": 7, "full_update": True, "torrents": {"z": {"state": "error"}}})
    assert set(data.torrents) == {"z"} and data.server_state == {}
    assert set(data.statuses) == {"z"} and data.statuses["z"].state is S.ERROR


@pytest.mark.parametrize(("answer", "failed"), [
    ("Ok.", False), ("Fails.", True), ("fails.", True), (None, False),
    ({"success_count": 1, "failure_count": 0, "pending_count": 0}, False),
    ({"success_count": 0, "failure_count": 1, "pending_count": 0}, True),
    ({"success_count": 0, "failure_count": 0, "pending_count": 1}, False),  # 202: pending
])
def test_an_add_answer_is_authoritative(answer: object, failed: bool) -> None:
    assert _add_failed(answer) is failed


@pytest.mark.parametrize(("raw", "expected"), [
    ("active", S.DOWNLOADING), ("waiting", S.QUEUED), ("paused", S.PAUSED),
    ("error", S.FAILED), ("complete", S.COMPLETED), ("removed", S.REMOVED),
    ("strange", S.UNKNOWN),
])
def test_every_aria2_status_is_mapped(raw: str, expected: ClientState) -> None:
    status = aria2.to_status("g", {"status": raw, "totalLength": "100",
                                   "completedLength": "10", "errorCode": "3"})
    assert status.state is expected


def test_aria2_metadata_and_seeding_are_told_apart() -> None:
    meta = aria2.to_status("g", {"status": "active", "totalLength": "0",
                                 "files": [{"path": "[METADATA]abc"}]})
    assert meta.state is S.METADATA
    seeding = aria2.to_status("g", {"status": "active", "totalLength": "10",
                                    "completedLength": "10", "seeder": "true",
                                    "files": [{"path": "/dl/f"}]})
    assert seeding.state is S.COMPLETED and seeding.progress == 100.0
    assert seeding.output_path == "/dl/f"
    multi = aria2.to_status("g", {"status": "active", "totalLength": "10",
                                  "completedLength": "5", "downloadSpeed": "1", "dir": "/dl",
                                  "bittorrent": {"mode": "multi", "info": {"name": "Movie"}},
                                  "files": [{"path": "/dl/Movie/a.mkv"}]})
    assert multi.output_path == "/dl/Movie" and multi.eta_seconds == 5


ALL_CODES = range(1, 33)


@pytest.mark.parametrize("code", [c for c in ALL_CODES if c != 31])
def test_every_aria2_error_code_is_classified(code: int) -> None:
    assert (code in aria2.PERMANENT_ERRORS) != (code in aria2.TRANSIENT_ERRORS)
    status = aria2.to_status("g", {"status": "error", "errorCode": str(code),
                                   "errorMessage": "boom"})
    assert status.state is S.FAILED
    assert status.permanent is (code in aria2.PERMANENT_ERRORS)
    assert status.error is not None and f"aria2 error {code}" in status.error


def test_permanent_and_transient_examples() -> None:
    assert aria2.is_permanent(3)  # 404
    assert aria2.is_permanent(27)  # bad magnet
    assert not aria2.is_permanent(6)  # network problem
    assert not aria2.is_permanent(9)  # disk full: a system fault, never the release's


def test_item_gids_are_stable_distinct_and_valid() -> None:
    from datetime import UTC, datetime

    from core.domain import DownloadProtocol, ItemState, QueueItem, SourceKind
    now = datetime(2026, 1, 1, tzinfo=UTC)

    def item(item_id: int, url_hash: str) -> QueueItem:
        return QueueItem(id=item_id, title="t", source=SourceKind.HTTP,
                         protocol=DownloadProtocol.UNKNOWN, state=ItemState.QUEUED,
                         added_at=now, updated_at=now, url_hash=url_hash)

    gids = {aria2.item_gid(item(i, "h")) for i in range(1000)}
    assert len(gids) == 1000
    assert all(len(g) == 16 and int(g, 16) > 0 for g in gids)
    assert aria2.item_gid(item(1, "h")) == aria2.item_gid(item(1, "h"))
    assert aria2.item_gid(item(1, "h")) != aria2.item_gid(item(1, "other"))
