"""Watch Queuarr download a few files end to end, with nothing but HTTP.

    QUEUARR_ALLOW_PRIVATE_URLS=true queuarr serve      # in one terminal (aria2c installed)
    python examples/queue_demo.py                       # in another

The demo writes a few files to a temporary directory and serves them itself on
127.0.0.1, grabs each through POST /api/v3/queue/grab, and prints the queue as the
server's download client (the aria2c that `queuarr serve` starts by itself) fetches
them, until every item is completed. It then checks each downloaded file against the
original when the server runs on this machine. Exits 0 when all completed.

The server must run with QUEUARR_ALLOW_PRIVATE_URLS=true: by default Queuarr refuses
download URLs into private address space, 127.0.0.1 included.

The API key comes from --api-key, else QUEUARR_API_KEY, else the key file the server
wrote in its data directory (--data-dir, default QUEUARR_DATA_DIR or ./data).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import http.server
import re
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
from demo_common import add_server_arguments, api_key

FINISHED = ("completed", "failed")


def make_files(directory: Path, count: int, size: int) -> dict[str, str]:
    """`count` files of `size` bytes (different content each): name -> sha256."""
    made = {}
    for n in range(1, count + 1):
        name = f"Queuarr.Demo.File.{n}.bin"
        block = hashlib.sha256(f"queuarr demo {n}".encode()).digest()
        data = (block * (size // len(block) + 1))[:size]
        (directory / name).write_bytes(data)
        made[name] = hashlib.sha256(data).hexdigest()
    return made


class FileHandler(http.server.BaseHTTPRequestHandler):
    """GET and HEAD of the files in `directory`, with single byte ranges (aria2 fetches
    a file in several pieces at once), each response sent at `rate` bytes per second so
    that there is progress to watch."""

    directory = Path(".")
    rate = 0

    def do_HEAD(self) -> None:
        self.serve(body=False)

    def do_GET(self) -> None:
        self.serve(body=True)

    def serve(self, body: bool) -> None:
        path = self.directory / Path(self.path.split("?")[0]).name
        if not path.is_file():
            self.send_error(404)
            return
        size = path.stat().st_size
        start, end = 0, size - 1
        wanted = re.fullmatch(r"bytes=(\d*)-(\d*)", self.headers.get("Range", ""))
        if wanted and (wanted[1] or wanted[2]):
            if wanted[1]:
                start, end = int(wanted[1]), min(int(wanted[2] or size - 1), size - 1)
            else:
                start = max(size - int(wanted[2]), 0)
            if start > end:
                self.send_error(416)
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        else:
            self.send_response(200)
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(end - start + 1))
        self.end_headers()
        if body:
            with contextlib.suppress(ConnectionError), path.open("rb") as source:
                source.seek(start)
                self.send(source, end - start + 1)

    def send(self, source: Any, left: int) -> None:
        chunk = max(self.rate // 10, 16 * 1024) if self.rate else 1024 * 1024
        while left > 0 and (data := source.read(min(chunk, left))):
            self.wfile.write(data)
            left -= len(data)
            if self.rate:
                time.sleep(len(data) / self.rate)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextlib.contextmanager
def serve_directory(directory: Path, rate: int) -> Iterator[str]:
    """Serve `directory` on 127.0.0.1 (a free port) in a thread, each download at `rate`
    bytes per second (0: as fast as it goes); yields the base URL."""
    handler = type("Handler", (FileHandler,), {"directory": directory, "rate": rate})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def grab(queuarr: httpx.Client, url: str, title: str) -> int | None:
    """Queue one file; its item id, or None when the server refused it (said why)."""
    answer = queuarr.post("/api/v3/queue/grab", json={"downloadUrl": url, "title": title})
    if answer.status_code == 201:
        item: dict[str, Any] = answer.json()
        print(f"grabbed {title} as item {item['id']}")
        return int(item["id"])
    message = answer.json().get("message", answer.text)
    if answer.status_code == 409:
        print(f"{title} is already queued as item {answer.json()['existingId']}")
        return int(answer.json()["existingId"])
    if "QUEUARR_ALLOW_PRIVATE_URLS" in message:
        print("The server refused a URL on 127.0.0.1. Restart it with "
              "QUEUARR_ALLOW_PRIVATE_URLS=true so that it accepts local URLs:\n"
              "    QUEUARR_ALLOW_PRIVATE_URLS=true queuarr serve", file=sys.stderr)
    else:
        print(f"the server refused {title} ({answer.status_code}): {message}",
              file=sys.stderr)
    return None


def line(item: dict[str, Any]) -> str:
    size = item.get("size") or 0
    done = size - (item.get("sizeleft") or 0)
    extra = item.get("errorMessage") or item.get("downloadClient") or ""
    return (f"  #{item['id']:<5} {item['status']:<26} {item.get('progress', 0):6.1f}%  "
            f"{done:>9}/{size:<9} {item['title']}  {extra}")


def watch(queuarr: httpx.Client, ids: list[int], timeout: float, interval: float
          ) -> dict[int, dict[str, Any]]:
    """Poll the items, printing a line whenever one changes, until all are finished or
    `timeout` passes; their last resources."""
    last: dict[int, dict[str, Any]] = {}
    shown: dict[int, tuple[Any, ...]] = {}
    deadline = time.monotonic() + timeout
    while True:
        for item_id in ids:
            answer = queuarr.get(f"/api/v3/queue/{item_id}")
            if answer.status_code != 200:
                raise SystemExit(f"item {item_id} is gone ({answer.status_code})")
            item = last[item_id] = answer.json()
            key = (item["status"], item.get("progress"), item.get("sizeleft"))
            if shown.get(item_id) != key:
                shown[item_id] = key
                print(line(item), flush=True)
        if all(item["status"] in FINISHED for item in last.values()):
            return last
        if time.monotonic() > deadline:
            print(f"not finished after {timeout:g} s", file=sys.stderr)
            return last
        time.sleep(interval)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_server_arguments(parser)
    parser.add_argument("--files", type=int, default=3, help="how many files to download")
    parser.add_argument("--size", type=int, default=4 * 1024 * 1024 + 17,
                        help="bytes per file")
    parser.add_argument("--rate", type=int, default=512,
                        help="KiB per second the local server sends each file at (0: no limit)")
    parser.add_argument("--timeout", type=float, default=120.0,
                        help="seconds to wait for the downloads")
    parser.add_argument("--interval", type=float, default=0.5, help="seconds between polls")
    args = parser.parse_args(argv)

    key = api_key(args)
    if key is None:
        return 2
    with (
        httpx.Client(base_url=args.url, headers={"X-Api-Key": key}, timeout=30,
                     trust_env=False) as queuarr,
        tempfile.TemporaryDirectory(prefix="queuarr-demo-") as directory,
    ):
        try:
            status = queuarr.get("/api/v3/system/status")
        except httpx.TransportError as exc:
            print(f"Queuarr does not answer at {args.url} ({exc}); start it with "
                  "QUEUARR_ALLOW_PRIVATE_URLS=true queuarr serve", file=sys.stderr)
            return 2
        if status.status_code == 401:
            print("The server refused the API key", file=sys.stderr)
            return 2
        clients = queuarr.get("/api/v3/downloadclient").json()
        print(f"Queuarr {status.json().get('packageVersion', '?')} at {args.url}; "
              f"download clients: {', '.join(c['name'] for c in clients) or 'none'}")
        if not any(c["implementation"] == "Aria2" and c["enable"] for c in clients):
            print("No aria2 client: install aria2c (`queuarr serve` then starts one by "
                  "itself) or configure one; direct http downloads need aria2",
                  file=sys.stderr)
            return 2

        files = make_files(Path(directory), args.files, args.size)
        with serve_directory(Path(directory), args.rate * 1024) as base:
            print(f"serving {len(files)} files of {args.size} bytes at {base}/")
            ids = []
            for name in files:
                item_id = grab(queuarr, f"{base}/{name}", name.removesuffix(".bin"))
                if item_id is None:
                    return 1
                ids.append(item_id)
            print("-- watching the queue")
            final = watch(queuarr, ids, args.timeout, args.interval)

        counters = queuarr.get("/api/v3/queue/statistics").json()
        print(f"-- statistics: {counters}")
        ok = True
        for item_id, item in final.items():
            if item["status"] != "completed":
                print(f"item {item_id} ended {item['status']}: {item.get('errorMessage')}",
                      file=sys.stderr)
                ok = False
                continue
            output = Path(item.get("outputPath") or "")
            expected = files[f"{item['title']}.bin"]
            if output.is_file():  # the server runs on this machine
                same = hashlib.sha256(output.read_bytes()).hexdigest() == expected
                print(f"item {item_id} completed: {output} "
                      f"({'sha256 matches' if same else 'sha256 DIFFERS'})")
                ok = ok and same
            else:
                print(f"item {item_id} completed: {item.get('outputPath')}")
        print("all downloads completed" if ok else "some downloads did not complete")
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
