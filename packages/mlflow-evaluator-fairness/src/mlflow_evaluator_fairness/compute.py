"""From targets, predictions, probabilities and groups to the metric dict and the group table."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from mlflow_evaluator_fairness import keys
from mlflow_evaluator_fairness.calibration import BinnedCalibration, bin_index, group_calibration
from mlflow_evaluator_fairness.config import FairnessConfig, bad
from mlflow_evaluator_fairness.group_metrics import (
    CLASSIFIER_DIFFERENCES,
    binary_group_metrics,
    classifier_differences,
    regression_group_metrics,
    regressor_differences,
)
from mlflow_evaluator_fairness.groups import Grouping
from mlflow_evaluator_fairness.inputs import EvaluationInputs
from mlflow_evaluator_fairness.thresholds import cost_optimal_thresholds, descending_order
from mlflow_plugins_shared.errors import invalid_parameter


@dataclass
class FairnessResult:
    kind: str  # "binary", "multiclass" or "regression"
    metrics: dict[str, float]  # logged keys (without metric_prefix)
    table: pd.DataFrame  # one row per reported group
    overall: dict[str, float]  # overall differences / calibration / thresholds (headline keys)
    excluded: list[str]  # labels of groups left out of the differences (min_group_size)
    diff_grouping: Grouping
    pos_label: object = None
    classes: list[object] = field(default_factory=list)
    # reliability diagram data: overall and per group of the first sensitive feature
    reliability: dict[str, BinnedCalibration] = field(default_factory=dict)


def _labels(inputs: EvaluationInputs, config: FairnessConfig) -> np.ndarray:
    if config.label_list is not None:
        return np.asarray(config.label_list, dtype=object if any(isinstance(v, str) for v in config.label_list) else None)
    try:
        return np.unique(np.concatenate([np.asarray(inputs.y_true), np.asarray(inputs.y_pred)]))
    except TypeError as e:
        raise bad("label_list", f"targets and predictions mix label types that do not sort ({e}); give label_list") from e


def _positive_probability(inputs: EvaluationInputs, labels: np.ndarray, label: object) -> np.ndarray | None:
    proba = inputs.proba
    if proba is None:
        return None
    if proba.ndim == 1:
        return proba
    classes = inputs.proba_classes if inputs.proba_classes is not None else labels
    where = np.flatnonzero(np.asarray(classes) == label)
    if len(where) != 1 or proba.shape[1] != len(classes):
        return None
    return proba[:, int(where[0])]


def _rows(grouping: Grouping, diff: Grouping, eligible: np.ndarray) -> pd.DataFrame:
    rows = pd.DataFrame({
        "grouping": "&".join(grouping.features),
        "group": grouping.labels(),
        "key": grouping.paths(),
    })
    for j, f in enumerate(grouping.features):
        rows[f] = [v[j] for v in grouping.values]
    rows["in_differences"] = eligible if grouping is diff else pd.NA
    return rows


def _emit(metrics: dict[str, float], prefix: str, grouping: Grouping, values: dict[str, np.ndarray]) -> None:
    paths = grouping.paths()
    for name, arr in values.items():
        for path, v in zip(paths, arr.tolist(), strict=True):
            key = f"{prefix}{path}/{name}"
            keys.check_length(key)
            metrics[key] = float(v)



class _ProbabilityMetrics:
    """Calibration and cost-threshold metrics of one positive class; the bin of every row and
    the descending probability order are computed once and shared by all groupings."""

    def __init__(self, p: np.ndarray | None, y_pos: np.ndarray, config: FairnessConfig) -> None:
        self.p, self.y_pos, self.bins = p, y_pos, config.calibration_bins
        self.calibrate = p is not None and config.calibration is not False
        self.costs = (
            (float(config.cost_false_positive), float(config.cost_false_negative))
            if p is not None and config.cost_false_positive is not None and config.cost_false_negative is not None
            else None
        )
        self.bin_idx = bin_index(p, self.bins) if p is not None and self.calibrate else None
        self.desc = descending_order(p) if p is not None and self.costs else None

    def add_to(self, values: dict[str, np.ndarray], grouping: Grouping | None) -> BinnedCalibration | None:
        """Add the metrics per group of `grouping` (None: all rows as one group) to `values`."""
        p = self.p
        if p is None:
            return None
        codes = grouping.codes if grouping is not None else np.zeros(len(p), dtype=np.int64)
        n_groups = grouping.n_groups if grouping is not None else 1
        binned = None
        if self.calibrate:
            cal, binned = group_calibration(codes, n_groups, self.y_pos, p, self.bins, self.bin_idx)
            values.update(cal)
        if self.costs is not None:
            values.update(cost_optimal_thresholds(codes, n_groups, self.y_pos, p, *self.costs, self.desc))
        return binned

def compute_classifier(inputs: EvaluationInputs, config: FairnessConfig, reported: list[Grouping], diff: Grouping) -> FairnessResult:
    labels = _labels(inputs, config)
    if len(labels) < 2:
        raise bad("label_list", f"a classifier needs at least two labels, found {list(labels)!r}; give label_list")
    y, pred = np.asarray(inputs.y_true), np.asarray(inputs.y_pred)
    correct = y == pred
    eligible = diff.counts >= config.min_group_size
    groupings = reported if any(g is diff for g in reported) else [*reported, diff]
    metrics: dict[str, float] = {}
    overall: dict[str, float] = {}
    tables = [_rows(g, diff, eligible) for g in reported]
    reliability: dict[str, BinnedCalibration] = {}

    binary = len(labels) == 2
    if binary:
        pos = config.pos_label if config.pos_label is not None else labels[-1]
        if not (labels == pos).any():
            raise bad("pos_label", f"{pos!r} is not one of the labels {list(labels)!r}")
        targets: list[tuple[object, str]] = [(pos, "")]
    else:
        pos = None
        if config.costs_configured:
            raise bad("cost_false_positive", f"cost-based thresholds need a binary classifier; found {len(labels)} classes")
        targets = [(c, keys.class_prefix(c)) for c in labels]

    per_class_diffs: list[dict[str, float]] = []
    shared = {"count", "accuracy"}  # multiclass: not one-vs-rest, logged once without class prefix
    for label, cprefix in targets:
        y_pos, pred_pos = y == label, pred == label
        p = _positive_probability(inputs, labels, label)
        if config.calibration and p is None:
            raise bad("calibration", "needs the positive-class probabilities: set probability_column, or evaluate a model with predict_proba")
        if config.costs_configured and p is None:
            raise bad("cost_false_positive", "the cost-optimal threshold needs probabilities: set probability_column, or evaluate a model with predict_proba")
        prob = _ProbabilityMetrics(p, y_pos, config)

        for grouping, table in zip(groupings, tables + [None] * (len(groupings) - len(tables)), strict=True):
            values = binary_group_metrics(grouping.codes, grouping.n_groups, y_pos, pred_pos, correct)
            binned = prob.add_to(values, grouping)
            if binned is not None and grouping is reported[0] and binary:
                reliability[grouping.features[0]] = binned
            if grouping is diff:
                diffs = classifier_differences(values, eligible)
                per_class_diffs.append(diffs)
                for name, value in diffs.items():
                    metrics[f"{cprefix}{name}"] = value
            if table is None:
                continue
            if binary:
                _emit(metrics, "", grouping, values)
            else:
                _emit(metrics, "", grouping, {k: v for k, v in values.items() if k in shared})
                _emit(metrics, cprefix, grouping, {k: v for k, v in values.items() if k not in shared})
            class_col = f"class={keys.value_text(label)}/"
            for name, arr in values.items():
                table[name if binary or name in shared else class_col + name] = arr

        overall_values: dict[str, np.ndarray] = {}
        binned = prob.add_to(overall_values, None)
        for name, arr in overall_values.items():
            metrics[f"{cprefix}{name}"] = float(arr[0])
        if binned is not None and binary:
            reliability["overall"] = binned

    if not binary:  # headline keys for a multiclass model: the worst class
        for k in CLASSIFIER_DIFFERENCES:
            vals = np.array([d[k] for d in per_class_diffs], dtype=np.float64)
            if np.isnan(vals).all():
                metrics[k] = float("nan")
            else:
                metrics[k] = float(np.nanmin(vals) if k.endswith("_ratio") else np.nanmax(vals))
    n_excluded = int((~eligible).sum())
    metrics["groups_excluded_from_differences"] = float(n_excluded)
    overall = {k: v for k, v in metrics.items() if "group/" not in k}
    excluded = [lbl for lbl, ok in zip(diff.labels(), eligible, strict=True) if not ok]
    return FairnessResult(
        kind="binary" if binary else "multiclass", metrics=metrics, table=pd.concat(tables, ignore_index=True),
        overall=overall, excluded=excluded, diff_grouping=diff, pos_label=pos, classes=list(labels),
        reliability=reliability,
    )


def compute_regressor(inputs: EvaluationInputs, config: FairnessConfig, reported: list[Grouping], diff: Grouping) -> FairnessResult:
    try:
        y = np.asarray(inputs.y_true, dtype=np.float64)
        pred = np.asarray(inputs.y_pred, dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise invalid_parameter(f"fairness evaluator: a regressor's targets and predictions must be numeric ({e})") from e
    if config.calibration:
        raise bad("calibration", "applies to classifiers only")
    if config.costs_configured:
        raise bad("cost_false_positive", "applies to binary classifiers only")
    eligible = diff.counts >= config.min_group_size
    metrics: dict[str, float] = {}
    tables = []
    for grouping in reported:
        values = regression_group_metrics(grouping.codes, grouping.n_groups, y, pred)
        _emit(metrics, "", grouping, values)
        table = _rows(grouping, diff, eligible)
        for k, v in values.items():
            table[k] = v
        tables.append(table)
    diff_values = regression_group_metrics(diff.codes, diff.n_groups, y, pred)
    metrics.update(regressor_differences(diff_values, eligible))
    metrics["groups_excluded_from_differences"] = float((~eligible).sum())
    overall = {k: v for k, v in metrics.items() if "group/" not in k}
    excluded = [lbl for lbl, ok in zip(diff.labels(), eligible, strict=True) if not ok]
    return FairnessResult(kind="regression", metrics=metrics, table=pd.concat(tables, ignore_index=True),
                          overall=overall, excluded=excluded, diff_grouping=diff)
