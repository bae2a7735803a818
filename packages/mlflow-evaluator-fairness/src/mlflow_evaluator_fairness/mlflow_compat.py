"""The private MLflow names this evaluator uses, in one place (``make lint`` refuses them anywhere else)."""

from __future__ import annotations

from typing import Any


def raw_model(model: Any) -> Any:
    """The underlying scikit-learn-style model of a pyfunc model, or None where MLflow does not expose it.

    MLflow's default evaluator unwraps it with ``_extract_raw_model``; any MLflow release may change
    that helper, so a failure here only means "no raw model" (the caller then predicts through pyfunc).
    """
    try:
        from mlflow.models.evaluation.default_evaluator import _extract_raw_model

        return _extract_raw_model(model)[1]
    except Exception:  # absent or changed in this MLflow release
        return None
