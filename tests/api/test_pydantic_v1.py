"""FastAPI's pydantic.v1 check runs without importing pydantic.v1 (api/pydantic_v1.py,
issue 18: start-up), and still refuses a pydantic.v1 model once one can exist.

Whether pydantic.v1 gets imported is a fact about a whole process, so the first half
runs in a fresh interpreter; the second imports pydantic.v1 here, as a user's v1 model
would."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import PydanticV1NotSupportedError
from fastapi.routing import APIRoute

from api.app import create_app
from api.pydantic_v1 import skip_v1_import

ROOT = Path(__file__).resolve().parents[2]
REFUSED = r"pydantic\.v1 models are no longer supported"

EVERY_ROUTE_BUILT = """
import json, sys
from fastapi.encoders import jsonable_encoder
from api.app import create_app
from api.deferred_route import DeferredRoute

app = create_app()
routes = [r for r in app.routes if isinstance(r, DeferredRoute)]
for route in routes:
    route.dependant  # builds it: every body, parameter and response field
app.openapi()

class Pairs:  # not a type jsonable_encoder knows: it asks whether it is a v1 model
    def __iter__(self):
        return iter([("a", 1)])

print(json.dumps({"routes": len(routes), "built": sum(r.built for r in routes),
                  "encoded": jsonable_encoder(Pairs()),
                  "v1": "pydantic.v1" in sys.modules}))
"""


def test_no_route_and_no_encoding_imports_pydantic_v1() -> None:
    done = subprocess.run([sys.executable, "-c", EVERY_ROUTE_BUILT], cwd=ROOT,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.splitlines()[-1])
    assert seen["routes"] > 100 and seen["built"] == seen["routes"]
    assert seen["encoded"] == {"a": 1}
    assert seen["v1"] is False


def _v1_model() -> type:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from pydantic import v1
    return type("OldStyle", (v1.BaseModel,), {"__annotations__": {"name": str}})


def test_a_pydantic_v1_model_is_still_refused() -> None:
    create_app()
    skip_v1_import()  # idempotent: wrapped once
    OldStyle = _v1_model()

    async def endpoint(body):  # type: ignore[no-untyped-def]
        return None

    endpoint.__annotations__ = {"body": OldStyle}  # a class, not this module's string

    with pytest.raises(PydanticV1NotSupportedError, match=REFUSED):
        APIRoute("/old", endpoint, methods=["POST"])
    with pytest.raises(PydanticV1NotSupportedError, match=REFUSED):
        jsonable_encoder(OldStyle(name="x"))
    app = FastAPI()
    with pytest.raises(PydanticV1NotSupportedError, match=REFUSED):
        app.post("/old", response_model=OldStyle)(endpoint)
