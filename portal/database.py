"""Connection settings the database itself cannot be told in a URL."""

import sqlite3

from sqlalchemy import event
from sqlalchemy.engine import Engine


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    """SQLite, shared by several gunicorn workers: write-ahead logging so readers never wait
    for a writer, a generous busy timeout instead of "database is locked", every commit
    synced to disk (an acknowledged submission survives a crash), and foreign keys enforced
    as PostgreSQL does."""
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    cursor = dbapi_connection.cursor()
    for pragma in ("journal_mode=WAL", "synchronous=FULL", "busy_timeout=15000",
                   "foreign_keys=ON"):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


def like_pattern(text: str) -> str:
    """``%text%`` for LIKE/ILIKE with ``escape="\\"``: the visitor's % and _ match
    themselves."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def register() -> None:
    if not event.contains(Engine, "connect", _sqlite_pragmas):
        event.listen(Engine, "connect", _sqlite_pragmas)
