"""Model URI, pyfunc model, callable and precomputed predictions; pandas, NumPy and MLflow
datasets; regressors (load_diabetes) and multiclass one-vs-rest (load_wine)."""

from __future__ import annotations

import mlflow
import numpy as np
import pandas as pd
import pytest
from fairlearn import metrics as flm
from fairness_testkit import assert_close
from mlflow_evaluator_fairness.keys import class_prefix, group_path
from sklearn import metrics as skm
from sklearn.datasets import load_breast_cancer, load_diabetes, load_wine
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from mlflow_plugins_shared.compat import MLFLOW_3_PLUS


def _log_model(model, X):
    where = {"name": "model"} if MLFLOW_3_PLUS else {"artifact_path": "model"}  # renamed in MLflow 3
    with mlflow.start_run():
        info = mlflow.sklearn.log_model(model, input_example=X.iloc[:3], **where)
    return info.model_uri


def test_regressor_from_model_uri_matches_metricframe(run_evaluate, server_run):
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    uri = _log_model(LinearRegression().fit(X, y), X)
    # sex is a column of the data (two scaled values); the age band is derived from "age" and
    # given as values, because the model only accepts its own ten features
    age_band = pd.qcut(X["age"], 3, labels=["young", "middle", "old"]).astype(str).to_numpy()
    data = X.assign(target=y)
    _, run_id = run_evaluate(
        model=uri, data=data, targets="target", model_type="regressor", evaluators=["default", "fairness"],
        evaluator_config={"fairness": {"sensitive_features": {"sex": "sex", "age_band": age_band}}},
    )
    m = server_run(run_id).metrics
    pred = mlflow.pyfunc.load_model(uri).predict(X)
    assert_close(m["mean_absolute_error"], skm.mean_absolute_error(y, pred))  # default evaluator
    sf = pd.DataFrame({"sex": X["sex"].to_numpy(), "age_band": age_band})
    metrics = {"mae": skm.mean_absolute_error, "rmse": skm.root_mean_squared_error, "count": flm.count}
    for features in (["sex"], ["age_band"], ["sex", "age_band"]):
        mf = flm.MetricFrame(metrics=metrics, y_true=y, y_pred=pred, sensitive_features=sf[features])
        for index, row in mf.by_group.iterrows():
            path = group_path(features, index if isinstance(index, tuple) else (index,))
            for name in metrics:
                assert_close(m[f"{path}/{name}"], float(row[name]))
    mf = flm.MetricFrame(metrics=metrics, y_true=y, y_pred=pred, sensitive_features=sf)
    assert_close(m["max_group_mae_difference"], float(mf.difference()["mae"]))
    assert_close(m["max_group_rmse_difference"], float(mf.difference()["rmse"]))
    assert len([k for k in m if k.startswith("group/sex/") and k.count("/") == 5 and k.endswith("/count")]) == 6


def test_multiclass_pyfunc_model_one_vs_rest(run_evaluate, server_run):
    X, y = load_wine(return_X_y=True, as_frame=True)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, C=0.05)).fit(X, y)
    pyfunc = mlflow.pyfunc.load_model(_log_model(model, X))
    alcohol = np.where(X["alcohol"] > X["alcohol"].median(), "high", "low")
    _, run_id = run_evaluate(
        model=pyfunc, data=X.assign(y=y), targets="y", model_type="classifier", evaluators=["default", "fairness"],
        evaluator_config={"fairness": {"sensitive_features": {"alcohol": alcohol}}},
    )
    m = server_run(run_id).metrics
    pred, proba = model.predict(X), model.predict_proba(X)
    assert "accuracy_score" in m  # default evaluator on the same run
    sf = pd.Series(alcohol, name="alcohol")
    dpds = []
    for c in (0, 1, 2):
        yc, pc = (y == c).astype(int), (pred == c).astype(int)
        prefix = class_prefix(c)
        mf = flm.MetricFrame(metrics={"selection_rate": flm.selection_rate, "true_positive_rate": flm.true_positive_rate,
                                      "false_positive_rate": flm.false_positive_rate},
                             y_true=yc, y_pred=pc, sensitive_features=sf)
        for value, row in mf.by_group.iterrows():
            for name in ("selection_rate", "true_positive_rate", "false_positive_rate"):
                assert_close(m[f"{prefix}group/alcohol/{value}/{name}"], float(row[name]))
            in_group = alcohol == value
            assert_close(m[f"{prefix}group/alcohol/{value}/brier_score"], skm.brier_score_loss(yc[in_group], proba[in_group, c]))
        dpd = flm.demographic_parity_difference(yc, pc, sensitive_features=sf)
        assert_close(m[f"{prefix}demographic_parity_difference"], dpd)
        assert_close(m[f"{prefix}equalized_odds_difference"], flm.equalized_odds_difference(yc, pc, sensitive_features=sf))
        dpds.append(dpd)
    assert_close(m["demographic_parity_difference"], max(dpds))  # headline = worst class
    for value in ("high", "low"):
        in_group = alcohol == value
        assert_close(m[f"group/alcohol/{value}/accuracy"], skm.accuracy_score(y[in_group], pred[in_group]))
        assert m[f"group/alcohol/{value}/count"] == in_group.sum()


