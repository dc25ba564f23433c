"""Real download-client daemons on loopback, for tests of the qBittorrent and aria2 adapters.

Plain helpers (no fixtures; those are in `tests/clients/conftest.py`):

- `QbittorrentDaemon`: `qbittorrent-nox --profile=<dir>` with a written config (legal notice
  accepted, Web UI on 127.0.0.1:<free port>, login required even from localhost, DHT/PeX/LSD/
  UPnP off, several connections per IP allowed, queueing off), optionally with the embedded
  tracker on a free port.
- `Aria2Daemon`: `aria2c --enable-rpc` on 127.0.0.1:<free port> with a random secret.
- `FileServer`: a threaded HTTP server on loopback that answers HEAD and single Range requests.
- `Seeder`: a qBittorrent with its embedded tracker, seeding files it already has on disk.
- `make_payload`, `make_torrent`, `seed_payload`: deterministic payloads and their torrents.

Every peer is 127.0.0.1: that is why several connections from one IP must be allowed and why
DHT, PeX and LSD are off (peers come only from the seeder's tracker). Ports are chosen once,
when the object is built, so `restart()` keeps every URL valid.
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import email.utils
import hashlib
import http.server
import os
import random
import re
import secrets
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import httpx

QBITTORRENT_BINARY = "qbittorrent-nox"
ARIA2_BINARY = "aria2c"
QBITTORRENT_USERNAME = "admin"

# Environment variables that would change what a daemon does behind our back:
# qBittorrent reads QBT_* (QBT_PROFILE, QBT_WEBUI_PORT, ...); aria2 honours proxy variables.
_PROXY_VARIABLES = {"http_proxy", "https_proxy", "ftp_proxy", "all_proxy", "no_proxy"}

# qBittorrent torrent states in which a torrent is complete and offered to peers.
SEEDING_STATES = frozenset({"uploading", "stalledUP", "queuedUP", "forcedUP"})


class DaemonError(RuntimeError):
    """A daemon did not start, answer or behave as configured."""


def free_port() -> int:
    """A TCP port that was free on 127.0.0.1 a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def free_ports(count: int) -> list[int]:
    """`count` different free ports (all bound at once, so none is handed out twice)."""
    with contextlib.ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in sockets]


def wait_for(condition: Callable[[], Any], timeout: float, what: str,
             interval: float = 0.2) -> Any:
    """Poll `condition` until it returns something truthy; raise DaemonError after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise DaemonError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)


def _clean_environment() -> dict[str, str]:
    return {
        key: value for key, value in os.environ.items()
        if not key.startswith("QBT_") and key.lower() not in _PROXY_VARIABLES
    }


def _tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:])


# Daemons still running when the interpreter exits (a crashed fixture, ^C) are killed. A
# plain set, so that a forgotten daemon is not garbage-collected while its process runs.
_RUNNING: set[_Daemon] = set()


@atexit.register
def _kill_leftovers() -> None:
    for daemon in list(_RUNNING):
        daemon.kill()


class _Daemon:
    """A child process with start/stop/kill/restart, its output captured to `log_path`."""

    name = "daemon"
    start_timeout = 30.0

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.log_path = self.root / "daemon.log"
        self.process: subprocess.Popen[bytes] | None = None

    # Subclass hooks ---------------------------------------------------------------------

    def command(self) -> list[str]:
        raise NotImplementedError

    def prepare(self) -> None:
        """Write configuration before each start."""

    def probe(self) -> bool:
        """True once the daemon answers its API."""
        raise NotImplementedError

    def after_start(self) -> None:
        """Checks once the daemon answers (for example that the config took)."""

    def diagnostics(self) -> str:
        return f"--- {self.log_path} ---\n{_tail(self.log_path)}"

    # Lifecycle --------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def start(self) -> None:
        if self.running:
            raise DaemonError(f"{self.name} is already running")
        self.prepare()
        with self.log_path.open("ab") as log:  # the child keeps its own descriptor
            log.write(f"\n=== start {time.strftime('%H:%M:%S')} ===\n".encode())
            log.flush()
            self.process = subprocess.Popen(
                self.command(), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                env=_clean_environment(), cwd=self.root, start_new_session=True,
            )
        _RUNNING.add(self)
        deadline = time.monotonic() + self.start_timeout
        while not self._probe_safely():
            if self.process.poll() is not None:
                code = self.process.returncode
                self.process = None
                _RUNNING.discard(self)
                raise DaemonError(f"{self.name} exited with {code}\n{self.diagnostics()}")
            if time.monotonic() > deadline:
                self.kill()
                raise DaemonError(
                    f"{self.name} did not answer in {self.start_timeout:g} s\n"
                    f"{self.diagnostics()}"
                )
            time.sleep(0.05)
        try:
            self.after_start()
        except BaseException:
            self.kill()
            raise

    def _probe_safely(self) -> bool:
        try:
            return self.probe()
        except (httpx.TransportError, httpx.DecodingError):
            return False

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM, then SIGKILL if the process has not exited after `timeout` seconds."""
        process = self.process
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.process = None
        _RUNNING.discard(self)

    def kill(self) -> None:
        """SIGKILL: no chance to save state, like a crash or an OOM kill."""
        process = self.process
        if process is None:
            return
        if process.poll() is None:
            process.kill()
        process.wait()
        self.process = None
        _RUNNING.discard(self)

    def restart(self) -> None:
        self.stop()
        self.start()

    def __enter__(self) -> _Daemon:
        self.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.stop()


