"""PNG charts: reliability diagram and per-group bar charts (matplotlib, object API, Agg)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from mlflow_evaluator_fairness.calibration import BinnedCalibration
from mlflow_evaluator_fairness.compute import FairnessResult

_MAX_BARS = 40


def _save(fig: Figure, path: Path) -> Path:
    FigureCanvasAgg(fig)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    return path


def reliability_diagram(result: FairnessResult, bins: int, path: Path) -> Path | None:
    if "overall" not in result.reliability:
        return None
    fig = Figure(figsize=(6.0, 5.0))
    ax = fig.add_subplot()
    ax.plot([0, 1], [0, 1], linestyle=":", color="grey", label="perfectly calibrated")
    by_feature = {k: v for k, v in result.reliability.items() if k != "overall"}
    feature, binned_groups = next(iter(by_feature.items())) if by_feature else (None, None)
    table = result.table
    curves: list[tuple[str, np.ndarray, np.ndarray, dict]] = []

    def points(b: BinnedCalibration, row: int) -> tuple[np.ndarray, np.ndarray]:
        n = b.count[row]
        keep = n > 0
        return b.sum_prob[row][keep] / n[keep], b.sum_true[row][keep] / n[keep]

    x, y = points(result.reliability["overall"], 0)
    curves.append(("overall", x, y, {"color": "black", "linewidth": 2, "marker": "o"}))
    if binned_groups is not None:
        labels = table.loc[table["grouping"] == feature, "group"].tolist()
        for i, label in enumerate(labels[:12]):
            gx, gy = points(binned_groups, i)
            curves.append((label, gx, gy, {"marker": ".", "alpha": 0.8}))
    for label, cx, cy, style in curves:
        ax.plot(cx, cy, label=label, **style)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel(f"mean predicted probability ({bins} equal-width bins)")
    ax.set_ylabel(f"fraction of positives (label {result.pos_label})")
    ax.set_title("Reliability diagram" + (f" by {feature}" if feature else ""))
    ax.legend(fontsize=7, loc="upper left")
    return _save(fig, path)


def group_bars(result: FairnessResult, path: Path) -> Path:
    """Selection rate and error rate (classifiers) or MAE and RMSE (regressors) per group."""
    table = result.table
    if len(table) > _MAX_BARS:  # many groups: show the intersection (or first) grouping only
        last = table["grouping"].iloc[-1]
        table = table[table["grouping"] == last].head(_MAX_BARS)
    labels = table["group"].tolist()
    if result.kind == "regression":
        panels = [("mae", table["mae"].to_numpy(), "MAE"), ("rmse", table["rmse"].to_numpy(), "RMSE")]
    else:
        sel_col = "selection_rate" if result.kind == "binary" else None
        panels = []
        if sel_col:
            panels.append(("selection_rate", table[sel_col].to_numpy(), f"selection rate (predicted {result.pos_label})"))
        panels.append(("error_rate", 1.0 - table["accuracy"].to_numpy(), "error rate (1 - accuracy)"))
    height = max(3.0, 0.28 * len(labels) + 1.2)
    fig = Figure(figsize=(5.0 * len(panels), height))
    excluded = set(result.excluded)
    colors = ["#bbbbbb" if lbl in excluded else "#3b75af" for lbl in labels]
    for i, (_, values, title) in enumerate(panels):
        ax = fig.add_subplot(1, len(panels), i + 1)
        ypos = np.arange(len(labels))
        ax.barh(ypos, values, color=colors)
        ax.set_yticks(ypos)
        ax.set_yticklabels(labels if i == 0 else [""] * len(labels), fontsize=7)
        ax.invert_yaxis()
        ax.set_title(title, fontsize=9)
    if excluded:
        fig.suptitle("grey: below min_group_size, excluded from the differences", fontsize=8)
    return _save(fig, path)
