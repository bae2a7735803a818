"""Traces of the tracking store: trace infos, tags, search, delete, spans (`log_spans`,
`get_trace`, `batch_get_traces`) and links to runs and prompts.

Layout: one doc per trace in the `traces` index (id = trace id) holding its tags, metadata,
token/cost/session columns (`analytics`, the columns MLflow's SQL store promotes out of the
metadata), stored assessments and the ids of linked runs/prompts; one doc per span in the
`spans` index with the deterministic id sha(trace id, span id), so a retried `log_spans` never
duplicates. `log_spans` writes all spans of a call and the changed trace docs in one `_bulk`
(trace docs with if_seq_no, re-read and re-applied on a conflict).

Answers follow MLflow's `SqlAlchemyStore` (3.17): `search_traces` pre-filters on the engine
(experiments, time range, state, `key=value` keywords) and then evaluates the full filter and
ordering in memory with the SQL store's semantics (NULLs never match, nulls sort last, SQLite's
case-sensitive LIKE and ASCII-only ILIKE), offset page tokens from `SearchTraceUtils`.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from mlflow.entities import Trace, TraceData, TraceInfo
from mlflow.entities.lifecycle_stage import LifecycleStage
from mlflow.entities.trace_location import TraceLocation
from mlflow.entities.trace_state import TraceState
from mlflow.exceptions import MlflowException, MlflowTracingException
from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE, RESOURCE_DOES_NOT_EXIST, TEMPORARILY_UNAVAILABLE
from mlflow.store.tracking import SEARCH_MAX_RESULTS_THRESHOLD, SEARCH_TRACES_DEFAULT_MAX_RESULTS
from mlflow.tracing.constant import TraceMetadataKey, TraceTagKey
from mlflow.utils.mlflow_tags import MLFLOW_ARTIFACT_LOCATION
from mlflow.utils.search_utils import SearchTraceUtils
from mlflow.utils.uri import append_to_uri_path

from mlflow_plugins_shared.errors import MlflowNotImplementedException
from mlflow_store_es.client import dumps, raise_item_errors
from mlflow_store_es.codec import doc_id
from mlflow_store_es.mlflow_compat import (
    _get_truncated_preview,
    _parse_experiment_id,
    _resolve_experiment_ids_and_locations,
    _span_aggregation_node,
    _try_parse_json_string,
    _validate_trace_tag,
)
from mlflow_store_es.search_pushdown import LONG, SEP, kv

try:  # MLflow >= 3.17: spans in the tracking store, promoted token/cost/session columns
    from mlflow.entities.span import LazySpan
    from mlflow.store.tracking.utils.trace_analytics import (
        COST_COLUMN_BY_KEY,
        PROMOTED_TRACE_METADATA_KEYS,
        TOKEN_COLUMN_BY_KEY,
        TRACE_ANALYTICS_COLUMNS_BY_METADATA_KEY,
        analytics_columns_from_metadata,
        compatibility_metadata_from_columns,
        finite_float_or_none,
        token_count_or_none,
        validate_session_id,
        validate_trace_name,
    )
    from mlflow.tracing.constant import SpanAttributeKey, TraceSizeStatsKey

    SPANS_IN_STORE = True
except ImportError:  # pragma: no cover - older MLflow: traces only, spans go to artifacts
    SPANS_IN_STORE = False
    COST_COLUMN_BY_KEY, TOKEN_COLUMN_BY_KEY, TRACE_ANALYTICS_COLUMNS_BY_METADATA_KEY = {}, {}, {}
    PROMOTED_TRACE_METADATA_KEYS = frozenset()

    def analytics_columns_from_metadata(metadata: dict[str, str]) -> dict[str, float | int | str | None]:
        return {}

    def compatibility_metadata_from_columns(sql_trace_info: Any) -> dict[str, str]:
        return {}

    def validate_session_id(value: str | None) -> str | None:
        return value

    def validate_trace_name(value: str | None) -> str | None:
        return value

_logger = logging.getLogger(__name__)


def _checked_trace_name(name: str) -> str:
    """MLflow's validated trace name (it raises on an over-long one); typed `str | None` there
    because None passes through, so a str in is a str out."""
    checked = validate_trace_name(name)
    return name if checked is None else checked


MAX_TRACE_LINKS_PER_REQUEST = 100
_CAS_ATTEMPTS = 100
_SPAN_SEARCH_TIMESTAMP_TOLERANCE_MS = 10_000  # as SqlAlchemyStore: spans may start a little before their trace
_BULK_BYTES = 50 * 1024 * 1024  # below the engines' default 100 MB request limit
_IN_PROGRESS = {"IN_PROGRESS", "STATE_UNSPECIFIED"}
_TRACKING_STORE = "TRACKING_STORE"
_FINALIZED = getattr(TraceMetadataKey, "TRACE_INFO_FINALIZED", "mlflow.trace.infoFinalized")
_SESSION = getattr(TraceMetadataKey, "TRACE_SESSION", "mlflow.trace.session")
_SPANS_LOCATION = getattr(TraceTagKey, "SPANS_LOCATION", "mlflow.trace.spansLocation")
_ANALYTICS_COLUMNS = ("session_id", *TOKEN_COLUMN_BY_KEY.values(), *COST_COLUMN_BY_KEY.values())


def _not_found(trace_id: str) -> MlflowException:
    return MlflowException(f"Trace with ID '{trace_id}' not found.", RESOURCE_DOES_NOT_EXIST)


# -- doc <-> entity ---------------------------------------------------------------------------
def _analytics_row(src: dict[str, Any]) -> SimpleNamespace:
    values = src.get("analytics") or {}
    return SimpleNamespace(**{c: values.get(c) for c in _ANALYTICS_COLUMNS})


def trace_info_from_doc(src: dict[str, Any]) -> TraceInfo:
    metadata = dict(src.get("trace_metadata") or {})
    metadata.update(compatibility_metadata_from_columns(_analytics_row(src)))
    return TraceInfo(
        trace_id=src["trace_id"],
        trace_location=TraceLocation.from_experiment_id(str(src["experiment_id"])),
        request_time=src["request_time"],
        execution_duration=src.get("execution_duration"),
        state=TraceState(src["state"]),
        tags=dict(src.get("tags") or {}),
        trace_metadata=metadata,
        client_request_id=src.get("client_request_id"),
        request_preview=src.get("request_preview"),
        response_preview=src.get("response_preview"),
        assessments=_assessments_from_rows(src.get("assessments") or []),
    )


def _index_fields(src: dict[str, Any]) -> None:
    src["tag_kv"] = [kv(k, v) for k, v in (src.get("tags") or {}).items() if isinstance(v, str)]
    src["metadata_kv"] = [kv(k, v) for k, v in (src.get("trace_metadata") or {}).items() if isinstance(v, str)]


def _assessment_rows(trace_id: str, src: dict[str, Any], assessments: Iterable[Any]) -> list[dict[str, Any]]:
    """Assessments as the SQL store's rows (same id backfill, value JSON and aggregates)."""
    assessments = list(assessments or [])
    if not assessments:
        return []
    from mlflow.store.tracking.dbmodels.models import SqlAssessments

    rows = []
    for a in assessments:
        row = SqlAssessments.from_mlflow_entity(a)
        row.trace_id = trace_id
        row.experiment_id = int(src["experiment_id"])
        row.trace_timestamp_ms = src["request_time"]
        rows.append({c.name: getattr(row, c.name) for c in SqlAssessments.__table__.columns})
    return rows


