"""The log's formats and file (api.logging.configure_logging): JSON lines that parse and
carry time, level, logger, message and exception, with secrets masked as in text lines; a
log file rotated by size, owner-only; the settings that choose them; and the scheduler's
per-pass lines kept out of an INFO log."""

from __future__ import annotations

import asyncio
import io
import logging
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest
from pydantic import ValidationError

from api.logging import (
    DEFAULT_FILE_BACKUPS,
    DEFAULT_FILE_MAX,
    QUIET,
    JsonFormatter,
    configure_logging,
)
from infrastructure.settings import Settings

KEY = "0123456789abcdef0123456789abcdef"
PASSWORD = "pa,ss;wo rd"
TOKEN = "eyJhbGciOiJIUzI1NiJ9.c2VjcmV0.dG9rZW4"
log = logging.getLogger("queuarr.test")


@contextmanager
def logging_to(*, level: str = "INFO", log_format: str = "text", file: Path | None = None,
               file_max: int = DEFAULT_FILE_MAX, file_backups: int = DEFAULT_FILE_BACKUPS
               ) -> Iterator[io.StringIO]:
    """The real set-up, its stderr handler writing into the buffer yielded; the root logger
    put back as it was afterwards."""
    root = logging.getLogger()
    handlers, old_level = root.handlers[:], root.level
    quiet = [logging.getLogger(name) for name in QUIET]
    saved = [(logger.level, logger.filters[:]) for logger in quiet]
    configure_logging(level, log_format, file, file_max, file_backups)  # type: ignore[arg-type]
    buffer = io.StringIO()
    stream = root.handlers[0]
    assert isinstance(stream, logging.StreamHandler)
    stream.setStream(buffer)
    try:
        yield buffer
    finally:
        for handler in root.handlers[1:]:
            handler.close()
        root.handlers[:] = handlers
        root.setLevel(old_level)
        for logger, (level_was, filters) in zip(quiet, saved, strict=True):
            logger.setLevel(level_was)
            logger.filters[:] = filters


def json_lines(buffer: io.StringIO) -> list[dict[str, str]]:
    return [orjson.loads(line) for line in buffer.getvalue().splitlines()]


def test_a_json_line_parses_and_carries_time_level_logger_and_message() -> None:
    before = datetime.now(UTC)
    with logging_to(log_format="json") as buffer:
        log.warning("Item %d failed: %s", 7, "disk full")
    (entry,) = json_lines(buffer)
    assert set(entry) == {"time", "level", "logger", "message"}
    assert (entry["level"], entry["logger"], entry["message"]) == (
        "WARNING", "queuarr.test", "Item 7 failed: disk full")
    assert entry["time"].endswith("Z")
    when = datetime.fromisoformat(entry["time"])
    assert when.utcoffset() == timedelta(0)
    assert when >= before.replace(microsecond=before.microsecond // 1000 * 1000)


def test_a_traceback_goes_into_the_exception_field() -> None:
    with logging_to(log_format="json") as buffer:
        try:
            raise ValueError("bad value")
        except ValueError:
            log.exception("the pass failed")
    (entry,) = json_lines(buffer)
    assert entry["message"] == "the pass failed"
    assert entry["exception"].startswith("Traceback (most recent call last):")
    assert entry["exception"].endswith("ValueError: bad value")


SECRETS = [
    (f"GET /api/v3/queue?apikey={KEY}&page=2", KEY),
    (f"{{'X-Api-Key': '{KEY}'}}", KEY),
    (f'{{"password": "{PASSWORD}", "host": "qbit"}}', "pa,ss"),
    ('{"password":"a\\"b,c;d","host":"qbit"}', "b,c;d"),
    (f"Authorization: Bearer {TOKEN}", TOKEN),
    (f"login to http://admin:{PASSWORD.replace(' ', '')}@qbit:8080/", "pa,ss"),
]


@pytest.mark.parametrize(("message", "secret"), SECRETS)
def test_a_secret_in_a_message_is_masked_in_json_as_in_text(message: str, secret: str) -> None:
    with logging_to() as text:
        log.info("%s", message)
    with logging_to(log_format="json") as buffer:
        log.info("%s", message)
    (entry,) = json_lines(buffer)
    assert secret not in buffer.getvalue() and secret not in text.getvalue()
    assert "<redacted>" in entry["message"]
    assert text.getvalue().rstrip("\n").endswith(f"queuarr.test: {entry['message']}")


@pytest.mark.parametrize(("message", "secret"), SECRETS)
def test_a_secret_in_a_traceback_is_masked_in_json_as_in_text(message: str, secret: str
                                                             ) -> None:
    def fail() -> None:
        try:
            raise RuntimeError(message)
        except RuntimeError:
            log.exception("the job failed")

    with logging_to() as text:
        fail()
    with logging_to(log_format="json") as buffer:
        fail()
    (entry,) = json_lines(buffer)
    assert secret not in buffer.getvalue() and secret not in text.getvalue()
    last = entry["exception"].splitlines()[-1]
    assert last.startswith("RuntimeError: ") and "<redacted>" in last
    assert text.getvalue().rstrip("\n").splitlines()[-1] == last


def test_the_json_formatter_masks_on_its_own_without_the_filter() -> None:
    # Another handler, or a record that skipped the Redact filter: the formatter masks.
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "token=%s", (KEY,), None)
    line = JsonFormatter().format(record)
    assert KEY not in line
    assert orjson.loads(line)["message"] == "token=<redacted>"


