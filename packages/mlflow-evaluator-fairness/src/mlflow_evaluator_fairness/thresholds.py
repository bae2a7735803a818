"""Cost-optimal decision thresholds, overall and per group, in one sort.

A row is decided positive when its probability p >= t. For a group of n rows the expected cost
(per row) at t is (cost_false_positive * FP(t) + cost_false_negative * FN(t)) / n. The
candidates are every distinct probability in the group (each one decides positive that value
and everything above it) plus one threshold just above the group's largest probability
(`nextafter(max p, +inf)`: nothing positive). The optimal threshold is the candidate with the
least cost; among candidates with exactly the same cost the lowest threshold is reported.
"""

from __future__ import annotations

import numpy as np

THRESHOLD_METRICS = ("cost_optimal_threshold", "expected_cost_at_optimal_threshold")


def descending_order(p: np.ndarray) -> np.ndarray:
    """Row order by probability, highest first; computed once and shared by all groupings."""
    return np.argsort(-p, kind="stable")


def _group_then_descending(codes: np.ndarray, n_groups: int, desc: np.ndarray) -> np.ndarray:
    if n_groups == 1:
        return desc
    small = codes.astype(np.int16) if n_groups < 2**15 else codes  # numpy radix-sorts 16-bit ints
    return desc[np.argsort(small[desc], kind="stable")]


def cost_optimal_thresholds(
    codes: np.ndarray, n_groups: int, y_pos: np.ndarray, p: np.ndarray, cost_fp: float, cost_fn: float,
    desc: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Per group: the cost-optimal threshold and the expected cost (per row) there. `desc`:
    `descending_order(p)`, when the caller already has it."""
    if desc is None:
        desc = descending_order(p)
    order = _group_then_descending(codes, n_groups, desc)  # by group, then probability descending
    g = codes[order]
    ps = p[order]
    pos = y_pos[order].astype(np.int64)
    counts = np.bincount(codes, minlength=n_groups)
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    n_pos = np.bincount(codes, weights=y_pos.astype(np.float64), minlength=n_groups)

    # positives / negatives decided positive so far, restarted at each group
    cum_pos = np.cumsum(pos)
    cum_all = np.arange(1, len(ps) + 1)
    before_pos = np.where(starts > 0, cum_pos[starts - 1], 0)[g] if len(ps) else cum_pos
    before_all = starts[g]
    tp = cum_pos - before_pos
    fp = (cum_all - before_all) - tp
    fn = n_pos[g] - tp
    cost = cost_fp * fp + cost_fn * fn

    # only the last row of a run of equal probabilities (within a group) is a valid cut
    last = np.ones(len(ps), dtype=bool)
    if len(ps) > 1:
        last[:-1] = (g[1:] != g[:-1]) | (ps[1:] != ps[:-1])
    cost_valid = np.where(last, cost, np.inf)

    best_cost = np.full(n_groups, np.inf)
    nonempty = counts > 0
    best_cost[nonempty] = np.minimum.reduceat(cost_valid, starts[nonempty])
    # the lowest threshold among ties = the last matching position in descending order
    idx = np.arange(len(ps))
    match = np.where(cost_valid == best_cost[g], idx, -1)
    best_idx = np.full(n_groups, -1, dtype=np.int64)
    best_idx[nonempty] = np.maximum.reduceat(match, starts[nonempty])

    none_cost = cost_fn * n_pos  # nothing decided positive
    none_wins = none_cost < best_cost
    first_p = np.zeros(n_groups)
    first_p[nonempty] = ps[starts[nonempty]]
    threshold = np.where(none_wins, np.nextafter(first_p, np.inf), ps[np.clip(best_idx, 0, None)] if len(ps) else 0.0)
    total = np.where(none_wins, none_cost, best_cost)
    safe = np.where(counts > 0, counts, 1)
    return {
        "cost_optimal_threshold": threshold.astype(np.float64),
        "expected_cost_at_optimal_threshold": (total / safe).astype(np.float64),
    }
