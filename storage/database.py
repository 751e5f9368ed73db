"""One database for Vigil's state, by URL: a SQLite file on one machine, Postgres for a team.

`Database.read()` gives a connection for queries; `Database.write(lock)` a transaction that
holds a lock for its whole length, so read-then-write steps (is this point new? is this alert
due?) are never interleaved with another process doing the same:

- SQLite takes its one write lock at the start (`BEGIN IMMEDIATE`): writers queue, readers
  go on reading (WAL).
- Postgres takes a transaction-level advisory lock named by `lock`: writers of the same thing
  queue, others go ahead, and the lock is let go at commit, after the writes are visible.

Connections are never shared across a fork: a process that inherits the pool opens its own.
A SQLite file is checked (`PRAGMA quick_check`) when first opened, so a damaged one stops
Vigil at start instead of taking writes it could not read back.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

import pandas as pd
from sqlalchemy import Connection, Dialect, Engine, create_engine, event, exc, make_url, text
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection

from vigil.detection.errors import VigilError

#: How long a writer waits for SQLite's write lock (milliseconds).
SQLITE_BUSY_MS = 30_000


class DatabaseDamaged(VigilError):
    """The SQLite file's pages fail SQLite's own integrity check."""


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{Path(path).resolve()}"


def normalise_url(url: str) -> str:
    """`postgresql://` and `postgres://` URLs use psycopg 3, which Vigil installs."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def hide_password(url: str) -> str:
    """A database or Redis URL to show in messages and logs: its password as ***."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not a URL at all: say nothing of what it holds
        return "(a URL that cannot be read)"


def lock_key(name: str) -> int:
    """A lock's name as the signed 64-bit key Postgres' advisory locks take."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


class Database:
    """A SQLAlchemy engine with Vigil's ways of reading and writing."""

    def __init__(self, url: str, *, pool_size: int = 5) -> None:
        self.url = normalise_url(url)
        parsed = make_url(self.url)
        self.dialect = parsed.get_backend_name()
        if self.dialect == "sqlite":
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            self.engine = create_engine(self.url, connect_args={"timeout": SQLITE_BUSY_MS / 1000})
            event.listen(self.engine, "connect", _sqlite_connect)
            event.listen(self.engine, "begin", _sqlite_begin)
        elif self.dialect == "postgresql":
            self.engine = create_engine(
                self.url, pool_size=pool_size, max_overflow=10, pool_pre_ping=True
            )
        else:
            raise ValueError(
                f"Vigil keeps its state in SQLite or Postgres, not {self.dialect!r} "
                "(check VIGIL_DATABASE_URL)."
            )
        _forget_pool_after_fork(self.engine)

    def __repr__(self) -> str:
        return f"Database({self.display!r})"

    @property
    def display(self) -> str:
        """The URL to show: its password hidden."""
        return hide_password(self.url)

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A connection for queries (rolled back at the end: it writes nothing)."""
        with self.engine.connect() as connection:
            yield connection

    @contextmanager
    def write(self, lock: str = "vigil", *more: str) -> Iterator[Connection]:
        """A transaction holding `lock` (and the `more` locks) from its first statement to its
        commit; rolled back if the block raises. Several locks are taken in one order
        whoever asks, so two writers of overlapping sets never wait for each other."""
        with self.engine.connect() as connection:
            connection = connection.execution_options(vigil_write=True)
            with connection.begin():
                if self.dialect == "postgresql":
                    for key in sorted({lock_key(name) for name in (lock, *more)}):
                        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
                yield connection

    def dispose(self) -> None:
        self.engine.dispose()

    def check_integrity(self) -> None:
        """Refuse a SQLite file whose pages are damaged (SQLite's `quick_check`, which reads
        every page once), saying how to recover; other databases check themselves."""
        path = make_url(self.url).database
        if not self.is_sqlite or not path or path == ":memory:":
            return
        try:
            with self.engine.connect() as connection:
                found = [row[0] for row in connection.exec_driver_sql("PRAGMA quick_check")]
        except exc.DatabaseError as error:
            found = [str(getattr(error, "orig", None) or error)]
        if found != ["ok"]:
            self.dispose()
            raise DatabaseDamaged(
                f"The database file {path} is damaged ({found[0].strip().splitlines()[0]}); "
                "Vigil will not start on it. Restore it from a backup, or save what can be "
                f"read with: sqlite3 {path} .recover | sqlite3 recovered.sqlite (then point "
                "VIGIL_DATABASE_URL at the new file)."
            )


def _sqlite_connect(dbapi_connection: sqlite3.Connection, _record: ConnectionPoolEntry) -> None:
    # the driver's own transaction handling is off: `_sqlite_begin` says BEGIN, as SQLAlchemy's
    # documentation recommends for pysqlite
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_MS}")
    cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    writing = connection.get_execution_options().get("vigil_write", False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if writing else "BEGIN")


def _forget_pool_after_fork(engine: Engine) -> None:
    """A pooled connection checked out in another process than made it is dropped, as
    SQLAlchemy's documentation shows for pools and `os.fork`."""

    @event.listens_for(engine, "connect")
    def _remember_pid(_dbapi_connection: DBAPIConnection, record: ConnectionPoolEntry) -> None:
        record.info["pid"] = os.getpid()

    @event.listens_for(engine, "checkout")
    def _check_pid(
        _dbapi_connection: DBAPIConnection,
        record: ConnectionPoolEntry,
        proxy: PoolProxiedConnection,
    ) -> None:
        if record.info.get("pid") != os.getpid():
            # SQLAlchemy's own recipe; its types make these attributes read-only
            record.dbapi_connection = proxy.dbapi_connection = None  # type: ignore[misc]
            raise exc.DisconnectionError("connection made in another process")