def test_the_log_file_gets_the_lines_too_and_is_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "logs" / "queuarr.log"
    old = os.umask(0o022)
    try:
        with logging_to(log_format="json", file=path) as buffer:
            log.info("Grabbed %r as item %d, apikey=%s", "Movie", 1, KEY)
    finally:
        os.umask(old)
    assert buffer.getvalue() == path.read_text()  # also, not instead
    assert orjson.loads(path.read_text())["message"] == (
        "Grabbed 'Movie' as item 1, apikey=<redacted>")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_log_file_left_looser_is_made_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "queuarr.log"
    path.write_text("an earlier run\n")
    path.chmod(0o644)
    with logging_to(file=path):
        log.info("started")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text().startswith("an earlier run\n")


def test_the_log_file_rotates_by_size_and_keeps_at_most_n_backups(tmp_path: Path) -> None:
    path = tmp_path / "queuarr.log"
    old = os.umask(0o022)
    try:
        with logging_to(file=path, file_max=300, file_backups=3):
            for n in range(60):
                log.info("line %03d of the rotation test", n)
    finally:
        os.umask(old)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["queuarr.log", "queuarr.log.1", "queuarr.log.2", "queuarr.log.3"]
    for name in names:
        file = tmp_path / name
        assert file.stat().st_size <= 300
        assert stat.S_IMODE(file.stat().st_mode) == 0o600, name
    assert "line 059" in path.read_text()  # the newest lines are in the live file
    assert "line 000" not in "".join((tmp_path / n).read_text() for n in names)


@pytest.fixture
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.upper().startswith("QUEUARR_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


@pytest.mark.usefixtures("clean_environment")
def test_the_log_settings_default_to_text_on_stderr_only() -> None:
    settings = Settings()
    assert (settings.log_format, settings.log_file, settings.log_file_max,
            settings.log_file_backups) == ("text", None, 10_000_000, 5)


@pytest.mark.usefixtures("clean_environment")
@pytest.mark.parametrize(("value", "size"), [
    ("10MB", 10_000_000), ("5MiB", 5 * 1024**2), ("2048", 2048), ("1.5 GB", 1_500_000_000),
    ("", 10_000_000),
])
def test_the_log_file_size_is_bytes_or_a_size(monkeypatch: pytest.MonkeyPatch, value: str,
                                              size: int) -> None:
    monkeypatch.setenv("QUEUARR_LOG_FILE_MAX", value)
    monkeypatch.setenv("QUEUARR_LOG_FILE_BACKUPS", "2")
    monkeypatch.setenv("QUEUARR_LOG_FILE", "/var/log/queuarr/queuarr.log")
    monkeypatch.setenv("QUEUARR_LOG_FORMAT", "JSON")
    settings = Settings()
    assert settings.log_file_max == size
    assert (settings.log_file_backups, settings.log_file, settings.log_format) == (
        2, Path("/var/log/queuarr/queuarr.log"), "json")


@pytest.mark.usefixtures("clean_environment")
@pytest.mark.parametrize(("name", "value"), [
    ("QUEUARR_LOG_FORMAT", "xml"), ("QUEUARR_LOG_FILE_MAX", "lots"),
    ("QUEUARR_LOG_FILE_MAX", "10"), ("QUEUARR_LOG_FILE_BACKUPS", "-1"),
])
def test_bad_log_settings_are_refused(monkeypatch: pytest.MonkeyPatch, name: str,
                                      value: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError):
        Settings()


def scheduler_lines(level: str) -> str:
    executor = logging.getLogger("apscheduler.executors.default")
    scheduler = logging.getLogger("apscheduler.scheduler")
    with logging_to(level=level) as buffer:
        executor.info('Job "%s" executed successfully', "sync")
        scheduler.warning('Execution of job "%s" skipped: maximum number of running '
                          "instances reached (%d)", "sync", 1)
        scheduler.info('Added job "%s" to job store "%s"', "sync", "default")
        executor.error('Job "%s" raised an exception', "dispatch")
        scheduler.warning("Error getting due jobs from job store %r: %s", "default", "gone")
    return buffer.getvalue()


def test_at_info_the_scheduler_logs_only_what_went_wrong() -> None:
    lines = scheduler_lines("INFO").splitlines()
    assert [line.split(" ", 2)[2] for line in lines] == [
        'ERROR apscheduler.executors.default: Job "dispatch" raised an exception',
        "WARNING apscheduler.scheduler: Error getting due jobs from job store 'default': "
        "gone",
    ]


def test_at_debug_a_skipped_overlapping_pass_is_a_debug_line() -> None:
    lines = [line.split(" ", 2)[2] for line in scheduler_lines("DEBUG").splitlines()]
    assert 'DEBUG apscheduler.scheduler: Execution of job "sync" skipped: maximum number ' \
           "of running instances reached (1)" in lines
    assert 'INFO apscheduler.executors.default: Job "sync" executed successfully' in lines
    assert len(lines) == 5


async def test_every_scheduler_job_is_named_for_what_it_does() -> None:
    from core.processor import Processor
    from infrastructure.clock import SystemClock
    from infrastructure.memory import MemoryQueueRepository
    from infrastructure.scheduler import JOB_NAMES, ProcessorRunner
    from tests.fakes import FakeClients, FakeDownloadClient

    clock = SystemClock()
    processor = Processor(MemoryQueueRepository(clock), FakeClients(FakeDownloadClient("a")),
                          clock, "t")
    runner = ProcessorRunner(processor, sync_interval=60, dispatch_interval=60)
    runner.start()
    try:
        await asyncio.sleep(0)
        jobs = {job.id: job.name for job in runner.scheduler.get_jobs()}
    finally:
        runner.shutdown()
    assert jobs == JOB_NAMES
    assert all("<locals>" not in name for name in jobs.values())
