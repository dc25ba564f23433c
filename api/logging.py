"""Logging set-up: API keys and other secrets are redacted from every log line."""

from __future__ import annotations

import logging

from infrastructure.redact import Redact, RedactingFormatter

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure_logging(level: str) -> None:
    """One handler on the root logger. Its filter masks secrets in each record (message
    and traceback), for this handler and any after it; its formatter masks the whole
    line, whatever the record still holds."""
    handler = logging.StreamHandler()
    handler.setFormatter(RedactingFormatter(FORMAT))
    handler.addFilter(Redact())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    # aiosqlite's DEBUG lines show every statement with its bound parameters.
    logging.getLogger("aiosqlite").setLevel(logging.INFO)
