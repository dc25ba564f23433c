"""The `fields[]` of each client implementation, in Radarr's names where Radarr has the
field: types, defaults and privacy; coercion of submitted values; secret masking."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from core.clients import ClientKind
from core.errors import BadRequest, ValidationFailed, ValidationFailure
from core.masking import MASK, check_kept_secrets

# The fields that decide where a client's secrets are sent.
DESTINATION = ("host", "port", "useSsl", "urlBase", "rpcPath")


@dataclass(frozen=True, slots=True)
class SelectOption:
    """Radarr's SelectOption: `order` and `hint` as Radarr's SchemaBuilder makes them (an
    enum member with a FieldOption attribute is ordered by its source line)."""

    value: int
    name: str
    order: int
    hint: str | None = None


@dataclass(frozen=True, slots=True)
class FieldSpec:
    name: str
    label: str
    type: str  # how the value is read: textbox, number, checkbox, password, path, select
    default: Any
    help: str | None = None
    advanced: bool = False
    privacy: str = "normal"
    options: tuple[SelectOption, ...] = ()
    shown_as: str | None = None  # Radarr's field type when it differs (a textbox port)
    used: bool = True  # False: accepted, stored and given back, but Queuarr ignores it

    @property
    def secret(self) -> bool:
        return self.privacy in ("password", "apiKey")

    @property
    def wire_type(self) -> str:
        return self.shown_as or ("textbox" if self.type == "path" else self.type)


def _enum(*names: str) -> tuple[SelectOption, ...]:
    """A plain C# enum's options: its members in value order."""
    return tuple(SelectOption(i, n, i) for i, n in enumerate(names))


# QBittorrentState: [FieldOption(Label = ...)] on lines 7, 10 and 13 of its source file.
QBITTORRENT_STATES = (SelectOption(0, "Started", 7, "(0)"),
                      SelectOption(1, "Force Started", 10, "(1)"),
                      SelectOption(2, "Stopped", 13, "(2)"))
QBITTORRENT_PRIORITIES = _enum("Last", "First")
QBITTORRENT_LAYOUTS = _enum("Default", "Original", "Subfolder")

