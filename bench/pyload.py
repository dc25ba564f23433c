"""A small closed-loop HTTP/1.1 load generator, used when wrk is not installed:
`python -m bench.pyload --url URL -c 32 -d 5 [-H 'K: V'] [--grab PREFIX]`.

Each connection is a keep-alive socket sending one request at a time; latencies are
exact (sorted list). Prints one `BENCHJSON {...}` line in wrk's script format. One
Python core tops out around 10-20k req/s, which is plenty for the queue endpoints but
caps the hello references (the report says which generator ran)."""

from __future__ import annotations

import argparse
import asyncio
import time
from urllib.parse import urlsplit

import orjson


def _grab_body(prefix: str, worker: int, n: int) -> bytes:
    h = f"{prefix}{worker:02x}{n:014x}"
    movie = 500000 + n % 5000
    return orjson.dumps({
        "title": f"Bench.Grab.{h}.2160p.WEB-DL.x265-BENCH",
        "downloadUrl": f"magnet:?xt=urn:btih:{h}&dn=Bench.Grab.{h}",
        "movieId": movie,
        "movie": {"title": f"Bench Movie {movie}", "year": 2024, "tmdbId": movie,
                  "imdbId": f"tt{movie:07d}"},
        "indexer": "BenchIndexer", "size": 4_000_000_000 + n, "seeders": 120,
        "leechers": 7, "category": "radarr",
    })


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, int]:
    """(status, bytes) of one response: Content-Length or chunked bodies."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    length = None
    chunked = False
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
    size = len(head)
    if chunked:
        while True:
            size_line = await reader.readuntil(b"\r\n")
            n = int(size_line.split(b";")[0], 16)
            await reader.readexactly(n + 2)
            size += len(size_line) + n + 2
            if n == 0:
                break
    elif length:
        await reader.readexactly(length)
        size += length
    return status, size


async def _worker(index: int, host: str, port: int, target: str, headers: list[str],
                  grab: str | None, until: float, out: dict[str, list[float] | int]) -> None:
    try:
        reader, writer = await asyncio.open_connection(host, port)
    except OSError:
        out["connect_errors"] += 1  # type: ignore[operator]
        return
    base = [f"{'POST' if grab else 'GET'} {target} HTTP/1.1", f"Host: {host}:{port}",
            *headers]
    if grab:
        base.append("Content-Type: application/json")
    fixed = ("\r\n".join(base) + "\r\n\r\n").encode()
    n = 0
    latencies: list[float] = out["latencies"]  # type: ignore[assignment]
    try:
        while time.monotonic() < until:
            n += 1
            if grab:
                body = _grab_body(grab, index, n)
                request = ("\r\n".join([*base, f"Content-Length: {len(body)}"])
                           + "\r\n\r\n").encode() + body
            else:
                request = fixed
            t0 = time.perf_counter()
            writer.write(request)
            try:
                status, size = await asyncio.wait_for(_read_response(reader), 10)
            except TimeoutError:
                out["timeouts"] += 1  # type: ignore[operator]
                break
            latencies.append(time.perf_counter() - t0)
            out["bytes"] += size  # type: ignore[operator]
            if status >= 400:
                out["status_errors"] += 1  # type: ignore[operator]
    except (OSError, asyncio.IncompleteReadError):
        out["read_errors"] += 1  # type: ignore[operator]
    finally:
        writer.close()


async def _run(url: str, connections: int, seconds: float, headers: list[str],
               grab: str | None) -> dict[str, float]:
    parts = urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    out: dict[str, list[float] | int] = {"latencies": [], "bytes": 0, "status_errors": 0,
                                         "connect_errors": 0, "read_errors": 0, "timeouts": 0}
    start = time.monotonic()
    await asyncio.gather(*(
        _worker(i, parts.hostname or "127.0.0.1", parts.port or 80, target, headers, grab,
                start + seconds, out)
        for i in range(connections)
    ))
    elapsed = time.monotonic() - start
    lat = sorted(out["latencies"])  # type: ignore[arg-type]

    def pct(p: float) -> float:
        return lat[min(int(len(lat) * p / 100), len(lat) - 1)] * 1e6 if lat else 0.0

    return {
        "requests": len(lat), "duration_us": int(elapsed * 1e6), "bytes": out["bytes"],
        "status_errors": out["status_errors"], "connect_errors": out["connect_errors"],
        "read_errors": out["read_errors"], "write_errors": 0, "timeouts": out["timeouts"],
        "p50_us": pct(50), "p90_us": pct(90), "p99_us": pct(99),
        "max_us": lat[-1] * 1e6 if lat else 0.0,
        "mean_us": sum(lat) / len(lat) * 1e6 if lat else 0.0,
    }  # type: ignore[return-value]


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.pyload")
    parser.add_argument("--url", required=True)
    parser.add_argument("-c", "--connections", type=int, default=32)
    parser.add_argument("-d", "--duration", type=float, default=5.0)
    parser.add_argument("-H", "--header", action="append", default=[])
    parser.add_argument("--grab", metavar="PREFIX", help="POST unique magnets (24 hex prefix)")
    args = parser.parse_args()
    if not 0 < args.duration <= 600 or not 0 < args.connections <= 1024:
        parser.error("duration must be in (0, 600] s and connections in (0, 1024]")
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    result = asyncio.run(_run(args.url, args.connections, args.duration, args.header,
                              args.grab))
    print("BENCHJSON " + orjson.dumps(result).decode(), flush=True)


if __name__ == "__main__":
    main()
