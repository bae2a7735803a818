"""What the evaluator needs from MLflow's evaluation dataset and model: targets, predictions,
probabilities and the sensitive-feature columns, as NumPy arrays / a DataFrame."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from mlflow_evaluator_fairness.config import FairnessConfig, bad
from mlflow_evaluator_fairness.mlflow_compat import raw_model

_logger = logging.getLogger(__name__)


@dataclass
class EvaluationInputs:
    y_true: np.ndarray
    y_pred: np.ndarray
    proba: np.ndarray | None  # (n,) positive-class probability, or (n, k) per class
    proba_classes: np.ndarray | None  # class of each column of a 2-D proba
    sensitive: pd.DataFrame


def features_frame(dataset: Any) -> pd.DataFrame:
    data = dataset.features_data
    names = list(dataset.feature_names)
    if isinstance(data, pd.DataFrame):
        if list(data.columns) != names:
            data = data.set_axis(names, axis=1)
        return data
    return pd.DataFrame(np.asarray(data), columns=names)


def _as_1d(values: Any, what: str, output_column: str | None) -> np.ndarray:
    if isinstance(values, pd.DataFrame):
        if output_column is not None and output_column in values.columns:
            return values[output_column].to_numpy()
        if values.shape[1] == 1:
            return values.iloc[:, 0].to_numpy()
        raise bad(
            "sensitive_features",
            f"the model returns several columns {list(values.columns)!r}; pass predictions=<column> to "
            f"mlflow.evaluate() to say which holds the {what}",
        )
    if isinstance(values, dict):
        values = pd.DataFrame(values)
        return _as_1d(values, what, output_column)
    arr = np.asarray(values)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    return arr


def predict(model: Any, X: pd.DataFrame, output_column: str | None) -> tuple[np.ndarray, Any, Any, np.ndarray | None]:
    """(predictions, full model output, probabilities or None, probability classes or None)."""
    raw = raw_model(model)
    if raw is not None and hasattr(raw, "predict"):
        output = raw.predict(X)
    else:
        output = model.predict(X)
    y_pred = _as_1d(output, "predictions", output_column)
    proba = classes = None
    if raw is not None and hasattr(raw, "predict_proba"):
        try:
            proba = np.asarray(raw.predict_proba(X), dtype=np.float64)
            classes = np.asarray(getattr(raw, "classes_", None)) if getattr(raw, "classes_", None) is not None else None
        except Exception as e:  # e.g. an SVC without probability=True
            _logger.info("fairness evaluator: the model has no usable predict_proba (%r)", e)
            proba = None
    return y_pred, output, proba, classes


def probability_from_column(config: FairnessConfig, output: Any, X: pd.DataFrame) -> np.ndarray:
    col = config.probability_column
    if isinstance(output, pd.DataFrame) and col in output.columns:
        values = output[col]
    elif col in X.columns:
        values = X[col]
    else:
        where = "the evaluation data" + (" or the model output" if isinstance(output, pd.DataFrame) else "")
        raise bad("probability_column", f"column {col!r} is not in {where}; columns: {list(X.columns)!r}")
    p = pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64)
    if np.isnan(p).any() or (p < 0).any() or (p > 1).any():
        raise bad("probability_column", f"column {col!r} must hold probabilities in [0, 1] without missing values")
    return p


def sensitive_frame(config: FairnessConfig, X: pd.DataFrame, n_rows: int) -> pd.DataFrame:
    columns: dict[str, Any] = {}
    for name, source in config.sensitive_features.items():
        if isinstance(source, str):
            if source not in X.columns:
                raise bad(
                    "sensitive_features",
                    f"column {source!r} is not in the evaluation data; available columns: {list(X.columns)!r}",
                )
            columns[name] = X[source].to_numpy()
        else:
            values = np.asarray(source)
            if values.ndim != 1 or len(values) != n_rows:
                raise bad(
                    "sensitive_features",
                    f"{name!r}: expected one value per row ({n_rows}), got shape {values.shape}",
                )
            columns[name] = values
    return pd.DataFrame(columns)
