"""Client and server majors: elasticsearch-py 8.x or 9.x against an Elasticsearch 8.x or 9.x server.

elasticsearch-py 9 rewrites `application/json` into `application/vnd.elasticsearch+json;
compatible-with=9`, which an 8.x server refuses (400 media_type_header_exception), so a store
built on the client's own request method never connects to Elasticsearch 8 with the client pip
installs. The default run has elasticsearch-py 9 (the lock) against a real Elasticsearch 8.19.
"""

from __future__ import annotations

import uuid
from urllib.parse import urlsplit

import requests


def _server_version(es_base: str) -> str:
    nodes = requests.get(f"http://{urlsplit(es_base).netloc}/_nodes/_local", timeout=10).json()["nodes"]
    return next(iter(nodes.values()))["version"]


def test_installed_client_against_the_real_server(es_base, tmp_path):
    """Whatever the pair (the lock's is client 9 x server 8.19), the store connects and round-trips."""
    import elasticsearch
    from mlflow_store_es.tracking_store import EsTrackingStore

    client_major = int(elasticsearch.__versionstr__.split(".")[0])
    server_major = int(_server_version(es_base).split(".")[0])
    assert client_major in (8, 9) and server_major in (8, 9)
    store = EsTrackingStore(f"{es_base}/?index_prefix=v{uuid.uuid4().hex[:10]}", str(tmp_path))
    eid = store.create_experiment(f"pair-{client_major}x{server_major}", None, [])
    run = store.create_run(eid, "u", 1, [], "r")
    assert [r.info.run_id for r in store.search_runs([eid], "", 1)] == [run.info.run_id]


def test_requests_carry_plain_json_media_types(es_base, make_gateway, tmp_path):
    """Plain `application/json` (and `application/x-ndjson` for bulk) is what every 8.x and 9.x
    server accepts; no vendor media type pinned to the client's major ever goes out."""
    from mlflow.entities import Metric
    from mlflow_store_es.tracking_store import EsTrackingStore

    gw = make_gateway(f"http://{urlsplit(es_base).netloc}")
    store = EsTrackingStore(f"elasticsearch://127.0.0.1:{gw.port}/?index_prefix=m{uuid.uuid4().hex[:10]}",
                            str(tmp_path))
    eid = store.create_experiment("media", None, [])
    run = store.create_run(eid, "u", 1, [], "r")
    store.log_batch(run.info.run_id, [Metric("m", 1.0, 1, 0)], [], [])
    accepts = {a for a, _ in gw.seen_media}
    ctypes = {c for _, c in gw.seen_media if c}
    assert accepts == {"application/json"}, accepts
    assert ctypes <= {"application/json", "application/x-ndjson"} and "application/x-ndjson" in ctypes, ctypes


def test_a_server_that_is_not_elasticsearch_is_named(tmp_path_factory, tmp_path):
    """The product check the client would make on its own request path: the real OpenSearch node
    behind an elasticsearch:// URI gets a clear error that names the fix, not a parse error."""
    import pytest
    from mlflow.exceptions import MlflowException
    from mlflow_store_es.tracking_store import EsTrackingStore

    from mlflow_testenv import session_service

    netloc = urlsplit(session_service("opensearch", tmp_path_factory)["MLFLOW_TESTENV_OPENSEARCH_URL"]).netloc
    with pytest.raises(MlflowException, match="does not identify itself as Elasticsearch.*opensearch://"):
        EsTrackingStore(f"elasticsearch://{netloc}/?index_prefix=n{uuid.uuid4().hex[:8]}", str(tmp_path))
