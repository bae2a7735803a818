"""Integration suite: all plugins installed together (from wheels) against real servers."""

from __future__ import annotations

import pytest

from mlflow_testenv import session_service


@pytest.fixture(scope="session")
def es_url(tmp_path_factory) -> str:
    return session_service("es", tmp_path_factory)["MLFLOW_TESTENV_ES_URL"]


@pytest.fixture(scope="session")
def postgres_url(tmp_path_factory) -> str:
    return session_service("postgres", tmp_path_factory)["MLFLOW_TESTENV_POSTGRES_URL"]
