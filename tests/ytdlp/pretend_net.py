"""A pretend internet under a yt-dlp process (the worker or the probe), for the SSRF tests:
`python -m tests.ytdlp.pretend_net -m MODULE ARGS...` runs MODULE with socket resolution
patched from QUEUARR_PRETEND_NET (JSON): {"dns": {name: public address}, "routes":
{public address: loopback port, or null for the port asked for}}. A pretend name resolves
to a public-looking address, and a connection to that address is carried to loopback.

The patch sits *under* the process's private-address guard (which wraps whatever
socket.getaddrinfo is when it is installed), so the guard sees exactly what the table
says; every other name resolves as usual. Nothing here ever connects off loopback."""

from __future__ import annotations

import json
import os
import runpy
import socket
import sys
from typing import Any

TABLE = "QUEUARR_PRETEND_NET"


def install(table: dict[str, Any]) -> None:
    dns: dict[str, str] = table["dns"]
    routes: dict[str, int | None] = table["routes"]
    lookup = socket.getaddrinfo
    connect = socket.socket.connect

    def resolve(host: Any, port: Any, *args: Any, **kwargs: Any) -> list[Any]:
        name = host.decode() if isinstance(host, bytes) else str(host)
        if name in dns:
            return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "",
                     (dns[name], int(port or 80)))]
        return lookup(host, port, *args, **kwargs)

    def dial(self: socket.socket, address: Any) -> None:
        if isinstance(address, tuple) and address[0] in routes:
            address = ("127.0.0.1", routes[address[0]] or address[1])
        connect(self, address)

    socket.getaddrinfo = resolve
    socket.socket.connect = dial  # type: ignore[method-assign,assignment]


if __name__ == "__main__":
    _, flag, module, *rest = sys.argv
    assert flag == "-m", sys.argv
    install(json.loads(os.environ[TABLE]))
    sys.argv = [module, *rest]
    runpy.run_module(module, run_name="__main__", alter_sys=True)
