"""An APIRoute that is built when something first looks at it (issue 18: start-up).

FastAPI builds a route's dependant, request-body and response fields (a pydantic
TypeAdapter each) as the route is declared. For Queuarr's ~110 routes that was about a
seventh of the start-up, spent on routes that most runs reach only much later, if ever.

A DeferredRoute keeps what it was declared with and runs APIRoute's own constructor,
unchanged, on the first read of anything but its path and name: the first request that
the router's matching brings to it, the OpenAPI document, a test. Nothing is skipped,
only moved to when it is first needed. A declaration error (an assertion in FastAPI's
constructor) surfaces at that first build: tests/api/test_deferred_route.py builds every
route, and the OpenAPI tests read them all.

api/app.py puts the routes in the app's own list (_mount) rather than through
include_router, which would build each route a second time for its inclusion."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from fastapi.routing import APIRoute
from starlette.routing import get_name

_building = threading.RLock()  # routes are module-level: apps in other threads share them


class DeferredRoute(APIRoute):
    def __init__(self, path: str, endpoint: Callable[..., Any], **options: Any) -> None:
        # Only the path and the name exist before the build; every other read goes
        # through __getattr__, which builds the route first.
        self.__dict__["_declared"] = (path, endpoint, options)
        self.path = path
        self.name = get_name(endpoint) if options.get("name") is None else options["name"]

    def __getattr__(self, name: str) -> Any:
        # Only called for an attribute the instance does not have (yet).
        with _building:
            declared = self.__dict__.pop("_declared", None)
            if declared is not None:
                path, endpoint, options = declared
                APIRoute.__init__(self, path, endpoint, **options)
        # Built now (here, or by another thread while this one waited); an attribute
        # read by APIRoute's constructor before it sets it is missing, as it would be.
        return object.__getattribute__(self, name)

    @property
    def built(self) -> bool:
        return "_declared" not in self.__dict__
