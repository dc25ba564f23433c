"""Which IP addresses are public, and which host names are this machine's loopback."""

from __future__ import annotations

import ipaddress

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# NAT64 prefixes: the well-known one wraps an IPv4 address in its last 32 bits (RFC 6052);
# the local-use one (RFC 8215) leads into the operator's own network.
NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")
# IPv4-compatible IPv6 (deprecated, RFC 4291): `::a.b.c.d`, which some stacks still route
# to the IPv4 address (`[::127.0.0.1]`, `[::7f00:1]`).
IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")


def literal(host: str) -> IPAddress | None:
    """The address a host written as an IP literal names (`[::1]`, `10.0.0.1`), else None."""
    try:
        return ipaddress.ip_address(host.strip("[]").split("%")[0])
    except ValueError:
        return None


def embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 form carries: mapped, compatible or NAT64."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in NAT64 or (address in IPV4_COMPATIBLE and int(address) > 1):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def is_public(address: IPAddress) -> bool:
    """Whether connecting to `address` leaves for the public internet."""
    if isinstance(address, ipaddress.IPv6Address):
        inner = embedded_ipv4(address)
        if inner is not None:
            return is_public(inner)
        if address in NAT64_LOCAL or address.sixtofour is not None \
                or address.teredo is not None:
            return False
    return address.is_global and not address.is_multicast


def is_loopback_host(host: str) -> bool:
    """Whether `host` names this machine's loopback (without asking DNS)."""
    if host.lower().rstrip(".") in ("localhost", "localhost.localdomain"):
        return True
    try:
        address: IPAddress | None = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return address is not None and address.is_loopback
