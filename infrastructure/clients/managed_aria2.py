"""The managed aria2c: started by `queuarr serve` when no download client is configured
(QUEUARR_MANAGED_ARIA2=auto and aria2c on the PATH, or =true), so that a fresh install
downloads http(s) files and magnets out of the box.

It listens on 127.0.0.1 only, on a free port, with a random secret, saves into the
download dir, keeps its session in the data dir (so unfinished downloads and their GIDs
survive a restart), and is shut down with the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import json
import logging
import os
import secrets
import shutil
import socket
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from core.errors import ClientUnavailable

log = logging.getLogger(__name__)

NAME = "Managed aria2"
POLL = 0.01  # seconds between tries while aria2c starts (it answers in 20-60 ms)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def find_aria2c() -> str | None:
    return shutil.which("aria2c")


class ManagedAria2:
    def __init__(self, executable: str, download_dir: Path, state_dir: Path) -> None:
        self.executable = executable
        self.download_dir = download_dir
        self.state_dir = state_dir
        self.port = 0
        self.secret = SecretStr(secrets.token_urlsafe(24))
        self.process: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/jsonrpc"

    def call(self, method: str) -> Any:
        """One JSON-RPC call without arguments (blocking: run it off the event loop). Plain
        http.client: starting and stopping aria2c needs no aria2p, which loads with the
        Aria2Client's first call instead (7 MiB that an idle server does without)."""
        body = json.dumps({"jsonrpc": "2.0", "id": "queuarr", "method": f"aria2.{method}",
                           "params": [f"token:{self.secret.get_secret_value()}"]})
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
        try:
            connection.request("POST", "/jsonrpc", body,
                               {"Content-Type": "application/json"})
            answer = json.loads(connection.getresponse().read())
        finally:
            connection.close()
        if "result" not in answer:
            raise RuntimeError(f"aria2.{method}: {answer.get('error')}")
        return answer["result"]

    @property
    def session_file(self) -> Path:
        return self.state_dir / "aria2.session"

    def command(self) -> list[str]:
        return [
            self.executable,
            "--enable-rpc=true",
            "--rpc-listen-all=false",  # loopback only
            f"--rpc-listen-port={self.port}",
            f"--rpc-secret={self.secret.get_secret_value()}",
            "--rpc-allow-origin-all=false",
            f"--dir={self.download_dir}",
            f"--save-session={self.session_file}",
            f"--input-file={self.session_file}",
            "--save-session-interval=10",
            "--continue=true",
            "--follow-torrent=true",
            "--seed-time=0",
            "--max-concurrent-downloads=5",
            "--bt-save-metadata=false",
            "--quiet=true",
            f"--stop-with-process={os.getpid()}",
        ]

    async def start(self, wait: float = 15.0) -> None:
        self.download_dir.mkdir(parents=True, exist_ok=True)
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.session_file.touch(exist_ok=True)
        self.port = free_port()
        # The secret is passed on the command line, visible to local users in `ps`;
        # the RPC only listens on loopback.
        self.process = await asyncio.create_subprocess_exec(
            *self.command(), stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        while True:
            if self.process.returncode is not None:
                error = b""
                if self.process.stderr is not None:
                    error = await self.process.stderr.read()
                raise ClientUnavailable(
                    f"aria2c exited at start ({self.process.returncode}): "
                    f"{error.decode(errors='replace').strip()[:500]}")
            try:
                answer = await asyncio.to_thread(self.call, "getVersion")
                log.info("Started the managed aria2c %s on 127.0.0.1:%d (downloads in %s)",
                         answer.get("version"), self.port, self.download_dir)
                return
            except Exception:
                if loop.time() > deadline:
                    await self.stop()
                    raise ClientUnavailable(
                        f"aria2c did not answer on 127.0.0.1:{self.port} within {wait:g} s"
                    ) from None
                await asyncio.sleep(POLL)

    async def stop(self, grace: float = 3.0) -> None:
        """Save the session, then SIGTERM: aria2c halts at once and saves it again on
        its way out. (aria2.shutdown and aria2.forceShutdown would wait 3 s first, for
        their answer to reach the caller.) SIGKILL after `grace` seconds."""
        process, self.process = self.process, None
        if process is None or process.returncode is not None:
            return
        try:
            await asyncio.to_thread(self.call, "saveSession")
        except Exception as exc:  # it is saved on exit all the same
            log.warning("The managed aria2c did not save its session: %s", exc)
        with contextlib.suppress(ProcessLookupError):
            process.terminate()
        with contextlib.suppress(Exception):  # wakes it: it looks at signals between polls
            await asyncio.to_thread(self.call, "getVersion")
        try:
            await asyncio.wait_for(process.wait(), grace)
        except TimeoutError:
            process.kill()
            await process.wait()
        log.info("Stopped the managed aria2c")
