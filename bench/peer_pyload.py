"""pyLoad (`pyload-ng` from PyPI) as the peer of `python -m bench --only peers`: its own
venv, a user dir of its own, an API key, a queue that never downloads, and the addresses
that keep its API rate limiter from refusing the load generator.

pyLoad's `/api/<func>` is limited to 100 requests a minute per client address by a
hard-coded `@rate_limit(count=100, period=60)` (webui/app/blueprints/api_blueprint.py;
no setting turns it off). The limiter takes the client's address from the first
`X-Forwarded-For` entry when there is one, so every request the bench sends carries one
of `ADDRESSES` addresses in turn: the limiter's code runs on every request (its cost is
in the figures) and never refuses. `limiter_check` shows it is on for a plain client."""

from __future__ import annotations

import re
import secrets
import subprocess
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from itertools import count
from pathlib import Path
from typing import Any

import httpx

from bench.procs import Server

PACKAGE = "pyload-ng"
USER = PASSWORD = "pyload"  # pyLoad's default account
ADDRESSES = 8192  # X-Forwarded-For pool: 10.0.0.0 - 10.0.31.255
LIMIT_PER_MINUTE = 100


def ensure_venv(venv: Path, say: Callable[[str], None]) -> Path:
    """The `pyload` executable of `venv`, created (python3 -m venv, pip install
    pyload-ng) on first use."""
    exe = venv / "bin" / "pyload"
    if exe.exists():
        return exe
    say(f"creating pyLoad's venv in {venv} (pip install {PACKAGE})")
    subprocess.run(["python3", "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", PACKAGE],
                   check=True)
    return exe


def version(venv: Path) -> str:
    out = subprocess.run(
        [str(venv / "bin" / "python"), "-c",
         f"import importlib.metadata as m, sys; print(m.version('{PACKAGE}'), "
         "sys.version.split()[0])"],
        capture_output=True, text=True, check=True)
    pkg, python = out.stdout.split()
    return f"{PACKAGE} {pkg} (Python {python})"


class Forwarded:
    """X-Forwarded-For addresses in turn from a random start, ADDRESSES of them."""

    def __init__(self) -> None:
        self._next = count(secrets.randbelow(ADDRESSES))

    def headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        n = next(self._next) % ADDRESSES
        return {**(extra or {}), "X-Forwarded-For": f"10.0.{n >> 8}.{n & 255}"}


def _set_option(text: str, section: str, option: str, value: str) -> str:
    """`option` of `section` in a pyload.cfg set to `value`."""
    head = re.search(rf"^{re.escape(section)} - .*$", text, re.M)
    if head is None:
        raise RuntimeError(f"pyload.cfg has no section {section}")
    end = re.compile(r"^\S", re.M).search(text, head.end() + 1)
    stop = end.start() if end else len(text)
    body, n = re.subn(rf"^(\s+\S+ {re.escape(option)} :.*?= ).*$",
                      lambda m: m.group(1) + value, text[head.end():stop], count=1,
                      flags=re.M)
    if n != 1:
        raise RuntimeError(f"pyload.cfg has no option {section}.{option}")
    return text[:head.end()] + body + text[stop:]


def _window() -> tuple[str, str]:
    """A one-minute download window twelve hours away (pyLoad's start/end time)."""
    start = datetime.now() + timedelta(hours=12)
    end = start + timedelta(minutes=1)
    return f"{start.hour}:{start.minute:02d}", f"{end.hour}:{end.minute:02d}"


