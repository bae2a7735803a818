"""What a data scientist runs, in its own process (auth tokens are cached per process).

Configured only through environment variables, as a user would: MLFLOW_TRACKING_URI,
MLFLOW_TRACKING_AUTH=oauth2 + MLFLOW_OAUTH2_*, MLFLOW_HEADERS, MLFLOW_CONTEXT_TAGS, MLFLOW_OSS_*.
Prints one JSON object with the ids the test then checks through the REST API.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile

import mlflow
import numpy as np
import pandas as pd
from mlflow import MlflowClient
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split


def main() -> None:
    out: dict[str, object] = {}
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    X = X[["mean radius", "mean texture", "mean smoothness", "worst area"]]
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0, test_size=0.4)
    model = LogisticRegression(max_iter=5000).fit(X_train, y_train)

    mlflow.set_experiment(os.environ.get("WORKFLOW_EXPERIMENT", "integration"))
    with mlflow.start_run(run_name="train") as run:
        mlflow.log_params({"model": "LogisticRegression", "max_iter": 5000})
        for step in range(5):
            mlflow.log_metric("loss", float(np.exp(-step)), step=step)
        mlflow.log_text("integration artifact", "notes/readme.txt")
        info = mlflow.sklearn.log_model(model, name="model", input_example=X_test.iloc[:2])
        eval_df = X_test.copy()
        eval_df["label"] = y_test.values
        # not a model input, so given as one value per row (the fairness evaluator's README)
        size_band = np.where(X_test["mean radius"] > X_test["mean radius"].median(), "large", "small")
        result = mlflow.models.evaluate(
            info.model_uri, eval_df, targets="label", model_type="classifier",
            evaluators=["default", "fairness"],
            evaluator_config={"fairness": {"sensitive_features": {"size_band": size_band}, "pos_label": 1}},
            feature_names=list(X.columns),
        )
        out["eval_metric_keys"] = sorted(result.metrics)
    out["run_id"] = run.info.run_id
    out["experiment_id"] = run.info.experiment_id

    client = MlflowClient()
    mv = mlflow.register_model(info.model_uri, "integration-model")
    client.set_registered_model_alias("integration-model", "champion", mv.version)
    loaded = mlflow.pyfunc.load_model("models:/integration-model@champion")
    out["model_version"] = mv.version
    out["predictions"] = [int(p) for p in loaded.predict(X_test.iloc[:5])]
    out["expected_predictions"] = [int(p) for p in model.predict(X_test.iloc[:5])]

    extra = {}
    if os.environ.get("WORKFLOW_OSS_LOCATION"):
        extra["oss"] = os.environ["WORKFLOW_OSS_LOCATION"]
    if os.environ.get("WORKFLOW_SQLITE_LOCATION"):
        extra["sqlite"] = os.environ["WORKFLOW_SQLITE_LOCATION"]
    for kind, location in extra.items():
        exp_id = mlflow.create_experiment(f"integration-{kind}", artifact_location=location)
        with mlflow.start_run(experiment_id=exp_id) as r:
            with tempfile.TemporaryDirectory() as d:
                path = os.path.join(d, "data.csv")
                pd.DataFrame({"a": range(100)}).to_csv(path, index=False)
                mlflow.log_artifact(path, "tables")
            mlflow.sklearn.log_model(model, name="model")
        back = mlflow.sklearn.load_model(f"runs:/{r.info.run_id}/model")
        out[f"{kind}_run_id"] = r.info.run_id
        out[f"{kind}_artifact_uri"] = r.info.artifact_uri
        out[f"{kind}_roundtrip_ok"] = bool((back.predict(X_test) == model.predict(X_test)).all())
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
