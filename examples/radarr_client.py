"""Talk to Queuarr with pyarr, an ordinary Radarr client library, unchanged.

    pip install pyarr
    python examples/radarr_client.py --url http://127.0.0.1:7878 --api-key KEY

Prints what a Radarr dashboard would show: the status, the counters and the first page
of the queue, through the same calls pyarr makes against a real Radarr.
"""

from __future__ import annotations

import argparse
import sys

from pyarr import RadarrAPI


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:7878")
    parser.add_argument("--api-key", required=True)
    args = parser.parse_args(argv)

    radarr = RadarrAPI(args.url, args.api_key)
    system = radarr.get_system_status()
    print(f"{system['instanceName']} (Radarr API {system['version']}, "
          f"Queuarr {system['packageVersion']}) on {system['databaseType']}")
    counters = radarr.get_queue_status()
    print(f"{counters['totalCount']} queued ({counters['unknownCount']} without a movie)")
    page = radarr.get_queue(page=1, page_size=10, sort_key="timeleft", sort_dir="ascending",
                            include_unknown_movie_items=True)
    for record in page["records"]:
        left = record.get("timeleft", "--:--:--")
        print(f"  #{record['id']:<6} {record['status']:<26} {left:>10}  {record['title']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
