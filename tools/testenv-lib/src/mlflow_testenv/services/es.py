"""A real Elasticsearch node (default 8.19.21, the newest distribution on Maven Central; no 9.x is
published there). Version: MLFLOW_TESTENV_ES_VERSION. Plain HTTP, security off."""

from __future__ import annotations

from mlflow_testenv.services._search_engine import Distribution, SearchEngineService


class ElasticsearchService(SearchEngineService):
    name = "es"
    description = "Elasticsearch (real node from Maven Central), data on disk"
    url_var = "MLFLOW_TESTENV_ES_URL"
    distribution = Distribution(
        engine="elasticsearch", group="org.elasticsearch.distribution.integ-test-zip", version="8.19.21",
        launcher="elasticsearch", env_prefix="ES", settings=("xpack.security.enabled=false",),
    )


SERVICE = ElasticsearchService()
