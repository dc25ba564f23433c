"""Pure parsing and normalisation of what callers hand us: magnets and http(s) URLs."""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

from core.errors import InvalidRelease

MAX_MAGNET_LENGTH = 64 * 1024
MAX_URL_LENGTH = 8 * 1024
MAX_SIZE = 2**63 - 1  # bytes: the largest size a BIGINT column holds

_URLSAFE = str.maketrans("-_", "+/")
_HEX40 = re.compile(r"[0-9a-fA-F]{40}")
_BASE32 = re.compile(r"[A-Za-z2-7]{32}")

# Query parameters that only track the click; they never change what is downloaded.
TRACKING_PARAMS = frozenset(
    {"fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "igshid",
     "mc_cid", "mc_eid", "_ga", "_gl", "twclid", "ttclid", "li_fat_id"}
)


@dataclass(frozen=True, slots=True)
class Magnet:
    info_hash: str  # 40 lower-case hex characters
    name: str | None
    size: int | None
    trackers: tuple[str, ...]


def normalise_info_hash(value: str) -> str:
    """A BitTorrent v1 info hash as 40 lower-case hex characters, from hex or base32."""
    value = value.strip()
    if _HEX40.fullmatch(value):
        return value.lower()
    if _BASE32.fullmatch(value):
        return base64.b32decode(value.upper()).hex()
    raise InvalidRelease(
        f"Invalid info hash {value[:64]!r}: expected 40 hex or 32 base32 characters"
    )


def parse_magnet(uri: str) -> Magnet:
    """Parse a magnet link; it must carry `xt=urn:btih:` with a valid v1 info hash."""
    if len(uri) > MAX_MAGNET_LENGTH:
        raise InvalidRelease(f"Magnet link is longer than {MAX_MAGNET_LENGTH} characters")
    if not uri[:8].lower() == "magnet:?":
        raise InvalidRelease("Not a magnet link: it must start with 'magnet:?'")
    params = parse_qsl(uri[8:], keep_blank_values=True)
    hashes: list[str] = []
    name: str | None = None
    size: int | None = None
    trackers: list[str] = []
    for key, value in params:
        key = key.lower()
        if key == "xt" or key.startswith("xt."):
            if value.lower().startswith("urn:btih:"):
                hashes.append(normalise_info_hash(value[9:]))
        elif key == "dn" and value.strip():
            name = value.strip()
        elif key == "xl":
            size = _magnet_size(value)
        elif key == "tr" and value and value not in trackers:
            trackers.append(value)
    if not hashes:
        raise InvalidRelease("Magnet link has no 'xt=urn:btih:' info hash")
    if len(set(hashes)) > 1:
        raise InvalidRelease("Magnet link carries more than one different info hash")
    return Magnet(hashes[0], name, size, tuple(trackers))


def _magnet_size(value: str) -> int:
    """`xl`, checked before int() (which refuses over 4,300 digits with a ValueError)."""
    if not (value.isascii() and value.isdigit()):
        raise InvalidRelease(f"Invalid magnet size xl={value[:32]!r}")
    if len(value.lstrip("0")) > len(str(MAX_SIZE)) or int(value) > MAX_SIZE:
        raise InvalidRelease(f"Magnet size xl={value[:32]!r}{'...' if len(value) > 32 else ''}"
                             f" is larger than {MAX_SIZE} bytes")
    return int(value)


def magnet_hash(link: str | None) -> str | None:
    """The info hash of a magnet link; None for another link or a bad magnet (which
    fails with its reason when it is grabbed)."""
    if not link or link[:7].lower() != "magnet:":
        return None
    try:
        return parse_magnet(link).info_hash
    except InvalidRelease:
        return None


def check_http_url(url: str) -> str:
    """Return the URL stripped of surrounding blanks if it is a usable http(s) URL."""
    url = url.strip()
    if len(url) > MAX_URL_LENGTH:
        raise InvalidRelease(f"URL is longer than {MAX_URL_LENGTH} characters")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        raise InvalidRelease(f"Invalid URL: {exc}") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise InvalidRelease("downloadUrl must be a magnet link or an http(s) URL")
    if not parts.hostname:
        raise InvalidRelease("URL has no host")
    if any(c.isspace() for c in url) or "\x00" in url:
        raise InvalidRelease("URL contains blanks or control characters")
    return url


def normalise_url(url: str) -> str:
    """Canonical form used for de-duplication: lower-case scheme and host, no default
    port, no fragment, tracking parameters dropped, query sorted."""
    parts = urlsplit(check_http_url(url))
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    port = parts.port
    if port is not None and not ((scheme == "http" and port == 80) or
                                 (scheme == "https" and port == 443)):
        host = f"{host}:{port}"
    if parts.username or parts.password:
        userinfo = parts.username or ""
        if parts.password:
            userinfo += f":{parts.password}"
        host = f"{userinfo}@{host}"
    path = quote(unquote(parts.path), safe="/:@!$&'()*+,;=-._~") or "/"
    query = sorted(
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if not (k.lower().startswith("utm_") or k.lower() in TRACKING_PARAMS)
    )
    return urlunsplit((scheme, host, path, urlencode(query), ""))


def url_hash(url: str) -> str:
    """sha256 of the normalised URL, hex."""
    return hashlib.sha256(normalise_url(url).encode("utf-8")).hexdigest()


def decode_base64(data: str, what: str, limit: int) -> bytes:
    """Decode standard or URL-safe base64, refusing anything over `limit` bytes."""
    compact = "".join(data.split())
    if len(compact) > (limit * 4) // 3 + 4:
        raise InvalidRelease(f"{what} is larger than {limit} bytes")
    compact += "=" * (-len(compact) % 4)
    if "-" in compact or "_" in compact:  # URL-safe alphabet
        compact = compact.translate(_URLSAFE)
    try:
        decoded = base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidRelease(f"{what} is not valid base64") from None
    if len(decoded) > limit:
        raise InvalidRelease(f"{what} is larger than {limit} bytes")
    return decoded


def filename_from_url(url: str) -> str | None:
    """The last path segment of a URL, unquoted, if it looks like a name."""
    name = unquote(urlsplit(url).path.rsplit("/", 1)[-1]).strip()
    return name or None
