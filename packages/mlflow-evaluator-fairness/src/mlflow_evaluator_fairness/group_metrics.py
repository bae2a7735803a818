"""Per-group classification/regression metrics and the worst-case differences between groups.

All per-group sums are `np.bincount` over the group codes (one pass per quantity, no Python loop
over rows). Definitions follow fairlearn (and scikit-learn for the base metrics): a rate whose
denominator is 0 in a group (e.g. the true positive rate of a group without positives) is 0,
as scikit-learn's confusion-matrix normalisation and `zero_division` default give.
"""

from __future__ import annotations

import numpy as np

CLASSIFIER_GROUP_METRICS = (
    "count", "selection_rate", "accuracy", "precision", "recall",
    "true_positive_rate", "false_positive_rate",
)
REGRESSOR_GROUP_METRICS = ("count", "mae", "rmse")
CLASSIFIER_DIFFERENCES = (
    "demographic_parity_difference", "demographic_parity_ratio", "equalized_odds_difference",
    "equalized_odds_ratio", "equal_opportunity_difference",
)
REGRESSOR_DIFFERENCES = ("max_group_mae_difference", "max_group_rmse_difference")


def _sum(codes: np.ndarray, weights: np.ndarray, n_groups: int) -> np.ndarray:
    return np.bincount(codes, weights=weights, minlength=n_groups)


def _rate(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    out = np.zeros_like(num, dtype=np.float64)
    np.divide(num, den, out=out, where=den > 0)
    return out


def binary_group_metrics(
    codes: np.ndarray, n_groups: int, y_pos: np.ndarray, pred_pos: np.ndarray, correct: np.ndarray
) -> dict[str, np.ndarray]:
    """Per-group metrics of a binary decision. `y_pos`/`pred_pos`: true/predicted label is the
    positive class; `correct`: predicted label equals the true label (multiclass accuracy in OvR)."""
    # one bincount over 4 cells: 2*y + pred -> tn, fp, fn, tp
    cell = codes * 4 + (y_pos.astype(np.int64) * 2 + pred_pos.astype(np.int64))
    cm = np.bincount(cell, minlength=n_groups * 4).reshape(n_groups, 4).astype(np.float64)
    tn, fp, fn, tp = cm[:, 0], cm[:, 1], cm[:, 2], cm[:, 3]
    count = cm.sum(axis=1)
    tpr = _rate(tp, tp + fn)
    return {
        "count": count,
        "selection_rate": _rate(tp + fp, count),
        "accuracy": _rate(_sum(codes, correct.astype(np.float64), n_groups), count),
        "precision": _rate(tp, tp + fp),
        "recall": tpr,
        "true_positive_rate": tpr,
        "false_positive_rate": _rate(fp, fp + tn),
    }


def regression_group_metrics(codes: np.ndarray, n_groups: int, y: np.ndarray, pred: np.ndarray) -> dict[str, np.ndarray]:
    err = pred - y
    count = np.bincount(codes, minlength=n_groups).astype(np.float64)
    return {
        "count": count,
        "mae": _rate(_sum(codes, np.abs(err), n_groups), count),
        "rmse": np.sqrt(_rate(_sum(codes, err * err, n_groups), count)),
    }


def _difference(values: np.ndarray) -> float:
    return float(values.max() - values.min()) if len(values) else float("nan")


def _ratio(values: np.ndarray) -> float:
    if not len(values):
        return float("nan")
    hi = values.max()
    return float(values.min() / hi) if hi > 0 else float("nan")


def classifier_differences(per_group: dict[str, np.ndarray], eligible: np.ndarray) -> dict[str, float]:
    """Worst-case differences over the eligible groups (fairlearn's `between_groups` method,
    `agg="worst_case"`). A ratio whose groups are all 0 is NaN (0/0)."""
    sel = per_group["selection_rate"][eligible]
    tpr = per_group["true_positive_rate"][eligible]
    fpr = per_group["false_positive_rate"][eligible]
    tpr_diff, fpr_diff = _difference(tpr), _difference(fpr)
    ratios = [_ratio(tpr), _ratio(fpr)]
    finite = [r for r in ratios if not np.isnan(r)]
    return {
        "demographic_parity_difference": _difference(sel),
        "demographic_parity_ratio": _ratio(sel),
        "equalized_odds_difference": float(np.fmax(tpr_diff, fpr_diff)),
        "equalized_odds_ratio": min(finite) if finite else float("nan"),
        "equal_opportunity_difference": tpr_diff,
    }


def regressor_differences(per_group: dict[str, np.ndarray], eligible: np.ndarray) -> dict[str, float]:
    return {
        "max_group_mae_difference": _difference(per_group["mae"][eligible]),
        "max_group_rmse_difference": _difference(per_group["rmse"][eligible]),
    }
