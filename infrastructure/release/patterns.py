"""Custom-format patterns compiled with the `regex` module: case-insensitive like
Radarr's, variable-width look-behinds allowed (TRaSH's BR-DISK format needs them), and a
time limit on every match so that a pathological pattern cannot stall scoring."""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import lru_cache

import regex

log = logging.getLogger(__name__)

MATCH_TIMEOUT = 0.05  # seconds per match


class RegexPatterns:
    """core.formats.PatternCompiler over `regex` (V0 syntax, IGNORECASE)."""

    def __init__(self, timeout: float = MATCH_TIMEOUT) -> None:
        self.timeout = timeout
        self.timeouts = 0  # matches that ran out of time (counted as no match)

    def compile(self, pattern: str) -> Callable[[str], bool]:
        compiled = _compile(pattern)
        timeout = self.timeout

        def matches(text: str) -> bool:
            try:
                return compiled.search(text, timeout=timeout) is not None
            except TimeoutError:
                self.timeouts += 1
                log.warning("Pattern %r ran out of time on %r; counted as no match",
                            pattern, text[:200])
                return False

        return matches


@lru_cache(maxsize=4096)
def _compile(pattern: str) -> regex.Pattern[str]:
    try:
        return regex.compile(pattern, regex.IGNORECASE | regex.V0)
    except regex.error as exc:
        raise ValueError(str(exc)) from None