# qBittorrent ----------------------------------------------------------------------------


def qbittorrent_password_hash(password: str, salt: bytes | None = None) -> str:
    """The `WebUI\\Password_PBKDF2` value qBittorrent >= 4.2 stores for `password`."""
    salt = os.urandom(16) if salt is None else salt
    key = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, 100_000, dklen=64)
    return f"@ByteArray({base64.b64encode(salt).decode()}:{base64.b64encode(key).decode()})"


class QbittorrentDaemon(_Daemon):
    """`qbittorrent-nox --profile=<profile>` with its Web UI on 127.0.0.1.

    The config is written before the first start only, so preferences changed through the
    Web API survive `restart()` (qBittorrent writes them back to the same file). `conf`
    entries (`{"Section": {"Key": "value"}}`) are merged over the defaults.
    """

    name = "qbittorrent-nox"

    def __init__(self, profile: Path, *, password: str | None = None, tracker: bool = False,
                 binary: str = QBITTORRENT_BINARY,
                 conf: dict[str, dict[str, str]] | None = None) -> None:
        super().__init__(profile)
        self.profile = self.root
        self.binary = binary
        self.username = QBITTORRENT_USERNAME
        self.password = password if password is not None else secrets.token_urlsafe(12)
        self.port, self.listen_port, tracker_port = free_ports(3)
        self.tracker_port: int | None = tracker_port if tracker else None
        self.url = f"http://127.0.0.1:{self.port}"
        self.save_path = self.profile / "downloads"
        self.conf_path = self.profile / "qBittorrent" / "config" / "qBittorrent.conf"
        self.qbittorrent_log = self.profile / "qBittorrent" / "data" / "logs" / "qbittorrent.log"
        self.extra_conf = conf or {}

    def config(self) -> dict[str, dict[str, str]]:
        """qBittorrent 4.5 key names (checked against what it writes back itself)."""
        tracker = self.tracker_port is not None
        sections: dict[str, dict[str, str]] = {
            "LegalNotice": {"Accepted": "true"},
            "BitTorrent": {
                "Session\\Port": str(self.listen_port),
                # Listen and connect on loopback only.
                "Session\\Interface": "lo",
                "Session\\InterfaceName": "lo",
                "Session\\InterfaceAddress": "127.0.0.1",
                # Peers come from the tracker only; all of them are 127.0.0.1.
                "Session\\DHTEnabled": "false",
                "Session\\PeXEnabled": "false",
                "Session\\LSDEnabled": "false",
                "Session\\MultiConnectionsPerIp": "true",
                "Session\\IgnoreLimitsOnLAN": "true",
                "Session\\AnonymousMode": "false",
                "Session\\AnnounceToAllTrackers": "true",
                "Session\\SSRFMitigation": "false",
                "Session\\ValidateHTTPSTrackerCertificate": "false",
                # No queue: a thousand torrents must not sit in queuedDL.
                "Session\\QueueingSystemEnabled": "false",
                "Session\\MaxActiveCheckingTorrents": "-1",
                "Session\\DefaultSavePath": str(self.save_path),
                "Session\\TempPathEnabled": "false",
                # Do not hang on exit announcing "stopped" to a tracker that is gone.
                "Session\\StopTrackerTimeout": "1",
                "TrackerEnabled": "true" if tracker else "false",
            },
            "Network": {"PortForwardingEnabled": "false"},  # UPnP / NAT-PMP
            "Preferences": {
                "WebUI\\Enabled": "true",
                "WebUI\\Address": "127.0.0.1",
                "WebUI\\Port": str(self.port),
                "WebUI\\Username": self.username,
                "WebUI\\Password_PBKDF2": f'"{qbittorrent_password_hash(self.password)}"',
                "WebUI\\LocalHostAuth": "true",  # login is required from 127.0.0.1 too
                "WebUI\\UseUPnP": "false",
                # Default is 5 failures -> 127.0.0.1 banned for an hour, i.e. every later test.
                "WebUI\\MaxAuthenticationFailCount": "1000",
                "Connection\\ResolvePeerCountries": "false",
                "Advanced\\trackerPort": str(self.tracker_port or 9000),
                "Advanced\\trackerPortForwarding": "false",
            },
        }
        for section, entries in self.extra_conf.items():
            sections.setdefault(section, {}).update(entries)
        return sections

    def write_config(self) -> None:
        self.conf_path.parent.mkdir(parents=True, exist_ok=True)
        self.save_path.mkdir(parents=True, exist_ok=True)
        text = "\n".join(
            f"[{section}]\n" + "".join(f"{key}={value}\n" for key, value in entries.items())
            for section, entries in self.config().items()
        )
        self.conf_path.write_text(text)

    def prepare(self) -> None:
        if not self.conf_path.exists():
            self.write_config()

    def command(self) -> list[str]:
        return [self.binary, f"--profile={self.profile}"]

    def probe(self) -> bool:
        # 403 until logged in (LocalHostAuth=true), so 403 means "up".
        response = httpx.get(f"{self.url}/api/v2/app/version", timeout=2, trust_env=False)
        return response.status_code in (200, 403)

    def expected_preferences(self) -> dict[str, Any]:
        return {
            "web_ui_port": self.port,
            "listen_port": self.listen_port,
            "dht": False, "pex": False, "lsd": False, "upnp": False,
            "enable_multi_connections_from_same_ip": True,
            "queueing_enabled": False,
            "bypass_local_auth": False,
            "current_network_interface": "lo", "current_interface_address": "127.0.0.1",
            "enable_embedded_tracker": self.tracker_port is not None,
            **({"embedded_tracker_port": self.tracker_port} if self.tracker_port else {}),
        }

    def after_start(self) -> None:
        with self.web_client() as web:
            preferences = web.get("/api/v2/app/preferences").raise_for_status().json()
        wrong = {
            key: (preferences.get(key), value)
            for key, value in self.expected_preferences().items()
            if preferences.get(key) != value
        }
        if wrong:
            raise DaemonError(f"qBittorrent ignored its config (got, wanted): {wrong}")

    def diagnostics(self) -> str:
        return (f"{super().diagnostics()}\n--- {self.qbittorrent_log} ---\n"
                f"{_tail(self.qbittorrent_log)}")

    @contextlib.contextmanager
    def web_client(self, timeout: float = 10.0) -> Iterator[httpx.Client]:
        """An httpx client (base_url = the Web UI), logged in, closed on leaving the block."""
        with httpx.Client(base_url=self.url, timeout=timeout, trust_env=False) as client:
            response = client.post("/api/v2/auth/login",
                                   data={"username": self.username, "password": self.password})
            if response.status_code != 200 or response.text != "Ok.":
                raise DaemonError(f"qBittorrent login failed: {response.status_code} "
                                  f"{response.text!r}")
            yield client

    def torrent(self, web: httpx.Client, info_hash: str) -> dict[str, Any] | None:
        found = web.get("/api/v2/torrents/info", params={"hashes": info_hash})
        torrents = found.raise_for_status().json()
        return torrents[0] if torrents else None

    def clear(self) -> None:
        """Delete every torrent (and its files) so that the next test starts empty."""
        with self.web_client() as web:
            hashes = [t["hash"] for t in web.get("/api/v2/torrents/info").json()]
            if hashes:
                web.post("/api/v2/torrents/delete",
                         data={"hashes": "|".join(hashes), "deleteFiles": "true"})
                wait_for(lambda: not web.get("/api/v2/torrents/info").json(), 30,
                         "qBittorrent to delete its torrents")

    def __enter__(self) -> QbittorrentDaemon:
        self.start()
        return self


