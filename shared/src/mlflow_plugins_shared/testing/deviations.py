"""Where the conformance kits do not follow MLflow's SqlAlchemyStore, and why: named deviations.

The kits replay one scenario on a candidate store and on MLflow's SqlAlchemyStore and compare every
answer. Where SqlAlchemyStore is itself wrong on some MLflow release, a candidate must not copy the
bug: the deviation is declared here, with the MLflow releases it affects, a minimal reproduction and
the upstream issue or change where one exists. On an affected release the kit leaves the named
fields of the matching observations out of the comparison and reports each deviation it applied; on
every other release the comparison is whole. Package READMEs list these deviations.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from typing import Any

from packaging.version import Version

from mlflow_plugins_shared.compat import MLFLOW_VERSION


@dataclass(frozen=True)
class Deviation:
    name: str
    what: str  # what SqlAlchemyStore does wrong, and what a candidate does instead
    reproduction: str  # minimal, runnable against SqlAlchemyStore
    label: str  # regex over the kit's observation labels it concerns
    fields: tuple[str, ...] | None = None  # the observation fields left out; None: the whole observation
    fixed_in: str | None = None  # the first MLflow release whose SqlAlchemyStore is right; None: none yet
    upstream: str | None = None

    def affects(self, version: Version = MLFLOW_VERSION) -> bool:
        return self.fixed_in is None or version < Version(self.fixed_in)

    def concerns(self, label: str) -> bool:
        return re.search(self.label, label) is not None


DEVIATIONS: tuple[Deviation, ...] = (
    Deviation(
        name="logged-model-status-filter",
        what="search_logged_models compared the integer status column with the filter's text, so "
             "`status = 'READY'` matched nothing; a candidate compares by status name",
        reproduction="m = s.create_logged_model(eid); s.finalize_logged_model(m.model_id, LoggedModelStatus.READY); "
                     "s.search_logged_models([eid], filter_string=\"status = 'READY'\")  # [] before 3.18",
        label=r"^search_logged_models filter='[^']*\bstatus\b",
        fixed_in="3.18.0",
    ),
    Deviation(
        name="logged-model-metric-latest",
        what="search_logged_models filtered a metric on any logged point and ordered by the point with the "
             "latest timestamp; a candidate uses the latest value (highest step, then timestamp, then value), "
             "as run metrics do",
        reproduction="log_batch(run, [Metric('acc', 0.9, 200, 0, model_id=m), Metric('acc', 0.1, 50, 3, "
                     "model_id=m)]); search_logged_models([eid], filter_string='metrics.acc > 0.5')  # finds m "
                     "before 3.18, whose latest acc (step 3) is 0.1",
        label=r"^search_logged_models .*metrics\.",
        fields=("names", "order_values", "in_order", "page_sizes"),
        fixed_in="3.18.0",
    ),
    Deviation(
        name="trace-search-empty-last-page",
        what="search_traces returned a page token after a page that ended exactly at the last trace, so the "
             "caller fetched an empty last page; a candidate returns a token only when more traces follow",
        reproduction="7 traces; search_traces(locations=[eid], max_results=7)  # a token before 3.18, then []",
        label=r"^search filter=",
        fields=("page_sizes",),
        fixed_in="3.18.0",
    ),
)


def active(version: Version = MLFLOW_VERSION) -> list[Deviation]:
    return [d for d in DEVIATIONS if d.affects(version)]


def without_deviations(label: str, want: Any, got: Any, applied: set[str],
                       deviations: list[Deviation] | None = None) -> tuple[Any, Any]:
    """``want`` and ``got`` with what an active deviation leaves out of the comparison (both None when it
    leaves out the whole observation); the names applied are added to ``applied``."""
    for dev in active() if deviations is None else deviations:
        if not dev.concerns(label):
            continue
        if dev.fields is None or not (isinstance(want, dict) and isinstance(got, dict)):
            applied.add(dev.name)
            return None, None
        applied.add(dev.name)
        want = {k: v for k, v in want.items() if k not in dev.fields}
        got = {k: v for k, v in got.items() if k not in dev.fields}
    return want, got


def report(applied: set[str]) -> None:
    """Say which deviations a comparison applied, so a run on an affected MLflow shows it."""
    if applied:
        warnings.warn(f"MLflow {MLFLOW_VERSION}: compared without the named deviations {sorted(applied)} "
                      "(mlflow_plugins_shared.testing.deviations)", stacklevel=3)
