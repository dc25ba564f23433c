"""Settings from the environment (prefix QUEUARR_) or a .env file. Every field here is
in the README's configuration table."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

MIN_API_KEY_LENGTH = 20
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*((?:[kmgt]i?)?b?)\s*$", re.IGNORECASE | re.ASCII)
_WEBHOOK_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")  # what Telegram accepts
# A URL base's segments: RFC 3986's unreserved characters, nothing that needs escaping.
_URL_BASE_SEGMENT = re.compile(r"[A-Za-z0-9._~-]+")
_UNITS = {"": 1, "b": 1, "k": 1000, "m": 1000**2, "g": 1000**3, "t": 1000**4,
          "ki": 1024, "mi": 1024**2, "gi": 1024**3, "ti": 1024**4}


def parse_size(value: object) -> int | None:
    """Bytes from an int or a string such as '2G', '1.5GiB' or '700MB'."""
    if value is None or value == "":
        return None
    if isinstance(value, int):
        return value
    match = _SIZE.match(str(value))
    if not match:
        raise ValueError(f"not a size: {value!r} (use bytes, or a number with K/M/G/T[i]B)")
    unit = (match.group(2) or "").lower().rstrip("b")
    return int(float(match.group(1)) * _UNITS[unit])


def url_base(value: str) -> str:
    """QUEUARR_URL_BASE as it is used: "/queuarr" from "queuarr", "/queuarr/" or
    "/queuarr"; "" for none. A path of plain segments only, so it is the same on the
    wire and in the scope, and no proxy or browser reads it differently."""
    segments = value.strip().strip("/")
    if not segments:
        return ""
    for segment in segments.split("/"):
        if not _URL_BASE_SEGMENT.fullmatch(segment) or segment in (".", ".."):
            raise ValueError("QUEUARR_URL_BASE must be a path such as /queuarr: segments "
                             "of A-Z, a-z, 0-9, '.', '_', '~' and '-', separated by single "
                             "slashes")
    return f"/{segments}"


class Settings(BaseSettings):
    # hide_input_in_errors: a refused API key or database URL is not echoed in the error.
    model_config = SettingsConfigDict(
        env_prefix="QUEUARR_", env_file=".env", extra="ignore", populate_by_name=True,
        hide_input_in_errors=True,
    )

    data_dir: Path = Field(default=Path("./data"), description="Where the SQLite file, "
                           "the generated API key and downloads live.")
    database_url: SecretStr = Field(
        default=SecretStr(""),
        validation_alias=AliasChoices("QUEUARR_DATABASE_URL", "DATABASE_URL"),
        description="SQLAlchemy URL; empty means sqlite+aiosqlite:///<data dir>/queuarr.db.",
    )
    api_key: SecretStr | None = Field(default=None, description="API key, at least 20 "
                                      "characters; generated and stored in the data dir "
                                      "when unset.")
    instance_name: str = Field(default="Queuarr", min_length=1, max_length=100,
                               description="The name in /api/v3/system/status's "
                               "instanceName (appName is always Radarr, as tools expect).")
    host: str = "127.0.0.1"
    port: int = Field(default=7878, ge=1, le=65535)
    ui: bool = Field(default=True, description="Serve the web UI at / and /ui/ (sign-in "
                     "with the API key); false answers 404 there.")
    url_base: str = Field(default="", description="Serve everything under this path "
                          "(/queuarr), for a reverse proxy at a sub-path: Radarr's URL "
                          "Base; empty: at /.")
    max_size: int | None = Field(default=None, description="Largest release accepted, bytes.")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    log_format: Literal["text", "json"] = Field(default="text", description="`text` "
                                                "lines, or `json`: one object a line.")
    log_file: Path | None = Field(default=None, description="Also write the log to this "
                                  "file, rotated by size (owner-only, 0600).")
    log_file_max: int = Field(default=10 * 1000**2, ge=1024, description="Size at which "
                              "the log file is rotated: bytes, or 10MB, 5MiB...")
    log_file_backups: int = Field(default=5, ge=0, le=1000, description="Rotated log "
                                  "files kept (queuarr.log.1 ... .N).")
    sqlite_synchronous: Literal["FULL", "NORMAL"] = "FULL"
    database_pool_size: int = Field(default=20, ge=1, le=1000,
                                    description="Postgres connections per process.")

    # Download clients.
    download_dir: Path | None = Field(default=None, description="Where downloads are "
                                      "saved; empty means <data dir>/downloads.")
    download_roots: str = Field(default="", description="More directories (comma "
                                "separated) that client save paths may point into.")
    managed_aria2: Literal["auto", "true", "false"] = "auto"
    qbittorrent_url: str = Field(default="", validation_alias=AliasChoices(
        "QUEUARR_QBITTORRENT_URL", "QBITTORRENT_URL"))
    qbittorrent_username: str = Field(default="", validation_alias=AliasChoices(
        "QUEUARR_QBITTORRENT_USERNAME", "QBITTORRENT_USERNAME"))
    qbittorrent_password: SecretStr = Field(default=SecretStr(""), validation_alias=AliasChoices(
        "QUEUARR_QBITTORRENT_PASSWORD", "QBITTORRENT_PASSWORD"))
    qbittorrent_category: str = "queuarr"
    aria2_url: str = ""
    aria2_secret: SecretStr = SecretStr("")
    client_timeout: float = Field(default=10.0, gt=0, le=300,
                                  description="Seconds per download-client request.")
    allow_private_urls: bool = Field(default=False, description="Accept download URLs "
                                     "into private address space (a LAN indexer).")

    # yt-dlp: video pages and playlists (pip install 'queuarr[video]').
    ytdlp: Literal["auto", "true", "false"] = Field(default="auto", description="The "
                                                    "yt-dlp client: auto = on when yt-dlp "
                                                    "is installed.")
    ytdlp_format: str = Field(default="", description="yt-dlp's format selector; empty: "
                              "best video up to 1080p + best audio (ffmpeg merges them), "
                              "else the best single file.")
    ytdlp_merge_format: str = Field(default="mp4/mkv", description="Container of merged "
                                    "video and audio.")
    ytdlp_subtitles: bool = Field(default=False, description="Also download subtitles.")
    ytdlp_cookies: Path | None = Field(default=None, description="A Netscape cookies "
                                       "file, for sites that need a login.")
    ytdlp_rate_limit: int | None = Field(default=None, description="Bytes per second per "
                                         "video download (or 2MB...); empty: no limit.")
    ytdlp_output: str = Field(default="%(title).150B [%(id)s].%(ext)s", description="yt-dlp's "
                              "output template, relative to the download directory.")
    ytdlp_workers: int = Field(default=2, ge=1, le=64, description="Videos downloaded at "
                               "once; the others wait in yt-dlp's queue.")
    playlist_max: int = Field(default=300, ge=1, le=10000, description="Entries taken from "
                              "one playlist or channel link; the rest are skipped.")

    # The processor.
    max_concurrent: int = Field(default=3, ge=1, le=1000,
                                description="Downloads sent and running at once.")
    retry_delays: str = Field(default="0,120,480", description="Seconds to wait after "
                              "each transient failure; when they run out the item fails.")
    sync_interval: float = Field(default=5.0, ge=0.5, le=3600,
                                 description="Seconds between status syncs while "
                                 "anything downloads (60 s when nothing does); an "
                                 "API-only replica rereads the download clients this "
                                 "often.")
    stall_minutes: float = Field(default=30, gt=0, description="Minutes without data "
                                 "before a download is stalled.")
    metadata_stall_minutes: float = Field(default=15, gt=0, description="Minutes a "
                                          "magnet may wait for its metadata.")
    max_per_client: int | None = Field(default=None, ge=1, le=1000, description="Downloads "
                                       "running at once in any one client (unset: only "
                                       "QUEUARR_MAX_CONCURRENT limits).")
    min_free_space: int = Field(default=100 * 1024**2, ge=0, description="Below this free "
                                "space where a client saves, dispatching waits (bytes, "
                                "or 500MB, 2GiB...; 0 turns the check off).")
    retention_days: float = Field(default=30, ge=0, description="Completed and failed items, "
                                  "and history rows, older than this are removed (0 keeps "
                                  "them for ever).")
    lease_seconds: float = Field(default=60, ge=5, le=86400, description="How long a "
                                 "processor holds an item it is sending before another "
                                 "may take it back (a crashed sender).")
    dispatch_interval: float = Field(default=5.0, ge=0.2, le=3600, description="Seconds "
                                     "between dispatch passes when no grab wakes the "
                                     "dispatcher (grabs wake it at once).")

    # Events out.
    allow_private_webhooks: bool = Field(default=False, description="Deliver webhooks to "
                                         "private address space (a LAN receiver).")
    telegram_token: SecretStr = Field(default=SecretStr(""), description="A Telegram bot "
                                      "token: turns the Telegram notifier on (pip install "
                                      "queuarr[telegram]).")
    telegram_chat_ids: str = Field(default="", description="Comma-separated chat ids the "
                                   "Telegram notifier writes to.")
    telegram_api_url: str = Field(default="https://api.telegram.org", description="The "
                                  "Bot API server (a self-hosted one, or a test double).")
    telegram_allowed_users: str = Field(default="", description="Telegram user ids "
                                        "(comma-separated) who may use the bot.")
    telegram_admin_ids: str = Field(default="", description="Telegram user ids who may "
                                    "use the bot and also run everyone's queue.")
    telegram_chat_dirs: bool = Field(default=False, description="Save what each chat "
                                     "sends in its own sub-directory (tg-<chat id>) of "
                                     "the download client's directory.")
    telegram_webhook_url: str = Field(default="", description="The public https URL "
                                      "Telegram posts updates to, reaching Queuarr's "
                                      "/telegram/webhook: set, the bot takes updates by "
                                      "webhook instead of long polling.")
    telegram_webhook_secret: SecretStr = Field(default=SecretStr(""), description="The "
                                               "secret Telegram sends with each webhook "
                                               "update (1-256 of A-Z a-z 0-9 _ -); required "
                                               "with QUEUARR_TELEGRAM_WEBHOOK_URL.")
    telegram_upload: bool = Field(default=False, description="Send a finished file back "
                                  "to the chat it came from when it fits "
                                  "QUEUARR_TELEGRAM_UPLOAD_MAX (else say where it is).")
    telegram_upload_max: int = Field(default=50 * 1024 * 1024, ge=1, description="The "
                                     "largest file (bytes) sent back to a chat: the Bot "
                                     "API's 50 MB; more with a self-hosted Bot API server.")

    # Release selection.
    min_seeders: int = Field(default=1, ge=0, description="Torrent releases with fewer "
                             "seeders are rejected (when the indexer says how many).")
    original_language: str = Field(default="English", description="The language a release "
                                   "title naming none is taken to be in, for custom "
                                   "formats (Radarr uses the movie's original language).")
    movie_runtime: int = Field(default=120, ge=1, le=1000, description="Minutes of "
                               "runtime that quality-definition sizes (MB per minute) "
                               "are multiplied by (Radarr uses the movie's runtime; "
                               "Queuarr has no movie library).")
    redownload_failed: bool = Field(default=True, description="An item that fails for "
                                    "good is blocklisted and the next-best stored "
                                    "candidate for its movie is grabbed.")

    @field_validator("original_language")
    @classmethod
    def _language(cls, value: str) -> str:
        from core.quality import language_by_name

        language = language_by_name(value)
        if language is None or language.id <= 0:
            raise ValueError(f"unknown language {value!r} (English, French, German...)")
        return language.name

    @field_validator("max_size", "ytdlp_rate_limit", mode="before")
    @classmethod
    def _size(cls, value: object) -> int | None:
        size = parse_size(value)
        if size is not None and size <= 0:
            raise ValueError("max_size must be positive")
        return size

    @field_validator("log_file_max", mode="before")
    @classmethod
    def _log_size(cls, value: object) -> int:
        size = parse_size(value)
        return 10 * 1000**2 if size is None else size  # empty: the default

    @field_validator("url_base")
    @classmethod
    def _url_base(cls, value: str) -> str:
        return url_base(value)

    @field_validator("log_format", mode="before")
    @classmethod
    def _format(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("log_file", mode="before")
    @classmethod
    def _no_file(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("min_free_space", mode="before")
    @classmethod
    def _floor(cls, value: object) -> int:
        return parse_size(value) or 0

    @field_validator("log_level", "sqlite_synchronous", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("retry_delays")
    @classmethod
    def _delays(cls, value: str) -> str:
        from core.policy import RetryPolicy

        RetryPolicy.parse(value)  # refuses what the processor could not use
        return value

    @field_validator("managed_aria2", "ytdlp", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        if isinstance(value, bool):
            return "true" if value else "false"
        return {"1": "true", "yes": "true", "on": "true", "0": "false", "no": "false",
                "off": "false"}.get(str(value).strip().lower(), str(value).strip().lower())

    @field_validator("api_key", mode="before")
    @classmethod
    def _blank_key(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("api_key")
    @classmethod
    def _long_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < MIN_API_KEY_LENGTH:
            raise ValueError(f"QUEUARR_API_KEY must be at least {MIN_API_KEY_LENGTH} "
                             "characters (unset, Queuarr generates a 32-character one)")
        return value

    @model_validator(mode="after")
    def _webhook(self) -> Settings:
        url = self.telegram_webhook_url.strip()
        if not url:
            return self
        parts = urlsplit(url)
        if parts.scheme != "https" or not parts.hostname:
            raise ValueError("QUEUARR_TELEGRAM_WEBHOOK_URL must be an https URL (Telegram "
                             "calls only https webhooks)")
        if not _WEBHOOK_SECRET.fullmatch(self.telegram_webhook_secret.get_secret_value()):
            raise ValueError("QUEUARR_TELEGRAM_WEBHOOK_SECRET is required with "
                             "QUEUARR_TELEGRAM_WEBHOOK_URL: 1 to 256 characters of A-Z, "
                             "a-z, 0-9, _ and -")
        return self

    @model_validator(mode="after")
    def _default_database(self) -> Settings:
        if not self.database_url.get_secret_value():
            path = (self.data_dir / "queuarr.db").resolve()
            self.database_url = SecretStr(f"sqlite+aiosqlite:///{path}")
        return self

    @property
    def downloads(self) -> Path:
        """The download directory, absolute."""
        return (self.download_dir or self.data_dir / "downloads").resolve()

    @property
    def roots(self) -> list[Path]:
        """Directories that client save paths and deletions are confined to."""
        extra = [Path(p.strip()).resolve() for p in self.download_roots.split(",") if p.strip()]
        return [self.downloads, *extra]

    @property
    def database(self) -> str:
        """The database URL, password included (keep it out of logs)."""
        return self.database_url.get_secret_value()
