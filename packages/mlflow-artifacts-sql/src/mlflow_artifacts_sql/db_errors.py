"""Which database errors are transient, and how errors reach the user (clear, no secrets)."""

from __future__ import annotations

import re

from mlflow.exceptions import MlflowException
from sqlalchemy import exc as sa_exc

from mlflow_plugins_shared import errors

# PostgreSQL SQLSTATEs: serialization failure, deadlock, lock not available, admin/crash shutdown,
# cannot connect now, too many connections; class 08 = connection exceptions.
_PG_TRANSIENT = {"40001", "40P01", "55P03", "57P01", "57P02", "57P03", "53300"}
_PG_AUTH = {"28P01", "28000"}
# MySQL/MariaDB: lock wait timeout, deadlock, too many connections, can't connect, gone away, lost.
_MYSQL_TRANSIENT = {1205, 1213, 1040, 2002, 2003, 2006, 2013, 2055}
_MYSQL_AUTH = {1044, 1045, 1698}
# SQL Server: deadlock victim, lock timeout, connection errors (SQLSTATE 08xxx handled by text).
_MSSQL_TRANSIENT = {1205, 1222, 40001, 40197, 40501, 40613, 49918, 49919, 49920}
_MSSQL_AUTH = {18456}

_UNREACHABLE = re.compile(
    r"(?i)connection refused|could not connect|can't connect|cannot connect|timeout expired|"
    r"timed out|server closed the connection|connection reset|lost connection|gone away|"
    r"could not translate host name|name or service not known|no route to host|"
    r"unable to open database file|terminating connection|the database system is (starting|shutting) up"
)
# unixODBC cannot load the ODBC driver the URI names (SQLSTATE 01000, which SQLAlchemy's pyodbc dialect
# counts as a disconnect): an installation problem, not an unreachable server, so never retried.
_NO_ODBC_DRIVER = re.compile(r"(?i)can't open lib|data source name not found|driver manager\].*not found")
_SQLITE_BUSY = re.compile(r"(?i)database (table )?is locked|database is busy")
_AUTH = re.compile(r"(?i)password authentication failed|access denied for user|login failed|no pg_hba\.conf entry")


def _sqlstate(orig: BaseException) -> str | None:
    code = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    return code if isinstance(code, str) else None


def _number(orig: BaseException) -> int | None:
    args = getattr(orig, "args", ())
    if args and isinstance(args[0], int):
        return args[0]
    if args and isinstance(args[0], str) and args[0][:5].isdigit():  # pyodbc: ('40001', '...')
        return int(args[0][:5])
    return None


def _text(orig: BaseException) -> str:
    return " ".join(str(a) for a in getattr(orig, "args", ()) or (orig,))


def is_auth_error(exc: BaseException) -> bool:
    orig = getattr(exc, "orig", None) or exc
    if (_sqlstate(orig) or "") in _PG_AUTH:
        return True
    num = _number(orig)
    if num in _MYSQL_AUTH or num in _MSSQL_AUTH:
        return True
    return bool(_AUTH.search(_text(orig)))


def is_missing_odbc_driver(exc: BaseException) -> bool:
    return bool(_NO_ODBC_DRIVER.search(_text(getattr(exc, "orig", None) or exc)))


def is_unreachable(exc: BaseException) -> bool:
    if is_missing_odbc_driver(exc):
        return False
    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        return True
    orig = getattr(exc, "orig", None) or exc
    state = _sqlstate(orig)
    if state and state.startswith("08"):
        return True
    return not is_auth_error(exc) and bool(_UNREACHABLE.search(_text(orig)))


def is_transient(exc: BaseException) -> bool:
    """Deadlocks, serialization failures, lock timeouts, dropped or refused connections."""
    if isinstance(exc, sa_exc.TimeoutError):  # connection pool exhausted for a while
        return True
    if not isinstance(exc, sa_exc.DBAPIError) or is_auth_error(exc):
        return False
    orig: BaseException = exc.orig or exc
    if (_sqlstate(orig) or "") in _PG_TRANSIENT:
        return True
    num = _number(orig)
    if num is not None and (num in _MYSQL_TRANSIENT or num in _MSSQL_TRANSIENT):
        return True
    return is_unreachable(exc) or bool(_SQLITE_BUSY.search(_text(orig)))


def is_transient_or_conflict(exc: BaseException) -> bool:
    """Also retry a unique-key conflict: another writer published the same path concurrently."""
    return is_transient(exc) or isinstance(exc, sa_exc.IntegrityError)


def _first_line(orig: BaseException) -> str:
    text = str(orig).strip().splitlines()
    line = text[0] if text else type(orig).__name__
    return line[:400]


def to_mlflow(exc: BaseException, what: str, where: str, *secrets: str | None) -> MlflowException:
    """An MlflowException for a database error: what failed, on which (masked) URL, and why."""
    if isinstance(exc, MlflowException):
        return exc
    hidden = tuple(s for s in secrets if s)
    orig = getattr(exc, "orig", None) or exc
    reason = f"{type(orig).__name__}: {_first_line(orig)}"
    if is_missing_odbc_driver(exc):
        return errors.internal(
            f"Cannot use the artifact database {where} ({what}): the ODBC driver it names is not installed "
            f"where this process runs (install it, or name an installed one in the URI's driver=): {reason}",
            *hidden,
        )
    if is_auth_error(exc):
        # The database refused *this process's* credentials (the artifact URI or
        # MLFLOW_ARTIFACTS_SQL_USER/_PASSWORD): a fault of the storage's configuration, never of the
        # caller's MLflow identity. Behind `mlflow server --serve-artifacts` the error code becomes the
        # HTTP status, and a 401/403 would tell the client (and its auth plugin) to fix or refresh its
        # own credentials; a 500 tells the operator.
        return errors.internal(
            f"Cannot log in to the artifact database {where} ({what}): {reason}. Check the database "
            "user and password of the process that stores the artifacts (in the artifact URI or "
            "MLFLOW_ARTIFACTS_SQL_USER/MLFLOW_ARTIFACTS_SQL_PASSWORD)", *hidden
        )
    if is_unreachable(exc) or isinstance(exc, sa_exc.TimeoutError):
        return errors.unavailable(f"Artifact database {where} is unreachable ({what}): {reason}", *hidden)
    if is_transient(exc):
        return errors.unavailable(f"Artifact database {where} stayed busy ({what}): {reason}", *hidden)
    return errors.internal(f"Artifact database {where} failed ({what}): {reason}", *hidden)
