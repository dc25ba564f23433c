"""The release parser and the pattern compiler, loaded when first used.

parsett (with arrow and dateutil under it), its ~430 handlers and the `regex` module cost
a server that is never handed a release title tens of milliseconds at start and several
MiB for as long as it runs; these stand-ins import them at the first title parsed or the
first custom format compiled."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from core.release import ParsedRelease

if TYPE_CHECKING:
    from infrastructure.release.parser import PttParser
    from infrastructure.release.patterns import RegexPatterns


class LazyParser:
    """core.ports.ReleaseParser: a PttParser built at the first parse (parses run on
    worker threads, hence the lock)."""

    def __init__(self) -> None:
        self._parser: PttParser | None = None
        self._lock = threading.Lock()

    def parse(self, title: str) -> ParsedRelease:
        return self.loaded().parse(title)

    def loaded(self) -> PttParser:
        if self._parser is None:
            with self._lock:
                if self._parser is None:
                    from infrastructure.release.parser import PttParser

                    self._parser = PttParser()
        return self._parser


class LazyPatterns:
    """core.formats.PatternCompiler: RegexPatterns, imported at the first compile."""

    def __init__(self) -> None:
        self._patterns: RegexPatterns | None = None
        self._lock = threading.Lock()

    def compile(self, pattern: str) -> Callable[[str], bool]:
        return self.loaded().compile(pattern)

    def loaded(self) -> RegexPatterns:
        if self._patterns is None:
            with self._lock:
                if self._patterns is None:
                    from infrastructure.release.patterns import RegexPatterns

                    self._patterns = RegexPatterns()
        return self._patterns
