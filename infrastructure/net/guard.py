"""The private-address guard (SSRF): a host is resolved once, every address it resolves to
must be public, and the caller connects to those addresses, never to a second lookup's.

Refused: loopback, RFC 1918, link-local (cloud metadata), CGNAT, `0.0.0.0`, multicast,
documentation ranges, IPv6 ULA and `::1`, and every IPv6 form that carries one of these
(IPv4-mapped `::ffff:a.b.c.d`, IPv4-compatible `::a.b.c.d`, NAT64 `64:ff9b::/96` and the
local-use `64:ff9b:1::/48`, 6to4, Teredo), whatever notation the caller used (decimal, hex
and octal IPv4 forms resolve to what they mean). QUEUARR_ALLOW_PRIVATE_URLS=true (or
QUEUARR_ALLOW_PRIVATE_WEBHOOKS for webhooks) allows them.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from core.errors import InvalidRelease
from infrastructure.net.addresses import IPAddress, is_public, literal

Resolver = Callable[[str, int], Awaitable[list[IPAddress]]]


class PrivateAddress(Exception):
    """The target is in private address space: nothing is sent to it."""

    @property
    def message(self) -> str:
        return str(self.args[0])


class Unresolvable(Exception):
    """The host does not resolve (now): it may later."""

    @property
    def message(self) -> str:
        return str(self.args[0])


async def system_resolver(host: str, port: int) -> list[IPAddress]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(
        ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos))


class UrlGuard:
    """The UrlGuard port, and the address check every guarded connection makes."""

    def __init__(self, allow_private: bool = False, timeout: float = 5.0,
                 setting: str = "QUEUARR_ALLOW_PRIVATE_URLS",
                 resolver: Resolver = system_resolver) -> None:
        self.allow_private = allow_private
        self.timeout = timeout
        self.setting = setting  # named in the refusal: how to allow it
        self.resolver = resolver

    def refusal(self, host: str, private: list[str]) -> str:
        return (f"{host!r} is in private address space ({', '.join(private)}); Queuarr "
                "does not send to or hand out URLs into private networks unless "
                f"{self.setting} is true")

    async def addresses(self, host: str, port: int) -> list[IPAddress]:
        """The addresses to connect to for `host`, each checked. Raises PrivateAddress
        (any of them is private) or Unresolvable."""
        if not host:
            raise Unresolvable("the URL has no host")
        address = literal(host)
        if address is not None:
            found = [address]
        else:
            try:
                found = await asyncio.wait_for(self.resolver(host, port), self.timeout)
            except (OSError, TimeoutError, UnicodeError, ValueError) as exc:
                raise Unresolvable(f"{host!r} does not resolve: {exc or 'timed out'}"
                                   ) from None
            if not found:
                raise Unresolvable(f"{host!r} does not resolve")
        if not self.allow_private:
            private = sorted(str(a) for a in found if not is_public(a))
            if private:
                raise PrivateAddress(self.refusal(host, private))
        return found

    async def check(self, url: str) -> None:
        """At grab time: InvalidRelease for a URL into private address space. A name that
        does not resolve now passes: it is checked again when the item is sent."""
        if self.allow_private:
            return
        parts = urlsplit(url)
        if not parts.hostname:
            raise InvalidRelease(f"{url!r} has no host")
        try:
            await self.addresses(parts.hostname, parts.port or 443)
        except PrivateAddress as exc:
            raise InvalidRelease(exc.message) from None
        except Unresolvable:
            return
