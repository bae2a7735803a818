"""The README's `python` blocks, executed as written and in order (one namespace, like a reader
pasting them into a session) against the real tracking server; each result is checked against
fairlearn / scikit-learn computed here from the block's own data and model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fairlearn import metrics as flm
from fairness_testkit import assert_close
from sklearn import metrics as skm

from mlflow_plugins_shared.testing.readme import code_blocks

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = [code for lang, code in code_blocks(README) if lang == "python"]


@pytest.fixture(scope="module")
def executed(tracking_uri: str) -> list[tuple[BaseException | None, dict[str, Any]]]:
    """(exception or None, a copy of the namespace) after each block."""
    namespace: dict[str, Any] = {"__name__": "readme"}
    outcomes: list[tuple[BaseException | None, dict[str, Any]]] = []
    for i, code in enumerate(BLOCKS):
        try:
            exec(compile(code, f"README.md python block {i + 1}", "exec"), namespace)  # noqa: S102 - our own README
            outcomes.append((None, dict(namespace)))
        except Exception as e:  # reported by the test of that block
            outcomes.append((e, dict(namespace)))
    return outcomes


def _ran(executed, index: int) -> dict[str, Any]:
    error, namespace = executed[index]
    if error is not None:
        raise error
    return namespace


def _logged(client, ns: dict[str, Any]) -> dict[str, float]:
    """The metrics as the server holds them for the block's run."""
    return client.get_run(ns["result"].run_id).data.metrics


def test_every_python_block_is_checked():
    assert len(BLOCKS) == 3, "a README python block was added or removed: check it in this file"


def test_readme_model_uri_with_sensitive_columns_outside_the_model(executed, client):
    ns = _ran(executed, 0)
    df, features, model = ns["df"], ns["features"], ns["model"]
    m = _logged(client, ns)
    y, pred = df["default"].to_numpy(), model.predict(df[features])
    assert_close(m["accuracy_score"], skm.accuracy_score(y, pred))  # MLflow's default evaluator ran too
    sf = df[["sex", "age_band"]]
    assert_close(m["demographic_parity_difference"], flm.demographic_parity_difference(y, pred, sensitive_features=sf))
    assert_close(m["equalized_odds_difference"], flm.equalized_odds_difference(y, pred, sensitive_features=sf))
    g = ((df["sex"] == "f") & (df["age_band"] == "30-40")).to_numpy()
    assert_close(m["group/sex/f/age_band/30-40/accuracy"], skm.accuracy_score(y[g], pred[g]))
    assert_close(ns["result"].metrics["demographic_parity_difference"], m["demographic_parity_difference"])
    assert m["groups_excluded_from_differences"] == 0
    p = model.predict_proba(df[features])[:, 1]
    candidates = np.append(np.unique(p), np.nextafter(p.max(), np.inf))
    costs = [1.0 * np.sum((p >= t) & (y == 0)) + 5.0 * np.sum((p < t) & (y == 1)) for t in candidates]
    assert_close(m["cost_optimal_threshold"], float(candidates[int(np.argmin(costs))]))


def test_readme_precomputed_predictions(executed, client):
    ns = _ran(executed, 1)
    scored = ns["scored"]
    m = _logged(client, ns)
    assert "accuracy_score" in m
    assert_close(m["brier_score"], skm.brier_score_loss(scored["default"], scored["score"]))
    f = (scored["sex"] == "f").to_numpy()
    assert_close(m["group/sex/f/selection_rate"], scored["pred"].to_numpy()[f].mean())
    assert_close(m["demographic_parity_difference"],
                 flm.demographic_parity_difference(scored["default"], scored["pred"], sensitive_features=scored["sex"]))


def test_readme_sensitive_values_not_in_the_data(executed, client):
    ns = _ran(executed, 2)
    df, features, model, band = ns["df"], ns["features"], ns["model"], ns["income_band"]
    m = _logged(client, ns)
    y, pred = df["default"].to_numpy(), model.predict(df[features])
    assert_close(m["group/income_band/low/selection_rate"], pred[band == "low"].mean())
    sf = np.column_stack([df["sex"].to_numpy(), band])
    assert_close(m["demographic_parity_difference"], flm.demographic_parity_difference(y, pred, sensitive_features=sf))
