"""What the demos share: the server options and finding the API key."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def add_server_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--url", default="http://127.0.0.1:7878", help="Queuarr's address")
    parser.add_argument("--api-key", help="default: QUEUARR_API_KEY, else <data dir>/api_key")
    parser.add_argument("--data-dir", default=os.environ.get("QUEUARR_DATA_DIR", "data"),
                        help="the server's data dir, where it keeps its api_key file")


def find_api_key(given: str | None, data_dir: str) -> str | None:
    """--api-key, else QUEUARR_API_KEY, else the key file in the server's data dir."""
    if given:
        return given
    if os.environ.get("QUEUARR_API_KEY", "").strip():
        return os.environ["QUEUARR_API_KEY"].strip()
    key_file = Path(data_dir) / "api_key"
    if key_file.is_file():
        return key_file.read_text(encoding="utf-8").strip() or None
    return None


def api_key(args: argparse.Namespace) -> str | None:
    """The key, or None after telling the user how to give one."""
    key = find_api_key(args.api_key, args.data_dir)
    if key is None:
        print("No API key: pass --api-key, set QUEUARR_API_KEY, or point --data-dir at the "
              "server's data directory (it writes its key to <data dir>/api_key)",
              file=sys.stderr)
    return key
