"""Logging set-up: API keys and other secrets are redacted from every log line."""

from __future__ import annotations

import logging
import re

SECRET = re.compile(
    r"(?i)((?:api_?key|x-api-key|apikey|token|passkey|password|secret)[\"']?\s*[=:]\s*[\"']?)"
    r"[^&\s\"',;]+"
)


class RedactSecrets(logging.Filter):
    """Masks key=value secrets (apikey=..., token:..., passkey=...) in log records."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = SECRET.sub(r"\1<redacted>", message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


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
