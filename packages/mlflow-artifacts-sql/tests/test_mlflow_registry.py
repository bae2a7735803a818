"""Every documented URI form reaches this plugin the way a user's does: through MLflow's own registry
(`get_artifact_repository`) and through `mlflow.log_artifact`/`mlflow.log_text` into an experiment
whose artifact_location is such a URI.

MLflow looks a URI up under `get_uri_scheme()`, which cuts the driver off postgresql/mysql/mssql/sqlite
schemes: registering `mysql+pymysql` or `mssql+pyodbc` made those forms unreachable (and MLflow's
"Could not find a registered artifact repository" message printed the whole URI, password included).
"""

from __future__ import annotations

import importlib.metadata
import socket
import uuid
from pathlib import Path

import mlflow
import pytest
import sqlalchemy as sa
from mlflow.exceptions import MlflowException
from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository
from mlflow.utils.uri import get_uri_scheme
from mlflow_artifacts_sql.database import make_engine
from mlflow_artifacts_sql.repository import SqlArtifactRepository
from sqlalchemy.engine import make_url

PLANTED = "Pl4nted-Secret-7f3a"

# (URI as documented in the README, dialect, driver, database, artifact root)
DOCUMENTED = [
    ("postgresql://user@host:5432/mlflow", "postgresql", None, "mlflow", ""),
    ("postgresql://user@host/mlflow/team-a", "postgresql", None, "mlflow", "team-a"),
    ("postgresql+psycopg://host/mlflow/x?sslmode=require", "postgresql", "psycopg", "mlflow", "x"),
    ("postgresql+psycopg2://user@host/mlflow/x", "postgresql", "psycopg2", "mlflow", "x"),
    ("mysql+pymysql://user@host/mlflow/x", "mysql", "pymysql", "mlflow", "x"),
    ("mariadb+pymysql://user@host/mlflow/x", "mariadb", "pymysql", "mlflow", "x"),
    ("mssql+pyodbc://user@host/mlflow/x?driver=ODBC+Driver+18+for+SQL+Server", "mssql", "pyodbc", "mlflow", "x"),
    ("mssql+pyodbc://user@mydsn/-/x", "mssql", "pyodbc", None, "x"),
    ("mssql+pymssql://user@host/mlflow/x", "mssql", "pymssql", "mlflow", "x"),
    ("sqlite:///relative/dir/artifacts.db/x", "sqlite", "pysqlite", "relative/dir/artifacts.db", "x"),
    ("sqlite:////abs/dir/artifacts.db/x", "sqlite", "pysqlite", "/abs/dir/artifacts.db", "x"),
]


def _with_password(uri: str, password: str) -> str:
    scheme, rest = uri.split("://", 1)
    if scheme == "sqlite":
        return uri
    userinfo, host = rest.split("@", 1) if "@" in rest else ("user", rest)
    return f"{scheme}://{userinfo}:{password}@{host}"


def test_documented_forms_are_looked_up_under_our_entry_point_names():
    ours = {
        ep.name for ep in importlib.metadata.entry_points(group="mlflow.artifact_repository")
        if ep.value.startswith("mlflow_artifacts_sql.")
    }
    assert {get_uri_scheme(uri) for uri, *_ in DOCUMENTED} == ours


@pytest.mark.parametrize(("uri", "dialect", "driver", "database", "root"), DOCUMENTED, ids=[d[0] for d in DOCUMENTED])
def test_documented_uri_resolves_through_mlflow_registry(uri, dialect, driver, database, root):
    repo = get_artifact_repository(_with_password(uri, PLANTED), tracking_uri="http://t", registry_uri="http://r")
    assert type(repo) is SqlArtifactRepository
    loc = repo._location
    assert loc.url.database == database and loc.root == root
    assert loc.url.password == (None if dialect == "sqlite" else PLANTED)
    engine = make_engine(loc.url)  # what the repository connects with; no connection is made here
    try:
        assert engine.dialect.name == dialect
        if driver:
            assert engine.dialect.driver == driver
    finally:
        engine.dispose()
    assert PLANTED not in repr(repo)


