"""The query-parameter names the routes declare, which RadarrEdge needs to fold a key's
case (`PageSize=` is `pageSize=`). Read from the routes' dependants rather than from the
OpenAPI document: building the document on the first request with a query string cost
that request its time and the process ~6.6 MiB that stayed (issue 18).
tests/api/test_query_names.py checks that both give the same names."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from fastapi import FastAPI, routing
from fastapi.dependencies.models import Dependant
from pydantic import BaseModel


def query_names(app: FastAPI) -> frozenset[str]:
    """Every query parameter's name as a client sends it (its alias), from every route
    with dependencies, sub-dependencies included."""
    names: set[str] = set()
    for dependant in _dependants(_routes(app)):
        for field in dependant.query_params:
            model = field.field_info.annotation
            if isinstance(model, type) and issubclass(model, BaseModel):  # a Query model
                names.update(f.alias or name for name, f in model.model_fields.items())
            else:
                names.add(field.alias)
    return frozenset(names)


def _routes(app: FastAPI) -> Iterable[Any]:
    # Recent FastAPI keeps included routers as such and resolves their routes (with the
    # router's dependencies) in contexts; older versions list the routes themselves.
    contexts = getattr(routing, "iter_route_contexts", None)
    return contexts(app.routes) if contexts is not None else app.routes


def _dependants(routes: Iterable[Any]) -> Iterator[Dependant]:
    for route in routes:
        dependant = getattr(route, "dependant", None)  # none on a plain Starlette route
        stack = [dependant] if isinstance(dependant, Dependant) else []
        while stack:
            current = stack.pop()
            yield current
            stack.extend(current.dependencies)
