"""The yt-dlp worker with a pretend internet under it, for the SSRF tests (run as
`python -m tests.ytdlp.pretend_worker JOB_DIR` through YtDlpConfig.worker_command).

QUEUARR_PRETEND_NET (JSON) is {"dns": {name: public address}, "routes": {public address:
loopback port}}: a pretend name resolves to a public-looking address, and a connection to
that address is carried to a server on loopback. Resolution is patched *under* the real
worker's guard (which wraps whatever socket.getaddrinfo is when it is installed), so the
guard sees exactly what the table says; every other name resolves as usual."""

from __future__ import annotations

import json
import os
import socket
import sys
from typing import Any

from infrastructure.ytdlp import worker

_real_lookup = socket.getaddrinfo
_real_connect = socket.socket.connect


def install(table: dict[str, Any]) -> None:
    dns: dict[str, str] = table["dns"]
    routes: dict[str, int] = {a: int(p) for a, p in table["routes"].items()}

    def lookup(host: Any, port: Any, *args: Any, **kwargs: Any) -> list[Any]:
        name = host.decode() if isinstance(host, bytes) else str(host)
        if name in dns:
            return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "",
                     (dns[name], int(port or 80)))]
        return _real_lookup(host, port, *args, **kwargs)

    def connect(self: socket.socket, address: Any) -> None:
        if isinstance(address, tuple) and address[0] in routes:
            address = ("127.0.0.1", routes[address[0]])
        _real_connect(self, address)

    socket.getaddrinfo = lookup
    socket.socket.connect = connect  # type: ignore[method-assign,assignment]


if __name__ == "__main__":
    install(json.loads(os.environ["QUEUARR_PRETEND_NET"]))
    sys.exit(worker.main(sys.argv))
