"""The private MLflow names and implementation details this evaluator uses, in one place
(``make lint`` refuses private names anywhere else)."""

from __future__ import annotations

import inspect
from typing import Any

import pandas as pd


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


def evaluate_call_data() -> pd.DataFrame | None:
    """The whole ``data`` of the running ``mlflow.models.evaluate()`` call, as a DataFrame, or None.

    MLflow hands an evaluator only the feature columns (all columns but targets and predictions,
    or exactly ``feature_names=``); columns kept away from the model, such as sensitive attributes,
    are only in that call's local variable ``data`` (the user's DataFrame, or the ``mlflow.data``
    PandasDataset it was converted to, whose ``df`` is the whole frame). That local is an MLflow
    implementation detail (the same name in 2.22 and 3.18): any failure means "not available", and
    the caller then uses the feature columns alone.
    """
    try:
        from mlflow.models import evaluate

        code = inspect.unwrap(evaluate).__code__
        frame = inspect.currentframe()
        try:
            while frame is not None and frame.f_code is not code:
                frame = frame.f_back
            data = frame.f_locals.get("data") if frame is not None else None
        finally:
            del frame
    except Exception:  # a changed MLflow, or an interpreter without frame introspection
        return None
    if isinstance(data, pd.DataFrame):
        return data
    df = getattr(data, "df", None)
    return df if isinstance(df, pd.DataFrame) else None
