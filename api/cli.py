"""The `queuarr` command: `serve` (migrate, then run the API and the processor),
`worker` (the processor alone), `migrate`, and `backup`/`restore`."""

from __future__ import annotations

import argparse
import gc
import logging
import os
import signal
import sys
from pathlib import Path

from api.logging import configure_logging
from api.version import QUEUARR_VERSION
from infrastructure.private_files import private_dir
from infrastructure.runas import RunAsError, run_as
from infrastructure.settings import Settings

log = logging.getLogger("queuarr")


def _migrate(settings: Settings, apply: bool = True) -> None:
    """Apply migrations (or, with apply=False, only check); a database that a newer
    Queuarr migrated exits with a message saying what to do."""
    from infrastructure.migrate import SchemaTooNew, check_schema, upgrade

    private_dir(settings.data_dir)
    try:
        if not apply:
            check_schema(settings.database, if_reachable=True)
            return
        upgrade(settings.database)
    except SchemaTooNew as exc:
        raise SystemExit(f"queuarr: {exc}") from None
    log.info("Database schema is up to date")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="queuarr", description=__doc__)
    parser.add_argument("--version", action="version", version=f"queuarr {QUEUARR_VERSION}")
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
    backup = commands.add_parser("backup", help="back up the database and the settings "
                                 "that are not secrets (while Queuarr runs, too)")
    backup.add_argument("--output", type=Path, help="a .zip or a directory (default "
                        "<data dir>/backups/queuarr-backup-<UTC time>.zip)")
    restore = commands.add_parser("restore", help="put a SQLite backup back (Queuarr "
                                  "stopped); the current database is kept aside")
    restore.add_argument("path", type=Path, help="the backup .zip or directory")
    args = parser.parse_args(argv)

    try:
        settings = Settings()
    except Exception as exc:  # pydantic's message names the bad variable
        print(f"queuarr: invalid settings: {exc}", file=sys.stderr)
        return 2
    try:  # PUID/PGID/UMASK/TZ, before anything is written (the log file included)
        notes = run_as(os.environ, settings.data_dir, settings.downloads, settings.roots)
    except RunAsError as exc:
        print(f"queuarr: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level, settings.log_format, settings.log_file,
                      settings.log_file_max, settings.log_file_backups)
    if args.command in ("serve", "worker"):
        log.info("Queuarr %s starting (%s)", QUEUARR_VERSION, args.command)
    for level, message in notes:
        log.log(level, message)
    if args.command == "migrate":
        _migrate(settings)
        return 0
    if args.command in ("backup", "restore"):
        return _backup_command(args, settings)

    if args.command == "serve":
        # What start-up loads lives as long as the process: no collections until the
        # lifespan freezes it (api/app.py), which turns them back on. A fifth of the
        # start-up otherwise.
        gc.disable()
    try:
        _migrate(settings, apply=not args.no_migrate)
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
    finally:
        gc.enable()


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


def _backup_command(args: argparse.Namespace, settings: Settings) -> int:
    """`backup` and `restore`: 0 done, 1 refused or failed (the message says why)."""
    from infrastructure.backup import BackupError, make_backup, restore

    try:
        if args.command == "restore":
            kept = restore(settings, args.path)
            print(f"Restored {args.path}" + (f"; the database it replaced is {kept}"
                                              if kept else ""))
            return 0
        made = make_backup(settings, args.output)
    except BackupError as exc:
        print(f"queuarr: {exc}", file=sys.stderr)
        return 1
    print(f"Backup written to {made.path}")
    if made.hint:
        print(f"pg_dump is not installed here: run this to dump the database too:\n"
              f"  {made.hint}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