# aria2 ----------------------------------------------------------------------------------


class Aria2RpcError(DaemonError):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"aria2 error {code}: {message}")
        self.code = code
        self.message = message


class Aria2Daemon(_Daemon):
    """`aria2c --enable-rpc` on 127.0.0.1 with a random secret.

    The session is saved every second (`--save-session`) and read back on start, so
    unfinished downloads survive `restart()` the way they do in a real deployment;
    `persist_session=False` turns that off. `extra_args` are appended to the command line.
    """

    name = "aria2c"

    def __init__(self, root: Path, *, secret: str | None = None, binary: str = ARIA2_BINARY,
                 persist_session: bool = True, extra_args: list[str] | None = None) -> None:
        super().__init__(root)
        self.binary = binary
        self.port, self.listen_port = free_ports(2)
        self.secret = secret if secret is not None else secrets.token_hex(16)
        self.url = f"http://127.0.0.1:{self.port}/jsonrpc"
        self.download_dir = self.root / "downloads"
        self.session_path = self.root / "aria2.session"
        self.aria2_log = self.root / "aria2.log"
        self.persist_session = persist_session
        self.extra_args = list(extra_args or [])

    def prepare(self) -> None:
        self.download_dir.mkdir(parents=True, exist_ok=True)
        self.session_path.touch()

    def command(self) -> list[str]:
        arguments = [
            self.binary,
            "--no-conf=true", "--no-netrc=true",  # ignore ~/.aria2/aria2.conf and ~/.netrc
            "--enable-rpc=true", "--rpc-listen-all=false", f"--rpc-listen-port={self.port}",
            f"--rpc-secret={self.secret}",
            f"--dir={self.download_dir}",
            f"--listen-port={self.listen_port}",
            "--disable-ipv6=true",
            "--enable-dht=false", "--enable-dht6=false",
            "--bt-enable-lpd=false", "--enable-peer-exchange=false",
            "--seed-time=0", "--follow-torrent=true", "--check-integrity=false",
            "--bt-tracker-connect-timeout=5", "--bt-tracker-timeout=10",
            "--file-allocation=none",
            f"--stop-with-process={os.getpid()}",  # no orphan if pytest dies
            f"--log={self.aria2_log}", "--log-level=info",
            "--console-log-level=warn", "--summary-interval=0", "--enable-color=false",
        ]
        if self.persist_session:
            arguments += [f"--input-file={self.session_path}",
                          f"--save-session={self.session_path}", "--save-session-interval=1"]
        return arguments + self.extra_args

    def rpc(self, method: str, *params: Any, secret: str | None = None,
            timeout: float = 10.0) -> Any:
        """Call `method` with the token (or `secret`) prepended; return `result`."""
        token = self.secret if secret is None else secret
        payload = {"jsonrpc": "2.0", "id": secrets.token_hex(4), "method": method,
                   "params": [f"token:{token}", *params]}
        response = httpx.post(self.url, json=payload, timeout=timeout, trust_env=False)
        body = response.json()
        if "error" in body:
            raise Aria2RpcError(body["error"]["code"], body["error"]["message"])
        return body["result"]

    def probe(self) -> bool:
        return bool(self.rpc("aria2.getVersion", timeout=2).get("version"))

    def diagnostics(self) -> str:
        return f"{super().diagnostics()}\n--- {self.aria2_log} ---\n{_tail(self.aria2_log)}"

    def __enter__(self) -> Aria2Daemon:
        self.start()
        return self


