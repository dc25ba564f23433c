"""An HTTP proxy on loopback that can lose replies: requests matching a pattern are
forwarded to the real client, which acts on them, and the reply is thrown away and the
connection closed, as when a client accepts an add and the answer times out. Everything
else passes through, one request per connection."""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from tests.daemons import free_port


class ReplyLosingProxy:
    def __init__(self, upstream_port: int, lose: str) -> None:
        self.upstream_port = upstream_port
        self.lose = re.compile(lose.encode())
        self.port = free_port()
        self.lost = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @staticmethod
    async def _read_message(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
        """One HTTP message (head without its blank line, body by Content-Length)."""
        head = (await reader.readuntil(b"\r\n\r\n"))[:-4]
        match = re.search(rb"(?i)\r\ncontent-length:\s*(\d+)", head)
        body = await reader.readexactly(int(match.group(1))) if match else b""
        # One message per connection, whatever the peer asked for.
        head = re.sub(rb"(?i)\r\nconnection:[^\r]*", b"", head) + b"\r\nConnection: close"
        return head, body

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head, body = await self._read_message(reader)
            # As a reverse proxy does: qBittorrent refuses a Host that is not its own.
            head = re.sub(rb"(?i)\r\nhost:[^\r]*",
                          f"\r\nHost: 127.0.0.1:{self.upstream_port}".encode(), head)
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
            up_writer.write(head + b"\r\n\r\n" + body)
            await up_writer.drain()
            reply_head, reply_body = await self._read_message(up_reader)
            up_writer.close()
            if self.lose.search(head + body):
                self.lost += 1
                return  # the client acted; its answer is lost
            writer.write(reply_head + b"\r\n\r\n" + reply_body)
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    def start(self) -> None:
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._handle, "127.0.0.1", self.port), self._loop)
        self._server = future.result(5)

    def stop(self) -> None:
        async def shut() -> None:
            if self._server is not None:
                self._server.close()
            current = asyncio.current_task()
            tasks = [t for t in asyncio.all_tasks() if t is not current]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(shut(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()


@contextmanager
def reply_losing_proxy(upstream_port: int, lose: str) -> Iterator[ReplyLosingProxy]:
    proxy = ReplyLosingProxy(upstream_port, lose)
    proxy.start()
    try:
        yield proxy
    finally:
        proxy.stop()
