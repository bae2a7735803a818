"""Artifacts on the server: group table CSV/JSON agree with the logged metrics; PNG charts;
the HTML report shows the charts, the table and the exclusions together."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from PIL import Image

SENSITIVE = ["size_band", "texture_hi"]


@pytest.fixture(scope="module")
def run(breast_cancer, tracking_uri):
    from fairness_testkit import ServerRun, evaluate
    from mlflow.tracking import MlflowClient

    result, run_id = evaluate(
        data=breast_cancer[["y", "pred", "proba", *SENSITIVE]], targets="y", predictions="pred", model_type="classifier",
        evaluators=["fairness"],
        evaluator_config={"fairness": {"sensitive_features": SENSITIVE, "probability_column": "proba", "min_group_size": 61}},
    )
    return result, ServerRun(MlflowClient(tracking_uri=tracking_uri), run_id)


def test_artifacts_are_on_the_run(run):
    result, server = run
    listed = {f.path for f in server.client.list_artifacts(server.run_id, "fairness")}
    assert listed == {f"fairness/{n}" for n in ("group_metrics.csv", "group_metrics.json", "group_rates.png",
                                                 "reliability_diagram.png", "report.html")}
    assert set(result.artifacts) == {"fairness_group_metrics_csv", "fairness_group_metrics_json", "fairness_group_rates",
                                     "fairness_reliability_diagram", "fairness_report"}


def test_group_table_matches_metrics(run):
    _, server = run
    csv = pd.read_csv(server.artifact("fairness/group_metrics.csv"))
    data = server.group_json()
    assert len(csv) == len(data["groups"]) == 3 + 2 + 6  # size bands, texture, intersections
    for row in data["groups"]:
        for metric in ("count", "selection_rate", "accuracy", "true_positive_rate", "brier_score", "expected_calibration_error"):
            assert math.isclose(server.metrics[f"{row['key']}/{metric}"], row[metric], rel_tol=1e-12, abs_tol=1e-12)
    for key in ("demographic_parity_difference", "equalized_odds_difference", "brier_score"):
        assert math.isclose(data["overall"][key], server.metrics[key], rel_tol=1e-12)
    assert set(csv["key"]) == {r["key"] for r in data["groups"]}
    assert data["min_group_size"] == 61 and data["sensitive_features"] == SENSITIVE


@pytest.mark.parametrize("name", ["group_rates.png", "reliability_diagram.png"])
def test_charts_are_png_images(run, name):
    _, server = run
    with Image.open(server.artifact(f"fairness/{name}")) as img:
        assert img.format == "PNG"
        assert img.size[0] > 300 and img.size[1] > 200


def test_report_shows_everything_together(run):
    _, server = run
    page = server.artifact("fairness/report.html").read_text()
    assert page.count("data:image/png;base64,") == 2
    assert "demographic_parity_difference" in page and "group/size_band/small/texture_hi/0" in page
    excluded = server.group_json()["excluded_from_differences"]
    assert excluded, "min_group_size=61 must exclude some intersections"
    assert f"{len(excluded)} group(s) smaller than min_group_size = 61" in page
    assert page.count("class='excluded'") == len(excluded)


def test_log_artifacts_off(run_evaluate, server_run, breast_cancer):
    result, run_id = run_evaluate(data=breast_cancer[["y", "pred", "size_band"]], targets="y", predictions="pred",
                                  model_type="classifier", evaluators=["fairness"],
                                  evaluator_config={"fairness": {"sensitive_features": ["size_band"], "log_artifacts": False}})
    server = server_run(run_id)
    assert server.client.list_artifacts(run_id, "fairness") == []
    assert "demographic_parity_difference" in server.metrics and result.artifacts == {}