# A file server with Range support -------------------------------------------------------


@dataclass(frozen=True)
class ServedFile:
    name: str
    path: Path
    url: str
    sha256: str
    size: int


_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


class _RangeHandler(http.server.BaseHTTPRequestHandler):
    server: _FileHTTPServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # keep pytest output clean
        pass

    def do_HEAD(self) -> None:
        self._serve(body=False)

    def do_GET(self) -> None:
        self._serve(body=True)

    def _serve(self, body: bool) -> None:
        owner = self.server.owner
        owner.requests.append((self.command, self.path, self.headers.get("Range")))
        name = unquote(urlsplit(self.path).path).lstrip("/")
        path = (owner.directory / name).resolve()
        if (not name or owner.directory.resolve() not in path.parents
                or not path.is_file()):
            self._plain(404, b"not found\n", body)
            return
        size = path.stat().st_size
        start, end, status = 0, size - 1, 200
        wanted = self.headers.get("Range")
        if wanted:
            match = _RANGE.match(wanted.strip())
            if match is None or match.groups() == ("", ""):
                self._plain(416, b"bad range\n", body, size)
                return
            first, last = match.groups()
            if first == "":  # suffix: the last N bytes
                start, end = max(size - int(last), 0), size - 1
            else:
                start = int(first)
                end = min(int(last), size - 1) if last else size - 1
            if start >= size or start > end:
                self._plain(416, b"range not satisfiable\n", body, size)
                return
            status = 206
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(end - start + 1))
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Last-Modified", email.utils.formatdate(path.stat().st_mtime,
                                                                 usegmt=True))
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.end_headers()
        if not body:
            return
        with path.open("rb") as handle:
            handle.seek(start)
            remaining = end - start + 1
            while remaining > 0:
                chunk = handle.read(min(remaining, 256 * 1024))
                if not chunk:
                    break
                try:
                    self.wfile.write(chunk)
                except (BrokenPipeError, ConnectionResetError):
                    return
                remaining -= len(chunk)

    def _plain(self, status: int, text: bytes, body: bool, size: int | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(text)))
        if size is not None:
            self.send_header("Content-Range", f"bytes */{size}")
        self.end_headers()
        if body:
            self.wfile.write(text)


