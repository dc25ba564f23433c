"""The real log set-up (api.logging.configure_logging) writing into a buffer, for tests
that look at what would reach the log. pytest's own handlers (caplog's) stay installed
after it, so caplog sees each record as the real handler left it."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from contextlib import contextmanager

from api.logging import configure_logging


@contextmanager
def real_logging(level: str = "DEBUG") -> Iterator[io.StringIO]:
    """Install the real handler (filter and formatter) on the root logger, its output
    going to the buffer yielded; put the root logger back as it was afterwards."""
    root = logging.getLogger()
    handlers, old_level = root.handlers[:], root.level
    configure_logging(level)
    buffer = io.StringIO()
    (handler,) = root.handlers
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(buffer)
    root.handlers[:] = [handler, *handlers]
    try:
        yield buffer
    finally:
        root.handlers[:] = handlers
        root.setLevel(old_level)