class PyLoad:
    """One pyLoad installation: argv, user dir and config, and the API calls the bench
    makes (API key in X-API-Key, an X-Forwarded-For address from `Forwarded`)."""

    def __init__(self, exe: Path, home: Path, port: int) -> None:
        self.exe = exe
        self.home = home
        self.port = port
        self.key = ""
        self.forwarded = Forwarded()

    @property
    def argv(self) -> list[str]:
        return [str(self.exe), "--userdir", str(self.home / "user"), "--storagedir",
                str(self.home / "downloads"), "--tempdir", str(self.home / "tmp")]

    def server(self, log: Path, cpu: int | None, env: dict[str, str]) -> Server:
        return Server("pyload", self.argv, self.port, env=env, cwd=self.home, log=log,
                      cpu=cpu)

    def configure(self, env: dict[str, str]) -> None:
        """A fresh user dir (pyLoad writes its defaults on a --dry-run), then: loopback on
        `port`, debug mode off (the shipped default is on, at trace level), and a download
        window twelve hours away, so that the queue stays put even in the moment after a
        start before the bench pauses it (pyLoad unpauses itself at every start)."""
        self.home.mkdir(parents=True, exist_ok=True)
        subprocess.run([*self.argv, "--dry-run"], env=env, cwd=self.home,
                       capture_output=True, check=True, timeout=120)
        cfg = self.home / "user" / "settings" / "pyload.cfg"
        text = cfg.read_text()
        start, end = _window()
        for section, option, value in (("webui", "host", "127.0.0.1"),
                                       ("webui", "port", str(self.port)),
                                       ("general", "debug_mode", "False"),
                                       ("download", "start_time", start),
                                       ("download", "end_time", end)):
            text = _set_option(text, section, option, value)
        cfg.write_text(text)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        return self.forwarded.headers({"X-API-Key": self.key, **(extra or {})})

    def make_key(self) -> str:
        """Signs in to the web UI as pyLoad's default user and makes an API key there
        (the only place pyLoad makes one)."""
        with httpx.Client(base_url=self.base, timeout=30) as client:
            page = client.get("/login")
            found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
            if found is None:
                raise RuntimeError("pyLoad's login page has no csrf_token")
            token = found.group(1)
            client.post("/login", data={"username": USER, "password": PASSWORD,
                                        "csrf_token": token})
            r = client.post("/json/generate_apikey", headers={"X-CSRFToken": token},
                            json={"user": USER, "password": PASSWORD, "name": "bench",
                                  "expires": 0})
            r.raise_for_status()
            data = r.json()
            if not data.get("success"):
                raise RuntimeError(f"pyLoad made no API key: {data}")
            self.key = str(data["data"]["key"])
        return self.key

    def call(self, func: str, body: dict[str, Any] | None = None) -> Any:
        """One API call: POST with a JSON body, else GET."""
        with httpx.Client(base_url=self.base, timeout=120) as client:
            if body is None:
                r = client.get(f"/api/{func}", headers=self.headers())
            else:
                r = client.post(f"/api/{func}", headers=self.headers(), json=body)
        r.raise_for_status()
        return r.json()

    def pause(self) -> None:
        self.call("pause_server", {})
        if not self.call("status_server")["pause"]:
            raise RuntimeError("pyLoad did not pause")

    def status(self) -> dict[str, Any]:
        result: dict[str, Any] = self.call("status_server")
        return result

    def seed(self, links: list[str], per_package: int = 100) -> None:
        """The links as packages of `per_package`, through the API."""
        for i in range(0, len(links), per_package):
            self.call("add_package", {"name": f"Bench package {i // per_package + 1}",
                                      "links": links[i:i + per_package]})

    def limiter_check(self) -> dict[str, int]:
        """Answers to LIMIT_PER_MINUTE + 1 status calls from one address (no
        X-Forwarded-For): the limiter is on when the last one is a 429."""
        answers: dict[str, int] = {}
        with httpx.Client(base_url=self.base, timeout=30) as client:
            for _ in range(LIMIT_PER_MINUTE + 1):
                r = client.get("/api/status_server", headers={"X-API-Key": self.key})
                answers[str(r.status_code)] = answers.get(str(r.status_code), 0) + 1
        return answers


def wait_quiet(server: Server, limit: float = 120.0, below_pct: float = 3.0) -> float:
    """Seconds until the server used under `below_pct` of a core over two 0.5 s windows
    in a row (work an answer left behind, such as pyLoad's link checks, is done)."""
    t0 = time.monotonic()
    calm = 0
    while time.monotonic() - t0 < limit and calm < 2:
        cpu0, w0 = server.cpu_seconds(), time.monotonic()
        time.sleep(0.5)
        used = 100 * (server.cpu_seconds() - cpu0) / (time.monotonic() - w0)
        calm = calm + 1 if used < below_pct else 0
    return time.monotonic() - t0
