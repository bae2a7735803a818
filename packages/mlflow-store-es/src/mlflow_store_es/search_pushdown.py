"""Turn the parts of an MLflow run filter that the engine can answer into a pre-filter.

Every query built here matches a superset of what MLflow's own evaluation keeps (usually the
exact set); the store then re-applies `SearchUtils.filter` to the candidates, so answers stay
MLflow's. Keys are never field names: params/tags/metrics are indexed as `key<SEP>value`
keyword values, metric values in an order-preserving hex encoding so that a keyword range
query on `acc<SEP>` ... compares numbers.
"""

from __future__ import annotations

import math
import struct
from typing import Any

SEP = "\u241f"  # SYMBOL FOR UNIT SEPARATOR: cannot appear in a valid MLflow key
LONG = "\u0000long"  # marker for values too long to index as one keyword
MAX_INDEXED_CHARS = 8000  # keyword terms are limited to 32,766 bytes


def sortable(value: float) -> str:
    """16 hex digits whose string order is the numeric order (finite values and +/-inf)."""
    (bits,) = struct.unpack(">Q", struct.pack(">d", value + 0.0))  # + 0.0 folds -0.0 into 0.0
    bits = (~bits & 0xFFFFFFFFFFFFFFFF) if bits >> 63 else bits | (1 << 63)
    return f"{bits:016x}"


def kv(key: str, value: str) -> str:
    entry = f"{key}{SEP}{value}"
    return entry if len(entry) <= MAX_INDEXED_CHARS else f"{key}{SEP}{LONG}"


def index_fields(src: dict[str, Any]) -> dict[str, list[str]]:
    """The searchable keyword arrays derived from a run doc's params, tags and latest metrics."""
    metric_kv = []
    for key, (value_text, _ts, _step) in (src.get("latest") or {}).items():
        v = float(value_text)
        if not math.isnan(v):
            metric_kv.append(f"{key}{SEP}{sortable(v)}")
    params = src.get("params") or {}
    tags = src.get("tags") or {}
    return {
        "metric_keys": sorted(src.get("latest") or {}),
        "metric_kv": metric_kv,
        "param_keys": list(params),
        "param_kv": [kv(k, v) for k, v in params.items()],
        "tag_keys": list(tags),
        "tag_kv": [kv(k, v) for k, v in tags.items()],
        "dataset_kv": [kv(d["name"], d["digest"]) for d in (src.get("inputs") or {}).get("datasets") or []],
    }


def _string_clause(field: str, keys_field: str, key: str, comparator: str, value: Any) -> dict[str, Any] | None:
    if comparator == "=":
        return {"terms": {field: [kv(key, value), f"{key}{SEP}{LONG}"]}}
    if comparator == "!=":  # MLflow: the key must exist and differ
        return {"bool": {"filter": [{"term": {keys_field: key}}], "must_not": [{"term": {field: kv(key, value)}}]}}
    if comparator == "IS NULL":
        return {"bool": {"must_not": [{"term": {keys_field: key}}]}}
    if comparator == "IS NOT NULL" or comparator in ("LIKE", "ILIKE"):
        return {"term": {keys_field: key}}
    return None


_RANGE = {">": "gt", ">=": "gte", "<": "lt", "<=": "lte"}
_RUN_KEYWORDS = {"run_id", "run_name", "user_id", "status", "lifecycle_stage"}


def clause_query(clause: dict[str, Any]) -> dict[str, Any] | None:
    kind, key, comparator, value = clause["type"], clause["key"], clause["comparator"].upper(), clause["value"]
    if kind == "metric":
        v = float(value)
        if math.isnan(v):
            return None
        if comparator == "=":
            return {"term": {"metric_kv": f"{key}{SEP}{sortable(v)}"}}
        if comparator in _RANGE:
            lo, hi = f"{key}{SEP}", f"{key}{SEP}g"  # every encoded value sorts between these
            bound = f"{key}{SEP}{sortable(v)}"
            rng: dict[str, str] = {_RANGE[comparator]: bound}
            rng.setdefault("gte" if comparator.startswith("<") else "lt", lo if comparator.startswith("<") else hi)
            return {"range": {"metric_kv": rng}}
        return {"term": {"metric_keys": key}} if comparator == "!=" else None
    if kind == "parameter":
        return _string_clause("param_kv", "param_keys", key, comparator, value)
    if kind == "tag":
        return _string_clause("tag_kv", "tag_keys", key, comparator, value)
    if kind == "attribute":
        key = {"created": "start_time", "Created": "start_time", "run name": "run_name",
               "Run name": "run_name", "Run Name": "run_name"}.get(key, key)
        if key in ("start_time", "end_time") and comparator in _RANGE:
            return {"range": {key: {_RANGE[comparator]: int(value)}}}
        if key in ("start_time", "end_time") and comparator == "=":
            return {"term": {key: int(value)}}
        if key in _RUN_KEYWORDS:
            if comparator == "=":
                return {"term": {key: value}}
            if comparator == "IN":
                return {"terms": {key: list(value)}}
            if comparator == "NOT IN":
                return {"bool": {"must_not": [{"terms": {key: list(value)}}]}}
    return None


def prefilter(parsed: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [q for q in (clause_query(c) for c in parsed) if q is not None]
