"""The `queuarr` command: `serve` (migrate, then run the API) and `migrate`."""

from __future__ import annotations

import argparse
import logging
import signal
import sys

from api.logging import configure_logging
from infrastructure.settings import Settings

log = logging.getLogger("queuarr")


def _migrate(settings: Settings) -> None:
    from infrastructure.migrate import upgrade

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.database)
    log.info("Database schema is up to date")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="queuarr", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="apply migrations, then serve the API")
    serve.add_argument("--host", help="address to bind (default QUEUARR_HOST, 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default QUEUARR_PORT, 7878)")
    serve.add_argument("--no-migrate", action="store_true", help="do not apply migrations")
    commands.add_parser("migrate", help="apply database migrations and exit")
    args = parser.parse_args(argv)

    try:
        settings = Settings()
    except Exception as exc:  # pydantic's message names the bad variable
        print(f"queuarr: invalid settings: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level)
    if args.command == "migrate":
        _migrate(settings)
        return 0

    import uvicorn

    from api.app import create_app

    if not args.no_migrate:
        _migrate(settings)
    # uvicorn shuts down gracefully on SIGTERM/SIGINT, then raises the signal again
    # under the handler that was there before it; with these, a graceful stop exits 0.
    for stop_signal in (signal.SIGTERM, signal.SIGINT):
        signal.signal(stop_signal, lambda *_: None)
    uvicorn.run(
        create_app(settings),
        host=args.host or settings.host,
        port=args.port or settings.port,
        log_config=None,
        access_log=settings.log_level == "DEBUG",
        proxy_headers=False,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
