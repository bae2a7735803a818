"""Synthetic data whose answers are worked out by hand (see the comments)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from fairness_testkit import assert_close

# group A: y = 1 1 0 0, pred = 1 1 1 0, p = 0.75 each
#   selection 3/4, TPR 2/2 = 1, FPR 1/2, accuracy 3/4, precision 2/3
#   brier = (2 * 0.25^2 + 2 * 0.75^2) / 4 = 0.3125; ECE: one bin, |0.5 - 0.75| = 0.25
#   costs fp=1, fn=1: all positive costs 2 (2 FP), none positive costs 2 (2 FN): tie -> lowest
#   threshold 0.75, expected cost 2/4 = 0.5
# group B: y = 1 0 0 0, pred = 0 0 0 1, p = 0.25 each
#   selection 1/4, TPR 0/1 = 0, FPR 1/3, accuracy 2/4, precision 0 (0/1)
#   brier = (0.75^2 + 3 * 0.25^2) / 4 = 0.1875; ECE 0 (mean y = mean p = 0.25)
#   all positive costs 3, none positive costs 1 -> threshold just above 0.25, cost 1/4
# between A and B: DP difference 0.5, DP ratio 1/3, TPR diff 1, FPR diff 1/6 -> EO diff 1,
#   EO ratio min(0/1, (1/3)/(1/2)) = 0, equal opportunity difference 1
# overall: ECE = 4/8 * 0 + 4/8 * 0.25 = 0.125
# group C (2 rows, below min_group_size=3): y = 1 1, pred = 0 0, p = 0.05 -> reported, excluded
SYNTH = pd.DataFrame({
    "grp": list("AAAABBBB") + ["C", "C"],
    "y": [1, 1, 0, 0, 1, 0, 0, 0, 1, 1],
    "pred": [1, 1, 1, 0, 0, 0, 0, 1, 0, 0],
    "p": [0.75] * 4 + [0.25] * 4 + [0.05, 0.05],
})


@pytest.fixture(scope="module")
def synthetic_run(tracking_uri):
    from fairness_testkit import ServerRun, evaluate
    from mlflow.tracking import MlflowClient

    _, run_id = evaluate(
        data=SYNTH, targets="y", predictions="pred", model_type="classifier", evaluators=["fairness"],
        evaluator_config={"fairness": {
            "sensitive_features": ["grp"], "probability_column": "p", "min_group_size": 3,
            "cost_false_positive": 1, "cost_false_negative": 1, "calibration_bins": 10,
        }},
    )
    return ServerRun(MlflowClient(tracking_uri=tracking_uri), run_id)


def test_group_rates(synthetic_run):
    m = synthetic_run.metrics
    expected = {
        "A": dict(count=4, selection_rate=0.75, true_positive_rate=1, false_positive_rate=0.5, accuracy=0.75, precision=2 / 3, recall=1),
        "B": dict(count=4, selection_rate=0.25, true_positive_rate=0, false_positive_rate=1 / 3, accuracy=0.5, precision=0, recall=0),
        "C": dict(count=2, selection_rate=0, true_positive_rate=0, false_positive_rate=0, accuracy=0, precision=0, recall=0),
    }
    for g, metrics in expected.items():
        for name, value in metrics.items():
            assert_close(m[f"group/grp/{g}/{name}"], value)


def test_differences_exclude_the_small_group(synthetic_run):
    m = synthetic_run.metrics
    # with C included the DP difference would be 0.75 - 0 = 0.75; without it, 0.5
    assert_close(m["demographic_parity_difference"], 0.5)
    assert_close(m["demographic_parity_ratio"], 1 / 3)
    assert_close(m["equalized_odds_difference"], 1.0)
    assert_close(m["equalized_odds_ratio"], 0.0)
    assert_close(m["equal_opportunity_difference"], 1.0)
    assert m["groups_excluded_from_differences"] == 1
    assert synthetic_run.group_json()["excluded_from_differences"] == ["grp=C"]


def test_calibration(synthetic_run):
    m = synthetic_run.metrics
    assert_close(m["group/grp/A/brier_score"], 0.3125)
    assert_close(m["group/grp/B/brier_score"], 0.1875)
    assert_close(m["group/grp/A/expected_calibration_error"], 0.25)
    assert_close(m["group/grp/B/expected_calibration_error"], 0.0)
    assert_close(m["group/grp/A/log_loss"], -(2 * np.log(0.75) + 2 * np.log(0.25)) / 4)
    # overall ECE over the three groups: A's bin off by 0.25 (4 rows), B's exact, C's bin: y 1, p 0.05
    assert_close(m["expected_calibration_error"], (4 * 0.25 + 0 + 2 * 0.95) / 10)


def test_cost_optimal_thresholds(synthetic_run):
    m = synthetic_run.metrics
    assert m["group/grp/A/cost_optimal_threshold"] == 0.75  # tie: the lowest threshold
    assert_close(m["group/grp/A/expected_cost_at_optimal_threshold"], 0.5)
    assert m["group/grp/B/cost_optimal_threshold"] == np.nextafter(0.25, 1)  # nothing positive
    assert_close(m["group/grp/B/expected_cost_at_optimal_threshold"], 0.25)
    # overall (fp = fn = 1, 5 positives, 5 negatives): t = 0.75 -> 2 FP + 3 FN = 5;
    # t = 0.25 -> 5 FP + 2 FN = 7; t = 0.05 -> 5 FP + 0 FN = 5; above 0.75 -> 5 FN = 5:
    # a three-way tie at 5, the lowest threshold is 0.05
    assert m["cost_optimal_threshold"] == 0.05
    assert_close(m["expected_cost_at_optimal_threshold"], 0.5)


def test_regressor_known_answers(run_evaluate, server_run):
    # group a: errors 1, -1 -> MAE 1, RMSE 1; group b: errors 3, 0, -3 -> MAE 2, RMSE sqrt(6)
    df = pd.DataFrame({"g": ["a", "a", "b", "b", "b"], "y": [0.0, 0.0, 0.0, 0.0, 0.0], "pred": [1.0, -1.0, 3.0, 0.0, -3.0]})
    _, run_id = run_evaluate(data=df, targets="y", predictions="pred", model_type="regressor",
                             evaluators=["fairness"], evaluator_config={"fairness": {"sensitive_features": "g"}})
    m = server_run(run_id).metrics
    assert_close(m["group/g/a/mae"], 1.0)
    assert_close(m["group/g/b/rmse"], np.sqrt(6))
    assert_close(m["max_group_mae_difference"], 1.0)
    assert_close(m["max_group_rmse_difference"], np.sqrt(6) - 1)
    assert m["group/g/b/count"] == 3
