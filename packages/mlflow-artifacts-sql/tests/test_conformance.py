"""The shared conformance kit (compares with LocalArtifactRepository) on every real backend."""

from __future__ import annotations

import uuid

import pytest
from mlflow_artifacts_sql.repository import SqlArtifactRepository

from mlflow_plugins_shared.testing.artifact_repo import (  # noqa: F401 - the kit's fixtures
    ArtifactRepositoryConformance,
    local_repo,
    src_dir,
)


def _fresh(url: str) -> SqlArtifactRepository:
    return SqlArtifactRepository(f"{url}/c-{uuid.uuid4().hex[:12]}/1/run/artifacts")


class TestSqliteConformance(ArtifactRepositoryConformance):
    @pytest.fixture
    def repo(self, sqlite_url):
        return _fresh(sqlite_url)


class TestPostgresConformance(ArtifactRepositoryConformance):
    @pytest.fixture
    def repo(self, postgres_url):
        return _fresh(postgres_url)


class TestPsycopg3Conformance(ArtifactRepositoryConformance):
    @pytest.fixture
    def repo(self, psycopg_url):
        return _fresh(psycopg_url)


class TestMariaDBConformance(ArtifactRepositoryConformance):
    @pytest.fixture
    def repo(self, mariadb_url):
        return _fresh(mariadb_url)
