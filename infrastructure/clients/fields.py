"""Adapter configurations built from a client's field values (see core.clientfields),
with the safety checks: aria2 on loopback with a secret, paths inside the roots."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from core.errors import BadRequest
from infrastructure.clients.aria2 import Aria2Config, rpc_endpoint
from infrastructure.clients.paths import confine
from infrastructure.clients.qbittorrent import QbittorrentConfig
from infrastructure.ytdlp.config import YtDlpConfig


@dataclass(frozen=True, slots=True)
class YtDlpPlaces:
    """What every yt-dlp client shares, from the settings: where job state lives (one
    directory per client under it), the default download directory, the URL guard's
    switch, and the QUEUARR_YTDLP_* defaults a client's blank fields fall back to."""

    state_root: Path
    downloads: Path
    allow_private: bool = False
    format: str | None = None
    cookies_file: Path | None = None


def _base_url(values: dict[str, Any], path: str = "") -> str:
    scheme = "https" if values.get("useSsl") else "http"
    host = str(values.get("host") or "")
    if not host or any(c in host for c in "/?#@ "):
        raise BadRequest(f"host {host!r} must be a plain host name or address")
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"{scheme}://{host}:{values.get('port')}{path}"


def qbittorrent_config(values: dict[str, Any], roots: Sequence[Path],
                       timeout: float) -> QbittorrentConfig:
    url_base = str(values.get("urlBase") or "").strip("/")
    save_path = values.get("savePath") or None
    if save_path:
        save_path = confine(save_path, roots, "savePath")
    category = values.get("movieCategory") or None
    if category and (category.startswith(("/", "~")) or ".." in category.split("/")
                     or "\\" in category or ":" in category):
        raise BadRequest(f"movieCategory {category!r} is not a plain name")
    return QbittorrentConfig(
        url=_base_url(values, f"/{url_base}" if url_base else ""),
        username=values.get("username") or None,
        password=SecretStr(values["password"]) if values.get("password") else None,
        category=category, save_path=save_path,
        add_stopped=values.get("initialState") == 2, timeout=timeout,
    )


def aria2_config(values: dict[str, Any], roots: Sequence[Path], timeout: float) -> Aria2Config:
    path = str(values.get("rpcPath") or "/jsonrpc")
    url = _base_url(values, path if path.startswith("/") else f"/{path}")
    rpc_endpoint(url)  # loopback only
    if not values.get("secretToken"):
        raise BadRequest("aria2 needs a secretToken (its --rpc-secret): without one, anything "
                         "on this machine can make it write files anywhere")
    directory = values.get("directory") or None
    if directory:
        directory = confine(directory, roots, "directory")
    return Aria2Config(url=url, secret=SecretStr(values["secretToken"]), directory=directory,
                       roots=tuple(roots), timeout=timeout)


def ytdlp_config(name: str, values: dict[str, Any], roots: Sequence[Path],
                 places: YtDlpPlaces) -> YtDlpConfig:
    directory = values.get("directory") or None
    if directory:
        directory = confine(directory, roots, "directory")
    cookies = values.get("cookiesFile") or None
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-.") or "yt-dlp"
    try:
        return YtDlpConfig(
            directory=Path(directory) if directory else places.downloads,
            roots=tuple(roots), state_dir=places.state_root / slug,
            format=values.get("format") or places.format,
            merge_format=values.get("mergeFormat") or "mp4/mkv",
            subtitles=bool(values.get("subtitles")),
            cookies_file=Path(cookies) if cookies else places.cookies_file,
            rate_limit=values.get("rateLimit") or None,
            output_template=values.get("outputTemplate") or "%(title).150B [%(id)s].%(ext)s",
            max_active=values.get("maxActive") or 2, allow_private=places.allow_private)
    except ValueError as exc:
        raise BadRequest(str(exc)) from None
