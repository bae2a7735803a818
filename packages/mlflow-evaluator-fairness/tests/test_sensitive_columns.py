"""Sensitive columns that are in the data but are not model inputs, as a user passes them to
`mlflow.models.evaluate`: the model is given only its own inputs (signature, or a scikit-learn
model's `feature_names_in_`), and the sensitive columns are read from the whole data, also when
MLflow's `feature_names=` keeps them out of the features."""

from __future__ import annotations

import mlflow
import numpy as np
import pandas as pd
import pytest
from fairlearn import metrics as flm
from fairness_testkit import assert_close
from mlflow.exceptions import MlflowException
from sklearn import metrics as skm
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from mlflow_plugins_shared.compat import MLFLOW_3_PLUS


@pytest.fixture(scope="module")
def credit():
    """A fitted model on 6 features, and the evaluation data: those features, the target, and
    two sensitive columns the model never saw (`region` holds pandas 3 strings)."""
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    X = X.iloc[:, :6]
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)).fit(X, y)
    rng = np.random.default_rng(7)
    data = X.assign(
        y=y.to_numpy(),
        region=pd.Series(rng.choice(["north", "south", "east"], len(X)), dtype="str"),
        sex=rng.integers(0, 2, len(X)),
    )
    return X, y.to_numpy(), model, data


def _log(model, X, *, signature: bool) -> str:
    where = {"name": "model"} if MLFLOW_3_PLUS else {"artifact_path": "model"}  # renamed in MLflow 3
    with mlflow.start_run():
        info = mlflow.sklearn.log_model(model, input_example=X.iloc[:3] if signature else None, **where)
    return info.model_uri


def _check_regions(m: dict[str, float], model, X: pd.DataFrame, y: np.ndarray, region: np.ndarray) -> None:
    """Per-region metrics equal scikit-learn's on the model's predictions from its own inputs."""
    pred, p = model.predict(X), model.predict_proba(X)[:, 1]
    for value in ("east", "north", "south"):
        g = region == value
        assert m[f"group/region/{value}/count"] == g.sum()
        assert_close(m[f"group/region/{value}/accuracy"], skm.accuracy_score(y[g], pred[g]))
        assert_close(m[f"group/region/{value}/brier_score"], skm.brier_score_loss(y[g], p[g]))


@pytest.mark.parametrize("signature", [True, False], ids=["with-signature", "no-signature"])
def test_model_uri_with_sensitive_column_that_is_not_an_input(run_evaluate, server_run, credit, signature):
    X, y, model, data = credit
    uri = _log(model, X, signature=signature)
    _, run_id = run_evaluate(
        model=uri, data=data.drop(columns="sex"), targets="y", model_type="classifier", evaluators=["fairness"],
        evaluator_config={"fairness": {"sensitive_features": ["region"]}},
    )
    m = server_run(run_id).metrics
    region = data["region"].to_numpy()
    _check_regions(m, model, X, y, region)
    pred = model.predict(X)
    assert_close(m["demographic_parity_difference"], flm.demographic_parity_difference(y, pred, sensitive_features=region))
    assert_close(m["equalized_odds_difference"], flm.equalized_odds_difference(y, pred, sensitive_features=region))


def test_pyfunc_model_with_signature_and_extra_columns(run_evaluate, server_run, credit):
    X, y, model, data = credit
    pyfunc = mlflow.pyfunc.load_model(_log(model, X, signature=True))
    _, run_id = run_evaluate(
        model=pyfunc, data=data, targets="y", model_type="classifier", evaluators=["fairness"],
        evaluator_config={"fairness": {"sensitive_features": ["region", "sex"]}},
    )
    m = server_run(run_id).metrics
    _check_regions(m, model, X, y, data["region"].to_numpy())
    sf = data[["region", "sex"]]  # the differences are over the intersection, as fairlearn's
    assert_close(m["demographic_parity_difference"], flm.demographic_parity_difference(y, model.predict(X), sensitive_features=sf))


def test_feature_names_keeps_sensitive_columns_out_of_the_model(run_evaluate, server_run, credit):
    """MLflow's documented way: `feature_names=` the model inputs; MLflow's own default evaluator
    then runs on the same call, and the fairness evaluator finds `region` in the whole data."""
    X, y, model, data = credit
    uri = _log(model, X, signature=True)
    _, run_id = run_evaluate(
        model=uri, data=data, targets="y", model_type="classifier", feature_names=list(X.columns),
        evaluators=["default", "fairness"],
        evaluator_config={"fairness": {"sensitive_features": {"area": "region"}, "cost_false_positive": 1, "cost_false_negative": 3}},
    )
    m = server_run(run_id).metrics
    assert_close(m["accuracy_score"], skm.accuracy_score(y, model.predict(X)))  # MLflow's default evaluator
    pred = model.predict(X)
    region = data["region"].to_numpy()
    assert_close(m["demographic_parity_difference"], flm.demographic_parity_difference(y, pred, sensitive_features=region))
    assert m["group/area/north/count"] == (region == "north").sum()
    assert "cost_optimal_threshold" in m


def test_feature_names_with_an_mlflow_dataset_and_precomputed_predictions(run_evaluate, server_run, credit):
    X, y, model, data = credit
    scored = data.assign(pred=model.predict(X), score=model.predict_proba(X)[:, 1])
    dataset = mlflow.data.from_pandas(scored, targets="y", predictions="pred", name="credit-scored")
    _, run_id = run_evaluate(
        data=dataset, model_type="classifier", feature_names=list(X.columns), evaluators=["default", "fairness"],
        evaluator_config={"fairness": {"sensitive_features": ["region", "sex"], "probability_column": "score"}},
    )
    m = server_run(run_id).metrics
    assert "accuracy_score" in m
    assert_close(m["brier_score"], skm.brier_score_loss(y, scored["score"]))
    sf = data[["region", "sex"]]
    assert_close(m["equalized_odds_difference"], flm.equalized_odds_difference(y, scored["pred"], sensitive_features=sf))


def test_column_in_neither_features_nor_data_is_still_an_error(run_evaluate, credit):
    X, y, model, data = credit
    with pytest.raises(MlflowException) as info:
        run_evaluate(model=_log(model, X, signature=True), data=data, targets="y", model_type="classifier",
                     feature_names=list(X.columns), evaluators=["fairness"],
                     evaluator_config={"fairness": {"sensitive_features": ["gender"]}})
    message = info.value.message
    assert message.startswith('evaluator_config["fairness"]["sensitive_features"]: column \'gender\' is not in the evaluation data')
    assert "'region'" in message  # the whole data's columns are listed, not only the features


def test_feature_names_missing_a_model_input_is_a_clear_error(run_evaluate, credit):
    X, y, model, data = credit
    with pytest.raises(MlflowException) as info:
        run_evaluate(model=_log(model, X, signature=True), data=data, targets="y", model_type="classifier",
                     feature_names=list(X.columns[:-1]), evaluators=["fairness"],
                     evaluator_config={"fairness": {"sensitive_features": ["region"]}})
    assert info.value.error_code == "INVALID_PARAMETER_VALUE"
    assert f"model input column(s) [{X.columns[-1]!r}]" in info.value.message