def _assessments_from_rows(rows: list[dict[str, Any]]) -> list[Any]:
    if not rows:
        return []
    from mlflow.store.tracking.dbmodels.models import SqlAssessments

    return [SqlAssessments(**row).to_mlflow_entity() for row in rows]


# -- filter evaluation (SqlAlchemyStore semantics, in memory) -------------------------------------
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def _like_regex(pattern: str) -> re.Pattern[str]:
    parts = [".*" if ch == "%" else "." if ch == "_" else re.escape(ch) for ch in pattern]
    return re.compile("".join(parts), re.DOTALL)


def compare(comparator: str, lhs: Any, value: Any) -> bool:
    """One SQL comparison: NULL never matches, LIKE is case-sensitive, ILIKE lowers ASCII only
    (SQLite's lower()), RLIKE is re.search (MLflow's SQLite REGEXP)."""
    if lhs is None:
        return False
    if comparator == "=":
        return bool(lhs == value)
    if comparator == "!=":
        return bool(lhs != value)
    if comparator in (">", ">=", "<", "<="):
        if isinstance(lhs, str) != isinstance(value, str):
            return False
        return {">": lhs > value, ">=": lhs >= value, "<": lhs < value, "<=": lhs <= value}[comparator]
    if comparator == "LIKE":
        return _like_regex(str(value)).fullmatch(str(lhs)) is not None
    if comparator == "ILIKE":
        return _like_regex(str(value).translate(_ASCII_LOWER)).fullmatch(str(lhs).translate(_ASCII_LOWER)) is not None
    if comparator == "RLIKE":
        try:
            return re.search(str(value), str(lhs)) is not None
        except re.error:
            return False
    if comparator == "IN":
        return lhs in value
    if comparator == "NOT IN":
        return lhs not in value
    raise MlflowException(f"Invalid comparator '{comparator}'", INVALID_PARAMETER_VALUE)


def _attribute(src: dict[str, Any], key: str) -> Any:
    if key == "request_id":
        return src["trace_id"]
    if key == "timestamp_ms":
        return src.get("request_time")
    if key == "execution_time_ms":
        return src.get("execution_duration")
    if key == "end_time_ms":
        return src.get("request_time", 0) + (src.get("execution_duration") or 0)
    if key == "status":
        return src.get("state")
    if key == "experiment_id":
        return int(src["experiment_id"])
    if key == "client_request_id":
        return src.get("client_request_id")
    raise MlflowException(f"Invalid attribute key '{key}'", INVALID_PARAMETER_VALUE)


def _analytics_matches(key: str, comparator: str, value: Any, src: dict[str, Any]) -> bool:
    """MLflow's get_trace_analytics_metadata_filter over the stored columns."""
    columns = TRACE_ANALYTICS_COLUMNS_BY_METADATA_KEY[key]
    stored = src.get("analytics") or {}
    exists = any(stored.get(c) is not None for c in columns.values())
    if comparator == "IS NULL":
        return not exists
    if comparator == "IS NOT NULL":
        return exists
    if comparator not in ("=", "!="):
        raise MlflowException(
            f"Comparator '{comparator}' is not supported for reserved metadata '{key}'. "
            "Only '=', '!=', 'IS NULL', and 'IS NOT NULL' are supported.", INVALID_PARAMETER_VALUE)
    try:
        parsed = json.loads(value)
    except (TypeError, ValueError):
        parsed = None
    convert = token_count_or_none if key == TraceMetadataKey.TOKEN_USAGE else finite_float_or_none
    normalized = {}
    if isinstance(parsed, dict) and set(parsed).issubset(columns):
        normalized = {k: c for k in columns if (c := convert(parsed.get(k))) is not None}
    matches = bool(normalized) and value == json.dumps(normalized) and all(
        (stored.get(col) is not None and stored.get(col) == normalized[k]) if k in normalized else stored.get(col) is None
        for k, col in columns.items())
    return matches if comparator == "=" else exists and not matches


def _assessment_matches(key_type: str, key: str, comparator: str, value: Any, src: dict[str, Any]) -> bool:
    rows = [r for r in src.get("assessments") or []
            if r.get("assessment_type") == key_type and r.get("name") == key and r.get("valid")]
    if comparator == "IS NULL":
        return not rows
    if comparator == "IS NOT NULL":
        return bool(rows)
    for r in rows:
        stored = r.get("value")
        if comparator in SearchTraceUtils.NUMERIC_ASSESSMENT_COMPARATORS:
            if r.get("is_numeric_value") and compare(comparator, r.get("aggregate_value"), float(value)):
                return True
        elif comparator in ("=", "!="):
            equal = stored == value or stored == json.dumps(value)
            if equal == (comparator == "="):
                return True
        elif compare(comparator, stored, value):
            return True
    return False


def _span_attribute_pattern(attr: str, comparator: str, value: str) -> str:
    if comparator != "RLIKE":
        return f'%"{attr}"{value}%'
    body, prefix, suffix = value, '"\\\\".*', ""
    if value.startswith("^"):
        body, prefix = body[1:], '"\\\\"'
    if value.endswith("$"):
        body, suffix = body[:-1], '\\\\"'
    return f'"{attr}": {prefix}{body}{suffix}'


_SPAN_COLUMNS = {"name": "name", "type": "span_type", "status": "status", "content": "content"}
Pred = Callable[[dict[str, Any]], bool]


