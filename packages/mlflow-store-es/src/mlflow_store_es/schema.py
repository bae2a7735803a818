"""Index names, mappings and the idempotent first-use setup (templates, indices, schema version).

Metric/param/tag keys never become mapped field names (a real cluster caps an index at 1,000
fields): they live in `enabled: false` objects (kept in _source, not indexed) or as values of
keyword fields.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import INVALID_STATE

from mlflow_store_es.client import EsClient
from mlflow_store_es.logged_model_schema import MAPPINGS as LOGGED_MODEL_MAPPINGS
from mlflow_store_es.mapping_types import KW as _KW
from mlflow_store_es.mapping_types import LONG as _LONG
from mlflow_store_es.mapping_types import OPAQUE as _OPAQUE
from mlflow_store_es.mapping_types import STORED as _STORED
from mlflow_store_es.skill_schema import MAPPINGS as SKILL_MAPPINGS
from mlflow_store_es.trace_schema import MAPPINGS as TRACE_MAPPINGS
from mlflow_store_es.webhooks import MAPPINGS as WEBHOOK_MAPPINGS

# 1: experiments, runs, metrics, registry. 2: + logged models, traces, spans (indices are
# created on every start, so a schema-1 deployment gains them by starting this release).
# 3: metric points as packs (metric_packs.py); schema 1-2 point documents stay readable. A
# release reading schema 2 refuses schema 3 (it would not see packed points). The skills indices
# (skill_schema.py) are new indices only, created on start like the others: releases of schema 3
# that do not know them keep working on the same prefix, so they do not bump the version. Nor does
# `trace_links` (trace_schema.py), new in the same way; trace docs keep their `linked_run_ids` too. Nor does
# `webhooks` (webhooks.py), created on every MLflow so one prefix serves servers of any MLflow release.
SCHEMA_VERSION = 3
_logger = logging.getLogger(__name__)

MAPPINGS: dict[str, dict[str, Any]] = {
    "meta": {"version": _LONG, "created": _LONG},
    "experiments": {
        "experiment_id": _KW, "name": _KW, "artifact_location": _STORED, "lifecycle_stage": _KW,
        "creation_time": _LONG, "last_update_time": _LONG, "tags": _OPAQUE,
    },
    "experiment_names": {"experiment_id": _KW, "name": _STORED},
    "runs": {
        "run_id": _KW, "experiment_id": _KW, "run_name": _KW, "user_id": _KW, "status": _KW,
        "start_time": _LONG, "end_time": _LONG, "lifecycle_stage": _KW, "artifact_uri": _STORED,
        "deleted_time": _LONG, "params": _OPAQUE, "tags": _OPAQUE, "latest": _OPAQUE,
        "metric_keys": _KW, "metric_kv": _KW, "param_keys": _KW, "param_kv": _KW, "tag_keys": _KW,
        "tag_kv": _KW, "inputs": _OPAQUE, "dataset_kv": _KW, "points_written": _LONG,
    },
    "metrics": {
        "run_id": _KW, "key": _KW, "step": _LONG, "timestamp": _LONG, "value": _STORED,
        "num": {"type": "double"}, "seq": _KW, "n": _LONG, "points": _OPAQUE,
    },
    "registered_models": {
        "name": _KW, "creation_timestamp": _LONG, "last_updated_timestamp": _LONG,
        "description": _STORED, "tags": _OPAQUE, "aliases": _OPAQUE, "max_version": _LONG,
        "renaming_from": _KW,  # set while a rename moves the versions: a cut-off rename is resumable
    },
    "model_versions": {
        "name": _KW, "version": _LONG, "creation_timestamp": _LONG, "last_updated_timestamp": _LONG,
        "description": _STORED, "user_id": _KW, "current_stage": _KW, "source": _STORED,
        "run_id": _KW, "status": _KW, "status_message": _STORED, "run_link": _STORED,
        "tags": _OPAQUE, "deleted": {"type": "boolean"}, "storage_location": _STORED,
        "model_id": _KW,
    },
    **LOGGED_MODEL_MAPPINGS,
    **TRACE_MAPPINGS,
    **SKILL_MAPPINGS,
    **WEBHOOK_MAPPINGS,
}


class Indices:
    """Index names for one index prefix."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        for kind in MAPPINGS:
            setattr(self, kind, f"{prefix}-{kind.replace('_', '-')}")

    meta: str
    experiments: str
    experiment_names: str
    runs: str
    metrics: str
    registered_models: str
    model_versions: str
    logged_models: str
    logged_model_metrics: str
    traces: str
    trace_links: str
    spans: str
    skills: str
    skill_versions: str
    skill_batches: str
    webhooks: str

    def name(self, kind: str) -> str:
        return str(getattr(self, kind))


def ensure_schema(client: EsClient, indices: Indices) -> None:
    """Create templates, indices and the schema-version record; safe when several servers race.

    The indices are created concurrently: each creation is a cluster-state update that the master
    batches with others in its queue, so a first start takes about a third of the sequential time
    on a real node (measured on Elasticsearch 8.19: 1.8 s against 3.2-5.6 s for 15 indices).
    """
    from concurrent.futures import ThreadPoolExecutor

    cfg = client.cfg
    settings = {"number_of_shards": cfg.shards, "number_of_replicas": cfg.replicas}

    def create(kind: str, props: dict[str, Any]) -> None:
        name = indices.name(kind)
        mappings = {"dynamic": "strict", "properties": props}
        client.request(
            "PUT", f"/_index_template/{name}", params={"create": "true"},
            body={"index_patterns": [name], "priority": 500,
                  "template": {"settings": settings, "mappings": mappings},
                  "_meta": {"mlflow_store_es_schema": SCHEMA_VERSION}},
            ok=(400, 409),
        )
        r = client.request("PUT", f"/{name}", body={"settings": settings, "mappings": mappings}, ok=(400,))
        if r.get("_status") == 400:
            if "already_exists" not in r["error"]["type"]:
                raise client.translate_status(400, r["error"]["type"], r["error"]["reason"])
            # An index made by an earlier schema: add the fields this release maps (additive, idempotent).
            client.request("PUT", f"/{name}/_mapping", body={"properties": props})

    with ThreadPoolExecutor(max_workers=8, thread_name_prefix="mlflow-store-es-schema") as pool:
        for done in [pool.submit(create, kind, props) for kind, props in MAPPINGS.items()]:
            done.result()
    record = {"version": SCHEMA_VERSION, "created": int(time.time() * 1000)}
    r = client.index(indices.meta, "schema", record, create=True, refresh="true")
    if r.get("_status") == 409:
        found = client.get(indices.meta, "schema")
        version = int((found or {}).get("_source", {}).get("version", SCHEMA_VERSION))
        if version < SCHEMA_VERSION:  # additive upgrade: the new indices were just created above
            client.index(indices.meta, "schema", record, refresh="true")
        elif version > SCHEMA_VERSION:
            raise MlflowException(
                f"Indices with prefix {indices.prefix!r} were created by a newer mlflow-store-es "
                f"(schema {version}; this release reads schema {SCHEMA_VERSION}). Upgrade mlflow-store-es.",
                INVALID_STATE,
            )
    _logger.debug("schema %s ready for prefix %s", SCHEMA_VERSION, indices.prefix)
