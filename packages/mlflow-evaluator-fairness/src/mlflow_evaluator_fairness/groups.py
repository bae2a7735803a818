"""Group membership: integer codes per row for each sensitive feature and for their intersection."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from mlflow_evaluator_fairness import keys
from mlflow_evaluator_fairness.config import FairnessConfig, bad


@dataclass(frozen=True)
class Grouping:
    """One way of splitting the rows: by one feature, or by the intersection of several."""

    features: tuple[str, ...]
    codes: np.ndarray  # int64, one per row, 0..n_groups-1
    values: list[tuple[object, ...]]  # per group, one value per feature
    counts: np.ndarray  # int64, rows per group

    @property
    def n_groups(self) -> int:
        return len(self.values)

    def paths(self) -> list[str]:
        return [keys.group_path(self.features, v) for v in self.values]

    def labels(self) -> list[str]:
        return ["&".join(f"{f}={keys.value_text(x)}" for f, x in zip(self.features, v, strict=True)) for v in self.values]


def _factorize(column: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    try:
        codes, uniques = pd.factorize(column, sort=True)
    except TypeError:  # mixed types that do not sort
        codes, uniques = pd.factorize(column, sort=False)
    return codes.astype(np.int64, copy=False), np.asarray(uniques, dtype=object)


def filter_mask(frame: pd.DataFrame, config: FairnessConfig) -> np.ndarray:
    """Rows kept by the `groups` setting; a listed value with no rows is an error."""
    mask = np.ones(len(frame), dtype=bool)
    for feature, keep in config.groups.items():
        column = frame[feature]
        as_text = column.astype(str)
        for value in keep:
            hit = (column == value).to_numpy() | (as_text == str(value)).to_numpy()
            if not hit.any():
                raise bad("groups", f"group {feature}={value!r} has 0 rows in the evaluation data")
        keep_mask = column.isin(keep).to_numpy() | as_text.isin([str(v) for v in keep]).to_numpy()
        mask &= keep_mask
    if not mask.any():
        raise bad("groups", "no row is left after keeping only the listed groups")
    return mask


def check_missing(frame: pd.DataFrame) -> None:
    for feature in frame.columns:
        n_missing = int(frame[feature].isna().sum())
        if n_missing:
            raise bad(
                "sensitive_features",
                f"{feature!r} has {n_missing} missing value(s); fill them with an explicit group "
                "label (e.g. 'unknown') before evaluating",
            )


def build_groupings(frame: pd.DataFrame, *, intersections: bool) -> tuple[list[Grouping], Grouping]:
    """The groupings to report (each feature, then the intersection of all when there are
    several and `intersections` is on) and the grouping the worst-case differences use (the
    intersection of all sensitive features, as fairlearn's MetricFrame does)."""
    marginal: list[Grouping] = []
    codes_list: list[np.ndarray] = []
    uniques_list: list[np.ndarray] = []
    for feature in frame.columns:
        codes, uniques = _factorize(frame[feature])
        keys.check_unique(feature, uniques)
        counts = np.bincount(codes, minlength=len(uniques)).astype(np.int64)
        marginal.append(Grouping((feature,), codes, [(u,) for u in uniques], counts))
        codes_list.append(codes)
        uniques_list.append(uniques)
    if len(marginal) == 1:
        return marginal, marginal[0]

    combined = np.zeros(len(frame), dtype=np.int64)
    for codes, uniques in zip(codes_list, uniques_list, strict=True):
        combined = combined * len(uniques) + codes
    observed, inverse, counts = np.unique(combined, return_inverse=True, return_counts=True)
    values: list[tuple[object, ...]] = []
    digits = np.empty((len(observed), len(codes_list)), dtype=np.int64)
    rest = observed.copy()
    for j in range(len(codes_list) - 1, -1, -1):
        rest, digits[:, j] = np.divmod(rest, len(uniques_list[j]))
    for row in digits:
        values.append(tuple(uniques_list[j][row[j]] for j in range(len(codes_list))))
    inter = Grouping(tuple(frame.columns), inverse.astype(np.int64).ravel(), values, counts.astype(np.int64))
    reported = marginal + ([inter] if intersections else [])
    return reported, inter