@dataclass
class TraceFilter:
    """A parsed trace filter: trace predicates, predicates one span must meet together, and an
    engine query that matches a superset of the traces."""

    preds: list[Pred] = field(default_factory=list)
    span_preds: list[Pred] = field(default_factory=list)
    query: list[dict[str, Any]] = field(default_factory=list)
    span_lower_bound_ms: float | None = None
    source_runs: list[str] = field(default_factory=list)  # run ids of `run_id = '...'` clauses
    linked_traces: dict[str, set[str]] = field(default_factory=dict)  # run id -> ids of traces linked to it

    def run_queries(self) -> list[dict[str, Any]]:
        """Engine clauses of the run filters, once `linked_traces` holds the runs' link docs."""
        key = TraceMetadataKey.SOURCE_RUN
        out = []
        for run_id in self.source_runs:
            should: list[dict[str, Any]] = [{"term": {"linked_run_ids": run_id}},
                                            {"terms": {"metadata_kv": [kv(key, run_id), f"{key}{SEP}{LONG}"]}}]
            linked = sorted(self.linked_traces.get(run_id, ()))
            if len(linked) > _MAX_PREFILTER_IDS:
                continue  # too many ids for one terms query: the predicate alone decides
            if linked:
                should.append({"terms": {"trace_id": linked}})
            out.append({"bool": {"should": should, "minimum_should_match": 1}})
        return out

    @classmethod
    def parse(cls, filter_string: str | None) -> TraceFilter:
        f = cls()
        for clause in SearchTraceUtils.parse_search_filter_for_search_traces(filter_string):
            f._add(clause["type"], clause["key"], clause.get("value"), clause["comparator"].upper())
        return f

    def _add(self, key_type: str, key: str, value: Any, comparator: str) -> None:  # noqa: C901 (one branch per SQL case)
        U = SearchTraceUtils
        if U.is_issue(key_type, key, comparator):
            self.preds.append(lambda s: any(r.get("assessment_type") == "issue" and r.get("name") == value
                                            for r in s.get("assessments") or []))
        elif U.is_attribute(key_type, key, comparator):
            if key == "timestamp_ms" and comparator in (">", ">="):
                lb = self.span_lower_bound_ms
                self.span_lower_bound_ms = value if lb is None else max(lb, value)
            self.preds.append(lambda s: compare(comparator, _attribute(s, key), value))
            self.query.extend(_attribute_query(key, comparator, value))
        elif U.is_tag(key_type, comparator) and key == TraceTagKey.TRACE_NAME:
            self._add_kv("tags", "tag_kv", key, comparator, value)
        elif U.is_request_metadata(key_type, comparator) and key == _SESSION:
            self.preds.append(_null_aware(comparator, value, lambda s: (s.get("analytics") or {}).get("session_id")))
        elif U.is_request_metadata(key_type, comparator) and key in TRACE_ANALYTICS_COLUMNS_BY_METADATA_KEY:
            if comparator not in ("IS NULL", "IS NOT NULL", "=", "!="):
                _analytics_matches(key, comparator, value, {})  # raises MLflow's error now, not per trace
            self.preds.append(lambda s: _analytics_matches(key, comparator, value, s))
        elif U.is_request_metadata(key_type, comparator) and key == TraceMetadataKey.SOURCE_RUN and comparator == "=":
            # the run's traces: its source-run metadata, or a link (a trace doc's `linked_run_ids`, or a link doc
            # in `trace_links`, which the search resolves into `linked_traces` before evaluating)
            self.source_runs.append(value)
            self.preds.append(lambda s: value in (s.get("linked_run_ids") or [])
                              or s.get("trace_id") in self.linked_traces.get(value, ())
                              or (s.get("trace_metadata") or {}).get(key) == value)
        elif U.is_tag(key_type, comparator):
            if key == TraceTagKey.LINKED_PROMPTS:
                if comparator != "=":
                    raise MlflowException(f"Invalid comparator '{comparator}' for prompts filter. Only '=' is "
                                          'supported with format: prompt = "name/version"', INVALID_PARAMETER_VALUE)
                if value.count("/") != 1:
                    raise MlflowException(f"Invalid prompts filter value '{value}'. Expected format: "
                                          'prompt = "name/version"', INVALID_PARAMETER_VALUE)
                self.preds.append(lambda s: value in (s.get("prompt_ids") or []))
                self.query.append({"term": {"prompt_ids": value}})
            else:
                self._add_kv("tags", "tag_kv", key, comparator, value)
        elif U.is_request_metadata(key_type, comparator):
            self._add_kv("trace_metadata", "metadata_kv", key, comparator, value)
        elif U.is_span(key_type, key, comparator):
            if key.startswith("attributes."):
                attr = U._trim_backticks(key[len("attributes."):])
                pattern = _span_attribute_pattern(attr, comparator, value)
                self.span_preds.append(lambda sp: compare(comparator, sp.get("content"), pattern))
            else:
                column = _SPAN_COLUMNS[key]
                self.span_preds.append(lambda sp: compare(comparator, sp.get(column), value))
        elif U.is_assessment(key_type, key, comparator):
            self.preds.append(lambda s: _assessment_matches(key_type, key, comparator, value, s))
        else:
            raise MlflowException(f"Invalid search expression type '{key_type}'", INVALID_PARAMETER_VALUE)

    def _add_kv(self, obj: str, kv_field: str, key: str, comparator: str, value: Any) -> None:
        if comparator == "IS NULL":
            self.preds.append(lambda s: key not in (s.get(obj) or {}))
        elif comparator == "IS NOT NULL":
            self.preds.append(lambda s: key in (s.get(obj) or {}))
        else:
            self.preds.append(lambda s: compare(comparator, (s.get(obj) or {}).get(key), value))
            if comparator == "=" and isinstance(value, str):
                self.query.append({"terms": {kv_field: [kv(key, value), f"{key}{SEP}{LONG}"]}})

    def span_matches(self, trace: dict[str, Any], span: dict[str, Any]) -> bool:
        if span.get("experiment_id") != trace["experiment_id"]:
            return False
        if self.span_lower_bound_ms is not None:
            bound = (self.span_lower_bound_ms - _SPAN_SEARCH_TIMESTAMP_TOLERANCE_MS) * 1_000_000
            if span.get("start_time_ns") is None or span["start_time_ns"] < bound:
                return False
        return all(p(span) for p in self.span_preds)


def _null_aware(comparator: str, value: Any, get: Callable[[dict[str, Any]], Any]) -> Pred:
    if comparator == "IS NULL":
        return lambda s: get(s) is None
    if comparator == "IS NOT NULL":
        return lambda s: get(s) is not None
    return lambda s: compare(comparator, get(s), value)


def _attribute_query(key: str, comparator: str, value: Any) -> list[dict[str, Any]]:
    field_name = {"timestamp_ms": "request_time", "execution_time_ms": "execution_duration", "status": "state",
                  "request_id": "trace_id"}.get(key)
    if field_name is None:
        return []
    if comparator == "=":
        return [{"term": {field_name: value}}]
    if comparator == "IN":
        return [{"terms": {field_name: list(value)}}]
    ops = {">": "gt", ">=": "gte", "<": "lt", "<=": "lte"}
    if comparator in ops and field_name in ("request_time", "execution_duration") and not isinstance(value, str):
        return [{"range": {field_name: {ops[comparator]: value}}}]
    return []


