"""Reject bad filter/order_by strings up front, exactly as MLflow's own stores would.

MLflow's in-memory `SearchUtils.filter` only checks a clause's comparator when it evaluates
the clause against a run, so on an empty result a bad filter would pass silently; we check
every clause against one blank run before searching.
"""

from __future__ import annotations

from mlflow.entities import Run, RunData, RunInfo, RunInputs
from mlflow.utils.search_utils import SearchUtils

_BLANK_RUN = Run(
    run_info=RunInfo(run_id="", experiment_id="", user_id="", status="RUNNING", start_time=0, end_time=0,
                     lifecycle_stage="active", run_name=""),
    run_data=RunData(),
    run_inputs=RunInputs(dataset_inputs=[], model_inputs=[]),
)


def validate_run_search(filter_string: str | None, order_by: list[str] | None) -> None:
    for clause in SearchUtils.parse_search_filter(filter_string):
        SearchUtils._does_run_match_clause(_BLANK_RUN, clause)
    for clause in order_by or []:
        SearchUtils.parse_order_by_for_search_runs(clause)