class _FileHTTPServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    owner: FileServer


class FileServer:
    """Serves the files of `directory` at http://127.0.0.1:<port>/<name> (GET, HEAD, Range).

    `requests` records (method, path, Range header) of every request, in order.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.requests: list[tuple[str, str, str | None]] = []
        self.files: dict[str, ServedFile] = {}
        self._server: _FileHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.port = 0
        self.url = ""

    handler: type[http.server.BaseHTTPRequestHandler] = _RangeHandler  # a subclass may slow it

    def start(self) -> None:
        server = _FileHTTPServer(("127.0.0.1", 0), self.handler)
        server.owner = self
        self._server = server
        self.port = int(server.server_address[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=server.serve_forever, name="file-server",
                                        kwargs={"poll_interval": 0.1}, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def url_for(self, name: str) -> str:
        return f"{self.url}/{quote(name)}"

    def add(self, name: str, size: int, seed: int = 0) -> ServedFile:
        """Generate `name` (deterministic bytes) in the served directory."""
        path, digest = make_payload(self.directory, name, size, seed)
        served = ServedFile(name, path, self.url_for(name), digest, size)
        self.files[name] = served
        return served

    def __enter__(self) -> FileServer:
        self.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.stop()


# Payloads and torrents ------------------------------------------------------------------


def make_payload(directory: Path, name: str, size: int, seed: int) -> tuple[Path, str]:
    """Write `size` deterministic pseudo-random bytes to directory/name; return path, sha256."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    data = random.Random(seed).randbytes(size)
    path = directory / name
    path.write_bytes(data)
    return path, hashlib.sha256(data).hexdigest()


