"""Download clients that come from settings (QUEUARR_QBITTORRENT_URL, QUEUARR_ARIA2_URL)
or from the managed aria2c, as stored configurations."""

from __future__ import annotations

from urllib.parse import urlsplit

from core.clients import ClientConfig, ClientKind, ClientSource
from core.errors import BadRequest
from infrastructure.clients.managed_aria2 import NAME as MANAGED_NAME
from infrastructure.clients.managed_aria2 import ManagedAria2
from infrastructure.settings import Settings

QBITTORRENT_NAME = "qBittorrent"
ARIA2_NAME = "aria2"


def _split(url: str, what: str, default_port: int) -> tuple[str, int, bool, str]:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BadRequest(f"{what} {url!r} must look like http://host:port")
    return (parts.hostname, parts.port or default_port, parts.scheme == "https",
            parts.path.rstrip("/"))


def settings_clients(settings: Settings) -> list[ClientConfig]:
    clients: list[ClientConfig] = []
    if settings.qbittorrent_url:
        host, port, ssl, base = _split(settings.qbittorrent_url, "QUEUARR_QBITTORRENT_URL", 8080)
        clients.append(ClientConfig(
            name=QBITTORRENT_NAME, kind=ClientKind.QBITTORRENT, source=ClientSource.SETTINGS,
            fields={
                "host": host, "port": port, "useSsl": ssl, "urlBase": base,
                "username": settings.qbittorrent_username,
                "password": settings.qbittorrent_password.get_secret_value(),
                "movieCategory": settings.qbittorrent_category,
                "savePath": str(settings.download_dir.resolve()) if settings.download_dir else "",
                "initialState": 0,
            }))
    if settings.aria2_url:
        host, port, ssl, path = _split(settings.aria2_url, "QUEUARR_ARIA2_URL", 6800)
        clients.append(ClientConfig(
            name=ARIA2_NAME, kind=ClientKind.ARIA2, source=ClientSource.SETTINGS,
            fields={
                "host": host, "port": port, "useSsl": ssl, "rpcPath": path or "/jsonrpc",
                "secretToken": settings.aria2_secret.get_secret_value(),
                "directory": str(settings.downloads),
            }))
    return clients


def managed_client(managed: ManagedAria2) -> ClientConfig:
    return ClientConfig(
        name=MANAGED_NAME, kind=ClientKind.ARIA2, source=ClientSource.MANAGED, priority=1,
        fields={
            "host": "127.0.0.1", "port": managed.port, "useSsl": False, "rpcPath": "/jsonrpc",
            "secretToken": managed.secret.get_secret_value(),
            "directory": str(managed.download_dir),
        })
