"""`FairnessEvaluator`: the `fairness` entry point of `mlflow.model_evaluator`."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import numpy as np
from mlflow.entities import Metric
from mlflow.models.evaluation import ModelEvaluator
from mlflow.models.evaluation.base import EvaluationResult
from mlflow.tracking import MlflowClient

from mlflow_evaluator_fairness.artifacts.logged import log_artifacts
from mlflow_evaluator_fairness.compute import FairnessResult, compute_classifier, compute_regressor
from mlflow_evaluator_fairness.config import FairnessConfig, is_requested, parse_config
from mlflow_evaluator_fairness.groups import build_groupings, check_missing, filter_mask
from mlflow_evaluator_fairness.inputs import (
    EvaluationInputs,
    data_frame,
    features_frame,
    predict,
    probability_from_column,
    sensitive_frame,
)
from mlflow_plugins_shared.errors import invalid_parameter

_logger = logging.getLogger(__name__)

SUPPORTED_MODEL_TYPES = ("classifier", "regressor")
_BATCH = 1000  # MLflow's per-request metric limit


class FairnessEvaluator(ModelEvaluator):
    """Group fairness, calibration and cost-based thresholds for classifiers and regressors."""

    @classmethod
    def can_evaluate(cls, *, model_type: Any = None, evaluator_config: Any = None, **kwargs: Any) -> bool:
        """Yes for classifiers and regressors whose config asks for this evaluator (`is_requested`:
        one of its settings, or a key no evaluator of MLflow reads, which `evaluate` then refuses
        by name). Never raises: `evaluate(evaluators=None)` asks every installed evaluator, so a
        run that does not configure fairness must not fail because it is installed."""
        try:
            return model_type in SUPPORTED_MODEL_TYPES and is_requested(evaluator_config)
        except Exception:  # e.g. an unhashable model_type
            return False

    def evaluate(
        self,
        *,
        model_type: str,
        dataset: Any,
        run_id: str,
        evaluator_config: Mapping[str, Any],
        model: Any = None,
        extra_metrics: Any = None,
        custom_artifacts: Any = None,
        predictions: str | None = None,
        **kwargs: Any,
    ) -> EvaluationResult:
        config = parse_config(evaluator_config)
        if model_type not in SUPPORTED_MODEL_TYPES:
            raise invalid_parameter(f"fairness evaluator: model_type must be one of {SUPPORTED_MODEL_TYPES}, got {model_type!r}")
        inputs = self._inputs(config, dataset, model, predictions)
        result = self._compute(model_type, inputs, config)
        client = MlflowClient()
        metrics = {f"{config.metric_prefix}{k}": v for k, v in result.metrics.items()}
        _log_metrics(client, run_id, metrics)
        artifacts = log_artifacts(client, run_id, result, config) if config.log_artifacts else {}
        return EvaluationResult(metrics=metrics, artifacts=artifacts, run_id=run_id)

    @staticmethod
    def _inputs(config: FairnessConfig, dataset: Any, model: Any, predictions: str | None) -> EvaluationInputs:
        if dataset.labels_data is None:
            raise invalid_parameter("fairness evaluator: the evaluation data has no targets; pass targets= to mlflow.evaluate()")
        X = features_frame(dataset)
        y_true = np.asarray(dataset.labels_data)
        output: Any = None
        proba = classes = None
        if model is not None:
            y_pred, output, proba, classes = predict(model, X, predictions)
        elif dataset.predictions_data is not None:
            y_pred = np.asarray(dataset.predictions_data)
        else:
            raise invalid_parameter(
                "fairness evaluator: needs predictions: pass a model, or predictions=<column> with the data"
            )
        if len(y_pred) != len(y_true):
            raise invalid_parameter(f"fairness evaluator: {len(y_pred)} predictions for {len(y_true)} targets")
        data = data_frame(X)
        if config.probability_column is not None:
            proba, classes = probability_from_column(config, output, data), None
        sensitive = sensitive_frame(config, data, len(y_true))
        check_missing(sensitive)
        if config.groups:
            keep = filter_mask(sensitive, config)
            if not keep.all():
                sensitive = sensitive.loc[keep].reset_index(drop=True)
                y_true, y_pred = y_true[keep], y_pred[keep]
                proba = proba[keep] if proba is not None else None
        return EvaluationInputs(y_true=y_true, y_pred=y_pred, proba=proba, proba_classes=classes, sensitive=sensitive)

    @staticmethod
    def _compute(model_type: str, inputs: EvaluationInputs, config: FairnessConfig) -> FairnessResult:
        reported, diff = build_groupings(inputs.sensitive, intersections=config.intersections)
        if model_type == "classifier":
            return compute_classifier(inputs, config, reported, diff)
        return compute_regressor(inputs, config, reported, diff)


def _log_metrics(client: MlflowClient, run_id: str, metrics: dict[str, float]) -> None:
    from mlflow.utils.time import get_current_time_millis

    ts = get_current_time_millis()
    items = [Metric(k, float(v), ts, 0) for k, v in metrics.items()]
    for i in range(0, len(items), _BATCH):
        client.log_batch(run_id, metrics=items[i : i + _BATCH])
    _logger.debug("fairness evaluator: logged %d metrics to run %s", len(items), run_id)
