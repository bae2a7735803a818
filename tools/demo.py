"""`make demo`: a running MLflow server with the plugins that are ready, and an example run.

Prints a progress line per step, the UI URL and the login, then keeps everything running until
Ctrl-C (or exits at once with DEMO_EXIT=1, as the tests do). DEMO_PORT picks the server's port
(default 5000); a taken port is a clear error.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def step(msg: str) -> None:
    print(f"[demo] {msg}", flush=True)


def _stop_like_ctrl_c(*_: object) -> None:
    raise KeyboardInterrupt


def main() -> int:
    from mlflow_testenv import TestenvError, start_service
    from mlflow_testenv.core import port_is_free

    port = int(os.environ.get("DEMO_PORT", "5000"))
    if not port_is_free(port):
        print(f"[demo] error: port {port} on 127.0.0.1 is taken; free it or run DEMO_PORT=5001 make demo", file=sys.stderr)
        return 1
    started = []
    try:
        step("starting the Elasticsearch-compatible engine (tracking + registry store)")
        es = start_service("es", parent_pid=os.getpid())
        started.append(es)
        es_url = es.exports["MLFLOW_TESTENV_ES_URL"].replace("http://", "elasticsearch://")
        data = Path(es.workdir)
        artifacts = f"sqlite:///{data}/artifacts.db"
        server_args = ["--backend-store-uri", es_url, "--registry-store-uri", es_url,
                       "--artifacts-destination", artifacts]
        step(f"starting mlflow server on 127.0.0.1:{port} (store {es_url}, artifacts {artifacts})")
        srv = start_service("mlflow", server_args, port=port, parent_pid=os.getpid())
        started.append(srv)
        url = srv.exports["MLFLOW_TESTENV_MLFLOW_URL"]
        step("logging an example run (scikit-learn model, params, metrics, artifacts)")
        run_id = log_example(url)
        step(f"example run {run_id} logged")
        print(f"\nMLflow UI: {url}\n(no login needed yet: the rbac app is not enabled in the demo)\n", flush=True)
        if os.environ.get("DEMO_EXIT") == "1":
            return 0
        step("running; press Ctrl-C to stop everything")
        signal.signal(signal.SIGTERM, _stop_like_ctrl_c)
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        step("stopping")
        return 0
    except TestenvError as e:
        print(f"[demo] error: {e}", file=sys.stderr)
        return 1
    finally:
        for r in reversed(started):
            r.stop()


def log_example(tracking_uri: str) -> str:
    import tempfile

    import mlflow
    import numpy as np
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split

    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_experiment("demo")
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    with mlflow.start_run(run_name="logistic-regression") as run:
        model = LogisticRegression(max_iter=5000).fit(X_train, y_train)
        mlflow.log_params({"max_iter": 5000, "model": "LogisticRegression"})
        for step_ in range(10):
            mlflow.log_metric("loss", float(np.exp(-step_ / 3)), step=step_)
        mlflow.log_metric("accuracy", float(model.score(X_test, y_test)))
        mlflow.log_text("An example run logged by make demo.", "README.txt")
        # The model's files as run artifacts (the ES store does not record logged models yet).
        with tempfile.TemporaryDirectory() as d:
            mlflow.sklearn.save_model(model, f"{d}/model", input_example=X_test.iloc[:3])
            mlflow.log_artifacts(f"{d}/model", "model")
        step("evaluating group fairness (fairness evaluator, size band of the tumour as the group)")
        data = X_test.assign(label=y_test.values, prediction=model.predict(X_test),
                             size_band=np.where(X_test["mean radius"] > X_test["mean radius"].median(), "large", "small"))
        result = mlflow.models.evaluate(data=data, targets="label", predictions="prediction", model_type="classifier",
                                        evaluators=["fairness"],
                                        evaluator_config={"fairness": {"sensitive_features": ["size_band"], "pos_label": 1}})
        step(f"demographic parity difference: {result.metrics['demographic_parity_difference']:.3f}")
    return run.info.run_id


if __name__ == "__main__":
    sys.exit(main())