@lru_cache(maxsize=256)
def _for_driver(dialect: Dialect, sql: str) -> tuple[str, tuple[str, ...] | None]:
    """`sql` with `:name` parameters in the driver's own style, and the names' order when
    that style is positional."""
    compiled = text(sql).compile(dialect=dialect)
    order = compiled.positiontup
    return str(compiled), None if order is None else tuple(order)


def _driver_params(
    order: tuple[str, ...] | None, params: Mapping[str, object]
) -> Sequence[object] | Mapping[str, object]:
    return params if order is None else tuple(params[name] for name in order)


def is_deadlock(error: BaseException) -> bool:
    """Whether Postgres undid this transaction to end a deadlock (trying again is safe)."""
    return getattr(getattr(error, "orig", None), "sqlstate", None) == "40P01"


def query_frame(
    connection: Connection, sql: str, params: Mapping[str, object] | None = None
) -> pd.DataFrame:
    """A query's rows as a DataFrame, its columns named as the query names them.

    Rows come straight from the driver's cursor: for the many rows the scorer and the charts
    read, making a SQLAlchemy row of each costs more than the query."""
    statement, order = _for_driver(connection.dialect, sql)
    cursor = connection.connection.cursor()
    try:
        cursor.execute(statement, _driver_params(order, params or {}))
        names = [column[0] for column in cursor.description]
        return pd.DataFrame(cursor.fetchall(), columns=names)
    finally:
        cursor.close()


def execute_many(connection: Connection, sql: str, columns: Mapping[str, Sequence[object]]) -> None:
    """Run one statement for each row of `columns` (equal-length lists by parameter name), in
    the connection's transaction, through the driver's `executemany` (Postgres pipelines it)."""
    statement, order = _for_driver(connection.dialect, sql)
    if order is None:
        names = list(columns)
        rows: list[dict[str, object]] | list[tuple[object, ...]] = [
            dict(zip(names, row, strict=True)) for row in zip(*columns.values(), strict=True)
        ]
    else:
        rows = list(zip(*(columns[name] for name in order), strict=True))
    cursor = connection.connection.cursor()
    try:
        cursor.executemany(statement, rows)
    finally:
        cursor.close()


def is_disk_full(error: BaseException) -> bool:
    """Whether `error` is the database saying its disk (or its size limit) is full: SQLite's
    SQLITE_FULL, Postgres' disk_full (53100)."""
    original = getattr(error, "orig", error)
    if (getattr(original, "sqlite_errorcode", 0) or 0) & 0xFF == sqlite3.SQLITE_FULL:
        return True
    return getattr(original, "sqlstate", None) == "53100"


def typed_frame(frame: pd.DataFrame, **dtypes: str) -> pd.DataFrame:
    """`frame` (from `query_frame`) with the columns named in `dtypes` as those types: NULLs
    become NaN or <NA>, and a query that found no row still has typed columns."""
    return frame.astype({column: dtypes[column] for column in frame.columns if column in dtypes})
