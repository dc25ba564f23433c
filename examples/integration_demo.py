"""Drive a qBittorrent through Queuarr: grab, pause, resume, remove, blocklist.

    queuarr serve                                        # in one terminal
    python examples/integration_demo.py \
        --qbt-url http://127.0.0.1:8080 --qbt-username admin --qbt-password adminadmin

Uses the server's qBittorrent download client, or adds one (POST /api/v3/downloadclient)
from --qbt-url/--qbt-username/--qbt-password and deletes it again at the end. Then, with
nothing but HTTP and the API key:

1. makes two small files and their .torrents (torf), and grabs one as a .torrent upload
   and the other as a magnet link, both for that qBittorrent;
2. waits until Queuarr has sent both to qBittorrent;
3. pauses the first (PUT /api/v3/queue/{id}/pause), then resumes it (.../resume);
4. removes the second (DELETE /api/v3/queue/{id}): gone from the queue and from
   qBittorrent, not blocklisted;
5. removes the first with blocklist=true: gone, and listed in /api/v3/blocklist;
6. grabs the first again, which Queuarr refuses because it is blocklisted;

printing the queue and the blocklist after each step. Nobody seeds these torrents, so
they never complete: the demo is about the queue, not the bytes. At the end it removes
the blocklist entry it made (unless --keep-blocklist). Exits 0 when every step did what
it should.

The API key comes from --api-key, else QUEUARR_API_KEY, else the key file the server
wrote in its data directory (--data-dir, default QUEUARR_DATA_DIR or ./data).
"""

from __future__ import annotations

import argparse
import base64
import secrets
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import torf
from demo_common import add_server_arguments, api_key

SENT = ("downloading", "warning", "paused")  # Radarr statuses of a download in the client


class DemoFailed(Exception):
    """A step did not do what it should."""


def make_torrent(directory: Path, name: str, size: int) -> torf.Torrent:
    """A file of random bytes and its single-file torrent."""
    path = directory / name
    path.write_bytes(secrets.token_bytes(size))
    torrent = torf.Torrent(path=path, trackers=["http://127.0.0.1:9/announce"],
                           comment="Queuarr integration demo", created_by=None)
    torrent.generate()
    return torrent


def expect(response: httpx.Response, status: int, what: str) -> Any:
    if response.status_code != status:
        raise DemoFailed(f"{what}: expected {status}, got {response.status_code}: "
                         f"{response.text}")
    return response.json() if response.content else None


