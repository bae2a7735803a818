"""Each named deviation of the conformance kits reproduces on MLflow's SqlAlchemyStore exactly on the
releases it claims to affect: on the installed MLflow, the bug shows if and only if `affects()` says so."""

from __future__ import annotations

from pathlib import Path

import pytest
from mlflow.entities import LoggedModelStatus, Metric

from mlflow_plugins_shared.testing.deviations import DEVIATIONS
from mlflow_plugins_shared.testing.mlflow_compat import sql_store_has_v3_traces
from mlflow_plugins_shared.testing.tracking_store import sqlite_reference_store

BY_NAME = {d.name: d for d in DEVIATIONS}


@pytest.fixture
def store(tmp_path: Path):
    s = sqlite_reference_store(tmp_path)
    yield s
    s.engine.dispose()


def test_every_deviation_is_reproduced_here() -> None:
    assert set(BY_NAME) == {"logged-model-status-filter", "logged-model-metric-latest", "trace-search-empty-last-page"}
    for dev in DEVIATIONS:
        assert dev.what and dev.reproduction and dev.label


def test_logged_model_status_filter(store) -> None:
    eid = store.create_experiment("dev-status", None, [])
    m = store.create_logged_model(eid)
    store.finalize_logged_model(m.model_id, LoggedModelStatus.READY)
    found = store.search_logged_models([eid], filter_string="status = 'READY'")
    assert (len(found) == 0) == BY_NAME["logged-model-status-filter"].affects()


def test_logged_model_metric_latest(store) -> None:
    eid = store.create_experiment("dev-latest", None, [])
    run = store.create_run(eid, "u", 0, [], "r")
    m = store.create_logged_model(eid)
    store.log_batch(run.info.run_id, [Metric("acc", 0.9, 200, 0, model_id=m.model_id),
                                      Metric("acc", 0.1, 50, 3, model_id=m.model_id)], [], [])
    found = store.search_logged_models([eid], filter_string="metrics.acc > 0.5")
    # the latest acc is 0.1 (step 3); the bug matches the 0.9 logged at step 0
    assert (len(found) == 1) == BY_NAME["logged-model-metric-latest"].affects()


@pytest.mark.skipif(not sql_store_has_v3_traces(),
                    reason="MLflow's SqlAlchemyStore has the V3 trace API (start_trace(trace_info)) from MLflow 3.2")
def test_trace_search_empty_last_page(store) -> None:
    from mlflow_plugins_shared.testing.trace_store import make_trace_info, trace_id

    eid = store.create_experiment("dev-traces", None, [])
    for i in range(7):
        store.start_trace(make_trace_info(trace_id(i), eid, 1_700_000_000_000 + i))
    _, token = store.search_traces(locations=[eid], max_results=7)
    assert (token is not None) == BY_NAME["trace-search-empty-last-page"].affects()
