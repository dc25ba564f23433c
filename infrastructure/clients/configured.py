"""Download clients that come from settings (QUEUARR_QBITTORRENT_URL, QUEUARR_ARIA2_URL)
or are Queuarr's own (the managed aria2c, the yt-dlp client), as stored configurations;
and the video routing that comes with yt-dlp."""

from __future__ import annotations

from urllib.parse import urlsplit

from core.clients import ClientConfig, ClientKind, ClientSource
from core.errors import BadRequest
from core.ports import QueueRepository
from core.video_grabs import VideoRouter
from infrastructure.clients.fields import YtDlpPlaces
from infrastructure.clients.managed_aria2 import NAME as MANAGED_NAME
from infrastructure.clients.managed_aria2 import ManagedAria2
from infrastructure.settings import Settings

QBITTORRENT_NAME = "qBittorrent"
ARIA2_NAME = "aria2"
YTDLP_NAME = "yt-dlp"
YTDLP_PRIORITY = 50  # Radarr's lowest: plain files go to aria2 first


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


def ytdlp_wanted(settings: Settings) -> bool:
    """Whether the yt-dlp client is on: QUEUARR_YTDLP=auto turns it on when yt-dlp is
    installed (pip install 'queuarr[video]'); true insists on it."""
    if settings.ytdlp == "false":
        return False
    from infrastructure.ytdlp.sites import available
    if available():
        return True
    if settings.ytdlp == "true":
        raise RuntimeError("QUEUARR_YTDLP=true, but yt-dlp is not installed "
                           "(pip install 'queuarr[video]')")
    return False


def ytdlp_places(settings: Settings) -> YtDlpPlaces:
    return YtDlpPlaces(settings.data_dir.resolve() / "ytdlp", settings.downloads,
                       settings.allow_private_urls, settings.ytdlp_format or None,
                       settings.ytdlp_cookies.resolve() if settings.ytdlp_cookies else None)


def ytdlp_client(settings: Settings) -> ClientConfig | None:
    """Queuarr's own yt-dlp client, from the QUEUARR_YTDLP_* settings, when it is on."""
    if not ytdlp_wanted(settings):
        return None
    return ClientConfig(
        name=YTDLP_NAME, kind=ClientKind.YTDLP, source=ClientSource.MANAGED,
        priority=YTDLP_PRIORITY, fields={
            "directory": str(settings.downloads), "format": settings.ytdlp_format,
            "mergeFormat": settings.ytdlp_merge_format, "subtitles": settings.ytdlp_subtitles,
            "cookiesFile": str(settings.ytdlp_cookies.resolve()) if settings.ytdlp_cookies
            else "", "rateLimit": settings.ytdlp_rate_limit or 0,
            "outputTemplate": settings.ytdlp_output, "maxActive": settings.ytdlp_workers,
        })


def video_router(settings: Settings, items: QueueRepository) -> VideoRouter | None:
    """Grab-time routing of video pages and playlists, when yt-dlp is on."""
    if not ytdlp_wanted(settings):
        return None
    from infrastructure.ytdlp.probe import Prober
    from infrastructure.ytdlp.sites import YtDlpSites
    from infrastructure.ytdlp.videos import YtDlpVideos
    cookies = str(settings.ytdlp_cookies.resolve()) if settings.ytdlp_cookies else None
    prober = Prober(allow_private=settings.allow_private_urls, cookies_file=cookies)
    return VideoRouter(YtDlpVideos(YtDlpSites(), prober), items, settings.playlist_max)
