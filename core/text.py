"""Text that is going to be stored. Postgres refuses NUL (U+0000) in a text column, while
SQLite and memory keep it: core refuses it first, before any write, so every store
answers the same 400 and nothing is half-written."""

from __future__ import annotations

from core.errors import BadRequest

NUL = "\x00"


def refuse_nul(what: str, *values: str | None, error: type[BadRequest] = BadRequest
               ) -> None:
    """`error` (a 400) when any of `values`, named `what` in the message, holds a NUL."""
    for value in values:
        if value is not None and NUL in value:
            raise error(f"{what} must not contain NUL characters (\\u0000)")
