"""A real OpenSearch node (default 3.6.0 on Java 21+; 2.19.6 is the floor, on Java 17).
Version: MLFLOW_TESTENV_OPENSEARCH_VERSION. The integ-test distribution has no security plugin."""

from __future__ import annotations

from mlflow_testenv.services._search_engine import Distribution, SearchEngineService


class OpenSearchService(SearchEngineService):
    name = "opensearch"
    description = "OpenSearch (real node from Maven Central), data on disk"
    url_var = "MLFLOW_TESTENV_OPENSEARCH_URL"
    distribution = Distribution(
        engine="opensearch", group="org.opensearch.distribution.integ-test-zip", version="3.6.0",
        launcher="opensearch", env_prefix="OPENSEARCH",
    )


SERVICE = OpenSearchService()