# Radarr's QBittorrentSettings and Aria2Settings (src/NzbDrone.Core/Download/Clients/), in
# Radarr's order with its names, labels, types, options, advanced flags and help (English);
# Queuarr's own fields come after them. Defaults are Radarr's except where Queuarr's
# differ on purpose: qBittorrent's category (queuarr), aria2's JSON-RPC path (/jsonrpc:
# Radarr speaks XML-RPC on /rpc) and secret (none: Queuarr requires one to be set).
FIELDS: dict[ClientKind, tuple[FieldSpec, ...]] = {
    ClientKind.QBITTORRENT: (
        FieldSpec("host", "Host", "textbox", "localhost"),
        FieldSpec("port", "Port", "number", 8080, shown_as="textbox"),
        FieldSpec("useSsl", "Use SSL", "checkbox", False, "Use a secure connection. See "
                  "Options -> Web UI -> 'Use HTTPS instead of HTTP' in qBittorrent."),
        FieldSpec("urlBase", "URL Base", "textbox", "", "Adds a prefix to the qBittorrent "
                  "url, such as http://[host]:[port]/[urlBase]/api", advanced=True),
        FieldSpec("username", "Username", "textbox", "", privacy="userName"),
        FieldSpec("password", "Password", "password", "", privacy="password"),
        FieldSpec("movieCategory", "Category", "textbox", "queuarr",
                  "Category for grabs that name none. Adding a category specific to Queuarr "
                  "avoids conflicts with unrelated downloads."),
        FieldSpec("movieImportedCategory", "Post-Import Category", "textbox", "",
                  "Radarr's category after import; Queuarr imports nothing (no effect)",
                  advanced=True, used=False),
        FieldSpec("recentMoviePriority", "Recent Priority", "select", 0,
                  "Priority to use when grabbing movies that aired within the last 21 days "
                  "(no effect in Queuarr)", options=QBITTORRENT_PRIORITIES, used=False),
        FieldSpec("olderMoviePriority", "Older Priority", "select", 0,
                  "Priority to use when grabbing movies that aired over 21 days ago "
                  "(no effect in Queuarr)", options=QBITTORRENT_PRIORITIES, used=False),
        FieldSpec("initialState", "Initial State", "select", 0,
                  "Initial state for torrents added to qBittorrent. Note that Forced "
                  "Torrents do not abide by seed restrictions", options=QBITTORRENT_STATES),
        FieldSpec("sequentialOrder", "Sequential Order", "checkbox", False,
                  "Download in sequential order (qBittorrent 4.1.0+) (no effect in Queuarr)",
                  used=False),
        FieldSpec("firstAndLast", "First and Last First", "checkbox", False,
                  "Download first and last pieces first (qBittorrent 4.1.0+) (no effect in "
                  "Queuarr)", used=False),
        FieldSpec("contentLayout", "Content Layout", "select", 0,
                  "Whether to use qBittorrent's configured content layout, the original "
                  "layout from the torrent or always create a subfolder (qBittorrent "
                  "4.3.2+) (no effect in Queuarr)", options=QBITTORRENT_LAYOUTS, used=False),
        FieldSpec("savePath", "Save Path", "path", "", "Where qBittorrent saves; inside "
                  "Queuarr's download roots. Empty: qBittorrent's own default", advanced=True),
    ),
    ClientKind.ARIA2: (
        FieldSpec("host", "Host", "textbox", "127.0.0.1", "Loopback only: aria2's RPC can "
                  "write anywhere"),
        FieldSpec("port", "Port", "number", 6800),
        FieldSpec("rpcPath", "XML RPC Path", "textbox", "/jsonrpc",
                  "Queuarr speaks aria2's JSON-RPC: /jsonrpc"),
        FieldSpec("useSsl", "Use SSL", "checkbox", False),
        FieldSpec("secretToken", "Secret Token", "password", "", "aria2's --rpc-secret",
                  privacy="password"),
        FieldSpec("directory", "Directory", "path", "", "Optional location to put downloads "
                  "in, inside Queuarr's download roots; leave blank to use the default Aria2 "
                  "location"),
    ),
    # Queuarr's own (Radarr has no yt-dlp client): how yt-dlp picks formats and names files.
    ClientKind.YTDLP: (
        FieldSpec("directory", "Directory", "path", "", "Where videos are saved, inside "
                  "Queuarr's download roots; blank: Queuarr's download directory"),
        FieldSpec("format", "Format", "textbox", "", "yt-dlp's format selector (-f); blank: "
                  "the best video up to 1080p with the best audio (merged by ffmpeg), else "
                  "the best single file"),
        FieldSpec("mergeFormat", "Merge Container", "textbox", "mp4/mkv",
                  "Container for merged video and audio (yt-dlp's --merge-output-format)",
                  advanced=True),
        FieldSpec("subtitles", "Subtitles", "checkbox", False,
                  "Download the video's subtitles next to it"),
        FieldSpec("cookiesFile", "Cookies File", "path", "", "A Netscape cookies file for "
                  "sites that need a login", advanced=True),
        FieldSpec("rateLimit", "Rate Limit", "number", 0, "Bytes per second per download; "
                  "0: no limit", advanced=True),
        FieldSpec("outputTemplate", "Output Template", "textbox",
                  "%(title).150B [%(id)s].%(ext)s", "yt-dlp's output template, relative "
                  "to the directory (no '..', no absolute path)", advanced=True),
        FieldSpec("maxActive", "Downloads At Once", "number", 2,
                  "Videos downloaded at the same time; the others wait", advanced=True),
    ),
}
UNUSED_FIELDS = {kind: tuple(s.name for s in specs if not s.used)
                 for kind, specs in FIELDS.items()}

IMPLEMENTATION_NAMES = {ClientKind.QBITTORRENT: "qBittorrent", ClientKind.ARIA2: "Aria2",
                        ClientKind.YTDLP: "yt-dlp"}
CONFIG_CONTRACTS = {ClientKind.QBITTORRENT: "QBittorrentSettings",
                    ClientKind.ARIA2: "Aria2Settings", ClientKind.YTDLP: "YtDlpSettings"}
