"""/docs (Swagger UI) and /redoc served from the package, so that they render with no
internet: fastapi-offline carries both tools' files and serves /docs; /redoc is ours
because ReDoc 2 shows a logo from cdn.redoc.ly, which its page's Content-Security-Policy
keeps the browser from fetching (the logo hides itself when it does not load)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html
from fastapi_offline import FastAPIOffline
from starlette.responses import HTMLResponse

STATIC = "/static-offline-docs"  # where fastapi-offline mounts its files
# Swagger UI's validator badge is an image from validator.swagger.io: off.
SWAGGER_UI = {"validatorUrl": None}
# Everything from this origin; inline code and blob/data URLs are how ReDoc runs.
POLICY = "default-src 'self' 'unsafe-inline' data: blob:"


def docs_app(**kwargs: Any) -> FastAPI:
    """`FastAPI(**kwargs)` whose /docs and /redoc load nothing from outside."""
    app = FastAPIOffline(docs_url="/docs", redoc_url=None, static_url=STATIC,
                         swagger_ui_parameters=SWAGGER_UI, **kwargs)

    @app.get("/redoc", include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        page = get_redoc_html(openapi_url=f"{root}{app.openapi_url}",
                              title=f"{app.title} - ReDoc",
                              redoc_js_url=f"{root}{STATIC}/redoc.standalone.js",
                              redoc_favicon_url=f"{root}{STATIC}/favicon.png",
                              with_google_fonts=False)
        page.headers["Content-Security-Policy"] = POLICY
        return page

    return app
