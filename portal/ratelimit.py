"""Per-client limits counted where every worker and every node sees them.

Flask-Limiter counts in one storage per ``Limiter``, and the portal's ``limiter`` is one object
shared by every app a process makes (tests make several, on different databases). So the
limiter's storage, ``portal://``, only dispatches: each call goes to the counters of the app
serving the request, made on first use from that app's ``RATELIMIT_STORAGE_URI``:

- ``database://`` (the default): the portal's database, table ``rate_limit_counter``
  (:class:`DatabaseStorage`);
- ``PORTAL_REDIS_URL`` when set: Redis, through ``limits``' own storage (any ``limits`` URI
  works, ``memory://`` included, which counts per process).

A shared storage that fails (Redis down) must not turn requests into 500s: the app then counts
in its own memory, per process, so the limits still hold within each worker, logs a warning,
and tries the shared storage again after ``RETRY_SECONDS``.
"""

import threading
import time
from urllib.parse import urlparse

import sqlalchemy as sa
from flask import current_app
from limits.errors import StorageError
from limits.storage import MemoryStorage, Storage, storage_from_string
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

RETRY_SECONDS = 30  # how long a failed shared storage is left alone before the next try
PURGE_SECONDS = 300  # how often a process deletes expired counters
REDIS_TIMEOUT = 2.0  # seconds to connect to or hear from Redis before counting locally
EXTENSION = "portal.ratelimit"
DATABASE = "database://"  # the portal's own database


class DatabaseStorage(Storage):
    """Fixed-window counters in ``rate_limit_counter``, one row per key.

    Each hit is one atomic statement (an upsert that restarts an expired window and returns
    the new count), so concurrent workers never lose a count. It runs on a connection of its
    own in autocommit mode: a limiter hit never commits or rolls back the view's transaction.
    Works on SQLite (3.35 or later, for RETURNING) and PostgreSQL.
    """

    def __init__(self, engine: Engine, purge_seconds: float = PURGE_SECONDS,
                 wrap_exceptions: bool = False):
        super().__init__(None, wrap_exceptions=wrap_exceptions)
        from portal.models import RateLimitCounter

        dialects = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}
        if engine.dialect.name not in dialects:
            raise ValueError(f"no rate-limit storage for {engine.dialect.name}; set a Redis URL")
        self.engine = engine.execution_options(isolation_level="AUTOCOMMIT")
        self.table = RateLimitCounter.__table__
        self._insert = dialects[engine.dialect.name]
        self.purge_seconds = purge_seconds
        self._next_purge = 0.0

    @property
    def base_exceptions(self) -> type[Exception]:
        return sa.exc.SQLAlchemyError

    def incr(self, key: str, expiry: float, amount: int = 1) -> int:
        now = time.time()
        row, table = self._insert(self.table), self.table
        expired = table.c.expires_at <= now
        stmt = row.values(key=key, count=amount, expires_at=now + expiry).on_conflict_do_update(
            index_elements=[table.c.key],
            set_={
                "count": sa.case((expired, amount), else_=table.c.count + amount),
                "expires_at": sa.case((expired, now + expiry), else_=table.c.expires_at),
            },
        ).returning(table.c.count)
        with self.engine.connect() as conn:
            count = conn.execute(stmt).scalar_one()
            if now >= self._next_purge:
                self._next_purge = now + self.purge_seconds
                conn.execute(sa.delete(table).where(table.c.expires_at <= now))
        return count

    def _live(self, column, key: str):
        now = time.time()
        table = self.table
        with self.engine.connect() as conn:
            return conn.execute(sa.select(column).where(
                table.c.key == key, table.c.expires_at > now)).scalar_one_or_none()

    def get(self, key: str) -> int:
        return self._live(self.table.c.count, key) or 0

    def get_expiry(self, key: str) -> float:
        expires = self._live(self.table.c.expires_at, key)
        return time.time() if expires is None else expires

    def check(self) -> bool:
        try:
            with self.engine.connect() as conn:
                conn.execute(sa.select(1))
        except sa.exc.SQLAlchemyError:
            return False
        return True

    def reset(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(sa.delete(self.table)).rowcount

    def clear(self, key: str) -> None:
        with self.engine.connect() as conn:
            conn.execute(sa.delete(self.table).where(self.table.c.key == key))


class Counters:
    """One app's counters: the shared storage, and the memory one used while it fails."""

    def __init__(self, shared: Storage, name: str):
        self.shared, self.name = shared, name
        self.memory: MemoryStorage | None = None
        self.down_until = 0.0
        self._lock = threading.Lock()

    def call(self, method: str, *args, **kwargs):
        if time.monotonic() >= self.down_until:
            try:
                return getattr(self.shared, method)(*args, **kwargs)
            except self.shared.base_exceptions as exc:
                self._failed(exc)
        return getattr(self._memory(), method)(*args, **kwargs)

    def _failed(self, exc: Exception) -> None:
        with self._lock:
            first = time.monotonic() >= self.down_until
            self.down_until = time.monotonic() + RETRY_SECONDS
        if first:
            current_app.logger.warning(
                "rate-limit storage %s failed (%s: %s); counting in this process for %d s",
                self.name, type(exc).__name__, exc, RETRY_SECONDS)

    def _memory(self) -> MemoryStorage:
        with self._lock:
            if self.memory is None:
                self.memory = MemoryStorage()
            return self.memory


_making = threading.Lock()


def counters_for(app) -> Counters:
    """The app's counters, made on first use (no connection is opened at start-up), by one
    thread: the first requests of a worker arrive together, and ``limits`` imports its Redis
    client lazily, which is not safe to do from several threads at once."""
    counters = app.extensions.get(EXTENSION)
    if counters is None:
        with _making:
            counters = app.extensions.get(EXTENSION)
            if counters is None:
                counters = app.extensions[EXTENSION] = _make_counters(app)
    return counters


def _make_counters(app) -> Counters:
    uri = app.config.get("RATELIMIT_STORAGE_URI") or DATABASE
    scheme = urlparse(uri).scheme
    if uri == DATABASE:
        return Counters(DatabaseStorage(app.extensions["sqlalchemy"].engine), scheme)
    if scheme == AppStorage.STORAGE_SCHEME[0]:
        raise ValueError(f"RATELIMIT_STORAGE_URI names a storage, not {uri}")
    options = {"socket_connect_timeout": REDIS_TIMEOUT, "socket_timeout": REDIS_TIMEOUT} \
        if scheme in ("redis", "rediss") else {}
    return Counters(storage_from_string(uri, **options), scheme)


class AppStorage(Storage):
    """``portal://``: the limiter's storage, which hands every call to the current app's
    counters. It never raises a storage error itself; :class:`Counters` falls back."""

    STORAGE_SCHEME = ["portal"]

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options):
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)

    @property
    def base_exceptions(self) -> type[Exception]:
        return StorageError

    @staticmethod
    def _counters() -> Counters:
        return counters_for(current_app._get_current_object())

    def incr(self, key: str, expiry: float, amount: int = 1) -> int:
        return self._counters().call("incr", key, expiry, amount=amount)

    def get(self, key: str) -> int:
        return self._counters().call("get", key)

    def get_expiry(self, key: str) -> float:
        return self._counters().call("get_expiry", key)

    def check(self) -> bool:
        return self._counters().shared.check()

    def reset(self) -> int | None:
        return self._counters().call("reset")

    def clear(self, key: str) -> None:
        self._counters().call("clear", key)
