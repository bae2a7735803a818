"""Real databases: SQLite files, and PostgreSQL and MariaDB started by tools/testenv."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
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
