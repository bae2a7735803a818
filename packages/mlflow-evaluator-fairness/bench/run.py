"""Benchmark: mlflow.models.evaluate() with the fairness evaluator vs MLflow's default evaluator
alone, on the same data and model, against a real `mlflow server` (tools/testenv).

    python packages/mlflow-evaluator-fairness/bench/run.py [--full] [--rounds N] --out rows.json

Quick mode: 100,000 rows; --full: 1,000,000 rows (the issue's size). Data: 8 numeric features,
sex (2 values) and age_band (10 values) -> 20 intersectional groups; a scikit-learn logistic
regression logged with mlflow.sklearn and passed to evaluate() as a loaded pyfunc model (so
loading is not timed). Each round times, interleaved: default alone, fairness alone, default +
fairness in one call. The median of the rounds is reported.

Because `mlflow.models.evaluate()` itself spends much of its time outside any evaluator (dataset
digest, schema inference, logging the dataset input), the bench also records the time spent in
each evaluator's own `evaluate()` (MLflow's classifier evaluator, which is what "default" runs for
a classifier, vs ours), by wrapping those two methods here.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

warnings.filterwarnings("ignore")


def make_data(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 8))
    sex = rng.integers(0, 2, n)
    age_band = rng.integers(0, 10, n)
    logit = X @ rng.normal(size=8) * 0.8 + 0.4 * sex - 0.1 * age_band + 0.3
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(np.int64)
    df = pd.DataFrame(X, columns=[f"x{i}" for i in range(8)])
    df["sex"] = sex
    df["age_band"] = age_band
    df["y"] = y
    return df


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--full", action="store_true", help="1,000,000 rows (default: 100,000)")
    ap.add_argument("--rows", type=int, default=None)
    ap.add_argument("--rounds", type=int, default=None, help="default: 3 quick, 2 full")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    n = args.rows or (1_000_000 if args.full else 100_000)
    rounds = args.rounds or (2 if args.full else 3)

    import mlflow
    from sklearn.linear_model import LogisticRegression

    from mlflow_plugins_shared.compat import MLFLOW_3_PLUS
    from mlflow_testenv import start_service

    srv = start_service("mlflow", parent_pid=os.getpid(), record=False)
    try:
        mlflow.set_tracking_uri(srv.exports["MLFLOW_TESTENV_MLFLOW_URL"])
        mlflow.set_experiment("fairness-bench")
        df = make_data(n)
        features = df.drop(columns="y")
        model = LogisticRegression(max_iter=500).fit(features.iloc[:50_000], df["y"].iloc[:50_000])
        with mlflow.start_run():
            where = {"name": "model"} if MLFLOW_3_PLUS else {"artifact_path": "model"}
            info = mlflow.sklearn.log_model(model, input_example=features.iloc[:3], **where)
        pyfunc = mlflow.pyfunc.load_model(info.model_uri)
        fairness = {"sensitive_features": ["sex", "age_band"], "pos_label": 1, "min_group_size": 30,
                    "cost_false_positive": 1.0, "cost_false_negative": 3.0}

        def run(evaluators: list[str]) -> float:
            config = {"fairness": fairness} if "fairness" in evaluators else None
            t0 = time.perf_counter()
            with mlflow.start_run():
                result = mlflow.models.evaluate(model=pyfunc, data=df, targets="y", model_type="classifier",
                                                evaluators=evaluators, evaluator_config=config)
            elapsed = time.perf_counter() - t0
            if "fairness" in evaluators:
                assert sum(k.endswith("/count") and k.count("/") == 5 for k in result.metrics) == 20
            return elapsed

        from mlflow.models.evaluation.evaluators.classifier import ClassifierEvaluator
        from mlflow_evaluator_fairness.evaluator import FairnessEvaluator

        own: dict[str, list[float]] = {"default": [], "fairness": []}

        def timed(cls: type, key: str) -> None:
            inner = cls.evaluate

            def wrapper(self, *a, **kw):  # type: ignore[no-untyped-def]
                t0 = time.perf_counter()
                try:
                    return inner(self, *a, **kw)
                finally:
                    own[key].append(time.perf_counter() - t0)

            cls.evaluate = wrapper  # type: ignore[method-assign]

        timed(ClassifierEvaluator, "default")
        timed(FairnessEvaluator, "fairness")

        run(["fairness"])  # warm-up: imports, first plots
        own["fairness"].clear()
        times: dict[str, list[float]] = {"default": [], "fairness": [], "both": []}
        for _ in range(rounds):
            times["default"].append(run(["default"]))
            times["fairness"].append(run(["fairness"]))
            times["both"].append(run(["default", "fairness"]))
    finally:
        srv.stop()

    med = {k: statistics.median(v) for k, v in times.items()}
    own_med = {k: statistics.median(v) for k, v in own.items()}
    base = {"package": "mlflow-evaluator-fairness", "unit": "s",
            "engine": f"mlflow {mlflow.__version__} server (SQLite, loopback), scikit-learn LogisticRegression pyfunc"}
    bench = f"evaluate(), {n:,} rows, 2 sensitive features (20 intersections)"
    anchor = "MLflow default evaluator alone"
    rows = [
        {**base, "benchmark": bench, "subject": f"fairness evaluator alone, median of {rounds}",
         "value": round(med["fairness"], 3), "anchor": anchor, "anchor_value": round(med["default"], 3),
         "ratio": round(med["fairness"] / med["default"], 3), "target": "<= 2x default",
         "notes": "metrics per group + intersections, calibration, cost thresholds, CSV/JSON/PNG/HTML artifacts; "
                  f"runs: {', '.join(f'{t:.2f}' for t in times['fairness'])}"},
        {**base, "benchmark": bench, "subject": f"default + fairness in one evaluate(), median of {rounds}",
         "value": round(med["both"], 3), "anchor": anchor, "anchor_value": round(med["default"], 3),
         "ratio": round(med["both"] / med["default"], 3), "target": "",
         "notes": f"default alone runs: {', '.join(f'{t:.2f}' for t in times['default'])}; shap not installed "
                  "(MLflow's explainability step skipped)"},
    ]
    rows.append(
        {**base, "benchmark": bench, "subject": f"FairnessEvaluator.evaluate() itself, median of {len(own['fairness'])}",
         "value": round(own_med["fairness"], 3), "anchor": "MLflow ClassifierEvaluator.evaluate() itself",
         "anchor_value": round(own_med["default"], 3), "ratio": round(own_med["fairness"] / own_med["default"], 3),
         "target": "", "notes": "time inside each evaluator only (prediction, metrics, logging, artifacts), "
                                "without evaluate()'s shared dataset handling"})
    Path(args.out).write_text(json.dumps(rows, indent=1))
    for r in rows:
        print(f"{r['subject']:<48} {r['value']:>8} s  vs {r['anchor_value']} s  ratio {r['ratio']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