# -- ordering ---------------------------------------------------------------------------------
def order_keys(order_by: list[str] | None) -> list[tuple[Callable[[dict[str, Any]], Any], bool]]:
    """(getter, ascending) per clause, then MLflow's tie-breakers timestamp DESC, request_id ASC."""
    U = SearchTraceUtils
    keys: list[tuple[Callable[[dict[str, Any]], Any], bool]] = []
    seen: set[tuple[str, str]] = set()
    for clause in order_by or []:
        key_type, key, ascending = U.parse_order_by_for_search_traces(clause)
        if U.is_request_metadata(key_type, "=") and key in TRACE_ANALYTICS_COLUMNS_BY_METADATA_KEY:
            raise MlflowException.invalid_parameter_value(
                f"Ordering by reserved metadata '{key}' is not supported because it is represented by multiple columns.")
        if U.is_attribute(key_type, key, "="):
            getter = (lambda k: lambda s: _attribute(s, k))(key)
        elif U.is_request_metadata(key_type, "=") and key == _SESSION:
            getter = lambda s: (s.get("analytics") or {}).get("session_id")  # noqa: E731
        elif U.is_tag(key_type, "="):
            getter = (lambda k: lambda s: (s.get("tags") or {}).get(k))(key)
        elif U.is_request_metadata(key_type, "="):
            getter = (lambda k: lambda s: (s.get("trace_metadata") or {}).get(k))(key)
        else:
            raise MlflowException(f"Invalid identifier type '{key_type}'", INVALID_PARAMETER_VALUE)
        if (key_type, key) in seen:
            raise MlflowException(f"`order_by` contains duplicate fields: {order_by}", INVALID_PARAMETER_VALUE)
        seen.add((key_type, key))
        keys.append((getter, ascending))
    if ("attribute", "timestamp_ms") not in seen:
        keys.append((lambda s: s.get("request_time"), False))
    if ("attribute", "request_id") not in seen:
        keys.append((lambda s: s["trace_id"], True))
    return keys


def sort_docs(docs: list[dict[str, Any]], keys: list[tuple[Callable[[dict[str, Any]], Any], bool]]) -> list[dict[str, Any]]:
    """SQL ORDER BY: per clause NULLs last (ASC and DESC alike); stable sorts from the last key."""
    out = list(docs)
    for getter, ascending in reversed(keys):
        present = [d for d in out if getter(d) is not None]
        missing = [d for d in out if getter(d) is None]
        present.sort(key=getter, reverse=not ascending)
        out = present + missing
    return out


# -- spans ------------------------------------------------------------------------------------
@dataclass
class _SpanBatch:
    """What one log_spans call learns about one trace from its spans (as SqlAlchemyStore)."""

    spans: list[Any]
    docs: list[dict[str, Any]]
    min_start_ms: int
    max_end_ms: int | None
    root_status: str | None
    usage_nodes: list[Any]
    cost_nodes: list[Any]
    usage: dict[str, Any]
    cost: dict[str, Any]
    session_id: str | None
    user_id: str | None
    root_span_dict: dict[str, Any] | None
    trace_tags: dict[str, str]


def _span_batch(spans: list[Any]) -> _SpanBatch:
    from mlflow.entities.span_status import SpanStatusCode
    from mlflow.tracing.constant import GenAiSemconvKey
    from mlflow.tracing.otel.translation import translate_span_when_storing
    from mlflow.tracing.utils import TraceJSONEncoder, aggregate_cost_from_span_nodes, aggregate_usage_from_span_nodes

    usage_nodes, cost_nodes, docs = [], [], []
    session_id = user_id = root_span_dict = root_status = None
    trace_tags: dict[str, str] = {}
    for span in spans:
        span_dict = translate_span_when_storing(span)
        attrs = span_dict.get("attributes", {}) or {}
        usage_nodes.append(_span_aggregation_node(span.span_id, span.parent_id, attrs, SpanAttributeKey.CHAT_USAGE))
        cost_nodes.append(_span_aggregation_node(span.span_id, span.parent_id, attrs, SpanAttributeKey.LLM_COST))
        if attrs:
            sid = attrs.get(SpanAttributeKey.SESSION_ID) or attrs.get(GenAiSemconvKey.CONVERSATION_ID)
            if session_id is None and sid:
                session_id = validate_session_id(_try_parse_json_string(sid))
            if user_id is None and (uid := attrs.get("user.id")):
                user_id = _try_parse_json_string(uid)
        status = span.status.status_code
        status = status.value if hasattr(status, "value") else str(status)
        docs.append({
            "trace_id": span.trace_id, "span_id": span.span_id, "parent_span_id": span.parent_id,
            "name": span.name, "span_type": span.span_type, "status": status,
            "start_time_ns": span.start_time_ns, "end_time_ns": span.end_time_ns,
            "content": json.dumps(span_dict, cls=TraceJSONEncoder, ensure_ascii=False),
        })
        if span.parent_id is None:
            root_span_dict = span_dict
            root_status = "ERROR" if span.status.status_code == SpanStatusCode.ERROR else "OK"
            prefix = SpanAttributeKey.TRACE_TAG_PREFIX
            for attr_key, attr_value in attrs.items():
                if attr_key.startswith(prefix):
                    try:
                        k, v = _validate_trace_tag(attr_key[len(prefix):], str(_try_parse_json_string(attr_value)))
                        trace_tags[k] = _checked_trace_name(v) if k == TraceTagKey.TRACE_NAME else v
                    except MlflowException:
                        _logger.debug("Skipping invalid trace tag from span attribute %r", attr_key)
    ends = [s.end_time_ns for s in spans if s.end_time_ns is not None]
    return _SpanBatch(
        spans=spans, docs=docs, min_start_ms=min(s.start_time_ns for s in spans) // 1_000_000,
        max_end_ms=max(ends) // 1_000_000 if ends else None, root_status=root_status,
        usage_nodes=usage_nodes, cost_nodes=cost_nodes,
        usage=aggregate_usage_from_span_nodes(usage_nodes) or {}, cost=aggregate_cost_from_span_nodes(cost_nodes) or {},
        session_id=session_id, user_id=user_id, root_span_dict=root_span_dict, trace_tags=trace_tags)


