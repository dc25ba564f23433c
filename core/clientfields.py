"""The `fields[]` of each client implementation, in Radarr's names where Radarr has the
field: types, defaults and privacy; coercion of submitted values; secret masking."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from core.clients import ClientKind
from core.errors import BadRequest
from core.masking import MASK, check_kept_secrets

# The fields that decide where a client's secrets are sent.
DESTINATION = ("host", "port", "useSsl", "urlBase", "rpcPath")


@dataclass(frozen=True, slots=True)
class FieldSpec:
    name: str
    label: str
    type: str  # textbox, number, checkbox, password, path, select
    default: Any
    help: str | None = None
    advanced: bool = False
    privacy: str = "normal"
    options: tuple[tuple[int, str], ...] = ()

    @property
    def secret(self) -> bool:
        return self.privacy in ("password", "apiKey")


QBITTORRENT_STATES = ((0, "Start"), (1, "Force Start"), (2, "Pause"))

FIELDS: dict[ClientKind, tuple[FieldSpec, ...]] = {
    ClientKind.QBITTORRENT: (
        FieldSpec("host", "Host", "textbox", "localhost"),
        FieldSpec("port", "Port", "number", 8080),
        FieldSpec("useSsl", "Use SSL", "checkbox", False),
        FieldSpec("urlBase", "URL Base", "textbox", "", "Prefix of qBittorrent's Web API, "
                  "such as /qbittorrent", advanced=True),
        FieldSpec("username", "Username", "textbox", "", privacy="userName"),
        FieldSpec("password", "Password", "password", "", privacy="password"),
        FieldSpec("movieCategory", "Category", "textbox", "queuarr",
                  "Category for grabs that name none"),
        FieldSpec("savePath", "Save Path", "path", "", "Where qBittorrent saves; inside "
                  "Queuarr's download roots. Empty: qBittorrent's own default", advanced=True),
        FieldSpec("initialState", "Initial State", "select", 0,
                  "State of torrents added to qBittorrent", options=QBITTORRENT_STATES),
    ),
    ClientKind.ARIA2: (
        FieldSpec("host", "Host", "textbox", "127.0.0.1", "Loopback only: aria2's RPC can "
                  "write anywhere"),
        FieldSpec("port", "Port", "number", 6800),
        FieldSpec("rpcPath", "RPC Path", "textbox", "/jsonrpc", advanced=True),
        FieldSpec("useSsl", "Use SSL", "checkbox", False),
        FieldSpec("secretToken", "Secret token", "password", "", "aria2's --rpc-secret",
                  privacy="password"),
        FieldSpec("directory", "Directory", "path", "", "Where aria2 saves; inside "
                  "Queuarr's download roots. Empty: aria2's own --dir"),
    ),
}

IMPLEMENTATION_NAMES = {ClientKind.QBITTORRENT: "qBittorrent", ClientKind.ARIA2: "Aria2"}
CONFIG_CONTRACTS = {ClientKind.QBITTORRENT: "QBittorrentSettings",
                    ClientKind.ARIA2: "Aria2Settings"}
INFO_LINKS = {
    ClientKind.QBITTORRENT: "https://github.com/qbittorrent/qBittorrent/wiki/WebUI-API-(qBittorrent-4.1)",
    ClientKind.ARIA2: "https://aria2.github.io/manual/en/html/aria2c.html#rpc-interface",
}


def _coerce(spec: FieldSpec, value: Any) -> Any:
    if value is None:
        return spec.default
    if spec.type in ("number", "select"):
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise BadRequest(f"field {spec.name!r} must be an integer")
        try:
            number = int(value)
        except ValueError:
            raise BadRequest(f"field {spec.name!r} must be an integer") from None
        if spec.options and number not in {v for v, _ in spec.options}:
            allowed = ", ".join(f"{v} ({n})" for v, n in spec.options)
            raise BadRequest(f"field {spec.name!r} must be one of {allowed}")
        return number
    if spec.type == "checkbox":
        if not isinstance(value, bool):
            raise BadRequest(f"field {spec.name!r} must be true or false")
        return value
    if not isinstance(value, str):
        raise BadRequest(f"field {spec.name!r} must be a string")
    if len(value) > 2000 or "\x00" in value:
        raise BadRequest(f"field {spec.name!r} is too long or holds NUL characters")
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
    for name, spec in specs.items():
        value = given.get(name)
        if spec.secret and value == MASK:
            value = (previous or {}).get(name, spec.default)
        elif name not in given and previous is not None:
            value = previous.get(name)
        values[name] = _coerce(spec, value)
    port = values.get("port")
    if isinstance(port, int) and not 0 < port < 65536:
        raise BadRequest(f"port must be between 1 and 65535, got {port}")
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
