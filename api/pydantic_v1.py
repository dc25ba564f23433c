"""FastAPI's pydantic.v1 check without importing pydantic.v1 (issue 18: start-up).

FastAPI refuses pydantic.v1 models. To find one it asks, for every field it creates and
every object jsonable_encoder cannot place, whether the thing is a pydantic.v1 model,
and to ask it imports pydantic.v1: some 20 ms on the first request, the largest part of
it, in a process that holds no pydantic.v1 model. No class or instance can be one while
pydantic.v1 has not been imported, so until it has been the answer is no without the
import; once anything has imported it, FastAPI's own check runs, unchanged.
tests/api/test_pydantic_v1.py holds both halves."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from fastapi import encoders

V1 = "pydantic.v1"


def _unless_unloaded(check: Callable[[Any], bool]) -> Callable[[Any], bool]:
    def checked(thing: Any) -> bool:
        return V1 in sys.modules and check(thing)

    checked.__wrapped__ = check  # type: ignore[attr-defined]
    return checked


def skip_v1_import() -> None:
    """Put the lazy checks where FastAPI looks them up (idempotent). A FastAPI without
    these functions (older, or one that stopped importing pydantic.v1) is left as it
    is."""
    try:
        from fastapi._compat import shared
    except ImportError:  # an older FastAPI (one _compat module): nothing to do
        return
    for module, name in ((shared, "is_pydantic_v1_model_class"),
                         (encoders, "is_pydantic_v1_model_instance")):
        check = getattr(module, name, None)
        if check is not None and not hasattr(check, "__wrapped__"):
            setattr(module, name, _unless_unloaded(check))
