"""Calibration of positive-class probabilities, overall and per group, vectorised with bincount.

- `brier_score`: mean of (p - y)^2 (scikit-learn's `brier_score_loss`).
- `log_loss`: mean of -(y log p + (1-y) log(1-p)), p clipped to [eps, 1-eps] with
  eps = float64 machine epsilon (what scikit-learn's `log_loss` does).
- `expected_calibration_error`: sum over equal-width bins of (n_bin / n) * |mean(y) - mean(p)|;
  bin edges `linspace(0, 1, bins + 1)`, a probability on an inner edge goes to the upper bin and
  1.0 to the last bin (the binning of scikit-learn's `calibration_curve(strategy="uniform")`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CALIBRATION_METRICS = ("brier_score", "log_loss", "expected_calibration_error")
_EPS = np.finfo(np.float64).eps


def bin_index(p: np.ndarray, bins: int) -> np.ndarray:
    edges = np.linspace(0.0, 1.0, bins + 1)
    return np.searchsorted(edges[1:-1], p, side="right").astype(np.int64)


@dataclass(frozen=True)
class BinnedCalibration:
    """Per group and bin: rows, sum of probabilities, sum of outcomes (for the diagram)."""

    count: np.ndarray  # (n_groups, bins)
    sum_prob: np.ndarray
    sum_true: np.ndarray


def group_calibration(
    codes: np.ndarray, n_groups: int, y_pos: np.ndarray, p: np.ndarray, bins: int, bin_idx: np.ndarray | None = None
) -> tuple[dict[str, np.ndarray], BinnedCalibration]:
    y = y_pos.astype(np.float64)
    count = np.bincount(codes, minlength=n_groups).astype(np.float64)
    safe = np.where(count > 0, count, 1.0)
    brier = np.bincount(codes, weights=(p - y) ** 2, minlength=n_groups) / safe
    pc = np.clip(p, _EPS, 1.0 - _EPS)
    nll = -(y * np.log(pc) + (1.0 - y) * np.log1p(-pc))
    log_loss = np.bincount(codes, weights=nll, minlength=n_groups) / safe
    if bin_idx is None:
        bin_idx = bin_index(p, bins)
    cell = codes * bins + bin_idx
    size = n_groups * bins
    b_count = np.bincount(cell, minlength=size).reshape(n_groups, bins).astype(np.float64)
    b_prob = np.bincount(cell, weights=p, minlength=size).reshape(n_groups, bins)
    b_true = np.bincount(cell, weights=y, minlength=size).reshape(n_groups, bins)
    ece = np.abs(b_true - b_prob).sum(axis=1) / safe
    metrics = {"brier_score": brier, "log_loss": log_loss, "expected_calibration_error": ece}
    return metrics, BinnedCalibration(b_count, b_prob, b_true)