@pytest.fixture(scope="module")
def cancer():
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    X = X.iloc[:, :6]
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)).fit(X, y)
    texture = np.where(X["mean texture"] > X["mean texture"].median(), "hi", "lo")
    return X, y.to_numpy(), model, texture


def test_numpy_data_with_pyfunc_model_uses_predict_proba(run_evaluate, server_run, cancer):
    X, y, model, texture = cancer
    pyfunc = mlflow.pyfunc.load_model(_log_model(model, X))
    _, run_id = run_evaluate(
        model=pyfunc, data=X.to_numpy(), targets=y, feature_names=list(X.columns), model_type="classifier",
        evaluators=["fairness"],
        evaluator_config={"fairness": {"sensitive_features": {"texture": texture}, "cost_false_positive": 2, "cost_false_negative": 1}},
    )
    m = server_run(run_id).metrics
    p = model.predict_proba(X)[:, 1]
    for value in ("hi", "lo"):
        g = texture == value
        assert_close(m[f"group/texture/{value}/brier_score"], skm.brier_score_loss(y[g], p[g]))
        assert_close(m[f"group/texture/{value}/log_loss"], skm.log_loss(y[g], p[g], labels=[0, 1]))
    assert_close(m["demographic_parity_difference"],
                 flm.demographic_parity_difference(y, model.predict(X), sensitive_features=texture))
    assert "cost_optimal_threshold" in m


def test_numpy_column_as_sensitive_feature(run_evaluate, server_run, cancer):
    X, y, model, _ = cancer
    arr = X.to_numpy().copy()
    arr[:, 0] = (arr[:, 0] > 14).astype(float)  # a binary attribute in column 1 of a plain array
    pred = (arr[:, 1] > 19).astype(int)
    _, run_id = run_evaluate(model=lambda frame: (frame["feature_2"] > 19).astype(int).to_numpy(), data=arr, targets=y,
                             model_type="classifier", evaluators=["fairness"],
                             evaluator_config={"fairness": {"sensitive_features": ["feature_1"]}})
    m = server_run(run_id).metrics
    assert_close(m["demographic_parity_difference"], flm.demographic_parity_difference(y, pred, sensitive_features=arr[:, 0]))
    assert m["group/feature_1/1.0/count"] == (arr[:, 0] == 1).sum()


def test_mlflow_dataset_with_predictions(run_evaluate, server_run, breast_cancer):
    df = breast_cancer[["y", "pred", "size_band"]]
    dataset = mlflow.data.from_pandas(df, targets="y", predictions="pred", name="cancer-eval")
    _, run_id = run_evaluate(data=dataset, model_type="classifier", evaluators=["default", "fairness"],
                             evaluator_config={"fairness": {"sensitive_features": ["size_band"]}})
    m = server_run(run_id).metrics
    assert_close(m["equalized_odds_difference"],
                 flm.equalized_odds_difference(df["y"], df["pred"], sensitive_features=df["size_band"]))
    assert "accuracy_score" in m


def test_callable_returning_label_and_score_columns(run_evaluate, server_run, cancer):
    X, y, model, texture = cancer

    def predict(frame: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame({"label": model.predict(frame[X.columns]), "score": model.predict_proba(frame[X.columns])[:, 1]})

    _, run_id = run_evaluate(model=predict, data=X.assign(y=y), targets="y", predictions="label", model_type="classifier",
                             evaluators=["fairness"],
                             evaluator_config={"fairness": {"sensitive_features": {"texture": texture}, "probability_column": "score"}})
    m = server_run(run_id).metrics
    p = model.predict_proba(X)[:, 1]
    assert_close(m["brier_score"], skm.brier_score_loss(y, p))
    assert_close(m["group/texture/hi/selection_rate"], model.predict(X)[texture == "hi"].mean())
