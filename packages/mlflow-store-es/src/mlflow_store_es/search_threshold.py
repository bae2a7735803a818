"""`search_runs` ordered by one metric without fetching every candidate.

The engine cannot sort runs by the value of one metric key: keys are never field names (a real
cluster caps an index at 1,000 mapped fields), they are `key<SEP>value` entries of the keyword
array `metric_kv`, whose values are encoded so that string order is numeric order. It can,
however, list the distinct values of one key among the matching runs in order, with their run
counts (a `terms` aggregation restricted to the key's entries, ordered by key). Summing those
counts gives the value T that the first `offset + max_results + 1` candidates reach. Each bucket
also lists the ids of its runs (a `top_hits` sub-aggregation without sources), so one `_mget`
then fetches exactly the runs up to T: 1 search + 1 mget. When a bucket up to T holds more runs
than `top_hits` may list (ties beyond `TOP_HITS_MAX`), a second search fetches the candidates whose
value is at most T (at least T, descending) instead.

That set is a prefix of MLflow's order: runs without the metric, or whose value is NaN, sort
last in both directions, and every candidate left out has a value beyond T. The store applies
MLflow's own filter and sort to it; when fewer than `offset + max_results + 1` runs survive the
filter (the pre-filter only narrows), or anything looks inconsistent, the caller falls back to
scanning every candidate, so answers are MLflow's either way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mlflow.utils.search_utils import SearchUtils

from mlflow_store_es.search_pushdown import SEP

MAX_WINDOW = 10_000  # the engines' default index.max_result_window
TOP_HITS_MAX = 100  # the engines' default index.max_inner_result_window
_LUCENE_REGEX_RESERVED = set('.?+*|{}[]()"\\#@&<>~')


@dataclass(frozen=True)
class MetricOrder:
    key: str
    ascending: bool


def metric_order(order_by: list[str] | None) -> MetricOrder | None:
    """The metric that orders the search, when it is the only order_by clause."""
    if not order_by or len(order_by) != 1:
        return None
    key_type, key, ascending = SearchUtils.parse_order_by_for_search_runs(order_by[0])
    if key_type != SearchUtils._METRIC_IDENTIFIER:
        return None
    return MetricOrder(key, ascending)


def _regex_literal(text: str) -> str:
    return "".join("\\" + c if c in _LUCENE_REGEX_RESERVED else c for c in text)


def values_body(query: dict[str, Any], order: MetricOrder, need: int) -> dict[str, Any]:
    """The first `need` distinct values of the metric among the matching runs, with run counts."""
    return {
        "size": 0,
        "track_total_hits": False,
        "query": query,
        "aggs": {"values": {"terms": {
            "field": "metric_kv",
            "include": _regex_literal(order.key + SEP) + ".*",
            "size": need,
            "order": {"_key": "asc" if order.ascending else "desc"},
        }, "aggs": {"runs": {"top_hits": {"size": min(need, TOP_HITS_MAX), "_source": False}}}}},
    }


def _buckets(answer: dict[str, Any]) -> list[dict[str, Any]]:
    return ((answer.get("aggregations") or {}).get("values") or {}).get("buckets") or []


def include_ignored(answer: dict[str, Any], order: MetricOrder) -> bool:
    """True when the engine answered with values of other keys: it does not apply `include`
    (noida-db 0.2 ignores it), so this path cannot work there."""
    prefix = order.key + SEP
    return any(not str(b.get("key", "")).startswith(prefix) for b in _buckets(answer))


def threshold(answer: dict[str, Any], need: int) -> tuple[str, int] | None:
    """The encoded value reached by the first `need` runs and how many runs reach it (ties
    included), or None when fewer than `need` candidates have the metric at all."""
    buckets = _buckets(answer)
    runs = 0
    for bucket in buckets:
        runs += int(bucket["doc_count"])
        if runs >= need:
            return str(bucket["key"]), runs
    return None


def run_ids_through(answer: dict[str, Any], value: str) -> list[str] | None:
    """The ids of the runs whose value comes up to `value` (its bucket included), or None when a
    bucket lists fewer runs than it counts (more ties than `top_hits` returns)."""
    ids: list[str] = []
    for bucket in _buckets(answer):
        hits = ((bucket.get("runs") or {}).get("hits") or {}).get("hits")
        if hits is None or len(hits) < int(bucket["doc_count"]):
            return None
        ids.extend(str(h["_id"]) for h in hits)
        if bucket["key"] == value:
            return ids
    return None


def still_within(entries: list[str], order: MetricOrder, value: str) -> bool:
    """True when a run's `metric_kv` entries still place it up to `value` (it may have been
    written between the aggregation and the fetch)."""
    prefix = order.key + SEP
    mine = next((e for e in entries if e.startswith(prefix)), None)
    if mine is None:
        return False
    return mine <= value if order.ascending else mine >= value


def within(query: dict[str, Any], order: MetricOrder, value: str) -> dict[str, Any]:
    """`query` narrowed to the runs whose metric value is `value` or comes before it."""
    low, high = order.key + SEP, order.key + SEP + "g"  # every encoded value sorts between these
    bounds = {"gte": low, "lte": value} if order.ascending else {"gte": value, "lt": high}
    return {"bool": {"filter": [query, {"range": {"metric_kv": bounds}}]}}
