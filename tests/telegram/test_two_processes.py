"""One bot across processes: two real `queuarr serve` processes on one fresh Postgres
database, both with the bot's token, pointed at ONE fake Bot API server (run here, on
loopback, each process under its own path prefix so that every call says which process
made it). Only the processor's leader polls; each scripted update is answered once and
makes one item; after the leader is killed (SIGKILL, no goodbye) the standby takes the
advisory lock, starts polling and handles the updates sent after the kill."""

from __future__ import annotations

import contextlib
import hashlib
import subprocess
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from infrastructure.db.engine import async_url
from tests.conftest import POSTGRES_URL, _admin, postgres_unavailable
from tests.daemons import _tail, wait_for
from tests.e2e.conftest import LiveServer, start_server
from tests.e2e.test_replica_events import stop
from tests.notifiers.fake_bot_api import Call, ThreadedBotApi
from tests.telegram.conftest import TOKEN, USER

pytestmark = pytest.mark.postgres

BEFORE = 12  # link messages handled by the first leader
AFTER = 5  # link messages sent after it is killed
# A standby looks for the lock every 5 s (scheduler.LEADERSHIP_SECONDS) and the bot
# looks at leadership every 3 s (bot.LEADER_CHECK): 30 s is a ceiling, not a figure.
TAKEOVER = 30.0


def magnet(name: str) -> str:
    digest = hashlib.sha1(name.encode()).hexdigest()
    return f"magnet:?xt=urn:btih:{digest}&dn={name}"


@dataclass
class Process:
    name: str
    popen: subprocess.Popen[bytes]
    server: LiveServer


def queue_titles(server: LiveServer) -> list[str]:
    with httpx.Client(base_url=server.url, headers={"X-Api-Key": server.api_key},
                      timeout=15, trust_env=False) as http:
        page = http.get("/api/v3/queue", params={"pageSize": 1000,
                                                 "includeUnknownMovieItems": "true"})
        assert page.status_code == 200, page.text
        return [record["title"] for record in page.json()["records"]]


def stop_if_running(process: subprocess.Popen[bytes], exits: list[int | None]) -> None:
    if process.poll() is None:  # the killed leader is not stopped again
        stop(process, exits)


@pytest.fixture
def fake() -> Iterator[ThreadedBotApi]:
    with ThreadedBotApi(TOKEN) as threaded:
        yield threaded


@pytest.fixture
def database() -> Iterator[str]:
    """A fresh Postgres database (as tests/e2e/test_replica_events.py's cluster), its URL."""
    name = f"queuarr_tg2_{uuid.uuid4().hex[:12]}"
    try:
        _admin(f'CREATE DATABASE "{name}"')
    except Exception as exc:  # any reason the server cannot be used
        postgres_unavailable(f"{type(exc).__name__}: {exc}")
    try:
        yield async_url(POSTGRES_URL).set(database=name).render_as_string(
            hide_password=False)
    finally:
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_one_of_two_processes_polls_each_update_is_handled_once_and_a_standby_takes_over(
        fake: ThreadedBotApi, database: str, tmp_path: Path) -> None:
    shared = {"QUEUARR_DATABASE_URL": database, "QUEUARR_TELEGRAM_TOKEN": TOKEN,
              "QUEUARR_TELEGRAM_ALLOWED_USERS": str(USER)}
    processes: dict[str, Process] = {}
    exits: list[int | None] = []
    with contextlib.ExitStack() as stack:
        for name, args in (("a", ()), ("b", ("--no-migrate",))):  # a migrates the database
            (tmp_path / name).mkdir()
            popen, server = start_server(
                tmp_path / name,
                {**shared, "QUEUARR_TELEGRAM_API_URL": fake.api.url_for(name)}, args)
            processes[name] = Process(name, popen, server)
            stack.callback(stop_if_running, popen, exits)

        def logs() -> str:
            return "\n".join(f"--- {p.name}'s log ---\n{_tail(p.server.log)}"
                             for p in processes.values())

        def at_least(count: int) -> list[Call] | None:
            answers = fake.answers(USER)
            return answers if len(answers) >= count else None

        def answered(count: int) -> list[Call]:
            try:
                found: list[Call] = wait_for(lambda: at_least(count), TAKEOVER,
                                             f"{count} answers")
                return found
            except Exception as exc:
                raise AssertionError(f"{exc}; calls: {Counter(c.method for c in fake.calls())}"
                                     f"\n{logs()}") from None

        # Exactly one process polls: whichever took the processor's lock.
        wait_for(lambda: fake.polls(), TAKEOVER, "a process to poll")
        for number in range(BEFORE):
            fake.push(USER, f"number {number}: {magnet(f'Before.{number}.2024.1080p')}")
        first = answered(BEFORE)
        polls = fake.polls()
        assert len(polls) == 1, f"getUpdates came from {dict(polls)}\n{logs()}"
        leader_name = next(iter(polls))
        leader, standby = processes[leader_name], processes[
            "b" if leader_name == "a" else "a"]
        assert {c.via for c in fake.calls()} == {leader.name}, (
            "the standby called the Bot API", Counter((c.via, c.method) for c in fake.calls()))
        # Each update was handed out once and answered once, with one item each.
        served = fake.call(lambda: list(fake.api.served))
        assert sorted(served) == list(range(1, BEFORE + 1)), served
        assert len(first) == BEFORE and all(c.text and c.text.startswith("✅ Queued #")
                                            for c in first), [c.text for c in first]
        assert len({c.text for c in first}) == BEFORE
        titles = queue_titles(standby.server)
        assert sorted(titles) == sorted(f"Before.{n}.2024.1080p" for n in range(BEFORE))

        # The leader dies without a word; the standby takes over and handles what comes.
        leader.popen.kill()
        leader.popen.wait(timeout=10)
        for number in range(AFTER):
            fake.push(USER, f"late {number}: {magnet(f'After.{number}.2024.1080p')}")
        everything = answered(BEFORE + AFTER)
        late = everything[BEFORE:]
        assert {c.via for c in late} == {standby.name}, [(c.via, c.text) for c in late]
        assert all(c.text and c.text.startswith("✅ Queued #") for c in late), (
            [c.text for c in late])
        assert fake.polls()[standby.name] > 0
        titles = queue_titles(standby.server)
        assert Counter(titles) == Counter(
            [f"Before.{n}.2024.1080p" for n in range(BEFORE)]
            + [f"After.{n}.2024.1080p" for n in range(AFTER)]), titles
        # Once more to be sure nothing was answered twice (late duplicates): a witness
        # update, answered after everything before it (updates are handled in order).
        fake.push(USER, f"witness {magnet('Witness.2024')}")
        final = answered(BEFORE + AFTER + 1)
        assert len(final) == BEFORE + AFTER + 1, [c.text for c in final]
        assert final[-1].text is not None and "Witness.2024" in final[-1].text
    assert exits == [0], f"the standby's exit code on SIGTERM: {exits}"