def _stored_nodes(span_docs: list[dict[str, Any]], skip: set[str], key: str) -> list[Any]:
    nodes = []
    for d in span_docs:
        if d["span_id"] in skip:
            continue
        try:
            attrs = json.loads(d["content"]).get("attributes") or {}
        except (ValueError, AttributeError):
            continue
        nodes.append(_span_aggregation_node(d["span_id"], d.get("parent_span_id"), attrs, key))
    return nodes


def _apply_span_batch(src: dict[str, Any], batch: _SpanBatch, created: bool, stored: list[dict[str, Any]]) -> None:
    """SqlAlchemyStore._log_spans_once phase 5 on one trace doc."""
    from mlflow.tracing.utils import aggregate_cost_from_span_nodes, aggregate_usage_from_span_nodes

    meta = src.setdefault("trace_metadata", {})
    tags = src.setdefault("tags", {})
    analytics = src.setdefault("analytics", {})
    # the SQL store reads the finalize marker only for traces whose batch carries usage/cost/session
    finalized = _FINALIZED in meta and bool(batch.usage or batch.cost or batch.session_id)
    if not finalized:
        old_ts, old_exec = src["request_time"], src.get("execution_duration")
        new_ts = min(old_ts, batch.min_start_ms)
        if batch.max_end_ms is not None:
            end = batch.max_end_ms if old_exec is None else max(old_ts + old_exec, batch.max_end_ms)
            src["execution_duration"] = end - new_ts
        src["request_time"] = new_ts
    if src["state"] in _IN_PROGRESS and batch.root_status:
        src["state"] = batch.root_status
    if batch.root_span_dict:
        attrs = batch.root_span_dict.get("attributes", {}) or {}
        try:
            if src.get("request_preview") is None and (inputs := attrs.get(SpanAttributeKey.INPUTS)):
                src["request_preview"] = _get_truncated_preview(inputs, role="user")
            if src.get("response_preview") is None and (outputs := attrs.get(SpanAttributeKey.OUTPUTS)):
                src["response_preview"] = _get_truncated_preview(outputs, role="assistant")
        except Exception:  # noqa: BLE001 (the SQL store also only logs a failed preview)
            _logger.debug("Failed to build trace previews", exc_info=True)
    if TraceTagKey.TRACE_NAME in batch.trace_tags:
        tags[TraceTagKey.TRACE_NAME] = batch.trace_tags[TraceTagKey.TRACE_NAME]
    batch_ids = {s.span_id for s in batch.spans}
    for values, nodes, columns, attr_key, agg, conv in (
        (batch.usage, batch.usage_nodes, TOKEN_COLUMN_BY_KEY, SpanAttributeKey.CHAT_USAGE,
         aggregate_usage_from_span_nodes, token_count_or_none),
        (batch.cost, batch.cost_nodes, COST_COLUMN_BY_KEY, SpanAttributeKey.LLM_COST,
         aggregate_cost_from_span_nodes, finite_float_or_none),
    ):
        authoritative = _FINALIZED in meta and any(analytics.get(c) is not None for c in columns.values())
        if not values or authoritative:
            continue
        total = values if created else agg(nodes + _stored_nodes(stored, batch_ids, attr_key))
        for key, column in columns.items():
            if total and (v := conv(total.get(key))) is not None:
                analytics[column] = v
    if batch.session_id and analytics.get("session_id") is None:
        analytics["session_id"] = batch.session_id
    if batch.user_id and TraceMetadataKey.TRACE_USER not in meta:
        meta[TraceMetadataKey.TRACE_USER] = batch.user_id
    tags[_SPANS_LOCATION] = _TRACKING_STORE
    resource = next((r for s in batch.spans if (r := getattr(s._span, "resource", None)) is not None and r.attributes),
                    None)
    for key, value in (resource.attributes.items() if resource is not None else ()):
        if key.startswith(("telemetry.sdk.", "mlflow.")):
            continue
        try:
            k, v = _validate_trace_tag(key, value if isinstance(value, str) else json.dumps(value))
        except MlflowException:
            continue
        tags[k] = v
    tags.update({k: v for k, v in batch.trace_tags.items() if k != TraceTagKey.TRACE_NAME})
    _index_fields(src)


def _spans_for_trace(info: TraceInfo, span_docs: list[dict[str, Any]], allow_partial: bool) -> list[Any] | None:
    if info.tags.get(_SPANS_LOCATION) != _TRACKING_STORE:
        raise MlflowTracingException("Trace data not stored in tracking store")
    ordered = sorted(span_docs, key=lambda d: (0 if d.get("parent_span_id") is None else 1, d["start_time_ns"]))
    if not allow_partial and (stats := info.trace_metadata.get(TraceMetadataKey.SIZE_STATS)):
        expected = json.loads(stats).get(TraceSizeStatsKey.NUM_SPANS, 0)
        if len(ordered) < expected:
            _logger.debug("Trace %s has %d of %d spans", info.trace_id, len(ordered), expected)
            return None
    return [LazySpan.from_stored_content(d["content"]) for d in ordered]


# -- the mixin --------------------------------------------------------------------------------
_MAX_PREFILTER_IDS = 10_000  # engines cap a terms query at 65,536 values
_V2_START_TRACE_FIELDS = ("experiment_id", "timestamp_ms", "request_metadata", "tags")


class _Missing(Exception):
    pass


