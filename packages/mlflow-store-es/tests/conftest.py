"""Real engines for every test: noida-db (ES 8 API) and osmem (OpenSearch API), both started by
tools/testenv, plus a real cluster when MLFLOW_STORE_ES_TEST_URL is set."""

from __future__ import annotations

import os
import uuid
from urllib.parse import urlsplit

import pytest
from mlflow_testenv import session_service

ENGINES = ["es", "opensearch", "external"]


def _engine_base(engine: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    if engine == "external":
        url = os.environ.get("MLFLOW_STORE_ES_TEST_URL")
        if not url:
            pytest.skip("MLFLOW_STORE_ES_TEST_URL is not set: no real Elasticsearch/OpenSearch cluster to test against")
        return url.split("?", 1)[0].rstrip("/")
    exports = session_service(engine, tmp_path_factory)
    http = exports[f"MLFLOW_TESTENV_{engine.upper()}_URL"]
    scheme = "elasticsearch" if engine == "es" else "opensearch"
    return f"{scheme}://{urlsplit(http).netloc}"


@pytest.fixture(scope="session", params=ENGINES)
def engine_base(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """`elasticsearch://host:port` or `opensearch://host:port` of a running engine."""
    return _engine_base(request.param, tmp_path_factory)


@pytest.fixture(scope="session")
def es_base(tmp_path_factory: pytest.TempPathFactory) -> str:
    return _engine_base("es", tmp_path_factory)


@pytest.fixture
def store_uri(engine_base: str) -> str:
    """A fresh index prefix per test, so every test sees only its own data."""
    return f"{engine_base}/?index_prefix=t{uuid.uuid4().hex[:12]}"


@pytest.fixture
def tracking_store(store_uri: str, tmp_path):
    from mlflow_store_es.tracking_store import EsTrackingStore

    return EsTrackingStore(store_uri, str(tmp_path / "artifacts"))


@pytest.fixture
def registry_store(store_uri: str):
    from mlflow_store_es.registry_store import EsRegistryStore

    return EsRegistryStore(store_uri)
