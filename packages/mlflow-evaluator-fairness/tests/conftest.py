"""A real `mlflow server` (one per pytest session, shared by xdist workers) as tracking server."""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from mlflow_testenv import session_service

sys.path.insert(0, str(Path(__file__).parent))
from fairness_testkit import ServerRun, evaluate  # noqa: E402

warnings.filterwarnings("ignore", category=UserWarning)


@pytest.fixture(scope="session")
def tracking_uri(tmp_path_factory: Any) -> str:
    url = session_service("mlflow", tmp_path_factory)["MLFLOW_TESTENV_MLFLOW_URL"]
    os.environ["MLFLOW_TRACKING_URI"] = url
    mlflow.set_tracking_uri(url)
    mlflow.set_experiment(f"fairness-tests-{os.getpid()}")
    return url


@pytest.fixture()
def client(tracking_uri: str) -> MlflowClient:
    return MlflowClient(tracking_uri=tracking_uri)


@pytest.fixture()
def server_run(client: MlflowClient):
    return lambda run_id: ServerRun(client, run_id)


@pytest.fixture()
def run_evaluate(tracking_uri: str):
    return evaluate


@pytest.fixture(scope="session")
def breast_cancer() -> pd.DataFrame:
    """load_breast_cancer with two sensitive attributes derived from its columns, a logistic
    regression's predictions and probabilities (pos label 1 = benign)."""
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    X = X.iloc[:, :8]
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)).fit(X, y)
    df = X.copy()
    df["size_band"] = pd.cut(df["mean radius"], [0, 12, 15, 100], labels=["small", "medium", "large"]).astype(object)
    df["texture_hi"] = (df["mean texture"] > df["mean texture"].median()).astype(int)
    df["y"] = y.to_numpy()
    df["pred"] = model.predict(X)
    df["proba"] = model.predict_proba(X)[:, 1]
    return df
