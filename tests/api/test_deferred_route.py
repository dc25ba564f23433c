"""Routes are built when first reached (api/deferred_route.py, issue 18: start-up), and
each is then the very route FastAPI's APIRoute builds from the same declaration.

The routes live at module level, so other tests in this process may have built them
already: what happens from a fresh start is checked in a fresh interpreter."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from fastapi import APIRouter, routing
from fastapi.routing import APIRoute
from starlette.responses import Response

from api import deferred_route
from api.app import create_app
from api.deferred_route import DeferredRoute
from api.schemas import Message

ROOT = Path(__file__).resolve().parents[2]

FRESH_START = """
import json
from api.app import create_app
from api.deferred_route import DeferredRoute

app = create_app()
deferred = [r for r in app.routes if isinstance(r, DeferredRoute)]
after_create = sum(r.built for r in deferred)
reached = 0
for route in app.routes:  # how Starlette's router finds GET /ping
    reached += isinstance(route, DeferredRoute)
    match, _ = route.matches({"type": "http", "path": "/ping", "method": "GET"})
    if match.name == "FULL":
        break
after_ping = sum(r.built for r in deferred)
print(json.dumps({"routes": len(deferred), "after_create": after_create,
                  "reached": reached, "after_ping": after_ping}))
"""

TWINS = """
import json
from fastapi.routing import APIRoute
from api.app import create_app
from api.deferred_route import DeferredRoute

def shape(route):
    d = route.dependant
    return [route.path, route.name, sorted(route.methods), route.unique_id,
            route.status_code, repr(route.response_model), repr(route.response_class),
            route.include_in_schema, route.summary, route.description, route.tags,
            sorted(map(str, route.responses)), repr(route.response_field and
                                                     route.response_field.field_info),
            repr(route.body_field and route.body_field.field_info),
            [[p.alias for p in ps] for ps in (d.path_params, d.query_params,
                                              d.header_params, d.cookie_params,
                                              d.body_params)],
            len(d.dependencies)]

out = []
for route in create_app().routes:
    if isinstance(route, DeferredRoute):
        path, endpoint, options = route.__dict__["_declared"]
        out.append([shape(APIRoute(path, endpoint, **options)), shape(route)])
print(json.dumps(out))
"""


def _fresh(code: str) -> Any:
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


def test_no_route_is_built_at_start_and_a_request_builds_the_routes_it_reaches() -> None:
    seen = _fresh(FRESH_START)
    assert seen["routes"] > 100
    assert seen["after_create"] == 0
    assert 1 <= seen["reached"] < 5  # /ping is among the first routes
    assert seen["after_ping"] == seen["reached"]


def test_every_route_builds_as_fastapis_own_apiroute_would() -> None:
    pairs = _fresh(TWINS)
    assert len(pairs) > 100
    for plain, deferred in pairs:
        assert deferred == plain, plain[0]


def test_the_app_holds_every_route_itself_and_each_is_deferred() -> None:
    app = create_app()
    api_routes = [r for r in app.routes if isinstance(r, APIRoute)]
    ours = [r for r in api_routes if r.endpoint.__module__.startswith("api.routers.")]
    assert len(ours) > 100
    assert all(isinstance(r, DeferredRoute) for r in ours)  # /docs and /redoc are not
    # No router kept for include_router to build the routes a second time from.
    assert not [r for r in app.routes if type(r).__name__ == "_IncludedRouter"]
    assert len({(r.path, m) for r in api_routes for m in r.methods}) == sum(
        len(r.methods) for r in api_routes)  # nothing declared twice


def test_a_route_built_by_several_threads_at_once_is_built_once(
        monkeypatch: pytest.MonkeyPatch) -> None:
    router = APIRouter(route_class=DeferredRoute)

    @router.get("/thing/{id}", response_model=Message)
    async def thing(id: int) -> Response:
        return Response()

    (route,) = router.routes
    assert isinstance(route, DeferredRoute) and not route.built
    builds = []

    class SlowAPIRoute(APIRoute):
        def __init__(self, *args: Any, **options: Any) -> None:  # never instantiated
            raise AssertionError

    def slow_init(self: APIRoute, *args: Any, **options: Any) -> None:
        builds.append(threading.get_ident())
        time.sleep(0.2)  # the others ask while this one builds
        APIRoute.__init__(self, *args, **options)

    SlowAPIRoute.__init__ = slow_init  # type: ignore[method-assign]
    monkeypatch.setattr(deferred_route, "APIRoute", SlowAPIRoute)
    start = threading.Barrier(6)
    seen: list[Any] = []

    def read() -> None:
        start.wait()
        try:
            seen.append(route.dependant)
        except Exception as exc:  # any failure fails the test below
            seen.append(exc)

    threads = [threading.Thread(target=read) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert len(builds) == 1
    assert len(seen) == 6 and all(s is seen[0] for s in seen), seen
    assert [p.name for p in seen[0].path_params] == ["id"]
    assert route.built and route.response_model is Message
    # A missing attribute is still missing, not a second build.
    with pytest.raises(AttributeError):
        route.no_such_attribute  # noqa: B018
    assert len(builds) == 1
    assert isinstance(route, routing.APIRoute)
