"""The private-address guard inside a yt-dlp process (a download worker or a probe).

yt-dlp fetches pages, manifests, fragments and redirects itself. Every connection it opens
asks `socket.getaddrinfo` for the addresses and then connects to exactly those (yt-dlp's
own `create_connection` and urllib3's both do), so the guard sits there: each lookup is
checked as `infrastructure.net.guard.UrlGuard` checks one (any private address refuses the
host, IP literals included), and what is connected to is what was checked, on every hop.
The process is yt-dlp's alone, so replacing the function there changes nothing else."""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

from infrastructure.net.addresses import is_public

REFUSED = "private address space"  # in every refusal, for the worker's error classes


class PrivateTarget(OSError):
    """A connection into private address space was refused: nothing was sent."""


def refused_addresses(infos: list[Any]) -> list[str]:
    """The non-public addresses among getaddrinfo's answers."""
    found = dict.fromkeys(str(info[4][0]).split("%")[0] for info in infos)
    return [a for a in found if not is_public(ipaddress.ip_address(a))]


def install(allow_private: bool) -> None:
    """Refuse every lookup that yields a private address, from now on in this process
    (QUEUARR_ALLOW_PRIVATE_URLS=true: nothing is refused)."""
    if allow_private or getattr(socket.getaddrinfo, "queuarr_guard", False):
        return
    lookup = socket.getaddrinfo

    def guarded(host: Any, port: Any, *args: Any, **kwargs: Any) -> list[Any]:
        infos = lookup(host, port, *args, **kwargs)
        private = refused_addresses(infos)
        if private:
            raise PrivateTarget(
                f"{host!r} is in {REFUSED} ({', '.join(sorted(private))}); Queuarr does "
                "not fetch from private networks unless QUEUARR_ALLOW_PRIVATE_URLS is true")
        return infos

    guarded.queuarr_guard = True  # type: ignore[attr-defined]
    socket.getaddrinfo = guarded
