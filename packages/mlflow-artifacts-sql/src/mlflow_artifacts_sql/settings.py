"""Environment variables this plugin reads (the README table is generated from this list)."""

from __future__ import annotations

import re

from mlflow_plugins_shared.settings import (
    Setting,
    SettingValueError,
    as_bytes,
    as_float,
    as_int,
    as_secret,
    as_str,
)

MiB = 1024 * 1024


def _table_prefix(value: str) -> str:
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,40}", value):
        raise SettingValueError("expected letters, digits and underscores (at most 41), not starting with a digit")
    return value


USER = Setting(
    "MLFLOW_ARTIFACTS_SQL_USER", as_str,
    doc="Database user, used when the artifact URI names none.",
)
PASSWORD = Setting(
    "MLFLOW_ARTIFACTS_SQL_PASSWORD", as_secret, secret=True,
    doc="Database password, used when the artifact URI has none (preferred: MLflow shows artifact URIs in its UI).",
)
CHUNK_SIZE = Setting(
    "MLFLOW_ARTIFACTS_SQL_CHUNK_SIZE", as_bytes(minimum=64 * 1024, maximum=64 * MiB), default=MiB,
    doc="Bytes per stored chunk (MySQL/MariaDB: capped to fit `max_allowed_packet`).",
)
TRANSACTION_SIZE = Setting(
    "MLFLOW_ARTIFACTS_SQL_TRANSACTION_SIZE", as_bytes(minimum=64 * 1024, maximum=1024 * MiB), default=16 * MiB,
    doc="Bytes of chunks written per transaction (also held in memory for a retry).",
)
BATCH_FILES = Setting(
    "MLFLOW_ARTIFACTS_SQL_BATCH_FILES", as_int(minimum=1, maximum=100_000), default=500,
    doc="Most small files `log_artifacts` commits in one transaction.",
)
TABLE_PREFIX = Setting(
    "MLFLOW_ARTIFACTS_SQL_TABLE_PREFIX", _table_prefix, default="mlflow_artifact_",
    doc="Prefix of the tables (`<prefix>files`, `<prefix>chunks`, `<prefix>schema`).",
)
RETRY_ATTEMPTS = Setting(
    "MLFLOW_ARTIFACTS_SQL_RETRY_ATTEMPTS", as_int(minimum=1, maximum=100), default=5,
    doc="Attempts for a transaction that fails with a transient error (deadlock, serialization failure, lost connection).",
)
RETRY_DEADLINE = Setting(
    "MLFLOW_ARTIFACTS_SQL_RETRY_DEADLINE", as_float(minimum=0.0), default=60.0,
    doc="Seconds after which a transient error is no longer retried.",
)
CONNECT_TIMEOUT = Setting(
    "MLFLOW_ARTIFACTS_SQL_CONNECT_TIMEOUT", as_int(minimum=1, maximum=3600), default=10,
    doc="Seconds to wait for a database connection (SQLite: for a lock).",
)
STALE_UPLOAD_HOURS = Setting(
    "MLFLOW_ARTIFACTS_SQL_STALE_UPLOAD_HOURS", as_float(minimum=0.0), default=24.0,
    doc="Unfinished uploads (a killed process) older than this are removed when a process first uses the database.",
)

ALL = (
    USER, PASSWORD, CHUNK_SIZE, TRANSACTION_SIZE, BATCH_FILES, TABLE_PREFIX,
    RETRY_ATTEMPTS, RETRY_DEADLINE, CONNECT_TIMEOUT, STALE_UPLOAD_HOURS,
)
