"""A loopback HTTP listener for tests: it records every request that reaches it and
answers each with one fixed reply (status, content type, body), from a thread of its own
so that blocking client libraries and the app's event loop can both talk to it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def text(self) -> str:
        """Everything that came in, request line, headers and body, as text."""
        head = "\n".join(f"{k}: {v}" for k, v in self.headers.items())
        return f"{self.method} {self.path}\n{head}\n\n{self.body.decode('latin-1')}"


class Listener:
    """Records what arrives at http://127.0.0.1:<port>; answers `status` with `body`."""

    def __init__(self, status: int = 404, body: bytes = b"",
                 content_type: str = "text/plain") -> None:
        self.status = status
        self.body = body
        self.content_type = content_type
        self.received: list[Received] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._server.owner = self  # type: ignore[attr-defined]
        self.port = int(self._server.server_address[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="listener",
                                        kwargs={"poll_interval": 0.05}, daemon=True)

    def answer(self, status: int, body: bytes, content_type: str = "text/plain") -> None:
        self.status, self.body, self.content_type = status, body, content_type

    def record(self, received: Received) -> None:
        with self._lock:
            self.received.append(received)

    def saw(self, text: str) -> bool:
        """Whether `text` arrived anywhere in any request."""
        with self._lock:
            return any(text in r.text() for r in self.received)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _handle(self) -> None:
        owner: Listener = self.server.owner  # type: ignore[attr-defined]
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        owner.record(Received(self.command, self.path, dict(self.headers.items()), body))
        self.send_response(owner.status)
        self.send_header("Content-Type", owner.content_type)
        self.send_header("Content-Length", str(len(owner.body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(owner.body)
        self.close_connection = True

    do_GET = do_POST = do_PUT = _handle

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def listening(status: int = 404, body: bytes = b"",
              content_type: str = "text/plain") -> Iterator[Listener]:
    listener = Listener(status, body, content_type)
    listener.start()
    try:
        yield listener
    finally:
        listener.stop()