INFO_LINKS = {
    ClientKind.QBITTORRENT: "https://github.com/qbittorrent/qBittorrent/wiki/WebUI-API-(qBittorrent-4.1)",
    ClientKind.ARIA2: "https://aria2.github.io/manual/en/html/aria2c.html#rpc-interface",
    ClientKind.YTDLP: "https://github.com/yt-dlp/yt-dlp#usage-and-options",
}


class _Invalid(Exception):
    pass


def property_name(field: str) -> str:
    """A settings field as Radarr's validators name it: its C# property ("Port")."""
    return field[:1].upper() + field[1:]


def _coerce(spec: FieldSpec, value: Any) -> Any:
    if value is None:
        return spec.default
    if spec.type in ("number", "select"):
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise _Invalid(f"field {spec.name!r} must be an integer")
        try:
            number = int(value)
        except ValueError:
            raise _Invalid(f"field {spec.name!r} must be an integer") from None
        if spec.options and number not in {o.value for o in spec.options}:
            allowed = ", ".join(f"{o.value} ({o.name})" for o in spec.options)
            raise _Invalid(f"field {spec.name!r} must be one of {allowed}")
        return number
    if spec.type == "checkbox":
        if not isinstance(value, bool):
            raise _Invalid(f"field {spec.name!r} must be true or false")
        return value
    if not isinstance(value, str):
        raise _Invalid(f"field {spec.name!r} must be a string")
    if len(value) > 2000 or "\x00" in value:
        raise _Invalid(f"field {spec.name!r} is too long or holds NUL characters")
    return value.strip() if spec.type != "password" else value


def coerce_fields(
    kind: ClientKind, submitted: Sequence[dict[str, Any]],
    previous: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Field values from a resource's `fields[]`: known names only, typed, defaults
    filled in; a masked secret keeps the previous value."""
    specs = {s.name: s for s in FIELDS[kind]}
    given: dict[str, Any] = {}
    for entry in submitted:
        name = entry.get("name")
        if not isinstance(name, str) or name not in specs:
            known = ", ".join(specs)
            raise BadRequest(f"unknown field {name!r} for {kind.value} (known: {known})")
        given[name] = entry.get("value")
    values: dict[str, Any] = {}
    failures: list[ValidationFailure] = []
    for name, spec in specs.items():
        value = given.get(name)
        if spec.secret and value == MASK:
            value = (previous or {}).get(name, spec.default)
        elif name not in given and previous is not None:
            value = previous.get(name)
        try:
            values[name] = _coerce(spec, value)
        except _Invalid as exc:
            failures.append(ValidationFailure(property_name(name), str(exc), value))
    port = values.get("port")
    if isinstance(port, int) and not 0 < port < 65536:  # Radarr's InclusiveBetween(1, 65535)
        failures.append(ValidationFailure(
            "Port", f"'Port' must be between 1 and 65535. You entered {port}.", port,
            "InclusiveBetweenValidator"))
    if failures:
        raise ValidationFailed(failures)
    return values


def check_secret_destination(
    kind: ClientKind, submitted: Sequence[dict[str, Any]], values: dict[str, Any],
    previous: dict[str, Any] | None,
) -> None:
    """BadRequest when a stored secret, sent back masked or left out, would go to another
    host, port, scheme or URL base than the one it was stored for (`values`: what
    coerce_fields made of `submitted` over `previous`)."""
    if previous is None:
        return
    given = {entry.get("name"): entry.get("value") for entry in submitted}
    specs = FIELDS[kind]
    kept = [s.name for s in specs
            if s.secret and previous.get(s.name) and given.get(s.name, MASK) == MASK]
    where = [s for s in specs if s.name in DESTINATION]
    check_kept_secrets(kept, [values.get(s.name, s.default) for s in where],
                       [previous.get(s.name, s.default) for s in where],
                       "host, port, SSL or URL base")


def masked(kind: ClientKind, values: dict[str, Any]) -> dict[str, Any]:
    return {name: (MASK if spec.secret and values.get(name) else values.get(name, spec.default))
            for name, spec in ((s.name, s) for s in FIELDS[kind])}