class TracesMixin:
    """Mixed into EsTrackingStore (which provides `client`, `ix`, `get_experiment`)."""

    client: Any
    ix: Any
    get_experiment: Callable[[Any], Any]

    # -- trace infos -----------------------------------------------------------------------
    def start_trace(self, trace_info: TraceInfo | None = None, **v2_fields: Any) -> TraceInfo:
        """The V3 `start_trace(trace_info)`. MLflow 3.0-3.1's server calls the V2 form
        (`experiment_id=, timestamp_ms=, request_metadata=, tags=`) under this same name: that form is not
        supported and answers 501 at once (a TypeError would be a 500, which MLflow's client retries)."""
        if v2_fields or not isinstance(trace_info, TraceInfo):
            unknown = sorted(set(v2_fields) - set(_V2_START_TRACE_FIELDS))
            if unknown:
                raise TypeError(f"start_trace() got unexpected keyword arguments {unknown}")
            raise MlflowNotImplementedException(
                "The V2 trace API (start_trace with experiment_id, timestamp_ms, request_metadata, tags) is not "
                "supported by mlflow-store-es: use an MLflow >= 3.2 client, which logs traces with the V3 API.")
        trace_name = validate_trace_name(trace_info.tags.get(TraceTagKey.TRACE_NAME))
        experiment = self.get_experiment(trace_info.experiment_id)
        if experiment.lifecycle_stage != LifecycleStage.ACTIVE:
            raise MlflowException(
                f"The experiment {experiment.experiment_id} must be in the 'active' state. "
                f"Current state is {experiment.lifecycle_stage}.", INVALID_PARAMETER_VALUE)
        trace_id = trace_info.trace_id
        metadata = dict(trace_info.trace_metadata.items())
        analytics = analytics_columns_from_metadata(metadata)
        for key in PROMOTED_TRACE_METADATA_KEYS:
            metadata.pop(key, None)
        metadata[_FINALIZED] = "true"
        tags = {k: v for k, v in trace_info.tags.items() if k != TraceTagKey.TRACE_NAME}
        tags[MLFLOW_ARTIFACT_LOCATION] = append_to_uri_path(experiment.artifact_location, "traces", trace_id, "artifacts")
        top = {"experiment_id": str(trace_info.experiment_id), "request_time": trace_info.request_time,
               "execution_duration": trace_info.execution_duration, "state": trace_info.state.value,
               "client_request_id": trace_info.client_request_id}
        doc: dict[str, Any] = {
            "trace_id": trace_id, **top, "request_preview": trace_info.request_preview,
            "response_preview": trace_info.response_preview,
            "tags": {**tags, **({TraceTagKey.TRACE_NAME: trace_name} if trace_name is not None else {})},
            "trace_metadata": metadata, "analytics": analytics, "linked_run_ids": [], "prompt_ids": [],
        }
        doc["assessments"] = _assessment_rows(trace_id, doc, trace_info.assessments)
        _index_fields(doc)
        if self.client.index(self.ix.traces, trace_id, doc, create=True).get("_status") != 409:
            return trace_info_from_doc(doc)

        def merge(src: dict[str, Any]) -> None:  # the trace exists (log_spans came first): merge as the SQL store
            src.update(top)
            src_tags = src.setdefault("tags", {})
            if TraceTagKey.TRACE_NAME in trace_info.tags:
                src_tags.pop(TraceTagKey.TRACE_NAME, None)
                if trace_name is not None:
                    src_tags[TraceTagKey.TRACE_NAME] = trace_name
            src.setdefault("analytics", {}).update(analytics)
            for name in ("request_preview", "response_preview"):
                if getattr(trace_info, name) is not None:
                    src[name] = getattr(trace_info, name)
            src_tags.update(tags)
            src.setdefault("trace_metadata", {}).update(metadata)
            by_id = {r["assessment_id"]: r for r in src.get("assessments") or []}
            by_id.update({r["assessment_id"]: r for r in _assessment_rows(trace_id, src, trace_info.assessments)})
            src["assessments"] = list(by_id.values())
            _index_fields(src)

        return trace_info_from_doc(self.client.update_with(self.ix.traces, trace_id, merge, lambda: _not_found(trace_id)))

    def _trace_doc(self, trace_id: str) -> dict[str, Any]:
        found = self.client.get(self.ix.traces, trace_id) if trace_id else None
        if found is None:
            raise _not_found(trace_id)
        return found["_source"]

    def get_trace_info(self, trace_id: str) -> TraceInfo:
        return trace_info_from_doc(self._trace_doc(trace_id))

    def _trace_docs(self, trace_ids: list[str], experiment_ids: list[str] | None) -> list[dict[str, Any]]:
        # the SQL store orders by each id's last position in the request (a dict of id -> index)
        position = {t: i for i, t in enumerate(trace_ids) if t}
        unique = sorted(position, key=position.__getitem__)
        wanted = None if experiment_ids is None else {str(_parse_experiment_id(e)) for e in experiment_ids}
        docs = []
        for i in range(0, len(unique), 1000):
            docs += [d["_source"] for d in self.client.mget(self.ix.traces, unique[i:i + 1000]) if d is not None]
        return [d for d in docs if wanted is None or d["experiment_id"] in wanted]

    def batch_get_trace_infos(self, trace_ids: list[str], location: str | None = None,
                              experiment_ids: list[str] | None = None) -> list[TraceInfo]:
        if not trace_ids:
            return []
        return [trace_info_from_doc(d) for d in self._trace_docs(list(trace_ids), experiment_ids)]

    def set_trace_tag(self, trace_id: str, key: str, value: str) -> None:
        key, value = _validate_trace_tag(key, value)
        if key == TraceTagKey.TRACE_NAME:
            value = _checked_trace_name(value)

        def change(src: dict[str, Any]) -> None:
            src.setdefault("tags", {})[key] = value
            _index_fields(src)

        self._update_trace(trace_id, change)

    def delete_trace_tag(self, trace_id: str, key: str) -> None:
        def change(src: dict[str, Any]) -> None:
            if key not in (src.get("tags") or {}):
                raise MlflowException(f"No trace tag with key '{key}' for trace with ID '{trace_id}'",
                                      RESOURCE_DOES_NOT_EXIST)
            del src["tags"][key]
            _index_fields(src)

        try:
            self._update_trace(trace_id, change)
        except MlflowException as e:
            if e.error_code == "RESOURCE_DOES_NOT_EXIST" and key != TraceTagKey.TRACE_NAME:
                raise MlflowException(f"No trace tag with key '{key}' for trace with ID '{trace_id}'",
                                      RESOURCE_DOES_NOT_EXIST) from None
            raise

    def _update_trace(self, trace_id: str, change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
        if not trace_id:
            raise _not_found(trace_id)
        return self.client.update_with(self.ix.traces, trace_id, change, lambda: _not_found(trace_id))

    # -- search ----------------------------------------------------------------------------
    def search_traces(self, experiment_ids: list[str] | None = None, filter_string: str | None = None,
                      max_results: int = SEARCH_TRACES_DEFAULT_MAX_RESULTS, order_by: list[str] | None = None,
                      page_token: str | None = None, model_id: str | None = None,
                      locations: list[str] | None = None) -> tuple[list[TraceInfo], str | None]:
        locations = _resolve_experiment_ids_and_locations(experiment_ids, locations)
        if max_results is None or not isinstance(max_results, int) or max_results < 1:
            raise MlflowException(f"Invalid value {max_results} for parameter 'max_results' supplied. It must be "
                                  "a positive integer", INVALID_PARAMETER_VALUE)
        if max_results > SEARCH_MAX_RESULTS_THRESHOLD:
            raise MlflowException(f"Invalid value {max_results} for parameter 'max_results' supplied. It must be at "
                                  f"most {SEARCH_MAX_RESULTS_THRESHOLD}", INVALID_PARAMETER_VALUE)
        keys = order_keys(order_by)
        flt = TraceFilter.parse(filter_string)
        offset = SearchTraceUtils.parse_start_offset_from_page_token(page_token)
        flt.linked_traces = {run_id: self._linked_trace_ids(run_id) for run_id in flt.source_runs}
        query: dict[str, Any] = {"bool": {"filter": [*flt.query, *flt.run_queries()]}}
        if locations is not None:
            ids = [str(_parse_experiment_id(e)) for e in locations]
            query["bool"]["filter"].append({"terms": {"experiment_id": ids}})
        docs = [h["_source"] for h in self.client.scan(self.ix.traces, query, [{"trace_id": "asc"}])]
        docs = [d for d in docs if all(p(d) for p in flt.preds)]
        if flt.span_preds and docs:
            docs = self._with_matching_span(docs, flt)
        ordered = sort_docs(docs, keys)
        page = ordered[offset:offset + max_results]
        # a token only when something follows the page (as SqlAlchemyStore from MLflow 3.18): never an empty last page
        token = SearchTraceUtils.create_page_token(offset + max_results) if len(ordered) > offset + max_results else None
        return [trace_info_from_doc(d) for d in page], token

    def _with_matching_span(self, docs: list[dict[str, Any]], flt: TraceFilter) -> list[dict[str, Any]]:
        matched: set[str] = set()
        by_id = {d["trace_id"]: d for d in docs}
        ids = list(by_id)
        for i in range(0, len(ids), 1000):
            for span in self._scan_spans(ids[i:i + 1000]):
                if span["trace_id"] not in matched and flt.span_matches(by_id[span["trace_id"]], span):
                    matched.add(span["trace_id"])
        return [d for d in docs if d["trace_id"] in matched]

    def _scan_spans(self, trace_ids: list[str], source: Any = True) -> Iterable[dict[str, Any]]:
        query = {"bool": {"filter": [{"terms": {"trace_id": trace_ids}}]}}
        for h in self.client.scan(self.ix.spans, query, [{"trace_id": "asc"}, {"span_id": "asc"}], source=source):
            yield h["_source"] if source is not False else h

    def _span_docs(self, trace_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
        out: dict[str, list[dict[str, Any]]] = defaultdict(list)
        ids = list(dict.fromkeys(trace_ids))
        for i in range(0, len(ids), 1000):
            for span in self._scan_spans(ids[i:i + 1000]):
                out[span["trace_id"]].append(span)
        return out

    # -- delete ----------------------------------------------------------------------------
    def _delete_traces(self, experiment_id: str, max_timestamp_millis: int | None = None,
                       max_traces: int | None = None, trace_ids: list[str] | None = None) -> int:
        eid = str(_parse_experiment_id(experiment_id))
        filters: list[dict[str, Any]] = [{"term": {"experiment_id": eid}}]
        if max_timestamp_millis is not None:
            filters.append({"range": {"request_time": {"lte": max_timestamp_millis}}})
        if trace_ids:
            filters.append({"terms": {"trace_id": list(trace_ids)}})
        hits = self.client.scan(self.ix.traces, {"bool": {"filter": filters}},
                                [{"request_time": "asc"}, {"trace_id": "asc"}], source=False)
        ids = [h["_id"] for h in hits]
        if max_traces is not None:
            ids = ids[:max_traces]
        if not ids:
            return 0
        span_ids = []
        for i in range(0, len(ids), 1000):
            span_ids += [h["_id"] for h in self._scan_spans(ids[i:i + 1000], source=False)]
        deleted = self.client.bulk_delete([(self.ix.traces, t) for t in ids] + [(self.ix.spans, s) for s in span_ids])
        for i in range(0, len(ids), 1000):
            self.client.delete_matching(self.ix.trace_links, {"terms": {"trace_id": ids[i:i + 1000]}},
                                        [{"trace_id": "asc"}, {"run_id": "asc"}])
        return sum(1 for index, _ in deleted if index == self.ix.traces)

    # -- spans -----------------------------------------------------------------------------
    def log_spans(self, location: str, spans: list[Any], tracking_uri: Any = None) -> list[Any]:
        if not SPANS_IN_STORE:
            raise MlflowNotImplementedException("Spans in the tracking store need MLflow >= 3.17.")
        if not spans:
            return []
        by_trace: dict[str, list[Any]] = defaultdict(list)
        for span in spans:
            by_trace[span.trace_id].append(span)
        batches = {tid: _span_batch(ss) for tid, ss in by_trace.items()}
        trace_ids = list(batches)
        found = dict(zip(trace_ids, self.client.mget(self.ix.traces, trace_ids), strict=True))
        experiment = self.get_experiment(location) if any(v is None for v in found.values()) else None
        span_lines_sent = False
        for _ in range(_CAS_ATTEMPTS):
            trace_lines, docs = self._trace_lines(location, experiment, batches, found)
            lines = list(trace_lines)
            if not span_lines_sent:
                lines += self._span_lines(batches, docs)
            results = self._send_bulk(lines)
            span_results = results[len(trace_lines) // 2:]
            raise_item_errors(span_results)
            span_lines_sent = True
            retry = []
            for tid, res in zip(list(docs), results[:len(trace_lines) // 2], strict=True):
                if int(res.get("status", 200)) == 409:
                    retry.append(tid)
                else:
                    raise_item_errors([res])
            if not retry:
                return spans
            batches = {tid: batches[tid] for tid in retry}
            found = dict(zip(retry, self.client.mget(self.ix.traces, retry), strict=True))
            if experiment is None and any(v is None for v in found.values()):
                experiment = self.get_experiment(location)
        raise MlflowException("Traces are being changed concurrently; retry", TEMPORARILY_UNAVAILABLE)

    def _trace_lines(self, location: str, experiment: Any, batches: dict[str, _SpanBatch],
                     found: dict[str, dict[str, Any] | None]) -> tuple[list[str], dict[str, dict[str, Any]]]:
        recompute = [tid for tid, b in batches.items() if found[tid] is not None and (b.usage or b.cost)]
        stored = self._span_docs(recompute) if recompute else {}
        lines: list[str] = []
        docs: dict[str, dict[str, Any]] = {}
        for tid, batch in batches.items():
            hit = found[tid]
            if hit is None:
                src = {
                    "trace_id": tid, "experiment_id": str(location), "request_time": batch.min_start_ms,
                    "execution_duration": batch.max_end_ms - batch.min_start_ms if batch.max_end_ms else None,
                    "state": batch.root_status or "IN_PROGRESS", "client_request_id": None,
                    "request_preview": None, "response_preview": None,
                    "tags": {MLFLOW_ARTIFACT_LOCATION: append_to_uri_path(
                        experiment.artifact_location, "traces", tid, "artifacts")},
                    "trace_metadata": {}, "analytics": {}, "linked_run_ids": [], "prompt_ids": [], "assessments": [],
                }
                head = {"create": {"_index": self.ix.traces, "_id": tid}}
            else:
                src = hit["_source"]
                head = {"index": {"_index": self.ix.traces, "_id": tid, "if_seq_no": hit["_seq_no"],
                                  "if_primary_term": hit["_primary_term"]}}
            _apply_span_batch(src, batch, hit is None, stored.get(tid, []))
            docs[tid] = src
            lines += [dumps(head), dumps(src)]
        return lines, docs

    def _span_lines(self, batches: dict[str, _SpanBatch], docs: dict[str, dict[str, Any]]) -> list[str]:
        lines = []
        for tid, batch in batches.items():
            for d in batch.docs:
                d["experiment_id"] = docs[tid]["experiment_id"]
                lines += [dumps({"index": {"_index": self.ix.spans, "_id": doc_id(tid, d["span_id"])}}), dumps(d)]
        return lines

    def _send_bulk(self, lines: list[str]) -> list[dict[str, Any]]:
        """Normally one request; split only when the body would pass the engines' request limit."""
        results: list[dict[str, Any]] = []
        start, size = 0, 0
        for i in range(0, len(lines), 2):
            size += len(lines[i].encode()) + len(lines[i + 1].encode()) + 2
            if size > _BULK_BYTES and i > start:
                results += self.client.bulk(lines[start:i])
                start, size = i, len(lines[i].encode()) + len(lines[i + 1].encode()) + 2
        return results + self.client.bulk(lines[start:])

    def get_trace(self, trace_id: str, *, allow_partial: bool = False) -> Trace:
        if not allow_partial:
            for attempt in range(3):
                if trace := self._get_trace(trace_id, False):
                    return trace
                if attempt < 2:
                    time.sleep(2**attempt)
            raise MlflowException(f"Trace with ID {trace_id} is not fully exported yet, please try again later.",
                                  RESOURCE_DOES_NOT_EXIST)
        trace = self._get_trace(trace_id, True)
        assert trace is not None  # noqa: S101 (allow_partial always returns a trace)
        return trace

    def _get_trace(self, trace_id: str, allow_partial: bool) -> Trace | None:
        found = self.client.get(self.ix.traces, trace_id) if trace_id else None
        if found is None:
            raise MlflowException(f"Trace with ID {trace_id} is not found.", RESOURCE_DOES_NOT_EXIST)
        info = trace_info_from_doc(found["_source"])
        in_store = info.tags.get(_SPANS_LOCATION) == _TRACKING_STORE
        span_docs = self._span_docs([trace_id]).get(trace_id, []) if in_store else []
        spans = _spans_for_trace(info, span_docs, allow_partial)
        if allow_partial or spans:
            return Trace(info=info, data=TraceData(spans=spans or []))
        return None

    def batch_get_traces(self, trace_ids: list[str], location: str | None = None,
                         experiment_ids: list[str] | None = None) -> list[Trace]:
        if not trace_ids:
            return []
        infos = [trace_info_from_doc(d) for d in self._trace_docs(list(trace_ids), experiment_ids)]
        span_docs = self._span_docs([i.trace_id for i in infos if i.tags.get(_SPANS_LOCATION) == _TRACKING_STORE])
        traces = []
        for info in infos:
            spans = _spans_for_trace(info, span_docs.get(info.trace_id, []), allow_partial=False)
            if spans:
                traces.append(Trace(info=info, data=TraceData(spans=spans)))
        return traces

    # -- links -----------------------------------------------------------------------------
    def link_traces_to_run(self, trace_ids: list[str], run_id: str) -> None:
        """As SqlAlchemyStore's association rows: a link doc per (trace, run) in `trace_links`, whether or not
        the trace exists yet. A client's link can arrive while the trace's export is still in flight (MLflow's
        asynchronous trace logging), so the link must not depend on which write lands first: searches read
        the link docs. Existing trace docs also get the run in `linked_run_ids` (the engine's pre-filter)."""
        if not trace_ids:
            return
        if len(trace_ids) > MAX_TRACE_LINKS_PER_REQUEST:
            raise MlflowException(
                f"Cannot link more than {MAX_TRACE_LINKS_PER_REQUEST} traces to a run in a single request. "
                f"Provided {len(trace_ids)} traces.", INVALID_PARAMETER_VALUE)
        if not isinstance(run_id, str) or not run_id:
            raise MlflowException(f"Invalid run ID {run_id!r} to link traces to: a non-empty string is required.",
                                  INVALID_PARAMETER_VALUE)
        ids = list(dict.fromkeys(t for t in trace_ids if t))
        lines: list[str] = []
        for tid in ids:
            lines += [dumps({"index": {"_index": self.ix.trace_links, "_id": doc_id(tid, run_id)}}),
                      dumps({"trace_id": tid, "run_id": run_id})]
        if lines:
            raise_item_errors(self.client.bulk(lines))

        def add(src: dict[str, Any]) -> None:
            if run_id not in (src.get("linked_run_ids") or []):
                src["linked_run_ids"] = [*(src.get("linked_run_ids") or []), run_id]

        self._change_existing(ids, add)

    def unlink_traces_from_run(self, trace_ids: list[str], run_id: str) -> None:
        def remove(src: dict[str, Any]) -> None:
            src["linked_run_ids"] = [r for r in src.get("linked_run_ids") or [] if r != run_id]

        ids = list(dict.fromkeys(t for t in trace_ids or [] if t))
        self.client.bulk_delete((self.ix.trace_links, doc_id(tid, run_id)) for tid in ids)
        self._change_existing(ids, remove)

    def _linked_trace_ids(self, run_id: str) -> set[str]:
        """Ids of the traces linked to a run by link docs (the traces may not exist)."""
        hits = self.client.scan(self.ix.trace_links, {"term": {"run_id": run_id}}, [{"trace_id": "asc"}],
                                source=["trace_id"])
        return {h["_source"]["trace_id"] for h in hits}

    def _change_existing(self, trace_ids: Iterable[str], change: Callable[[dict[str, Any]], None]) -> None:
        def missing() -> Exception:
            return _Missing()

        for tid in dict.fromkeys(t for t in trace_ids if t):
            try:
                self.client.update_with(self.ix.traces, tid, change, missing)
            except _Missing:
                _logger.debug("link/unlink: no trace %s", tid)

    def link_prompts_to_trace(self, trace_id: str, prompt_versions: list[Any]) -> None:
        if not prompt_versions:
            return
        ids = [f"{pv.name}/{pv.version}" for pv in prompt_versions]

        def add(src: dict[str, Any]) -> None:
            src["prompt_ids"] = list(dict.fromkeys([*(src.get("prompt_ids") or []), *ids]))

        self._update_trace(trace_id, add)
