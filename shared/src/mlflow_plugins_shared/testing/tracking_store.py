"""A conformance kit for tracking stores: same operations, same answers as MLflow's own store.

Subclass `TrackingStoreConformance` in a package's tests and provide a `candidate_store`
fixture returning a fresh, empty tracking store. Each test replays one scenario (a few hundred
operations: experiments, runs, batches, NaN/inf metrics, unicode and 5,000-character tags,
deleted runs, ties in ordering, paging) against the candidate and against MLflow's
`SqlAlchemyStore` on SQLite, records what every call returns (or which error code it raises)
and compares the two records field by field.

Ids, artifact locations and store-generated timestamps differ between stores by design, so
observations name experiments and runs by their names; ties in an ordering are compared by the
sequence of sort values (which run of a tie comes first is not defined by MLflow).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from mlflow.entities import ExperimentTag, Metric, Param, RunStatus, RunTag, ViewType
from mlflow.exceptions import MlflowException
from mlflow.utils.search_utils import SearchUtils

Observation = tuple[str, Any]


def _num(v: Any) -> Any:
    if isinstance(v, float) and math.isnan(v):
        return "NaN"
    return v


class Recorder:
    """Runs one scenario on one store, naming entities by name rather than by id."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self.exp_ids: dict[str, str] = {}
        self.run_ids: dict[str, str] = {}
        self.names_by_run_id: dict[str, str] = {}
        self.log: list[Observation] = []

    def call(self, label: str, fn: Callable[[], Any], shape: Callable[[Any], Any] = lambda r: None) -> Any:
        try:
            result = fn()
        except MlflowException as e:
            self.log.append((label, ("error", e.error_code)))
            return None
        self.log.append((label, shape(result)))
        return result

    # -- shapes --------------------------------------------------------------------------------
    def run_shape(self, run: Any) -> dict[str, Any]:
        i = run.info
        return {
            "run_name": i.run_name, "user_id": i.user_id, "status": i.status, "start_time": i.start_time,
            "end_time": i.end_time, "lifecycle_stage": i.lifecycle_stage,
            "experiment": self._exp_name(i.experiment_id),
            "metrics": {k: _num(v) for k, v in run.data.metrics.items()},
            "params": dict(run.data.params), "tags": dict(run.data.tags),
        }

    def _exp_name(self, experiment_id: str) -> str:
        for name, eid in self.exp_ids.items():
            if eid == experiment_id:
                return name
        return f"<unknown {experiment_id}>"

    @staticmethod
    def exp_shape(exp: Any) -> dict[str, Any]:
        return {"name": exp.name, "lifecycle_stage": exp.lifecycle_stage, "tags": dict(exp.tags)}

    @staticmethod
    def metric_shape(metrics: Any) -> list[tuple[Any, ...]]:
        return [(m.key, _num(m.value), m.timestamp, m.step) for m in metrics]


def order_values(run: Any, order_by: list[str] | None) -> tuple[Any, ...]:
    """The values a run is ordered by (MLflow's default is start_time DESC)."""
    values: list[Any] = []
    for clause in order_by or ["attributes.start_time DESC"]:
        kind, key, _ = SearchUtils.parse_order_by_for_search_runs(clause)
        key = SearchUtils.translate_key_alias(key)
        if kind == "metric":
            values.append(_num(run.data.metrics.get(key)))
        elif kind == "parameter":
            values.append(run.data.params.get(key))
        elif kind == "tag":
            values.append(run.data.tags.get(key))
        else:
            values.append(getattr(run.info, key))
    return tuple(values)


def all_pages(search: Callable[[str | None], Any]) -> Iterator[list[Any]]:
    token = None
    while True:
        page = search(token)
        yield list(page)
        token = page.token
        if not token:
            return


# -- the scenario ------------------------------------------------------------------------------
FILTERS = [
    None,
    "metrics.acc > 0.5",
    "metrics.acc >= 0.5 and params.lr = '0.1'",
    "metrics.loss != 2",
    "metrics.weird < 0",
    "params.lr != '0.1'",
    "params.opt LIKE 'ad%'",
    "params.opt ILIKE 'AD%'",
    "params.missing IS NULL",
    "params.lr IS NOT NULL",
    "tags.team = 'vision'",
    "tags.`unicode` LIKE '%ü%'",
    "tags.team IS NULL",
    "attributes.status = 'FINISHED'",
    "attributes.run_name LIKE 'run-1%'",
    "attributes.user_id != 'alice'",
    "attributes.start_time >= 1005",
    "attributes.start_time < 1003",
    "run_name ILIKE 'RUN-2%'",
]
ORDERS: list[list[str] | None] = [
    None,
    ["metrics.acc DESC"],
    ["metrics.acc ASC", "params.lr DESC"],
    ["params.opt ASC"],
    ["tags.team DESC"],
    ["attributes.start_time ASC"],
    ["attributes.run_name DESC"],
    ["attributes.end_time ASC"],
    ["metrics.weird DESC"],
]


