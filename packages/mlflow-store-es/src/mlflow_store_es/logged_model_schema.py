"""Index mappings of logged models (owned by logged_models.py)."""

from __future__ import annotations

from typing import Any

from mlflow_store_es.mapping_types import KW, LONG, OPAQUE, STORED

# user-chosen strings: longer values stay in _source but are not indexed (keyword terms are capped
# at 32,766 bytes); search re-checks every candidate in memory, so the pre-filter skips such values
TEXT_KW: dict[str, Any] = {"type": "keyword", "ignore_above": 8000}

MAPPINGS: dict[str, dict[str, Any]] = {
    "logged_models": {
        "model_id": KW, "experiment_id": KW, "name": TEXT_KW, "source_run_id": TEXT_KW, "model_type": TEXT_KW,
        "status": KW, "status_message": STORED, "artifact_location": STORED, "creation_timestamp": LONG,
        "last_updated_timestamp": LONG, "lifecycle_stage": KW, "deleted_time": LONG,
        "tags": OPAQUE, "params": OPAQUE, "tag_kv": KW, "param_kv": KW,
    },
    "logged_model_metrics": {
        "model_id": KW, "run_id": KW, "key": KW, "step": LONG, "timestamp": LONG, "value": STORED,
        "num": {"type": "double"}, "dataset_name": TEXT_KW, "dataset_digest": TEXT_KW, "experiment_id": KW,
        "seq": KW,  # the doc id again: scans page with search_after on a unique field
    },
}