@pytest.mark.parametrize(
    "uri",
    [
        f"mysql://u:{PLANTED}@h/db/x",  # MySQLdb, which this plugin does not support
        f"mssql+aioodbc://u:{PLANTED}@h/db/x",
        f"postgresql+asyncpg://u:{PLANTED}@h/db/x",
    ],
)
def test_unsupported_driver_is_a_clear_error_without_the_password(uri):
    with pytest.raises(MlflowException) as e:
        get_artifact_repository(uri)
    assert e.value.error_code == "INVALID_PARAMETER_VALUE"
    assert "unsupported scheme" in e.value.message and "mysql+pymysql" in e.value.message
    assert PLANTED not in e.value.message and PLANTED not in str(e.value)


def _stored_paths(db_url: str, prefix: str) -> set[str]:
    """What is in the files table, read with plain SQLAlchemy (not the plugin's code)."""
    engine = sa.create_engine(db_url)
    try:
        with engine.connect() as c:
            rows = c.exec_driver_sql("SELECT path FROM mlflow_artifact_files WHERE path IS NOT NULL")
            paths = {r[0] if isinstance(r[0], str) else bytes(r[0]).decode() for r in rows}  # text or bytes
            return {p for p in paths if p.startswith(prefix)}
    finally:
        engine.dispose()


LOGGED_FORMS = ["sqlite", "postgresql", "postgresql+psycopg", "postgresql+psycopg2", "mysql+pymysql",
                "mariadb+pymysql"]


@pytest.fixture
def form_db_url(request, tmp_path, postgres_url, mariadb_url) -> str:
    form = request.param
    if form == "sqlite":
        return f"sqlite:///{tmp_path / 'artifacts.db'}"
    if form.startswith("postgresql"):
        return postgres_url.replace("postgresql://", f"{form}://", 1)
    return mariadb_url.replace("mysql+pymysql://", f"{form}://", 1)  # MariaDB serves both spellings


@pytest.mark.parametrize("form_db_url", LOGGED_FORMS, indirect=True)
def test_log_artifact_into_an_experiment_with_this_artifact_location(tracking, form_db_url, tmp_path):
    root = f"exp-{uuid.uuid4().hex[:10]}"
    exp_id = mlflow.create_experiment(f"loc-{uuid.uuid4().hex[:8]}", artifact_location=f"{form_db_url}/{root}")
    note = tmp_path / "note.txt"
    note.write_text("through MLflow's registry")
    with mlflow.start_run(experiment_id=exp_id) as run:
        mlflow.log_artifact(str(note), "notes")
        mlflow.log_text("hello", "texts/hello.txt")
    run_id = run.info.run_id
    assert sorted(f.path for f in tracking.list_artifacts(run_id)) == ["notes", "texts"]
    got = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path="notes/note.txt",
                                              dst_path=str(tmp_path / "dl"))
    assert Path(got).read_text() == "through MLflow's registry"
    assert mlflow.artifacts.load_text(f"runs:/{run_id}/texts/hello.txt") == "hello"
    stored = _stored_paths(form_db_url, f"{root}/")
    assert stored == {f"{root}/{run_id}/artifacts/notes/note.txt", f"{root}/{run_id}/artifacts/texts/hello.txt"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_sql_server_location_reaches_the_plugin_from_log_text(tracking, monkeypatch):
    """No SQL Server runs here: the error must be this plugin's (connection refused), not MLflow's
    'Could not find a registered artifact repository', and must not show the password."""
    monkeypatch.setenv("MLFLOW_ARTIFACTS_SQL_RETRY_ATTEMPTS", "1")
    monkeypatch.setenv("MLFLOW_ARTIFACTS_SQL_CONNECT_TIMEOUT", "2")
    location = f"mssql+pymssql://sa:{PLANTED}@127.0.0.1:{_free_port()}/mlflow/x"
    exp_id = mlflow.create_experiment(f"mssql-{uuid.uuid4().hex[:8]}", artifact_location=location)
    with mlflow.start_run(experiment_id=exp_id):
        with pytest.raises(MlflowException) as e:
            mlflow.log_text("hello", "hello.txt")
    assert e.value.error_code == "TEMPORARILY_UNAVAILABLE", e.value.message
    assert "mssql+pymssql://sa:***@127.0.0.1" in e.value.message
    assert PLANTED not in str(e.value)
    assert make_url(location).password == PLANTED  # the test planted what it scans for
