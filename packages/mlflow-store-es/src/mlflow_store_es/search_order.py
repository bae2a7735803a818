"""Runs ordered by attributes (or in MLflow's default order), sorted and paged by the engine.

MLflow orders runs by the `order_by` clauses, then by start time descending and run id (its
`SearchUtils.sort`), with missing values last in both directions. Every attribute that can be
ordered by, except `artifact_uri` (stored, not indexed), is a sortable field of the run doc, so
the engine gives that order itself (`missing: _last`, run id last: a total order) and the store
pages with `search_after`: a page reads only its own candidates, never the runs before it.

The page token carries the sort values of the page's last run (base64 JSON `{"after": [...]}`);
an offset token (`{"offset": n}`, what the in-store path hands out) is left to that path.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE
from mlflow.utils.search_utils import SearchUtils

# attribute -> run-doc field the engine can sort on
SORTABLE = {"start_time": "start_time", "end_time": "end_time", "run_name": "run_name", "status": "status",
            "user_id": "user_id", "run_id": "run_id"}
TIEBREAK = [{"start_time": {"order": "desc", "missing": "_last"}}, {"run_id": {"order": "asc"}}]


def engine_sort(order_by: list[str] | None) -> list[dict[str, Any]] | None:
    """The engine's sort for these clauses, or None when a clause is not an indexed attribute."""
    sort: list[dict[str, Any]] = []
    for clause in order_by or []:
        key_type, key, ascending = SearchUtils.parse_order_by_for_search_runs(clause)
        field = SORTABLE.get(SearchUtils.translate_key_alias(key))
        if key_type != "attribute" or field is None:
            return None
        sort.append({field: {"order": "asc" if ascending else "desc", "missing": "_last"}})
    return sort + TIEBREAK


def after_from_token(page_token: str | None) -> tuple[bool, list[Any] | None]:
    """(usable, search_after): an empty token starts at the top; an offset token is not ours."""
    if not page_token:
        return True, None
    try:
        parsed = json.loads(base64.b64decode(page_token))
    except (ValueError, TypeError) as e:
        raise MlflowException(f"Invalid page token: {e}", INVALID_PARAMETER_VALUE) from None
    if isinstance(parsed, dict) and isinstance(parsed.get("after"), list):
        return True, parsed["after"]
    return False, None


def token_after(sort_values: list[Any]) -> str:
    return base64.b64encode(json.dumps({"after": sort_values}).encode()).decode()
