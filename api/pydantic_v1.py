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
from fastapi._compat import shared

V1 = "pydantic.v1"


def _unless_unloaded(check: Callable[[Any], bool]) -> Callable[[Any], bool]:
    def checked(thing: Any) -> bool:
        return V1 in sys.modules and check(thing)

    checked.__wrapped__ = check  # type: ignore[attr-defined]
    return checked


def skip_v1_import() -> None:
    """Put the lazy checks where FastAPI looks them up (idempotent)."""
    if not hasattr(shared.is_pydantic_v1_model_class, "__wrapped__"):
        shared.is_pydantic_v1_model_class = _unless_unloaded(
            shared.is_pydantic_v1_model_class)
    if not hasattr(encoders.is_pydantic_v1_model_instance, "__wrapped__"):
        encoders.is_pydantic_v1_model_instance = _unless_unloaded(
            encoders.is_pydantic_v1_model_instance)
