"""One engine (connection pool) per database URL per process, the schema, and retried transactions."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import URL, Connection, Engine

from mlflow_artifacts_sql import settings
from mlflow_artifacts_sql.db_errors import is_auth_error, is_transient, is_unreachable, to_mlflow
from mlflow_artifacts_sql.location import Location, display_url
from mlflow_artifacts_sql.schema import SCHEMA_VERSION, Tables, tables_for
from mlflow_plugins_shared import errors
from mlflow_plugins_shared.logs import get_logger, register_secret
from mlflow_plugins_shared.retry import retrying

T = TypeVar("T")
_logger = get_logger(__name__)
READ_ONLY = "mlflow_artifacts_sql_read_only"
# Room a MySQL packet needs beyond the chunk (statement text, escaping of the worst bytes).
_PACKET_OVERHEAD = 64 * 1024
SQLITE_PAGE_SIZE = 65536  # the largest SQLite allows


def _with_credentials(url: URL) -> URL:
    if url.get_backend_name() == "sqlite":
        return url
    if url.username is None and settings.USER.is_set():
        url = url.set(username=settings.USER.get())
    secret = settings.PASSWORD.get()
    if url.password is None and secret:
        url = url.set(password=secret.get())
    return url


def _connect_args(url: URL) -> dict[str, Any]:
    timeout = settings.CONNECT_TIMEOUT.get() or 10
    driver = url.get_driver_name()
    backend = url.get_backend_name()
    if backend == "sqlite":
        return {"timeout": float(timeout)}
    if backend == "postgresql":
        return {"connect_timeout": timeout}
    if driver == "pymysql":
        return {"connect_timeout": timeout, "binary_prefix": True}
    if driver == "pymssql":
        return {"login_timeout": timeout}
    if driver == "pyodbc":
        return {"timeout": timeout}
    return {}


def make_engine(url: URL) -> Engine:
    """The SQLAlchemy engine for an artifact database URL (no connection is made yet)."""
    try:
        return sa.create_engine(url, pool_pre_ping=True, connect_args=_connect_args(url), hide_parameters=True)
    except Exception as e:  # a driver that is not installed, a bad option in the query string
        password = url.password if isinstance(url.password, str) else None
        raise errors.invalid_parameter(
            f"Cannot use artifact database {display_url(url)}: {type(e).__name__}: {e}", *(p for p in (password,) if p)
        ) from None


def _sqlite_transactions(engine: Engine) -> None:
    """Writers take the lock at BEGIN (no lock upgrade deadlocks between processes)."""

    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        # Takes effect only in a database file that has no table yet (a no-op on any other): chunks
        # then span 16x fewer overflow pages, which roughly doubles write and read speed.
        dbapi_conn.execute(f"PRAGMA page_size = {SQLITE_PAGE_SIZE}")

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        read_only = conn.get_execution_options().get(READ_ONLY, False)
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


class Database:
    """An engine plus this plugin's tables in it, initialised once per process."""

    def __init__(self, location: Location) -> None:
        self.url = _with_credentials(location.url)
        self.password = self.url.password if isinstance(self.url.password, str) else None
        register_secret(__name__, self.password)
        self.where = display_url(self.url)
        self.tables: Tables = tables_for(settings.TABLE_PREFIX.get() or "mlflow_artifact_")
        self._chunk_cap: int | None = None  # MySQL/MariaDB: what max_allowed_packet allows
        self._attempts = settings.RETRY_ATTEMPTS.get() or 5
        self._deadline = settings.RETRY_DEADLINE.get()
        self.engine = make_engine(self.url)
        self.dialect = self.engine.dialect.name
        if self.dialect == "sqlite":
            _sqlite_transactions(self.engine)
        self._initialise()

    def _secrets(self) -> tuple[str, ...]:
        return (self.password,) if self.password else ()

    def transaction(
        self, what: str, fn: Callable[[Connection], T], *, read_only: bool = False,
        retry_if: Callable[[BaseException], bool] = is_transient,
    ) -> T:
        """Run `fn` in one transaction, retried whole on transient errors; errors become MlflowExceptions."""

        def attempt() -> T:
            with self.engine.connect() as conn:
                if not read_only:
                    with conn.begin():
                        return fn(conn)
                # Nothing to commit; a rollback also ends a transaction a cancelled statement aborted
                # (a download that stopped reading a COPY early).
                conn = conn.execution_options(**{READ_ONLY: True})
                trans = conn.begin()
                try:
                    return fn(conn)
                finally:
                    trans.rollback()

        try:
            return retrying(retry_if, attempts=self._attempts, deadline=self._deadline, what=what)(attempt)
        except sa_exc.SQLAlchemyError as e:
            _logger.debug("%s failed on %s: %s", what, self.where, type(e).__name__)
            raise to_mlflow(e, what, self.where, *self._secrets()) from None

    # -- first use in this process --------------------------------------------------------------

    def _initialise(self) -> None:
        self.transaction("create tables", self._create_tables, retry_if=_created_concurrently)
        self.transaction("check schema version", self._check_version, retry_if=_created_concurrently)
        if self.dialect in ("mysql", "mariadb"):
            packet = self.transaction(
                "read max_allowed_packet", lambda c: int(c.exec_driver_sql("SELECT @@max_allowed_packet").scalar() or 0)
            )
            # pymysql escapes bytes: worst case doubles them.
            self._chunk_cap = max(64 * 1024, (packet - _PACKET_OVERHEAD) // 2)
            if self.chunk_size < (settings.CHUNK_SIZE.get() or 0):
                _logger.info("chunks capped at %d bytes to fit max_allowed_packet=%d", self._chunk_cap, packet)
        self._purge_stale_uploads()

    # Read at each use, so a changed setting applies without a new engine.
    @property
    def chunk_size(self) -> int:
        size = settings.CHUNK_SIZE.get() or 1024 * 1024
        return min(size, self._chunk_cap) if self._chunk_cap else size

    @property
    def transaction_size(self) -> int:
        return max(settings.TRANSACTION_SIZE.get() or 16 * 1024 * 1024, self.chunk_size)

    def _create_tables(self, conn: Connection) -> None:
        self.tables.metadata.create_all(conn, checkfirst=True)

    def _check_version(self, conn: Connection) -> None:
        schema = self.tables.schema
        found = conn.execute(sa.select(sa.func.max(schema.c.version))).scalar()
        if found is None:
            conn.execute(schema.insert().values(version=SCHEMA_VERSION))
        elif found > SCHEMA_VERSION:
            raise errors.invalid_parameter(
                f"The artifact tables in {self.where} have schema version {found}; this "
                f"mlflow-artifacts-sql understands up to {SCHEMA_VERSION}. Upgrade the plugin."
            )

    def _purge_stale_uploads(self) -> None:
        hours = settings.STALE_UPLOAD_HOURS.get()
        cutoff = int((time.time() - (hours or 0) * 3600) * 1000)
        files, chunks = self.tables.files, self.tables.chunks

        def purge(conn: Connection) -> int:
            stale = [r[0] for r in conn.execute(
                sa.select(files.c.id).where(files.c.path.is_(None), files.c.created_ms < cutoff).limit(1000)
            )]
            if stale:
                conn.execute(chunks.delete().where(chunks.c.file_id.in_(stale)))
                conn.execute(files.delete().where(files.c.id.in_(stale)))
            return len(stale)

        removed = self.transaction("remove stale uploads", purge)
        if removed:
            _logger.info("removed %d unfinished uploads older than %s hours", removed, hours)


def _created_concurrently(exc: BaseException) -> bool:
    """Another process created the tables/version row at the same moment: look again."""
    if is_transient(exc):
        return True
    return isinstance(exc, (sa_exc.IntegrityError, sa_exc.ProgrammingError, sa_exc.OperationalError)) and not (
        is_auth_error(exc) or is_unreachable(exc)
    )


_DATABASES: dict[tuple[int, str, str], Database] = {}
_LOCK = threading.Lock()


def database_for(location: Location) -> Database:
    """The process-wide Database for this URL (a forked child builds its own)."""
    key = (os.getpid(), location.url.render_as_string(hide_password=False), settings.TABLE_PREFIX.get() or "")
    with _LOCK:
        db = _DATABASES.get(key)
        if db is None:
            db = Database(location)
            _DATABASES[key] = db
        return db


def dispose_all() -> None:
    """Close every pooled connection of this process (tests, benchmarks)."""
    with _LOCK:
        for db in _DATABASES.values():
            db.engine.dispose()
        _DATABASES.clear()
