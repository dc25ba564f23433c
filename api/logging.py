"""Logging set-up: API keys and other secrets are redacted from every log line."""

from __future__ import annotations

import logging
import re

from infrastructure.redact import Redact

SECRET = re.compile(
    r"(?i)((?:api_?key|x-api-key|apikey|token|passkey|password|secret)[\"']?\s*[=:]\s*[\"']?)"
    r"[^&\s\"',;]+"
)


class RedactSecrets(Redact):
    """Masks key=value secrets (apikey=..., token:..., passkey=...) in log records."""

    def __init__(self) -> None:
        super().__init__(SECRET)


def configure_logging(level: str) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactSecrets())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
