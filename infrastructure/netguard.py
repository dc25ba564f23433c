"""Network guards: loopback-only RPC, and no fetch of a caller's URL into private
address space (SSRF).

Queuarr hands http(s) and .torrent URLs to the download client, which fetches them. The
grab is refused when the URL's host is, or resolves to, anything but a public address:
loopback, RFC 1918, link-local (cloud metadata), CGNAT, `0.0.0.0`, IPv6 ULA and `::1`,
and IPv4-mapped IPv6 forms of these, whatever notation the caller used (decimal, hex and
octal IPv4 forms resolve to what they mean). Allow it for a LAN indexer with
QUEUARR_ALLOW_PRIVATE_URLS=true.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

from core.errors import InvalidRelease

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def is_loopback_host(host: str) -> bool:
    """Whether `host` names this machine's loopback (without asking DNS)."""
    if host.lower().rstrip(".") in ("localhost", "localhost.localdomain"):
        return True
    address = _literal(host)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return address is not None and address.is_loopback


def is_public(address: IPAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return is_public(address.ipv4_mapped)
        if address.sixtofour is not None or address.teredo is not None:
            return False
    return address.is_global and not address.is_multicast


class UrlGuard:
    """The UrlGuard port: refuses URLs whose host resolves into private address space."""

    def __init__(self, allow_private: bool = False, timeout: float = 5.0,
                 setting: str = "QUEUARR_ALLOW_PRIVATE_URLS") -> None:
        self.allow_private = allow_private
        self.timeout = timeout
        self.setting = setting  # named in the refusal: how to allow it

    async def check(self, url: str) -> None:
        if self.allow_private:
            return
        parts = urlsplit(url)
        host = parts.hostname or ""
        literal = _literal(host)
        if literal is not None:
            addresses = {literal}
        else:
            try:
                infos = await asyncio.wait_for(
                    asyncio.get_running_loop().getaddrinfo(
                        host, parts.port or 443, type=socket.SOCK_STREAM),
                    self.timeout)
            except (OSError, TimeoutError, UnicodeError) as exc:
                raise InvalidRelease(f"The host of {url!r} does not resolve: {exc}") from None
            addresses = {ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos}
        private = sorted(str(a) for a in addresses if not is_public(a))
        if private:
            raise InvalidRelease(
                f"{host!r} is in private address space ({', '.join(private)}); Queuarr does "
                f"not send to or hand out URLs into private networks unless {self.setting} "
                "is true")
