"""system/status reports what is true (issue 17): isDocker only inside a container, the
update mechanism that goes with it, Queuarr's own version; and Queuarr's own
/api/v3/system/resources reports plausible figures for the process, the host and the disks."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from api.version import QUEUARR_VERSION
from infrastructure import resources
from tests.api.conftest import Api

HOSTNAME_MOUNT = ("812 790 254:1 /var/lib/docker/containers/abc/hostname /etc/hostname "
                  "rw,relatime - ext4 /dev/vda1 rw\n")


def _pretend(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, *, marker: bool,
             mountinfo: str) -> None:
    marker_file = tmp_path / ".dockerenv"
    if marker:
        marker_file.touch()
    mounts = tmp_path / "mountinfo"
    mounts.write_text(mountinfo)
    monkeypatch.setattr(resources, "CONTAINER_MARKERS", (str(marker_file),))
    monkeypatch.setattr(resources, "MOUNTINFO", str(mounts))


async def _status(api: Api) -> dict[str, object]:
    response = await api.client.get("/api/v3/system/status")
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


async def test_system_status_says_not_docker_outside_a_container(
        api: Api, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _pretend(monkeypatch, tmp_path, marker=False, mountinfo="")
    body = await _status(api)
    assert (body["isDocker"], body["packageUpdateMechanism"]) == (False, "external")


async def test_system_status_says_docker_inside_a_container(
        api: Api, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _pretend(monkeypatch, tmp_path, marker=True, mountinfo=HOSTNAME_MOUNT)
    body = await _status(api)
    assert (body["isDocker"], body["packageUpdateMechanism"]) == (True, "docker")


# A marker alone: a VM whose disk was built from a Docker image (as the machine these
# tests were written on) keeps /.dockerenv. A mount alone: any host may bind-mount files.
@pytest.mark.parametrize(("marker", "mountinfo"), [(True, ""), (False, HOSTNAME_MOUNT)])
async def test_a_marker_or_a_mount_alone_is_not_a_container(
        api: Api, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, marker: bool,
        mountinfo: str) -> None:
    _pretend(monkeypatch, tmp_path, marker=marker, mountinfo=mountinfo)
    body = await _status(api)
    assert (body["isDocker"], body["packageUpdateMechanism"]) == (False, "external")


async def test_system_status_carries_queuarrs_version(api: Api) -> None:
    body = await _status(api)
    assert body["packageVersion"] == QUEUARR_VERSION != "0.0.0"


async def test_system_resources_are_plausible(api: Api) -> None:
    response = await api.client.get("/api/v3/system/resources")
    assert response.status_code == 200, response.text
    body = response.json()
    process, host = body["process"], body["host"]
    assert set(process) == {"cpuPercent", "cpuSeconds", "rssBytes", "threads", "openFiles"}
    assert process["rssBytes"] > 1024**2  # an interpreter with FastAPI loaded
    assert process["cpuSeconds"] > 0 and process["cpuPercent"] >= 0
    assert process["threads"] >= 1 and process["openFiles"] >= 3  # stdin, stdout, stderr
    assert host["cpuCount"] == os.cpu_count()
    assert min(host["load1"], host["load5"], host["load15"]) >= 0
    assert 0 < host["memoryAvailableBytes"] <= host["memoryTotalBytes"]
    roots = [str(root) for root in api.container.settings.roots]
    assert [disk["path"] for disk in body["disk"]] == roots
    for disk in body["disk"]:
        assert 0 < disk["freeBytes"] <= disk["totalBytes"]


async def test_system_resources_need_the_key(api: Api) -> None:
    assert (await api.anon.get("/api/v3/system/resources")).status_code == 401
