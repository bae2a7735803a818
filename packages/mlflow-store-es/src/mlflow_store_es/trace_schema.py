"""Index mappings of traces and their spans (owned by traces.py)."""

from __future__ import annotations

from typing import Any

from mlflow_store_es.mapping_types import KW, LONG, OPAQUE, STORED

MAPPINGS: dict[str, dict[str, Any]] = {
    "traces": {
        "trace_id": KW, "experiment_id": KW, "request_time": LONG, "execution_duration": LONG,
        "state": KW, "client_request_id": KW, "request_preview": STORED, "response_preview": STORED,
        "tags": OPAQUE, "trace_metadata": OPAQUE, "tag_kv": KW, "metadata_kv": KW, "run_ids": KW,
        "assessments": OPAQUE,
    },
    "spans": {
        "trace_id": KW, "span_id": KW, "parent_span_id": KW, "name": KW, "span_type": KW, "status": KW,
        "start_time_ns": LONG, "end_time_ns": LONG, "content": STORED,
    },
}