def show(queuarr: httpx.Client, step: str, ours: list[int]
         ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Print the demo's items in the queue, and the blocklist, after a step; the whole
    queue and blocklist."""
    queue = expect(queuarr.get("/api/v3/queue", params={
        "pageSize": 1000, "includeUnknownMovieItems": "true", "sortKey": "added",
        "sortDirection": "ascending"}), 200, "list the queue")["records"]
    blocklist = expect(queuarr.get("/api/v3/blocklist", params={"pageSize": 50}), 200,
                       "list the blocklist")["records"]
    mine = [r for r in queue if r["id"] in ours]
    others = f", and {len(queue) - len(mine)} other items" if len(queue) > len(mine) else ""
    print(f"\n== {step}")
    print(f"   queue: {len(mine)} of the demo's items{others}")
    for r in mine:
        print(f"     #{r['id']:<5} {r['status']:<12} {r.get('downloadClient') or '-':<20} "
              f"{r.get('downloadId') or '-':<42} {r['title']}")
    print(f"   blocklist: {len(blocklist)} entries (newest first)")
    for b in blocklist:
        print(f"     #{b['id']:<5} {b['sourceTitle']}  ({b.get('message') or ''})")
    return queue, blocklist


def wait_for(queuarr: httpx.Client, item_id: int, done: Callable[[dict[str, Any]], bool],
             what: str, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        item: dict[str, Any] = expect(queuarr.get(f"/api/v3/queue/{item_id}"), 200,
                                      f"get item {item_id}")
        if done(item):
            return item
        if item["status"] == "failed" or time.monotonic() > deadline:
            raise DemoFailed(f"item {item_id} never {what}: {item['status']} "
                             f"{item.get('errorMessage') or ''}")
        time.sleep(0.3)


def qbittorrent_client(queuarr: httpx.Client, args: argparse.Namespace
                       ) -> tuple[str, int | None]:
    """The name of an enabled qBittorrent client, and the id of the one this demo added
    (None when the server had one already)."""
    clients = expect(queuarr.get("/api/v3/downloadclient"), 200, "list download clients")
    for client in clients:
        usable = client["implementation"] == "QBittorrent" and client["enable"]
        if usable and (not args.qbt_url or client["name"] == args.client_name):
            print(f"using the server's qBittorrent client {client['name']!r}")
            return str(client["name"]), None
    if not args.qbt_url:
        raise DemoFailed("the server has no qBittorrent client: pass --qbt-url, "
                         "--qbt-username and --qbt-password to add one")
    parts = urlsplit(args.qbt_url)
    values = {"host": parts.hostname, "port": parts.port or (443 if parts.scheme == "https"
                                                             else 80),
              "useSsl": parts.scheme == "https", "urlBase": parts.path.strip("/"),
              "username": args.qbt_username, "password": args.qbt_password}
    made = queuarr.post("/api/v3/downloadclient", json={
        "name": args.client_name, "implementation": "QBittorrent",
        "configContract": "QBittorrentSettings", "protocol": "torrent", "enable": True,
        "priority": 1, "removeCompletedDownloads": True, "removeFailedDownloads": True,
        "tags": [], "fields": [{"name": k, "value": v} for k, v in values.items()]})
    created = expect(made, 201, "add the qBittorrent client (Queuarr tests it first)")
    print(f"added qBittorrent at {args.qbt_url} as download client {created['name']!r} "
          f"(id {created['id']})")
    return str(created["name"]), int(created["id"])


def grab(queuarr: httpx.Client, body: dict[str, Any], what: str) -> dict[str, Any]:
    item: dict[str, Any] = expect(queuarr.post("/api/v3/queue/grab", json=body), 201, what)
    print(f"{what}: item {item['id']} ({item['title']})")
    return item


def demo(queuarr: httpx.Client, args: argparse.Namespace, client: str) -> None:
    tag = f"{time.strftime('%Y%m%d.%H%M%S')}.{secrets.token_hex(3)}"
    with tempfile.TemporaryDirectory(prefix="queuarr-integration-") as directory:
        first = make_torrent(Path(directory), f"Queuarr.Demo.First.{tag}.bin", args.size)
        second = make_torrent(Path(directory), f"Queuarr.Demo.Second.{tag}.bin", args.size)
        torrent_body = {"torrentFile": base64.b64encode(first.dump()).decode(),
                        "downloadClient": client, "movieId": 1}

        a = grab(queuarr, torrent_body, "1. grabbed a .torrent upload")
        b = grab(queuarr, {"downloadUrl": str(second.magnet()), "downloadClient": client},
                 "1. grabbed a magnet link")
        ours = [a["id"], b["id"]]
        for item in (a, b):
            wait_for(queuarr, item["id"], lambda i: i["status"] in SENT
                     and bool(i.get("downloadId")), f"reached {client}", args.timeout)
        show(queuarr, f"2. both sent to {client}", ours)

        paused = expect(queuarr.put(f"/api/v3/queue/{a['id']}/pause"), 200, "pause")
        if paused["status"] != "paused":
            raise DemoFailed(f"pause answered {paused['status']}")
        show(queuarr, f"3. paused item {a['id']} (in qBittorrent too)", ours)
        resumed = expect(queuarr.put(f"/api/v3/queue/{a['id']}/resume"), 200, "resume")
        if resumed["status"] == "paused":
            raise DemoFailed("resume answered paused")
        show(queuarr, f"3. resumed item {a['id']}", ours)

        expect(queuarr.delete(f"/api/v3/queue/{b['id']}"), 200, "remove")
        queue, blocklist = show(queuarr, f"4. removed item {b['id']} without blocklisting",
                                ours)
        if b["id"] in [r["id"] for r in queue] or any(
                e["sourceTitle"] == b["title"] for e in blocklist):
            raise DemoFailed(f"item {b['id']} is still queued, or blocklisted")

        expect(queuarr.delete(f"/api/v3/queue/{a['id']}", params={"blocklist": "true"}), 200,
               "remove with blocklist")
        queue, blocklist = show(queuarr, f"5. removed item {a['id']} with blocklist=true",
                                ours)
        entries = [e for e in blocklist if e["sourceTitle"] == a["title"]]
        if a["id"] in [r["id"] for r in queue] or not entries:
            raise DemoFailed(f"item {a['id']} is still queued, or not blocklisted")

        again = queuarr.post("/api/v3/queue/grab", json=torrent_body)
        if again.status_code != 422:
            raise DemoFailed(f"grabbing a blocklisted release answered {again.status_code}")
        print(f"\n== 6. grabbing it again is refused ({again.status_code}): "
              f"{again.json()['message']}")

        if not args.keep_blocklist:
            for entry in entries:
                expect(queuarr.delete(f"/api/v3/blocklist/{entry['id']}"), 200,
                       "remove the blocklist entry")
            print(f"removed blocklist entry {', '.join(str(e['id']) for e in entries)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_server_arguments(parser)
    parser.add_argument("--qbt-url", help="qBittorrent's Web UI, to add it as a client")
    parser.add_argument("--qbt-username", default="admin")
    parser.add_argument("--qbt-password", default="")
    parser.add_argument("--client-name", default="qBittorrent (demo)",
                        help="name of the download client the demo adds")
    parser.add_argument("--size", type=int, default=256 * 1024, help="bytes per file")
    parser.add_argument("--timeout", type=float, default=60.0,
                        help="seconds to wait for Queuarr to send a grab")
    parser.add_argument("--keep-blocklist", action="store_true",
                        help="leave the blocklist entry the demo makes")
    parser.add_argument("--keep-client", action="store_true",
                        help="leave the download client the demo adds")
    args = parser.parse_args(argv)

    key = api_key(args)
    if key is None:
        return 2
    with httpx.Client(base_url=args.url, headers={"X-Api-Key": key}, timeout=30,
                      trust_env=False) as queuarr:
        try:
            status = queuarr.get("/api/v3/system/status")
        except httpx.TransportError as exc:
            print(f"Queuarr does not answer at {args.url}: {exc}", file=sys.stderr)
            return 2
        if status.status_code == 401:
            print("The server refused the API key", file=sys.stderr)
            return 2
        added = None
        try:
            client, added = qbittorrent_client(queuarr, args)
            demo(queuarr, args, client)
        except DemoFailed as exc:
            print(f"demo failed: {exc}", file=sys.stderr)
            return 1
        finally:
            if added is not None and not args.keep_client:
                gone = queuarr.delete(f"/api/v3/downloadclient/{added}")
                print(f"deleted download client {added} ({gone.status_code})")
        print("\nall steps done")
        return 0


if __name__ == "__main__":
    sys.exit(main())
