"""MLflow metric-key validity, checked against the real server: the issue's `=`/`&` keys are
refused by MLflow, the escaped keys are accepted and parse back to (feature, value) pairs."""

from __future__ import annotations

import time

import pandas as pd
import pytest
import requests
from mlflow.exceptions import MlflowException
from mlflow_evaluator_fairness.keys import escape, group_path, parse_group_key

RAW_KEY = "group/sex=1&age_band=30-40/accuracy"


def _log_batch_raw(url: str, run_id: str, key: str) -> requests.Response:
    body = {"run_id": run_id, "metrics": [{"key": key, "value": 0.5, "timestamp": int(time.time() * 1000), "step": 0}]}
    return requests.post(f"{url}/api/2.0/mlflow/runs/log-batch", json=body, timeout=30)


def test_server_refuses_equals_and_ampersand_and_accepts_the_escaped_key(tracking_uri, client):
    run_id = client.create_run(client.get_experiment_by_name("Default").experiment_id).info.run_id
    refused = _log_batch_raw(tracking_uri, run_id, RAW_KEY)  # straight to the REST API, no client checks
    assert refused.status_code == 400
    assert refused.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    with pytest.raises(MlflowException):
        client.log_metric(run_id, RAW_KEY, 0.5)

    escaped = group_path(["sex", "age_band"], [1, "30-40"]) + "/accuracy"
    assert escaped == "group/sex/1/age_band/30-40/accuracy"
    assert _log_batch_raw(tracking_uri, run_id, escaped).status_code == 200
    assert client.get_run(run_id).data.metrics[escaped] == 0.5
    assert parse_group_key(escaped) == ([("sex", "1"), ("age_band", "30-40")], "accuracy")


@pytest.mark.parametrize(("text", "expected"), [
    ("30-40", "30-40"), ("0.5", "0.5"), ("-0.0446", "-0.0446"), ("New York", "New York"),
    ("(30, 40]", "_30_ 40_"), ("a/b", "a_b"), ("x=y&z", "x_y_z"), ("", "_"), (".", "_."), ("..", "_.."),
    ("Zürich", "Z_rich"), ("a:b", "a_b"),
])
def test_escape(text, expected):
    assert escape(text) == expected


def test_awkward_values_are_logged_and_readable(run_evaluate, server_run):
    values = ["(30, 40]", "a/b", "..", "New York", "Zürich"]
    df = pd.DataFrame({"city": values * 4, "y": [0, 1] * 10, "pred": [1, 1, 0, 0] * 5})
    result, run_id = run_evaluate(data=df, targets="y", predictions="pred", model_type="classifier",
                                  evaluators=["fairness"], evaluator_config={"fairness": {"sensitive_features": ["city"]}})
    run = server_run(run_id)
    counts = {k: v for k, v in run.metrics.items() if k.endswith("/count")}
    assert sorted(counts) == sorted(f"group/city/{escape(v)}/count" for v in values)
    for key in counts:
        (pair,), metric = parse_group_key(key)
        assert pair[0] == "city" and metric == "count"
    # the group table keeps the original values next to each key
    rows = {r["key"]: r["city"] for r in run.group_json()["groups"]}
    assert rows == {f"group/city/{escape(v)}": v for v in values}


def test_metric_prefix(run_evaluate, server_run):
    df = pd.DataFrame({"g": ["a", "b"] * 4, "y": [0, 1] * 4, "pred": [0, 1, 1, 1] * 2})
    _, run_id = run_evaluate(data=df, targets="y", predictions="pred", model_type="classifier", evaluators=["fairness"],
                             evaluator_config={"fairness": {"sensitive_features": "g", "metric_prefix": "val_"}})
    m = server_run(run_id).metrics
    assert m["val_group/g/a/count"] == 4
    assert m["val_demographic_parity_difference"] == 0.5
    assert "group/g/a/count" not in m
    listed = {f.path for f in server_run(run_id).client.list_artifacts(run_id, "fairness/val")}
    assert "fairness/val/report.html" in listed and "fairness/val/group_metrics.json" in listed
