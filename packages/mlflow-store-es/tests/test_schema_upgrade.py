"""A deployment made by an earlier schema is upgraded in place when this release starts on it."""

from __future__ import annotations

import uuid

from mlflow.entities import Metric
from mlflow_store_es.client import EsClient
from mlflow_store_es.config import parse_store_uri
from mlflow_store_es.schema import MAPPINGS, SCHEMA_VERSION, Indices


def test_schema_1_indices_gain_new_fields_and_indices(engine_base: str, tmp_path) -> None:
    prefix = f"up{uuid.uuid4().hex[:10]}"
    uri = f"{engine_base}/?index_prefix={prefix}"
    client = EsClient(parse_store_uri(uri))
    ix = Indices(prefix)
    # What schema 1 created: no logged-model/trace indices, runs without points_written.
    for kind in ("meta", "experiments", "experiment_names", "runs", "metrics", "registered_models", "model_versions"):
        props = {k: v for k, v in MAPPINGS[kind].items() if k != "points_written"}
        client.request("PUT", f"/{ix.name(kind)}", body={"mappings": {"dynamic": "strict", "properties": props}})
    client.index(ix.meta, "schema", {"version": 1, "created": 1}, refresh="true")

    from mlflow_store_es.tracking_store import EsTrackingStore

    store = EsTrackingStore(uri, str(tmp_path))
    rid = store.create_run("0", "u", 0, [], "r").info.run_id
    store.log_batch(rid, [Metric("m", 1.0, 1, 0)], [], [])
    assert [m.value for m in store.get_metric_history(rid, "m")] == [1.0]
    assert client.get(ix.meta, "schema")["_source"]["version"] == SCHEMA_VERSION
    for kind in ("logged_models", "traces", "spans"):
        assert client.request("GET", f"/{ix.name(kind)}/_mapping", ok=(404,)).get("_status") is None
