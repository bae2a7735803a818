"""What the evaluator needs from MLflow's evaluation dataset and model: targets, predictions,
probabilities and the sensitive-feature columns, as NumPy arrays / a DataFrame.

Two frames: the *features* MLflow hands the evaluators (the model is given only its own inputs
among them), and the *data*, every column of what the user passed to ``mlflow.models.evaluate``
(where sensitive and probability columns are looked up, model inputs or not)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from mlflow_evaluator_fairness.config import FairnessConfig, bad
from mlflow_evaluator_fairness.mlflow_compat import evaluate_call_data, raw_model
from mlflow_plugins_shared.errors import invalid_parameter

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


def data_frame(features: pd.DataFrame) -> pd.DataFrame:
    """Every column of the evaluation data: the whole DataFrame given to ``mlflow.models.evaluate``
    (it also holds what ``feature_names=`` left out), else the features (NumPy data, or a direct
    call outside ``evaluate``)."""
    whole = evaluate_call_data()
    if whole is None or len(whole) != len(features) or whole.columns.equals(features.columns):
        return features
    return whole


def _input_names(model: Any, raw: Any) -> tuple[list[str], list[str]] | None:
    """(input columns, required ones) from the model's signature, else from a scikit-learn model's
    ``feature_names_in_``; None when the model does not name its inputs."""
    metadata = getattr(model, "metadata", None)
    try:
        schema = metadata.get_input_schema() if metadata is not None else None
        if schema is not None and schema.has_input_names():
            return list(schema.input_names()), list(schema.required_input_names())
    except Exception as e:  # a schema this MLflow cannot read: fall back to the fitted names
        _logger.debug("fairness evaluator: no input names from the model signature (%r)", e)
    fitted = getattr(raw, "feature_names_in_", None)
    if fitted is not None:
        names = [str(n) for n in fitted]
        return names, names
    return None


def model_input(model: Any, raw: Any, X: pd.DataFrame) -> pd.DataFrame:
    """The features reduced to the model's own inputs, in the model's order: a scikit-learn model
    refuses columns it was not fitted on (a pyfunc model with a signature drops them itself)."""
    names = _input_names(model, raw)
    if names is None:
        return X
    inputs, required = names
    missing = [n for n in required if n not in X.columns]
    if missing:
        raise invalid_parameter(
            f"fairness evaluator: the model input column(s) {missing!r} are not among the evaluation "
            f"features {list(X.columns)!r}; with feature_names=, list every model input"
        )
    present = [n for n in inputs if n in X.columns]
    return X if present == list(X.columns) else X[present]


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
    X = model_input(model, raw, X)
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


def probability_from_column(config: FairnessConfig, output: Any, data: pd.DataFrame) -> np.ndarray:
    col = config.probability_column
    if isinstance(output, pd.DataFrame) and col in output.columns:
        values = output[col]
    elif col in data.columns:
        values = data[col]
    else:
        where = "the evaluation data" + (" or the model output" if isinstance(output, pd.DataFrame) else "")
        raise bad("probability_column", f"column {col!r} is not in {where}; columns: {list(data.columns)!r}")
    p = pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64)
    if np.isnan(p).any() or (p < 0).any() or (p > 1).any():
        raise bad("probability_column", f"column {col!r} must hold probabilities in [0, 1] without missing values")
    return p


def sensitive_frame(config: FairnessConfig, data: pd.DataFrame, n_rows: int) -> pd.DataFrame:
    columns: dict[str, Any] = {}
    for name, source in config.sensitive_features.items():
        if isinstance(source, str):
            if source not in data.columns:
                raise bad(
                    "sensitive_features",
                    f"column {source!r} is not in the evaluation data; available columns: {list(data.columns)!r}",
                )
            columns[name] = data[source].to_numpy()
        else:
            values = np.asarray(source)
            if values.ndim != 1 or len(values) != n_rows:
                raise bad(
                    "sensitive_features",
                    f"{name!r}: expected one value per row ({n_rows}), got shape {values.shape}",
                )
            columns[name] = values
    return pd.DataFrame(columns)
