"""Index mappings of traces and their spans (owned by traces.py).

Tag/metadata keys and span attributes are user-chosen: they live in `enabled: false` objects
(trace docs) or inside the stored span JSON, and are searchable only as `key<SEP>value`
keyword values (`tag_kv`, `metadata_kv`), never as mapped field names. Links of traces to runs
are their own docs (`trace_links`), as MLflow's SQL store keeps them in their own table.
"""

from __future__ import annotations

from typing import Any

from mlflow_store_es.mapping_types import KW, LONG, OPAQUE, STORED

# a keyword term is limited to 32,766 bytes: longer values are kept in _source, not indexed
KW_CAPPED: dict[str, Any] = {"type": "keyword", "ignore_above": 8000}

MAPPINGS: dict[str, dict[str, Any]] = {
    "traces": {
        "trace_id": KW, "experiment_id": KW, "request_time": LONG, "execution_duration": LONG,
        "state": KW, "client_request_id": KW_CAPPED, "request_preview": STORED, "response_preview": STORED,
        "tags": OPAQUE, "trace_metadata": OPAQUE, "analytics": OPAQUE, "tag_kv": KW_CAPPED,
        "metadata_kv": KW_CAPPED, "linked_run_ids": KW, "prompt_ids": KW_CAPPED, "assessments": OPAQUE,
    },
    # one doc per link of a trace to a run (id = hash of both), written whether or not the trace exists yet:
    # a link made while the trace's export is in flight must survive whichever write lands first
    "trace_links": {"trace_id": KW, "run_id": KW},
    "spans": {
        "trace_id": KW, "experiment_id": KW, "span_id": KW, "parent_span_id": KW, "name": KW_CAPPED,
        "span_type": KW_CAPPED, "status": KW, "start_time_ns": LONG, "end_time_ns": LONG, "content": STORED,
    },
}
