"""A logging filter that masks secrets: group 1 of the pattern is kept, what follows it
in the match becomes <redacted>."""

from __future__ import annotations

import logging
import re


class Redact(logging.Filter):
    def __init__(self, pattern: re.Pattern[str]) -> None:
        super().__init__()
        self.pattern = pattern

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = self.pattern.sub(r"\1<redacted>", message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True
