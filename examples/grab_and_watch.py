"""Hand Queuarr a release and watch the queue, with nothing but HTTP.

    python examples/grab_and_watch.py --url http://127.0.0.1:7878 --api-key KEY \
        "magnet:?xt=urn:btih:08ada5a7a6183aae1e09d831df6748d566095a10&dn=Sintel" --movie-id 1

Grabs the release (a magnet, a .torrent URL or an http(s) file), then prints the queue
page and the counters a few times. Exits 0 when the item is in the queue.
"""

from __future__ import annotations

import argparse
import sys
import time

import httpx


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("download_url")
    parser.add_argument("--url", default="http://127.0.0.1:7878")
    parser.add_argument("--api-key", required=True)
    parser.add_argument("--title")
    parser.add_argument("--movie-id", type=int)
    parser.add_argument("--polls", type=int, default=3)
    parser.add_argument("--interval", type=float, default=1.0)
    args = parser.parse_args(argv)

    with httpx.Client(base_url=args.url, headers={"X-Api-Key": args.api_key}) as queuarr:
        grab = {"downloadUrl": args.download_url, "title": args.title, "movieId": args.movie_id}
        answer = queuarr.post("/api/v3/queue/grab", json={k: v for k, v in grab.items() if v})
        if answer.status_code == 409:
            item_id = answer.json()["existingId"]
            print(f"already queued as item {item_id}")
        elif answer.status_code != 201:
            print(f"refused ({answer.status_code}): {answer.json()['message']}", file=sys.stderr)
            return 1
        else:
            item_id = answer.json()["id"]
            print(f"queued as item {item_id}: {answer.json()['title']}")

        for poll in range(args.polls):
            page = queuarr.get("/api/v3/queue", params={
                "pageSize": 20, "includeUnknownMovieItems": "true", "sortKey": "added",
                "sortDirection": "descending"}).json()
            status = queuarr.get("/api/v3/queue/status").json()
            print(f"-- {status['totalCount']} in the queue")
            for record in page["records"]:
                print(f"  #{record['id']:<6} {record['status']:<26} "
                      f"{record['progress']:5.1f}%  {record['title']}")
            if poll + 1 < args.polls:
                time.sleep(args.interval)
        return 0 if queuarr.get(f"/api/v3/queue/{item_id}").status_code == 200 else 1


if __name__ == "__main__":
    sys.exit(main())
