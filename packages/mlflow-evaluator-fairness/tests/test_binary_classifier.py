"""Binary classifier on load_breast_cancer: every logged number equals fairlearn / scikit-learn /
NumPy computed here, read back from the real tracking server; default + fairness on one run."""

from __future__ import annotations

import html
from functools import partial

import numpy as np
import pytest
from fairlearn import metrics as flm
from fairness_testkit import assert_close
from mlflow_evaluator_fairness.keys import group_path
from sklearn import metrics as skm

SENSITIVE = ["size_band", "texture_hi"]
GROUP_METRICS = {
    "count": flm.count,
    "selection_rate": flm.selection_rate,
    "accuracy": skm.accuracy_score,
    "precision": partial(skm.precision_score, zero_division=0),
    "recall": partial(skm.recall_score, zero_division=0),
    "true_positive_rate": flm.true_positive_rate,
    "false_positive_rate": flm.false_positive_rate,
}


def numpy_ece(y: np.ndarray, p: np.ndarray, bins: int) -> float:
    """Expected calibration error, written independently: loop over the bins (not rows)."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    total = 0.0
    for b in range(bins):
        in_bin = (p >= edges[b]) & ((p < edges[b + 1]) if b < bins - 1 else (p <= 1.0))
        if in_bin.any():
            total += in_bin.sum() / len(p) * abs(y[in_bin].mean() - p[in_bin].mean())
    return total


def brute_force_threshold(y: np.ndarray, p: np.ndarray, c_fp: float, c_fn: float) -> tuple[float, float]:
    candidates = np.append(np.unique(p), np.nextafter(p.max(), np.inf))
    costs = [c_fp * np.sum((p >= t) & (y == 0)) + c_fn * np.sum((p < t) & (y == 1)) for t in candidates]
    i = int(np.argmin(costs))  # first = lowest threshold among ties
    return float(candidates[i]), float(costs[i]) / len(y)


@pytest.fixture(scope="module")
def evaluated(breast_cancer, tracking_uri):
    from fairness_testkit import ServerRun, evaluate
    from mlflow.tracking import MlflowClient

    data = breast_cancer[["y", "pred", "proba", *SENSITIVE]]
    result, run_id = evaluate(
        data=data, targets="y", predictions="pred", model_type="classifier",
        evaluators=["default", "fairness"],
        evaluator_config={"fairness": {
            "sensitive_features": SENSITIVE, "pos_label": 1, "probability_column": "proba",
            "calibration_bins": 10, "cost_false_positive": 1.0, "cost_false_negative": 5.0,
        }},
    )
    return result, ServerRun(MlflowClient(tracking_uri=tracking_uri), run_id)


def test_default_and_fairness_metrics_land_on_one_run(evaluated, breast_cancer):
    result, run = evaluated
    y, pred = breast_cancer["y"].to_numpy(), breast_cancer["pred"].to_numpy()
    # MLflow's default (classifier) evaluator
    assert_close(run.metrics["accuracy_score"], skm.accuracy_score(y, pred))
    assert_close(run.metrics["f1_score"], skm.f1_score(y, pred))
    # ... and ours, on the same run on the server, and identical to the returned result
    assert "demographic_parity_difference" in run.metrics
    for key, value in result.metrics.items():
        assert_close(run.metrics[key], value)


def test_overall_differences_match_fairlearn(evaluated, breast_cancer):
    _, run = evaluated
    y, pred = breast_cancer["y"], breast_cancer["pred"]
    sf = breast_cancer[SENSITIVE]
    expected = {
        "demographic_parity_difference": flm.demographic_parity_difference(y, pred, sensitive_features=sf),
        "demographic_parity_ratio": flm.demographic_parity_ratio(y, pred, sensitive_features=sf),
        "equalized_odds_difference": flm.equalized_odds_difference(y, pred, sensitive_features=sf),
        "equalized_odds_ratio": flm.equalized_odds_ratio(y, pred, sensitive_features=sf),
        "equal_opportunity_difference": flm.equal_opportunity_difference(y, pred, sensitive_features=sf),
    }
    for key, value in expected.items():
        assert_close(run.metrics[key], float(value))
    assert run.metrics["groups_excluded_from_differences"] == 0


@pytest.mark.parametrize("features", [["size_band"], ["texture_hi"], SENSITIVE])
def test_per_group_metrics_match_metricframe(evaluated, breast_cancer, features):
    _, run = evaluated
    mf = flm.MetricFrame(
        metrics=GROUP_METRICS, y_true=breast_cancer["y"], y_pred=breast_cancer["pred"],
        sensitive_features=breast_cancer[features],
    )
    by_group = mf.by_group
    assert len(by_group) >= 2
    for index, row in by_group.iterrows():
        values = index if isinstance(index, tuple) else (index,)
        path = group_path(features, values)
        for metric in GROUP_METRICS:
            assert_close(run.group(path, metric), float(row[metric]))


@pytest.mark.parametrize("features", [["size_band"], SENSITIVE])
def test_calibration_and_thresholds_per_group(evaluated, breast_cancer, features):
    _, run = evaluated
    df = breast_cancer
    for values, part in df.groupby(features):
        y, p = part["y"].to_numpy(), part["proba"].to_numpy()
        path = group_path(features, values)
        assert_close(run.group(path, "brier_score"), skm.brier_score_loss(y, p))
        assert_close(run.group(path, "log_loss"), skm.log_loss(y, p, labels=[0, 1]))
        assert_close(run.group(path, "expected_calibration_error"), numpy_ece(y, p, 10))
        t, cost = brute_force_threshold(y, p, 1.0, 5.0)
        assert run.group(path, "cost_optimal_threshold") == t
        assert_close(run.group(path, "expected_cost_at_optimal_threshold"), cost)


def test_overall_calibration_and_threshold(evaluated, breast_cancer):
    _, run = evaluated
    y, p = breast_cancer["y"].to_numpy(), breast_cancer["proba"].to_numpy()
    assert_close(run.metrics["brier_score"], skm.brier_score_loss(y, p))
    assert_close(run.metrics["log_loss"], skm.log_loss(y, p))
    assert_close(run.metrics["expected_calibration_error"], numpy_ece(y, p, 10))
    t, cost = brute_force_threshold(y, p, 1.0, 5.0)
    assert run.metrics["cost_optimal_threshold"] == t
    assert_close(run.metrics["expected_cost_at_optimal_threshold"], cost)
    # with false negatives 5x as costly as false positives the threshold sits well below 0.5
    assert t < 0.5


def test_min_group_size_excludes_small_groups_from_differences(run_evaluate, server_run, breast_cancer):
    df = breast_cancer
    sf = df[SENSITIVE]
    sizes = sf.value_counts()
    min_size = int(sorted(sizes)[1]) + 1  # excludes the two smallest intersections
    _, run_id = run_evaluate(
        data=df[["y", "pred", *SENSITIVE]], targets="y", predictions="pred", model_type="classifier",
        evaluators=["fairness"], evaluator_config={"fairness": {"sensitive_features": SENSITIVE, "min_group_size": min_size}},
    )
    run = server_run(run_id)
    keep = sf.set_index(SENSITIVE).index.map(sizes).to_numpy() >= min_size
    small = [g for g, n in sizes.items() if n < min_size]
    assert run.metrics["groups_excluded_from_differences"] == len(small) == 2
    kept = df[keep]
    assert_close(run.metrics["demographic_parity_difference"],
                 flm.demographic_parity_difference(kept["y"], kept["pred"], sensitive_features=kept[SENSITIVE]))
    assert_close(run.metrics["equalized_odds_difference"],
                 flm.equalized_odds_difference(kept["y"], kept["pred"], sensitive_features=kept[SENSITIVE]))
    # the small groups are still reported
    for values in small:
        assert run.group(group_path(SENSITIVE, values), "count") == sizes[values]
    table = run.group_json()
    assert len(table["excluded_from_differences"]) == 2
    excluded_rows = [g for g in table["groups"] if g["in_differences"] is False]
    assert {r["group"] for r in excluded_rows} == set(table["excluded_from_differences"])
    report = run.artifact("fairness/report.html").read_text()
    assert f"smaller than min_group_size = {min_size}" in report
    assert "excluded from the worst-case" in report
    for label in table["excluded_from_differences"]:
        assert html.escape(label) in report
