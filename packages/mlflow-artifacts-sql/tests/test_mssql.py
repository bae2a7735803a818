"""SQL Server cannot run here: DDL and statements compiled with the mssql dialect, the drivers
import, and the conformance kit against a real server when MLFLOW_ARTIFACTS_SQL_TEST_MSSQL_URL is set."""

from __future__ import annotations

import importlib
import os
import uuid

import pytest
import sqlalchemy as sa
from mlflow_artifacts_sql.files import FileStore
from mlflow_artifacts_sql.repository import SqlArtifactRepository
from mlflow_artifacts_sql.schema import PATH_MAX_BYTES, Tables
from sqlalchemy.dialects import mssql
from sqlalchemy.schema import CreateIndex, CreateTable

from mlflow_plugins_shared.testing.artifact_repo import (  # noqa: F401 - the kit's fixtures
    ArtifactRepositoryConformance,
    local_repo,
    src_dir,
)

MSSQL_URL = os.environ.get("MLFLOW_ARTIFACTS_SQL_TEST_MSSQL_URL")
DIALECTS = {"pyodbc": mssql.pyodbc.dialect(), "pymssql": mssql.pymssql.dialect()}


@pytest.fixture(params=sorted(DIALECTS))
def dialect(request):
    return DIALECTS[request.param]


def _ddl(element, dialect) -> str:
    return " ".join(str(element.compile(dialect=dialect)).split())


def test_chunks_are_varbinary_max(dialect):
    ddl = _ddl(CreateTable(Tables("mlflow_artifact_").chunks), dialect)
    assert "data VARBINARY(max) NOT NULL" in ddl
    assert "PRIMARY KEY (file_id, seq)" in ddl


def test_paths_are_bytes_with_a_filtered_unique_index(dialect):
    tables = Tables("mlflow_artifact_")
    ddl = _ddl(CreateTable(tables.files), dialect)
    assert f"path VARBINARY({PATH_MAX_BYTES}) NULL" in ddl
    assert "size BIGINT NOT NULL" in ddl
    (index,) = tables.files.indexes
    index_ddl = _ddl(CreateIndex(index), dialect)
    assert index_ddl.startswith("CREATE UNIQUE INDEX mlflow_artifact_files_path ON mlflow_artifact_files (path)")
    assert index_ddl.endswith("WHERE path IS NOT NULL")  # SQL Server allows one NULL in a plain unique index


def test_create_all_on_sql_server_sends_no_postgres_ddl():
    statements: list[str] = []
    mock = sa.create_mock_engine(
        "mssql+pyodbc://", executor=lambda sql, *a, **k: statements.append(str(sql.compile(dialect=mock.dialect)))
    )
    Tables("p_").metadata.create_all(mock, checkfirst=False)
    assert len(statements) == 4  # three tables and the path index
    assert not any("STORAGE" in s for s in statements)  # ALTER ... SET STORAGE EXTERNAL is PostgreSQL-only
    assert any("data VARBINARY(max)" in s for s in statements)


def test_queries_compile_with_bound_path_bytes(dialect):
    tables = Tables("mlflow_artifact_")
    store = FileStore.__new__(FileStore)
    store.files, store.chunks = tables.files, tables.chunks
    stmt = sa.select(tables.files.c.path, tables.files.c.size).where(store._below("root/dir"))
    compiled = stmt.compile(dialect=dialect)
    sql = " ".join(str(compiled).split())
    assert "WHERE mlflow_artifact_files.path >=" in sql and "mlflow_artifact_files.path <" in sql
    # Paths are sent as UTF-8 bytes (exact, case-sensitive comparison, no PAD SPACE).
    processors = compiled._bind_processors
    values = {k: processors[k](v) if k in processors else v for k, v in compiled.params.items()}
    assert set(values.values()) == {b"root/dir/", b"root/dir0"}
    insert = tables.chunks.insert().compile(dialect=dialect)
    assert str(insert).startswith("INSERT INTO mlflow_artifact_chunks (file_id, seq, data) VALUES")


@pytest.mark.parametrize("module", ["pyodbc", "pymssql"])
def test_sql_server_drivers_import(module):
    assert importlib.import_module(module) is not None


def test_sql_server_uri_builds_a_driver_engine():
    """The URL (query string included) reaches SQLAlchemy's dialect and driver unchanged."""
    from mlflow_artifacts_sql.location import parse_location

    loc = parse_location("mssql+pyodbc://sa:pw@sqlhost:1433/mlflow/1/r/artifacts?driver=ODBC+Driver+18+for+SQL+Server")
    engine = sa.create_engine(loc.url)
    assert engine.dialect.name == "mssql" and engine.dialect.driver == "pyodbc"
    args, _ = engine.dialect.create_connect_args(loc.url)
    assert "DRIVER={ODBC Driver 18 for SQL Server}" in args[0] and "Database=mlflow" in args[0]
    assert loc.root == "1/r/artifacts"


@pytest.mark.external
@pytest.mark.skipif(not MSSQL_URL, reason="MLFLOW_ARTIFACTS_SQL_TEST_MSSQL_URL is not set (no SQL Server can run here)")
class TestRealSqlServerConformance(ArtifactRepositoryConformance):
    @pytest.fixture
    def repo(self):
        return SqlArtifactRepository(f"{MSSQL_URL}/c-{uuid.uuid4().hex[:12]}")


def test_missing_odbc_driver_is_named_and_not_retried(caplog):
    """unixODBC's "Can't open lib" (SQLSTATE 01000) counts as a disconnect in SQLAlchemy's pyodbc
    dialect; it is an installation problem: said so at once, not retried as an unreachable server."""
    import logging

    from mlflow.exceptions import MlflowException
    from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

    caplog.set_level(logging.DEBUG)
    repo = get_artifact_repository("mssql+pyodbc://sa:Odbc-Secret-1f@127.0.0.1:1/mlflow/x?driver=No+Such+ODBC+Driver")
    with pytest.raises(MlflowException) as e:
        repo.list_artifacts()
    assert e.value.error_code == "INTERNAL_ERROR"
    assert "the ODBC driver it names is not installed" in e.value.message and "127.0.0.1" in e.value.message
    assert "retrying" not in caplog.text
    assert "Odbc-Secret-1f" not in e.value.message and "Odbc-Secret-1f" not in caplog.text
