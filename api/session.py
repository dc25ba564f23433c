"""The web UI's sign-in token: stateless, so it works in every process and across restarts.

A token is `v1.<issued unix time>.<nonce>.<mac>`, the mac being base64url(HMAC-SHA256(api
key, "queuarr-ui:<issued>.<nonce>")). It is valid for `MAX_AGE` seconds from `issued`;
signed with the API key, so changing the key ends every session. Nothing is stored, so a
sign-out only clears the browser's cookie: a copied token stays valid until it expires."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Iterable

COOKIE = "queuarr_session"
MAX_AGE = 30 * 24 * 3600  # seconds: 30 days
UI_HEADER = b"x-queuarr-ui"  # a cross-site form cannot set it; the page sends "1"
SKEW = 300  # seconds a token may seem issued in the future (processes' clocks differ)
_VERSION = "v1"


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _mac(key: str, issued: str, nonce: str) -> str:
    message = f"queuarr-ui:{issued}.{nonce}".encode()
    return _b64(hmac.new(key.encode("utf-8", "surrogateescape"), message, hashlib.sha256)
                .digest())


def issue(key: str, now: float | None = None, nonce: str | None = None) -> str:
    """A new token for `key`, issued `now` (wall-clock seconds: tokens cross processes)."""
    issued = str(int(time.time() if now is None else now))
    nonce = nonce or _b64(secrets.token_bytes(16))
    return f"{_VERSION}.{issued}.{nonce}.{_mac(key, issued, nonce)}"


def valid(token: str, key: str, now: float | None = None) -> bool:
    """Whether `token` was issued with `key` and has not expired."""
    parts = token.split(".")
    if len(parts) != 4 or parts[0] != _VERSION or not parts[1].isascii() \
            or not parts[1].isdigit() or len(parts[1]) > 12:
        return False
    _, issued, nonce, mac = parts
    age = (time.time() if now is None else now) - int(issued)
    if not -SKEW <= age < MAX_AGE:
        return False
    return hmac.compare_digest(mac.encode("ascii", "replace"),
                               _mac(key, issued, nonce).encode("ascii"))


def signed_in(headers: Iterable[tuple[bytes, bytes]], key: str) -> bool | None:
    """From raw ASGI headers: None when no session cookie came, else whether one that came
    is valid for `key` (a browser may send an old one beside the new)."""
    tokens = []
    for name, value in headers:
        if name != b"cookie":
            continue
        for pair in value.decode("latin-1").split(";"):
            cookie, sep, content = pair.strip().partition("=")
            if sep and cookie == COOKIE:
                tokens.append(content.strip().strip('"'))
    if not tokens:
        return None
    return any(valid(token, key) for token in tokens[:4])


def set_cookie(token: str, secure: bool, path: str = "/") -> str:
    """The Set-Cookie value that signs a browser in; `path` is the URL base (the cookie
    goes only to this instance's URLs)."""
    return (f"{COOKIE}={token}; HttpOnly; SameSite=Strict; Path={path}; "
            f"Max-Age={MAX_AGE}") + ("; Secure" if secure else "")


def clear_cookie(secure: bool, path: str = "/") -> str:
    """The Set-Cookie value that signs a browser out (the same `path` as it was set with)."""
    return (f"{COOKIE}=; HttpOnly; SameSite=Strict; Path={path}; Max-Age=0; "
            "Expires=Thu, 01 Jan 1970 00:00:00 GMT") + ("; Secure" if secure else "")
