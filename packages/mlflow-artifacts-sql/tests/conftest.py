"""Real databases: SQLite files, and PostgreSQL and MariaDB started by tools/testenv."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import mlflow
import pytest
from mlflow import MlflowClient
from mlflow_artifacts_sql.repository import SqlArtifactRepository

from mlflow_testenv import session_service

# The same PostgreSQL server through both drivers, named explicitly: plain postgresql:// means
# psycopg2 on SQLAlchemy 2.0 but psycopg 3 on SQLAlchemy 2.1+. The benchmark measures psycopg 3's
# fast paths (binary inserts, binary COPY reads); psycopg2 has its own (binary COPY inserts).
BACKENDS = ("sqlite", "psycopg2", "psycopg", "mariadb")


@pytest.fixture(scope="session")
def postgres_url(tmp_path_factory) -> str:
    return session_service("postgres", tmp_path_factory)["MLFLOW_TESTENV_POSTGRES_URL"]


@pytest.fixture(scope="session")
def psycopg_url(postgres_url) -> str:
    return postgres_url.replace("postgresql://", "postgresql+psycopg://", 1)


@pytest.fixture(scope="session")
def psycopg2_url(postgres_url) -> str:
    return postgres_url.replace("postgresql://", "postgresql+psycopg2://", 1)


@pytest.fixture(scope="session")
def mariadb_url(tmp_path_factory) -> str:
    return session_service("mariadb", tmp_path_factory)["MLFLOW_TESTENV_MARIADB_URL"]


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'artifacts.db'}"


@pytest.fixture
def all_db_urls(sqlite_url, postgres_url, mariadb_url) -> dict[str, str]:
    """Every backend at once, for tests that pay for a subprocess (importing MLflow is slow)."""
    return {"sqlite": sqlite_url, "postgres": postgres_url, "mariadb": mariadb_url}


@pytest.fixture(params=BACKENDS)
def db_url(request) -> str:
    """The database URL (no artifact root) of each backend in turn."""
    return request.getfixturevalue(f"{request.param}_url")


@pytest.fixture
def make_repo(db_url: str) -> Callable[..., SqlArtifactRepository]:
    """A repository under a fresh artifact root in the backend's database."""

    def make(root: str | None = None) -> SqlArtifactRepository:
        return SqlArtifactRepository(f"{db_url}/{root or 't-' + uuid.uuid4().hex[:12]}")

    return make


@pytest.fixture
def repo(make_repo) -> SqlArtifactRepository:
    return make_repo()


@pytest.fixture(scope="session")
def proxied_root() -> str:
    return "proxied"


@pytest.fixture(scope="session")
def server_url(tmp_path_factory, postgres_url, proxied_root) -> str:
    """A real `mlflow server` proxying artifacts into PostgreSQL (one per session, shared by workers)."""
    destination = f"{postgres_url}/{proxied_root}"
    exports = session_service("mlflow", tmp_path_factory, ["--artifacts-destination", destination],
                              key="mlflow-artifacts-sql-pg")
    return exports["MLFLOW_TESTENV_MLFLOW_URL"]


@pytest.fixture
def tracking(server_url) -> Iterator[MlflowClient]:
    """This process tracks to that server (runs of experiments with a SQL artifact_location write directly)."""
    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(server_url)
    try:
        yield MlflowClient(server_url)
    finally:
        mlflow.set_tracking_uri(previous)