def make_torrent(path: Path, tracker_url: str,
                 piece_size: int | None = None) -> tuple[bytes, str, str]:
    """A public .torrent of `path` announcing to `tracker_url`: (bytes, info hash, magnet).

    The magnet carries dn (name), xl (size) and tr (the tracker). No creation date, so the
    same file and tracker always give the same bytes.
    """
    import torf

    torrent = torf.Torrent(path=Path(path), trackers=[tracker_url], private=False,
                           piece_size=piece_size, created_by=None, creation_date=None)
    torrent.generate()
    magnet = torrent.magnet(name=True, size=True, trackers=True)
    return torrent.dump(), torrent.infohash, str(magnet)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True)
class Payload:
    """A file being seeded: what a leecher should end up with."""

    path: Path
    sha256: str
    size: int
    torrent: bytes
    info_hash: str
    magnet: str
    name: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", self.path.name)


# The seeder -----------------------------------------------------------------------------


class Seeder:
    """A qBittorrent with its embedded tracker, seeding files that are already on disk.

    Torrents made with `tracker_url` announce to it, so the seeder is their only peer.
    """

    def __init__(self, profile: Path, binary: str = QBITTORRENT_BINARY) -> None:
        self.daemon = QbittorrentDaemon(profile, tracker=True, binary=binary)

    @property
    def tracker_url(self) -> str:
        return f"http://127.0.0.1:{self.daemon.tracker_port}/announce"

    def start(self) -> None:
        self.daemon.start()

    def stop(self) -> None:
        self.daemon.stop()

    def seed(self, path: Path, torrent_bytes: bytes, timeout: float = 60.0) -> None:
        """Add the torrent with savepath = the payload's directory and wait until it seeds
        and its announce to the tracker has succeeded (so leechers get it as a peer)."""
        import torf

        info_hash = torf.Torrent.read_stream(torrent_bytes).infohash
        with self.daemon.web_client() as web:
            added = web.post(
                "/api/v2/torrents/add",
                files={"torrents": ("payload.torrent", torrent_bytes, "application/x-bittorrent")},
                data={"savepath": str(Path(path).parent), "autoTMM": "false",
                      "paused": "false", "skip_checking": "false"},
            )
            already = self.daemon.torrent(web, info_hash) is not None
            if added.status_code != 200 or (added.text.strip() != "Ok." and not already):
                raise DaemonError(f"the seeder refused the torrent: {added.status_code} "
                                  f"{added.text!r}")
            rechecked = False

            def seeding() -> bool:
                nonlocal rechecked
                torrent = self.daemon.torrent(web, info_hash)
                if torrent is None:
                    return False
                if torrent["state"] in ("pausedUP", "pausedDL"):
                    web.post("/api/v2/torrents/resume", data={"hashes": info_hash})
                if (torrent["state"] in ("stalledDL", "downloading", "missingFiles", "error")
                        and not rechecked):
                    rechecked = True
                    web.post("/api/v2/torrents/recheck", data={"hashes": info_hash})
                return torrent["state"] in SEEDING_STATES and torrent["progress"] == 1

            try:
                wait_for(seeding, timeout, f"the seeder to seed {path}")
                wait_for(lambda: self._announced(web, info_hash), timeout,
                         f"the seeder to announce {path} to its tracker")
            except DaemonError as error:
                state = self.daemon.torrent(web, info_hash)
                raise DaemonError(f"{error}: {state}\n{self.daemon.diagnostics()}") from None

    def _announced(self, web: httpx.Client, info_hash: str) -> bool:
        trackers = web.get("/api/v2/torrents/trackers", params={"hash": info_hash}).json()
        return any(t["url"] == self.tracker_url and t["status"] == 2 for t in trackers)

    def __enter__(self) -> Seeder:
        self.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.stop()


def seed_payload(seeder: Seeder, directory: Path, name: str, size: int, seed: int = 0,
                 piece_size: int | None = None) -> Payload:
    """Generate a file, make its torrent for the seeder's tracker, and seed it."""
    path, digest = make_payload(directory, name, size, seed)
    torrent, info_hash, magnet = make_torrent(path, seeder.tracker_url, piece_size)
    seeder.seed(path, torrent)
    return Payload(path, digest, size, torrent, info_hash, magnet)

