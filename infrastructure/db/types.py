"""Column types that behave the same on SQLite and Postgres."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Dialect, String, Text
from sqlalchemy.types import TypeDecorator, TypeEngine

_SQLITE_FORMAT = "%Y-%m-%d %H:%M:%S.%f"


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes: `timestamptz` on Postgres; fixed-width ISO text on SQLite,
    so that text order is time order and reads parse with `fromisoformat`."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(26))
        return dialect.type_descriptor(DateTime(timezone=True))

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; use aware UTC datetimes")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.strftime(_SQLITE_FORMAT)
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            return datetime.fromisoformat(value).replace(tzinfo=UTC)
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC) if value.utcoffset() else value

    def result_processor(self, dialect: Dialect, coltype: object) -> Any:
        # Reads are the hot path: skip TypeDecorator's generic wrapper. asyncpg already
        # returns aware UTC datetimes for timestamptz; SQLite returns our fixed text.
        if dialect.name == "postgresql" and dialect.driver == "asyncpg":
            return None
        if dialect.name == "sqlite":
            parse = datetime.fromisoformat

            def from_text(value: str | None) -> datetime | None:
                return None if value is None else parse(value).replace(tzinfo=UTC)

            return from_text
        return super().result_processor(dialect, coltype)


def sort_text() -> TypeEngine[str]:
    """Text that sorts by code point on both engines (Postgres collation "C")."""
    return Text().with_variant(Text(collation="C"), "postgresql")
