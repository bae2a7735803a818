"""Index mappings of logged models (owned by logged_models.py)."""

from __future__ import annotations

from typing import Any

from mlflow_store_es.mapping_types import KW, LONG, OPAQUE, STORED

MAPPINGS: dict[str, dict[str, Any]] = {
    "logged_models": {
        "model_id": KW, "experiment_id": KW, "name": KW, "source_run_id": KW, "model_type": KW,
        "status": KW, "status_message": STORED, "artifact_location": STORED, "creation_timestamp": LONG,
        "last_updated_timestamp": LONG, "lifecycle_stage": KW, "deleted_time": LONG,
        "tags": OPAQUE, "params": OPAQUE, "tag_kv": KW, "param_kv": KW,
    },
    "logged_model_metrics": {
        "model_id": KW, "run_id": KW, "key": KW, "step": LONG, "timestamp": LONG, "value": STORED,
        "num": {"type": "double"}, "dataset_name": KW, "dataset_digest": KW, "experiment_id": KW,
    },
}
