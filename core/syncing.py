"""The sync pass: one batched status call per client for every tracked item; progress,
completion, failures, stalls, pauses that hold, and downloads the client lost."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from core.clients import CLIENT_FAULT_STATES, ClientState, DownloadItemStatus
from core.domain import HistoryEvent, QueueItem, SourceKind, StatusMessage
from core.errors import ClientRejected, DownloadClientError
from core.leases import is_tracked
from core.policy import FailureClass, classify
from core.ports import DownloadClient, DownloadStatus
from core.processor_base import ENDING, FINISHING, ProcessorBase, S, log
from core.video_grabs import is_key_title

# The client's view of a download (core.listing.shown_status), gone once it leaves it.
NO_CLIENT_VIEW: dict[str, Any] = {"client_status": None, "client_message": None}


def client_view(status: DownloadStatus) -> dict[str, Any]:
    """The item fields that keep what the client says of its download."""
    return {"client_status": None if status.item_status is None else status.item_status.value,
            "client_message": status.message}


class SyncPass(ProcessorBase):
    """The sync pass of core.processor.Processor."""

    async def sync(self) -> int:
        """One status call per client for every tracked item; the number changed. A pass
        asked for while one runs waits for it, then runs (it may see newer states)."""
        async with self._syncing:
            return await self._sync()

    async def _sync(self) -> int:
        changed = 0
        groups = await self._tracked()
        for name, (group, download_ids) in groups.items():
            changed += await self._sync_client(name, group, download_ids)
        self.tracked_count = sum(len(group) for group, _ in groups.values())
        if self._missing:
            tracked_ids = {i.id for group, _ in groups.values() for i in group}
            for item_id in set(self._missing) - tracked_ids:
                del self._missing[item_id]
        return changed

    async def _tracked(self) -> dict[str, tuple[list[QueueItem], list[str]]]:
        """What items.tracked() returns, by client name (with their download ids), read
        narrowly: the tracked versions, then in full only the items written since the
        last pass read them (every write bumps the version), so a pass over a thousand
        quiet downloads reads two columns of each. The same versions as last pass: the
        same items, grouped as they were."""
        versions = await self.items.tracked_versions()
        if versions == self._read_versions:
            return self._groups
        read = self._read
        stale = [i for i, v in versions.items() if i not in read or read[i].version != v]
        found = await self.items.get_many(stale) if stale else []
        for item in found:
            read[item.id] = item
        for item_id in set(read) - versions.keys():
            del read[item_id]
            self._quiet.pop(item_id, None)
        # Written again between the two reads: no longer tracked, or newer (then as
        # tracked() would have read it a moment later).
        groups: dict[str, tuple[list[QueueItem], list[str]]] = {}
        for i in sorted(versions):
            kept = read.get(i)
            if kept is not None and is_tracked(kept):
                group, download_ids = groups.setdefault(kept.download_client or "", ([], []))
                group.append(kept)
                download_ids.append(kept.download_id or "")
        # Reused while the versions stay these (a stale item that vanished between the
        # reads is not in the next versions either, so they differ).
        self._read_versions = versions if len(found) == len(stale) else None
        self._groups = groups
        return groups

    def _quiet_until(self, item: QueueItem, status: DownloadStatus) -> None:
        """Remember that this very item (same version) got this status with nothing to
        write and nothing to do (_follow down to _progress, no change); until it would
        stall (None: never in this state), _follow would find nothing again."""
        limit = self.config.stall.limit(status.state)
        stalls = None if limit is None or item.progress_at is None else \
            item.progress_at + limit
        self._quiet[item.id] = (item, status, stalls)

    async def _sync_client(self, name: str, group: list[QueueItem],
                           download_ids: list[str]) -> int:
        client = self.clients.get(name)
        if client is None:
            log.warning("Items %s belong to download client %r, which no longer exists",
                        [i.id for i in group], name)
            return 0
        now = self.clock.now()
        backoff = self.backoffs[name]
        if not backoff.ready(now):
            return 0
        try:
            statuses = await client.statuses(download_ids)
        except DownloadClientError as exc:
            if classify(exc) is not FailureClass.UNAVAILABLE:
                log.warning("Status of %r failed: %s", name, exc.message)
                return 0
            self._client_down(name, backoff, now, exc.message)
            changed = 0
            for item in group:
                if item.state in (S.DOWNLOADING, S.WARNING):
                    changed += await self._unavailable(item, name, backoff) is not None
            return changed
        self._client_up(name, backoff)
        changed = 0
        self._deferred = []  # none left over from a pass that broke off
        flushed = self._flushed
        quiet, missing = self._quiet, self._missing
        now = self.clock.now()  # read again after each await: quiet items cost no await
        for item, download_id in zip(group, download_ids, strict=True):
            status = statuses.get(download_id)
            if status is not None:
                # Still quiet (see _quiet_until): the same item, the same status, and
                # not stalled yet.
                q = quiet.get(item.id)
                if q is not None and q[0] is item and q[1] == status and (
                        q[2] is None or now < q[2]):
                    if missing:
                        missing.pop(item.id, None)
                    continue
            changed += await self._follow(client, item, status) is not None
            now = self.clock.now()
        await self._flush()
        return changed + self._flushed - flushed

    async def _follow(self, client: DownloadClient, item: QueueItem,
                      status: DownloadStatus | None) -> QueueItem | None:
        now = self.clock.now()
        if status is None or status.state is ClientState.REMOVED:
            return await self._missing_download(client, item)
        self._missing.pop(item.id, None)
        if (item.state is S.CLIENT_UNAVAILABLE and status.state in FINISHING) or (
                item.state is S.PAUSED and status.state in ENDING):
            # It finished or failed while paused here or while its client was away:
            # back to downloading first (the client has it), then what the client says.
            back = await self._move(item, S.DOWNLOADING, "resumed",
                                    "The client has it again" if item.state is
                                    S.CLIENT_UNAVAILABLE else "It went on in the client",
                                    error_message=None, status_messages=())
            if back is None:
                return None
            item = back
        rekey: dict[str, Any] = {} if status.download_id == item.download_id else {
            "download_id": status.download_id}
        max_size = self.config.max_size
        if max_size is not None and status.total_bytes > max_size:
            await client.remove(status.download_id, delete_data=True)
            reason = (f"The release is {status.total_bytes} bytes, over the size limit of "
                      f"{max_size} bytes")
            return await self._move(item, S.FAILED, "downloadFailed", reason,
                                    error_message=reason, **NO_CLIENT_VIEW, **rekey)
        if status.state is ClientState.COMPLETED:
            return await self._move(
                item, S.COMPLETED, "downloadCompleted", status.output_path,
                progress=100.0, size=status.total_bytes or item.size, size_left=0,
                download_speed=0, upload_speed=status.upload_speed, eta_seconds=None,
                estimated_completion_at=None, output_path=status.output_path,
                status_messages=(), error_message=None, **NO_CLIENT_VIEW, **rekey)
        if status.state is ClientState.FAILED:
            error = status.error or "the download client reports a failure"
            if status.permanent:
                return await self._move(item, S.FAILED, "downloadFailed", error,
                                        error_message=error, **NO_CLIENT_VIEW, **rekey)
            if item.client_status is not None or item.client_message is not None:
                # The retry sends it again: the old download's view is not the new one's.
                cleared = await self._save(item, item.evolve(**NO_CLIENT_VIEW),
                                           HistoryEvent("progress", recorded=False))
                if cleared is None:
                    return None
                item = cleared
            return await self._retry_or_fail(item, error)
        if status.state in CLIENT_FAULT_STATES:
            message = status.error or "the download client reports a problem"
            if item.state is S.WARNING and item.error_message == message:
                return None
            if item.state is S.PAUSED:
                return await self._keep_paused(client, item, status, rekey, message)
            target = S.WARNING if item.state is not S.CLIENT_UNAVAILABLE else S.DOWNLOADING
            return await self._move(item, target, "clientWarning", message,
                                    error_message=message, status_messages=(
                                        StatusMessage(item.title, (message,)),),
                                    **client_view(status), **rekey)
        if item.state is S.PAUSED and status.state is not ClientState.PAUSED:
            return await self._keep_paused(client, item, status, rekey)
        if item.state is S.CLIENT_UNAVAILABLE and status.state is ClientState.PAUSED:
            # It was to run when its client went away (resumed here, or downloading):
            # now the client is back, it runs.
            try:
                await client.resume(status.download_id)
            except DownloadClientError as exc:
                log.warning("Resuming item %d in its client: %s", item.id, exc.message)
                return None
            status = replace(status, state=ClientState.DOWNLOADING,
                             item_status=status.item_status and DownloadItemStatus.DOWNLOADING)
        return await self._progress(item, status, now, rekey)

    async def _keep_paused(self, client: DownloadClient, item: QueueItem,
                           status: DownloadStatus, rekey: dict[str, Any],
                           fault: str | None = None) -> QueueItem | None:
        """A pause holds until QueueService.resume, whatever the client does: a download
        it runs anyway (resumed in its own UI; aria2's real download after a magnet's
        metadata, under a new id) is paused there again; a fault is shown, not obeyed."""
        changes: dict[str, Any] = dict(rekey)
        event = HistoryEvent("progress", recorded=False)
        if fault is None:
            log.info("Item %d is paused, but %r runs %s: pausing it there again", item.id,
                     item.download_client, status.download_id)
            try:
                await client.pause(status.download_id)
            except DownloadClientError as exc:
                log.warning("Pausing item %d again in its client: %s", item.id, exc.message)
        elif item.error_message != fault:
            changes.update(error_message=fault,
                           status_messages=(StatusMessage(item.title, (fault,)),))
            event = HistoryEvent("clientWarning", fault)
        if not changes:
            return None
        return await self._save(item, item.evolve(updated_at=self.clock.now(), **changes),
                                event)

    async def _missing_download(self, client: DownloadClient, item: QueueItem
                                ) -> QueueItem | None:
        self._missing[item.id] += 1
        if self._missing[item.id] < self.config.missing_cycles:
            return None
        del self._missing[item.id]
        try:
            prepared = await self._prepare(item)
            download_id = await client.add(prepared.item, prepared.torrent)
        except ClientRejected as exc:
            return await self._move(item, S.FAILED, "downloadFailed",
                                    f"Lost by the client and refused again: {exc.message}",
                                    error_message=exc.message, **NO_CLIENT_VIEW)
        except DownloadClientError as exc:
            log.warning("Re-adding item %d failed: %s", item.id, exc.message)
            return None
        new = item.evolve(download_id=download_id, updated_at=self.clock.now(),
                          **NO_CLIENT_VIEW)
        return await self._save(item, new, HistoryEvent(
            "readded", f"The client had lost it; added again as {download_id}"))

    async def _progress(self, item: QueueItem, status: DownloadStatus, now: datetime,
                        rekey: dict[str, Any]) -> QueueItem | None:
        moved = status.left_bytes < item.size_left or status.progress > item.progress
        progress_at = now if moved or item.progress_at is None else item.progress_at
        eta = status.eta_seconds
        values: dict[str, Any] = {
            "size": status.total_bytes or item.size, "size_left": status.left_bytes,
            "progress": status.progress, "download_speed": status.download_speed,
            "upload_speed": status.upload_speed, "eta_seconds": eta,
            "seeders": status.seeders if status.seeders is not None else item.seeders,
            "output_path": status.output_path or item.output_path,
            "progress_at": progress_at, **client_view(status), **rekey,
        }
        if status.name and item.source is SourceKind.VIDEO and is_key_title(item.title):
            values["title"] = status.name  # grabbed as its key: the video's own title
        if eta != item.eta_seconds or moved:
            values["estimated_completion_at"] = None if eta is None else now + timedelta(
                seconds=eta)
        target = item.state
        event = "progress"
        message = None
        stalled = self.config.stall.stalled(status.state, progress_at, now)
        if status.state is ClientState.PAUSED and item.state is S.DOWNLOADING:
            target, event = S.PAUSED, "paused"
        elif status.state is not ClientState.PAUSED and item.state is S.PAUSED:
            target, event = S.DOWNLOADING, "resumed"
        elif stalled is not None and item.state is S.DOWNLOADING:
            target, event, message = S.WARNING, "stalled", f"Stalled: {stalled}"
            values["error_message"] = message
            values["status_messages"] = (StatusMessage(item.title, (message,)),)
        elif stalled is not None and item.state is S.WARNING and self.config.stall.stalled(
                status.state, progress_at, now, times=2):
            return await self._fail_stalled(item, stalled, values)
        elif stalled is None and item.state in (S.WARNING, S.CLIENT_UNAVAILABLE):
            target, event = S.DOWNLOADING, "resumed"
            values["error_message"] = None
            values["status_messages"] = ()
        changes = {k: v for k, v in values.items() if getattr(item, k) != v}
        if target is item.state:  # event is "progress"
            if not changes:
                if stalled is None:
                    self._quiet_until(item, status)
            else:
                self._defer(item, item.evolve(updated_at=now, **changes))
            return None  # a deferred save counts once written (_sync_client)
        return await self._move(item, target, event, message, **changes)

    async def _fail_stalled(self, item: QueueItem, reason: str, values: dict[str, Any]
                            ) -> QueueItem | None:
        client = self.clients.get(item.download_client or "")
        if client is not None and item.download_id:
            try:
                await client.remove(item.download_id, delete_data=True)
            except DownloadClientError as exc:
                log.warning("Removing stalled item %d from its client: %s", item.id,
                            exc.message)
        message = f"Stalled for good: {reason}"
        return await self._move(item, S.FAILED, "downloadFailed", message, blocklist=True,
                                error_message=message, progress_at=values["progress_at"],
                                **NO_CLIENT_VIEW)
