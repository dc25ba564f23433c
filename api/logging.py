"""Logging set-up: text or JSON lines on stderr, optionally also a rotating file; API keys
and other secrets are redacted from every line, whatever the format; the scheduler's
per-pass chatter stays out of an INFO log."""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime
from io import TextIOWrapper
from logging.handlers import RotatingFileHandler
from pathlib import Path
from typing import Literal

import orjson

from infrastructure.redact import Redact, RedactingFormatter, redact

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
LogFormat = Literal["text", "json"]
DEFAULT_FILE_MAX = 10 * 1000**2  # "10MB", as QUEUARR_LOG_FILE_MAX parses it
DEFAULT_FILE_BACKUPS = 5
# Every pass logs "executed successfully" (INFO) here; a failing job is logged at ERROR.
QUIET = ("apscheduler.executors", "apscheduler.scheduler")
SKIPPED_PASS = "maximum number of running instances reached"


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time (ISO-8601 UTC), level, logger, message and, when
    there is one, the traceback as `exception`. Each text value goes through `redact()`
    as a text line does; the serialised line is not redacted again, because a mask
    dropped across an escaped quote would leave a line that no longer parses."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, str] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        exception = "\n".join(text for text in (record.exc_text, record.stack_info) if text)
        if exception:
            entry["exception"] = redact(exception)
        return orjson.dumps(entry).decode()


class PrivateRotatingFileHandler(RotatingFileHandler):
    """A RotatingFileHandler whose files are the owner's alone (0600, whatever the umask):
    a log holds item titles, paths and client names."""

    def _open(self) -> TextIOWrapper:
        path = Path(self.baseFilename)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.fchmod(descriptor, 0o600)  # a file left looser by an earlier run, or by hand
        return open(descriptor, "a", encoding=self.encoding or "utf-8",
                    errors=self.errors)


class Demote(logging.Filter):
    """Rewrites records whose message contains `fragment` to DEBUG (and drops them when
    their logger does not log DEBUG): APScheduler's "skipped: maximum number of running
    instances reached" is a slow pass overlapping the next one, normal running."""

    def __init__(self, fragment: str) -> None:
        super().__init__()
        self.fragment = fragment

    def filter(self, record: logging.LogRecord) -> bool:
        if self.fragment not in str(record.msg):
            return True
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)


def configure_logging(level: str, log_format: LogFormat = "text", file: Path | None = None,
                      file_max: int = DEFAULT_FILE_MAX,
                      file_backups: int = DEFAULT_FILE_BACKUPS) -> None:
    """Handlers on the root logger: stderr, and `file` (rotated at `file_max` bytes,
    `file_backups` kept) when given. The first one's filter masks secrets in each record
    (message and traceback), for every handler after it; each formatter masks the whole
    line too, whatever the record still holds."""
    formatter: logging.Formatter = (
        JsonFormatter() if log_format == "json" else RedactingFormatter(FORMAT))
    handlers: list[logging.Handler] = [logging.StreamHandler()]
    if file is not None:
        file.parent.mkdir(parents=True, exist_ok=True)
        handlers.append(PrivateRotatingFileHandler(
            file, maxBytes=file_max, backupCount=file_backups, encoding="utf-8"))
    for handler in handlers:
        handler.setFormatter(formatter)
    handlers[0].addFilter(Redact())
    root = logging.getLogger()
    root.handlers[:] = handlers
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    # aiosqlite's DEBUG lines show every statement with its bound parameters.
    logging.getLogger("aiosqlite").setLevel(logging.INFO)
    _quiet_scheduler(root.getEffectiveLevel())


def _quiet_scheduler(level: int) -> None:
    """At INFO and above an idle server writes nothing: APScheduler logs at WARNING
    and above only, and a skipped overlapping pass is DEBUG. At DEBUG it says it all."""
    for name in QUIET:
        logger = logging.getLogger(name)
        logger.setLevel(logging.NOTSET if level <= logging.DEBUG else logging.WARNING)
        logger.filters[:] = [f for f in logger.filters if not isinstance(f, Demote)]
    logging.getLogger("apscheduler.scheduler").addFilter(Demote(SKIPPED_PASS))