def populate(rec: Recorder, n_runs: int) -> None:
    s = rec.store
    for name, tags in (("conf-a", [ExperimentTag("owner", "kit")]), ("conf-b", []), ("conf-ü", [ExperimentTag("x", "é" * 5000)])):
        eid = rec.call(f"create_experiment {name}", lambda n=name, t=tags: s.create_experiment(n, None, t))
        rec.exp_ids[name] = eid
    rec.call("create_experiment duplicate", lambda: s.create_experiment("conf-a", None, []))
    rec.call("create_experiment empty name", lambda: s.create_experiment("", None, []))
    for i in range(n_runs):
        exp = "conf-a" if i % 4 else "conf-b"
        name = f"run-{i:03d}"
        tags = [RunTag("team", ["vision", "nlp", "audio"][i % 3])] if i % 5 else []
        if i % 7 == 0:
            tags.append(RunTag("unicode", "ünïcødé ✓ " + "ß" * (i % 13)))
        run = rec.call(f"create_run {name}", lambda e=exp, n=name, t=tags, k=i: s.create_run(
            rec.exp_ids[e], ["alice", "bob"][k % 2], 1000 + k // 3, t, n), rec.run_shape)
        rid = run.info.run_id
        rec.run_ids[name] = rid
        rec.names_by_run_id[rid] = name
        metrics = [Metric("acc", (i % 10) / 10, 10, 0), Metric("acc", ((i + 3) % 10) / 10, 20, 1)]
        if i % 3 == 0:
            metrics.append(Metric("loss", float(i % 4), 5, 0))
        weird = [math.nan, math.inf, -math.inf, -1.5, 0.0, 1e-300]
        metrics.append(Metric("weird", weird[i % len(weird)], 7, i % 2))
        params = [Param("lr", ["0.1", "0.01"][i % 2]), Param("opt", ["adam", "Adagrad", "sgd"][i % 3])]
        rec.call(f"log_batch {name}", lambda r=rid, m=metrics, p=params: s.log_batch(r, m, p, []))
        if i % 4 == 0:
            rec.call(f"end {name}", lambda r=rid, k=i: s.update_run_info(r, RunStatus.FINISHED, 2000 + k, None),
                     lambda info: (info.status, info.end_time))
    first = rec.run_ids["run-000"]
    rec.call("100 params in one batch", lambda: s.log_batch(first, [], [Param(f"p{k:03d}", str(k)) for k in range(100)], []))
    rec.call("1000 params in one batch", lambda: s.log_batch(first, [], [Param(f"q{k:04d}", "v") for k in range(1000)], []))
    rec.call("1000 metrics in one batch", lambda: s.log_batch(first, [Metric("many", float(k), k, k) for k in range(1000)], [], []))
    rec.call("5000-char tag", lambda: s.set_tag(first, RunTag("long", "x" * 5000)))
    rec.call("change param", lambda: s.log_param(first, Param("lr", "changed")))
    rec.call("same param again", lambda: s.log_param(first, Param("lr", "0.1")))
    rec.call("duplicate metric point", lambda: s.log_metric(first, Metric("acc", 0.0, 10, 0)))
    rec.call("delete missing tag", lambda: s.delete_tag(first, "nope"))
    rec.call("rename via tag", lambda: s.set_tag(rec.run_ids["run-001"], RunTag("mlflow.runName", "run-001")))
    for name in ("run-002", "run-005", "run-009"):
        if name in rec.run_ids:
            rec.call(f"delete {name}", lambda r=rec.run_ids[name]: s.delete_run(r))
    if "run-005" in rec.run_ids:
        rec.call("restore run-005", lambda: s.restore_run(rec.run_ids["run-005"]))
        rec.call("log to deleted run", lambda: s.log_metric(rec.run_ids["run-002"], Metric("acc", 1.0, 1, 5)))


def observe(rec: Recorder, page_size: int) -> None:
    s = rec.store
    exps = [rec.exp_ids["conf-a"], rec.exp_ids["conf-b"]]
    for name, rid in sorted(rec.run_ids.items()):
        rec.call(f"get_run {name}", lambda r=rid: s.get_run(r), rec.run_shape)
    for key in ("acc", "weird", "many", "loss"):
        rec.call(f"history {key}", lambda k=key: s.get_metric_history(rec.run_ids["run-000"], k), rec.metric_shape)
    rec.call("get_run missing", lambda: s.get_run("0" * 32))
    combos = [(ViewType.ALL, None, order) for order in ORDERS]
    combos += [(ViewType.ALL, flt, ORDERS[i % len(ORDERS)]) for i, flt in enumerate(FILTERS)]
    combos += [(view, flt, ORDERS[(i + 3) % len(ORDERS)]) for view in (ViewType.ACTIVE_ONLY, ViewType.DELETED_ONLY)
               for i, flt in enumerate(FILTERS)]
    for view, flt, order in combos:
        label = f"search view={view} filter={flt!r} order={order}"

        def search(view: int = view, flt: str | None = flt, order: list[str] | None = order) -> Any:
            pages = list(all_pages(lambda token: s.search_runs(
                exps, flt, view, max_results=page_size, order_by=order, page_token=token)))
            runs = [r for p in pages for r in p]
            return {
                "page_sizes": [len(p) for p in pages],
                "names": sorted(r.info.run_name for r in runs),
                "unique": len({r.info.run_id for r in runs}) == len(runs),
                "order_values": [order_values(r, order) for r in runs],
            }

        rec.call(label, search, lambda x: x)
    for bad in ("metrics.acc >>> 1", "params.lr = 5", "nope.x = '1'", "metrics.acc = 'a'"):
        rec.call(f"bad filter {bad}", lambda b=bad: s.search_runs(exps, b, ViewType.ALL))
    rec.call("max_results too big", lambda: s.search_runs(exps, None, ViewType.ALL, max_results=50001))
    rec.call("search_experiments", lambda: s.search_experiments(ViewType.ALL, 1000, "name LIKE 'conf-%'", ["name ASC"]),
             lambda es: [rec.exp_shape(e) for e in es])
    rec.call("get_experiment_by_name", lambda: s.get_experiment_by_name("conf-ü"), rec.exp_shape)
    rec.call("get_experiment_by_name missing", lambda: s.get_experiment_by_name("nope"), lambda e: e)


def replay(store: Any, n_runs: int = 40, page_size: int = 7) -> list[Observation]:
    rec = Recorder(store)
    populate(rec, n_runs)
    observe(rec, page_size)
    # creation results carry ids that differ by design: keep only whether they errored
    return [(label, value if not label.startswith("create_experiment") or isinstance(value, tuple) else "ok")
            for label, value in rec.log]


_EMPTY_DB: list[Path] = []


def sqlite_reference_store(root: Path, store_class: Any = None) -> Any:
    """MLflow's SqlAlchemyStore on a fresh SQLite file (migrations run once per process, then copied)."""
    import shutil

    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    store_class = store_class or SqlAlchemyStore
    root.mkdir(parents=True, exist_ok=True)
    db = root / "reference.db"
    if _EMPTY_DB and _EMPTY_DB[0].exists():
        shutil.copyfile(_EMPTY_DB[0], db)
    else:
        SqlAlchemyStore(f"sqlite:///{db}", str(root / "artifacts")).engine.dispose()
        template = root / "empty-template.db"
        shutil.copyfile(db, template)
        _EMPTY_DB[:] = [template]
    return store_class(f"sqlite:///{db}", str(root / "artifacts"))


def compare(reference: list[Observation], candidate: list[Observation]) -> list[str]:
    """Human-readable differences (empty when the stores agree)."""
    diffs = []
    for (label, want), (label2, got) in zip(reference, candidate, strict=False):  # lengths compared below
        assert label == label2, f"scenario diverged: {label} vs {label2}"
        if want != got:
            diffs.append(f"{label}:\n  MLflow SqlAlchemyStore: {str(want)[:400]}\n  candidate:             {str(got)[:400]}")
    if len(reference) != len(candidate):
        diffs.append(f"{len(reference)} observations from MLflow, {len(candidate)} from the candidate")
    return diffs


_REFERENCE: dict[tuple[int, int], list[Observation]] = {}


def reference_observations(root: Path, n_runs: int, page_size: int) -> list[Observation]:
    """MLflow's answers, computed once per process (SQLite setup and replay take most of the time)."""
    key = (n_runs, page_size)
    if key not in _REFERENCE:
        _REFERENCE[key] = replay(sqlite_reference_store(root), n_runs, page_size)
    return _REFERENCE[key]


class TrackingStoreConformance:
    """Subclass and provide a `candidate_store` fixture returning a fresh, empty tracking store."""

    n_runs = 40
    page_size = 7

    def test_same_answers_as_sqlalchemy_store(self, candidate_store: Any, tmp_path: Path) -> None:
        want = reference_observations(tmp_path / "reference", self.n_runs, self.page_size)
        got = replay(candidate_store, self.n_runs, self.page_size)
        diffs = compare(want, got)
        assert not diffs, f"{len(diffs)} difference(s) from MLflow's store:\n" + "\n".join(diffs[:15])

    def test_paging_many_runs(self, candidate_store: Any) -> None:
        """Every run exactly once across pages, in order (size from KIT_PAGING_RUNS, default 300)."""
        n = int(os.environ.get("MLFLOW_PLUGINS_KIT_PAGING_RUNS", "300"))
        s = candidate_store
        eid = s.create_experiment("paging", None, [])
        for i in range(n):
            s.create_run(eid, "u", i // 2, [], f"r{i:05d}")
        seen: list[Any] = []
        for page in all_pages(lambda t: s.search_runs([eid], None, ViewType.ALL, max_results=97,
                                                      order_by=["attributes.start_time ASC"], page_token=t)):
            seen += page
        assert len(seen) == n and len({r.info.run_id for r in seen}) == n
        assert [r.info.start_time for r in seen] == sorted(r.info.start_time for r in seen)
