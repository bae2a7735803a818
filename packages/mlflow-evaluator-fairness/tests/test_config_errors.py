"""Bad input -> an MlflowException (INVALID_PARAMETER_VALUE) naming the setting; can_evaluate
never raises and declines what it cannot evaluate."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from mlflow.exceptions import MlflowException
from mlflow_evaluator_fairness.evaluator import FairnessEvaluator

DF = pd.DataFrame({
    "sex": [0, 1, 0, 1, 0, 1, 0, 1],
    "age_band": ["20-30", "20-30", "30-40", "30-40", "20-30", "30-40", "20-30", "30-40"],
    "y": [0, 1, 1, 0, 1, 1, 0, 0],
    "pred": [0, 1, 0, 0, 1, 1, 1, 0],
    "p": [0.1, 0.9, 0.4, 0.2, 0.8, 0.7, 0.6, 0.3],
})


def _setting(key: str) -> str:
    return f'evaluator_config["fairness"]["{key}"]'


def _fails(run_evaluate, config, *, data=DF, model_type="classifier") -> str:
    with pytest.raises(MlflowException) as info:
        run_evaluate(data=data, targets="y", predictions="pred", model_type=model_type,
                     evaluators=["fairness"], evaluator_config={"fairness": config})
    assert info.value.error_code == "INVALID_PARAMETER_VALUE"
    return info.value.message


@pytest.mark.parametrize(("config", "setting", "words"), [
    ({"sensitive_features": ["gender"]}, "sensitive_features", "column 'gender' is not in the evaluation data"),
    ({"sensitive_features": ["sex"], "groups": {"sex": [0, 2]}}, "groups", "sex=2 has 0 rows"),
    ({"sensitive_features": ["sex"], "calibration": True}, "calibration", "needs the positive-class probabilities"),
    ({"sensitive_features": ["sex"], "cost_false_positive": 1, "cost_false_negative": 2}, "cost_false_positive", "needs probabilities"),
    ({"sensitive_features": ["sex"], "cost_false_positive": 1}, "cost_false_negative", "must be set too"),
    ({"sensitive_features": ["sex"], "probability_column": "proba"}, "probability_column", "column 'proba' is not in"),
    ({"sensitive_features": ["sex"], "probability_column": "age_band"}, "probability_column", "probabilities in [0, 1]"),
    ({"sensitive_features": ["sex"], "min_group_size": 0}, "min_group_size", "integer >= 1"),
    ({"sensitive_features": ["sex"], "calibration_bins": "ten"}, "calibration_bins", "integer >= 1"),
    ({"sensitive_features": ["sex"], "pos_label": 7}, "pos_label", "7 is not one of the labels"),
    ({"sensitive_features": ["sex"], "groups": {"race": ["x"]}}, "groups", "'race' is not one of the sensitive_features"),
    ({"sensitive_features": {"sex": [1, 2, 3]}}, "sensitive_features", "expected one value per row (8)"),
    ({"sensitive_features": []}, "sensitive_features", "at least one"),
    ({"min_group_size": 5}, "sensitive_features", "is required"),
])
def test_bad_config_names_the_setting(run_evaluate, config, setting, words):
    message = _fails(run_evaluate, config)
    assert message.startswith(_setting(setting)), message
    assert words in message, message


def test_unknown_setting_is_refused(run_evaluate):
    message = _fails(run_evaluate, {"sensitive_features": ["sex"], "min_group_sise": 3})
    assert 'evaluator_config["fairness"]' in message and "min_group_sise" in message


@pytest.mark.parametrize("evaluators", [["default", "fairness"], ["fairness"]])
def test_misspelled_key_is_refused_not_ignored(run_evaluate, evaluators):
    with pytest.raises(MlflowException) as info:
        # no string column: MLflow's own SHAP step (in "default") fails on pandas 3 strings
        run_evaluate(data=DF.drop(columns="age_band"), targets="y", predictions="pred", model_type="classifier",
                     evaluators=evaluators, evaluator_config={"fairness": {"sensitive_feature": ["sex"]}})
    message = info.value.message
    assert info.value.error_code == "INVALID_PARAMETER_VALUE"
    assert message.startswith('evaluator_config["fairness"]: unknown setting(s) [\'sensitive_feature\']'), message
    assert "did you mean 'sensitive_features'" in message and "'min_group_size'" in message, message


def test_misspelled_key_in_a_flat_config_for_every_evaluator(run_evaluate):
    """evaluators=None: MLflow hands one flat config to every installed evaluator."""
    with pytest.raises(MlflowException, match=r"unknown setting\(s\) \['sensitive_feature'\]"):
        run_evaluate(data=DF, targets="y", predictions="pred", model_type="classifier",
                     evaluator_config={"sensitive_feature": ["sex"], "log_model_explainability": False})


def test_missing_sensitive_values(run_evaluate):
    data = DF.assign(sex=[0, 1, None, 1, 0, 1, 0, 1])
    message = _fails(run_evaluate, {"sensitive_features": ["sex"]}, data=data)
    assert message.startswith(_setting("sensitive_features")) and "1 missing value" in message


def test_every_row_filtered_out(run_evaluate):
    message = _fails(run_evaluate, {"sensitive_features": ["sex", "age_band"], "groups": {"sex": [0], "age_band": ["30-40"]}},
                     data=DF.assign(age_band=["20-30", "30-40"] * 4))
    assert message.startswith(_setting("groups")) and "no row is left" in message


def test_costs_on_a_multiclass_model(run_evaluate):
    data = DF.assign(y=[0, 1, 2, 0, 1, 2, 0, 1], pred=[0, 1, 2, 2, 1, 0, 0, 1])
    message = _fails(run_evaluate, {"sensitive_features": ["sex"], "cost_false_positive": 1, "cost_false_negative": 1}, data=data)
    assert message.startswith(_setting("cost_false_positive")) and "binary" in message


def test_escaped_values_that_collide(run_evaluate):
    data = DF.assign(age_band=["(20, 30]", "[20, 30)"] * 4)
    message = _fails(run_evaluate, {"sensitive_features": ["age_band"]}, data=data)
    assert message.startswith(_setting("sensitive_features")) and "both become" in message


def test_groups_filter_keeps_only_listed_values(run_evaluate, server_run):
    _, run_id = run_evaluate(data=DF, targets="y", predictions="pred", model_type="classifier", evaluators=["fairness"],
                             evaluator_config={"fairness": {"sensitive_features": ["sex", "age_band"], "groups": {"age_band": ["20-30"]}}})
    m = server_run(run_id).metrics
    assert m["group/age_band/20-30/count"] == 4
    assert not any("30-40" in k for k in m)


class _Weird:
    def __eq__(self, other):
        raise RuntimeError("boom")

    __hash__ = None  # unhashable


@pytest.mark.parametrize(("model_type", "config", "expected"), [
    ("classifier", {"sensitive_features": ["sex"]}, True),
    ("regressor", {"sensitive_features": ["sex"]}, True),
    ("classifier", {"min_group_size": 3}, True),  # asked for; evaluate() then says what is missing
    ("classifier", {}, False),  # not configured: a plain evaluate() must not be affected
    ("classifier", {"log_model_explainability": False}, False),
    ("classifier", {"sensitive_feature": ["sex"]}, True),  # a typo: evaluate() refuses it by name
    ("classifier", {"log_model_explainability": False, "sensitve_features": ["sex"]}, True),
    ("classifier", None, False),
    ("classifier", "sex", False),
    ("text", {"sensitive_features": ["sex"]}, False),
    ("question-answering", {"sensitive_features": ["sex"]}, False),
    ("databricks-agent", {"sensitive_features": ["sex"]}, False),
    (None, {"sensitive_features": ["sex"]}, False),
    (_Weird(), {"sensitive_features": ["sex"]}, False),
    (["classifier"], {"sensitive_features": ["sex"]}, False),
])
def test_can_evaluate_never_raises(model_type, config, expected):
    assert FairnessEvaluator.can_evaluate(model_type=model_type, evaluator_config=config) is expected


def test_installed_plugin_does_not_disturb_a_plain_evaluate(run_evaluate, server_run):
    _, run_id = run_evaluate(data=DF[["y", "pred", "sex"]], targets="y", predictions="pred", model_type="classifier")
    m = server_run(run_id).metrics
    assert "accuracy_score" in m
    assert not any(k.startswith("group/") or k == "demographic_parity_difference" for k in m)


def test_numpy_predictions_length_mismatch_is_clear(run_evaluate):
    def model(frame):
        return np.zeros(3)

    with pytest.raises(MlflowException, match="3 predictions for 8 targets"):
        run_evaluate(model=model, data=DF[["sex", "y"]], targets="y", model_type="classifier",
                     evaluators=["fairness"], evaluator_config={"fairness": {"sensitive_features": ["sex"]}})
