"""The `queuarr` command: `serve` (migrate, then run the API and the processor),
`worker` (the processor alone) and `migrate`."""

from __future__ import annotations

import argparse
import logging
import signal
import sys

from api.logging import configure_logging
from infrastructure.private_files import private_dir
from infrastructure.settings import Settings

log = logging.getLogger("queuarr")


def _migrate(settings: Settings) -> None:
    from infrastructure.migrate import upgrade

    private_dir(settings.data_dir)
    upgrade(settings.database)
    log.info("Database schema is up to date")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="queuarr", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="apply migrations, then serve the API")
    serve.add_argument("--host", help="address to bind (default QUEUARR_HOST, 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default QUEUARR_PORT, 7878)")
    serve.add_argument("--no-migrate", action="store_true", help="do not apply migrations")
    serve.add_argument("--no-processor", action="store_true",
                       help="serve the API only; another process (`queuarr worker`) sends "
                            "and follows the downloads")
    worker = commands.add_parser("worker", help="run the processor without the API")
    worker.add_argument("--no-migrate", action="store_true", help="do not apply migrations")
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

    if not args.no_migrate:
        _migrate(settings)
    if args.command == "worker":
        return _worker(settings)

    from api.app import create_app
    from api.server import serve

    # uvicorn shuts down gracefully on SIGTERM/SIGINT, then raises the signal again
    # under the handler that was there before it; with these, a graceful stop exits 0.
    for stop_signal in (signal.SIGTERM, signal.SIGINT):
        signal.signal(stop_signal, lambda *_: None)
    return serve(create_app(settings, processor=not args.no_processor),
                 host=args.host or settings.host, port=args.port or settings.port,
                 access_log=settings.log_level == "DEBUG")


def _worker(settings: Settings) -> int:
    """The processor alone, until SIGTERM or SIGINT."""
    import asyncio

    from infrastructure.bootstrap import build

    async def run() -> None:
        container = build(settings)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for stop_signal in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(stop_signal, stop.set)
        await container.start()
        log.info("Queuarr worker running (processor %s)",
                 container.processor.owner if container.processor else "?")
        try:
            await stop.wait()
        finally:
            await container.aclose()
        log.info("Queuarr worker stopped")

    asyncio.run(run())
    return 0


if __name__ == "__main__":
    sys.exit(main())
