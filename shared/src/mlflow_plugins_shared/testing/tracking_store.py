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
from functools import partial
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
    observe_history_bulk(rec)
    observe_history_interval(rec)
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


def observe_history_bulk(rec: Recorder) -> None:
    """`get_metric_history_bulk` (what the UI's charts of several runs call, when a store has it)."""
    s = rec.store
    if not hasattr(s, "get_metric_history_bulk"):
        return

    def shape(metrics: list[Any]) -> dict[str, Any]:
        ids = [m.run_id for m in metrics]  # run ids differ between stores: compare per run name
        per_run: dict[str, list[tuple[Any, ...]]] = {}
        for m in metrics:
            per_run.setdefault(rec.names_by_run_id.get(m.run_id, m.run_id), []).append(
                (m.key, _num(m.value), m.timestamp, m.step))
        return {"ordered_by_run_id": ids == sorted(ids), "runs": sorted(per_run.items())}

    some = [rec.run_ids[n] for n in ("run-000", "run-001", "run-002", "run-003", "run-006") if n in rec.run_ids]
    everyone = sorted(rec.run_ids.values())
    first = rec.run_ids["run-000"]
    rec.call("history bulk acc, a deleted run and a missing one",
             lambda: s.get_metric_history_bulk([*some, "0" * 32], "acc", 1000), shape)
    rec.call("history bulk weird, every run", lambda: s.get_metric_history_bulk(everyone, "weird", 10_000), shape)
    # a cut only where one run is asked for: which runs come first depends on their (random) ids
    rec.call("history bulk loss, every run", lambda: s.get_metric_history_bulk(everyone, "loss", 1000), shape)
    rec.call("history bulk many, cut at 10", lambda: s.get_metric_history_bulk([first], "many", 10), shape)
    rec.call("history bulk unknown key", lambda: s.get_metric_history_bulk(some, "nope", 100), shape)
    rec.call("history bulk no runs", lambda: s.get_metric_history_bulk([], "acc", 100), shape)


def observe_history_interval(rec: Recorder) -> None:
    """`get_metric_history_bulk_interval` (the UI's sampled charts), where one step holds several points with
    different timestamps (and values, a NaN among them), over several runs, ranges and sample sizes."""
    s = rec.store
    runs = [rec.run_ids[n] for n in ("run-003", "run-004") if n in rec.run_ids]
    points = [Metric("curve", float(k), 100 + k, k) for k in range(20)]
    points += [Metric("curve", -2.0, 50, 5), Metric("curve", 9.5, 900, 5), Metric("curve", math.nan, 105, 5),
               Metric("curve", 3.5, 103, 3), Metric("curve", 7.0, 99, 19)]
    rec.call("log curve (several points at steps 3, 5, 19)", lambda: s.log_batch(runs[0], points, [], []))
    rec.call("log curve, second run", lambda: s.log_batch(runs[1], [Metric("curve", 1.0, 7, k % 4) for k in range(9)]
                                                         + [Metric("curve", 2.0, 8 + k, 2) for k in range(6)], [], []))

    def shape(metrics: list[Any]) -> list[tuple[Any, ...]]:
        return [(rec.names_by_run_id.get(m.run_id, m.run_id), m.key, _num(m.value), m.timestamp, m.step)
                for m in metrics]

    for max_results, start, end in ((5, None, None), (3, None, None), (1, None, None), (2, None, None),
                                    (100, None, None), (4, 3, 8), (2, 5, 5), (3, 30, 40), (0, None, None)):
        rec.call(f"history interval max={max_results} steps={start}..{end}",
                 lambda m=max_results, a=start, b=end: s.get_metric_history_bulk_interval(
                     [*runs, "0" * 32], "curve", m, a, b), shape)
    rec.call("history interval unknown key", lambda: s.get_metric_history_bulk_interval(runs, "nope", 5, None, None),
             shape)
    rec.call("history interval start without end",
             lambda: s.get_metric_history_bulk_interval(runs, "curve", 5, 3, None), shape)


def replay(store: Any, n_runs: int = 40, page_size: int = 7) -> list[Observation]:
    rec = Recorder(store)
    populate(rec, n_runs)
    observe(rec, page_size)
    # creation results carry ids that differ by design: keep only whether they errored
    return [(label, value if not label.startswith("create_experiment") or isinstance(value, tuple) else "ok")
            for label, value in rec.log]


# -- logged models ---------------------------------------------------------------------------
class ModelRecorder(Recorder):
    """Also names logged models by name (model ids are random in every store)."""

    def __init__(self, store: Any) -> None:
        super().__init__(store)
        self.model_ids: dict[str, str] = {}

    def model_name(self, model_id: str | None) -> str | None:
        if model_id is None:
            return None
        return next((n for n, i in self.model_ids.items() if i == model_id), f"<unknown {model_id}>")

    def model_shape(self, m: Any) -> dict[str, Any]:
        return {
            "name": m.name, "experiment": self._exp_name(m.experiment_id), "status": str(m.status),
            "model_type": m.model_type, "source_run": self.names_by_run_id.get(m.source_run_id, m.source_run_id),
            "status_message": m.status_message, "tags": dict(m.tags), "params": dict(m.params),
            "metrics": sorted((k.key, _num(k.value), k.timestamp, k.step, self.names_by_run_id.get(k.run_id),
                               k.dataset_name, k.dataset_digest, self.model_name(k.model_id))
                              for k in m.metrics or []),
            "artifact_location_ok": m.artifact_location.endswith(f"/models/{m.model_id}/artifacts"),
            "model_uri_ok": m.model_uri == f"models:/{m.model_id}",
            "timestamps_ok": isinstance(m.creation_timestamp, int)
                             and m.last_updated_timestamp >= m.creation_timestamp,
        }

    def run_io_shape(self, run: Any) -> dict[str, Any]:
        return {
            "outputs": sorted((self.model_name(o.model_id), o.step) for o in run.outputs.model_outputs),
            "model_inputs": sorted(self.model_name(i.model_id) for i in run.inputs.model_inputs),
            "metrics": {k: _num(v) for k, v in run.data.metrics.items()},
        }


_SQL_COLUMNS = {"creation_time": "creation_timestamp", "creation_timestamp": "creation_timestamp",
                "last_updated_timestamp": "last_updated_timestamp"}
_STATUS_INT = {"UNSPECIFIED": 0, "PENDING": 1, "READY": 2, "FAILED": 3}


def _on_datasets(p: Any, datasets: list[dict[str, Any]] | None) -> bool:
    return not datasets or any(p.dataset_name == d["dataset_name"]
                               and ("dataset_digest" not in d or p.dataset_digest == d["dataset_digest"])
                               for d in datasets)


def model_order_value(m: Any, ob: dict[str, Any], datasets: list[dict[str, Any]] | None = None) -> Any:
    """What SqlAlchemyStore orders a logged model by for one `order_by` clause (a metric: its latest point
    on the search's `datasets` and the clause's own dataset)."""
    field = ob["field_name"]
    if field.startswith("metrics."):
        key = field.split(".", 1)[1]
        points = [p for p in m.metrics or [] if p.key == key and _on_datasets(p, datasets)
                  and (not ob.get("dataset_name") or p.dataset_name == ob["dataset_name"])
                  and (not ob.get("dataset_digest") or p.dataset_digest == ob["dataset_digest"])]
        # the latest point: step DESC, timestamp DESC, value DESC (MLflow 3.18; run metrics' "latest")
        return max(points, key=lambda p: (p.step, p.timestamp, p.value)).value if points else None
    if field == "status":
        return _STATUS_INT[str(m.status)]
    return getattr(m, _SQL_COLUMNS.get(field, field))


def models_in_order(models: list[Any], order_by: list[dict[str, Any]] | None,
                    datasets: list[dict[str, Any]] | None = None) -> bool:
    """True when `models` follow the clauses, nulls last, then creation time DESC, then model id."""
    clauses = list(order_by or [])
    if not any(_SQL_COLUMNS.get(c["field_name"]) == "creation_timestamp" for c in clauses):
        clauses.append({"field_name": "creation_timestamp", "ascending": False})
    if not any(c["field_name"] == "model_id" for c in clauses):
        clauses.append({"field_name": "model_id"})

    def before_or_tied(a: Any, b: Any) -> bool:
        for c in clauses:
            x, y = model_order_value(a, c, datasets), model_order_value(b, c, datasets)
            if x == y:
                continue
            if x is None or y is None:
                return y is None
            return (x < y) == c.get("ascending", True)
        return True

    return all(before_or_tied(a, b) for a, b in zip(models, models[1:], strict=False))


MODEL_FILTERS = [
    None,
    "name = 'lm-03'",
    "name LIKE 'lm-0%'",
    "name LIKE 'LM-0%'",
    "name ILIKE 'LM-1%'",
    "name != 'lm-00'",
    "name IN ('lm-01', 'lm-02', 'nope')",
    "name NOT IN ('lm-01')",
    "model_type = 'sklearn'",
    "model_type != 'sklearn'",
    "model_type LIKE '%o%'",
    "status = 'READY'",
    "status != 'READY'",
    "status = '2'",
    "status IN ('2', '3')",
    "source_run_id != 'x'",
    "params.lr = '0.1'",
    "params.lr != '0.1'",
    "params.lr LIKE '0.0%'",
    "params.opt IN ('adam', 'sgd')",
    "params.opt NOT IN ('adam')",
    "tags.team = 'vision'",
    "tags.team ILIKE 'VIS%'",
    "tags.`ünï` = 'çødé'",
    "tags.missing = 'x'",
    "metrics.acc > 0.5",
    "metrics.acc <= 0.3",
    "metrics.acc = 0",
    "metrics.acc != 0.5",
    "metrics.loss < 1e308",
    "metrics.loss >= 1e308",
    "creation_timestamp > 0",
    "creation_time >= 0",
    "last_updated_timestamp > 0",
    "metrics.acc > 0.2 AND params.lr = '0.1'",
    "tags.team = 'nlp' AND name LIKE 'lm-%' AND model_type = 'sklearn'",
]
MODEL_DATASETS: list[list[dict[str, Any]] | None] = [
    None,
    [{"dataset_name": "train"}],
    [{"dataset_name": "train", "dataset_digest": "d1"}],
    [{"dataset_name": "eval", "dataset_digest": None}],  # how the server passes a name-only filter
    [{"dataset_name": "eval", "dataset_digest": "d2"}, {"dataset_name": "train", "dataset_digest": "d1"}],
]
MODEL_ORDERS: list[list[dict[str, Any]] | None] = [
    None,
    [{"field_name": "name"}],
    [{"field_name": "name", "ascending": False}],
    [{"field_name": "metrics.acc"}],
    [{"field_name": "metrics.acc", "ascending": False}],
    [{"field_name": "metrics.acc", "dataset_name": "train"}],
    [{"field_name": "metrics.acc", "ascending": False, "dataset_name": "eval", "dataset_digest": "d2"}],
    [{"field_name": "model_type"}, {"field_name": "name", "ascending": False}],
    [{"field_name": "model_type", "ascending": False}, {"field_name": "name"}],
    [{"field_name": "status", "ascending": False}, {"field_name": "name"}],
    [{"field_name": "creation_timestamp", "ascending": True}],
    [{"field_name": "last_updated_timestamp", "ascending": False}],
]


def populate_models(rec: ModelRecorder, n_models: int) -> None:
    from mlflow.entities import LoggedModelInput, LoggedModelOutput, LoggedModelParameter, LoggedModelStatus
    from mlflow.entities import LoggedModelTag as Tag

    s = rec.store
    for name in ("lm-exp-a", "lm-exp-b", "lm-exp-gone", "lm-exp-unsearched"):
        rec.exp_ids[name] = rec.call(f"create_experiment {name}", partial(s.create_experiment, name, None, []))
    for name, exp in (("lm-run-1", "lm-exp-a"), ("lm-run-2", "lm-exp-b"), ("lm-run-gone", "lm-exp-a")):
        run = rec.call(f"create_run {name}", partial(s.create_run, rec.exp_ids[exp], "u", 1000, [], name))
        rec.run_ids[name] = run.info.run_id
        rec.names_by_run_id[run.info.run_id] = name
    for i in range(n_models):
        name = f"lm-{i:02d}"
        tags = [Tag("team", ["vision", "nlp", "audio"][i % 3])] if i % 4 else []
        if i % 5 == 0:
            tags.append(Tag("ünï", "çødé"))
        params = [LoggedModelParameter("lr", ["0.1", "0.01", "0.001"][i % 3]),
                  LoggedModelParameter("opt", ["adam", "sgd", "Adagrad"][i % 3])] if i % 6 else []
        model = rec.call(f"create_logged_model {name}", partial(
            s.create_logged_model, rec.exp_ids["lm-exp-a" if i % 3 else "lm-exp-b"], name,
            rec.run_ids["lm-run-1"] if i % 2 else None, tags, params, [None, "sklearn", "pytorch", "onnx"][i % 4]),
            rec.model_shape)
        rec.model_ids[name] = model.model_id
    ids = rec.model_ids
    first, second = ids["lm-00"], ids["lm-01"]
    rec.call("create without name", lambda: s.create_logged_model(rec.exp_ids["lm-exp-unsearched"]),
             lambda m: (bool(m.name), m.status == LoggedModelStatus.PENDING))
    for label, kwargs in (("bad name", {"name": "a/b"}), ("empty name", {"name": ""}),
                          ("name with dot", {"name": "v1.2"}),
                          ("duplicate params", {"name": "dup", "params": [LoggedModelParameter("p", "1"),
                                                                            LoggedModelParameter("p", "2")]})):
        rec.call(f"create_logged_model {label}", partial(s.create_logged_model, rec.exp_ids["lm-exp-a"], **kwargs))
    rec.call("create_logged_model missing experiment", lambda: s.create_logged_model("987654321", "x"))
    rec.call("create_logged_model bad experiment id", lambda: s.create_logged_model("abc", "x"))
    rec.call("delete lm-exp-gone", lambda: s.delete_experiment(rec.exp_ids["lm-exp-gone"]))
    rec.call("create_logged_model deleted experiment", lambda: s.create_logged_model(rec.exp_ids["lm-exp-gone"], "x"))
    for i, name in enumerate(sorted(ids)):
        if i % 3 == 1:
            rec.call(f"finalize {name}", partial(s.finalize_logged_model, ids[name],
                                                 LoggedModelStatus.READY if i % 2 else LoggedModelStatus.FAILED),
                     rec.model_shape)
    rec.call("finalize missing", lambda: s.finalize_logged_model("m-" + "0" * 32, LoggedModelStatus.READY))
    rec.call("finalize bad status", lambda: s.finalize_logged_model(first, "BOGUS"))
    rec.call("set tags", lambda: s.set_logged_model_tags(first, [Tag("a", "1"), Tag("b", "x" * 5000), Tag("a", "2")]))
    rec.call("delete tag", lambda: s.delete_logged_model_tag(first, "b"))
    rec.call("delete missing tag", lambda: s.delete_logged_model_tag(first, "nope"))
    rec.call("delete tag missing model", lambda: s.delete_logged_model_tag("m-" + "1" * 32, "a"))
    rec.call("set tags missing model", lambda: s.set_logged_model_tags("m-" + "1" * 32, [Tag("a", "1")]))
    rec.call("log params", lambda: s.log_logged_model_params(second, [LoggedModelParameter("extra", "e")]))
    rec.call("log params again", lambda: s.log_logged_model_params(second, [LoggedModelParameter("extra", "e")]))
    rec.call("log params missing model", lambda: s.log_logged_model_params("m-" + "2" * 32, []))
    run1 = rec.run_ids["lm-run-1"]
    for i, name in enumerate(sorted(ids)):
        mid = ids[name]
        points = [Metric("acc", (i % 7) / 6, 100 + i, 0, model_id=mid, dataset_name="train", dataset_digest="d1"),
                  Metric("acc", ((i + 2) % 5) / 4, 200, 1, model_id=mid, dataset_name="eval", dataset_digest="d2")]
        if i % 4 == 0:
            points.append(Metric("acc", 0.5, 50, 3, model_id=mid))
        if i % 3 == 0:
            points.append(Metric("loss", [math.nan, math.inf, -math.inf, 2.5][i % 4], 10, 0, model_id=mid))
        rec.call(f"log_batch model metrics {name}", partial(s.log_batch, run1, points, [], []))
    rec.call("log_metric with model_id", lambda: s.log_metric(run1, Metric("single", 1.0, 5, 0, model_id=first)))
    rec.call("same model point again", lambda: s.log_batch(run1, [Metric("single", 1.0, 5, 0, model_id=first)], [], []))
    rec.call("conflicting model point", lambda: s.log_batch(
        run1, [Metric("single", 2.0, 5, 0, model_id=first), Metric("other", 1.0, 5, 0, model_id=first)], [], []))
    rec.call("metric for unknown model", lambda: s.log_batch(
        rec.run_ids["lm-run-2"], [Metric("orphan", 1.0, 5, 0, model_id="m-" + "3" * 32)], [], []))
    rec.call("log_outputs", lambda: s.log_outputs(run1, [LoggedModelOutput(first, 0), LoggedModelOutput(second, 3)]))
    rec.call("log_outputs same model again", lambda: s.log_outputs(run1, [LoggedModelOutput(first, 4)]))
    rec.call("log_outputs unknown model", lambda: s.log_outputs(run1, [LoggedModelOutput("m-" + "4" * 32, 1)]))
    rec.call("log_outputs missing run", lambda: s.log_outputs("f" * 32, [LoggedModelOutput(first, 1)]))
    rec.call("log_inputs models", lambda: s.log_inputs(rec.run_ids["lm-run-2"], models=[LoggedModelInput(first)]))
    rec.call("log_inputs models again", lambda: s.log_inputs(rec.run_ids["lm-run-2"], models=[LoggedModelInput(first)]))
    rec.call("delete lm-run-gone", lambda: s.delete_run(rec.run_ids["lm-run-gone"]))
    rec.call("log_outputs deleted run", lambda: s.log_outputs(rec.run_ids["lm-run-gone"], [LoggedModelOutput(first, 1)]))
    rec.call("model metric deleted run", lambda: s.log_batch(
        rec.run_ids["lm-run-gone"], [Metric("acc", 1.0, 1, 0, model_id=first)], [], []))
    for name in ("lm-05", "lm-07"):
        if name in ids:
            rec.call(f"delete_logged_model {name}", partial(s.delete_logged_model, ids[name]))
    rec.call("delete_logged_model missing", lambda: s.delete_logged_model("m-" + "5" * 32))


def observe_models(rec: ModelRecorder, page_size: int) -> None:
    s = rec.store
    exps = [rec.exp_ids["lm-exp-a"], rec.exp_ids["lm-exp-b"]]
    for name, mid in sorted(rec.model_ids.items()):
        rec.call(f"get_logged_model {name}", partial(s.get_logged_model, mid), rec.model_shape)
    if "lm-05" in rec.model_ids:
        rec.call("get deleted with allow_deleted", lambda: s.get_logged_model(rec.model_ids["lm-05"], True),
                 rec.model_shape)
    rec.call("get_logged_model missing", lambda: s.get_logged_model("m-" + "6" * 32))
    for name in ("lm-run-1", "lm-run-2"):
        rec.call(f"get_run {name}", partial(s.get_run, rec.run_ids[name]), rec.run_io_shape)
    combos: list[tuple[str | None, Any, Any]] = [(None, None, order) for order in MODEL_ORDERS]
    combos += [(flt, None, MODEL_ORDERS[i % len(MODEL_ORDERS)]) for i, flt in enumerate(MODEL_FILTERS)]
    combos += [(flt, ds, MODEL_ORDERS[(i + j) % len(MODEL_ORDERS)]) for i, ds in enumerate(MODEL_DATASETS[1:])
               for j, flt in enumerate((None, "metrics.acc > 0.4", "metrics.acc <= 0.5 AND params.lr != '0.1'"))]
    for flt, ds, order in combos:
        def search(flt: str | None = flt, ds: Any = ds, order: Any = order) -> Any:
            pages = list(all_pages(lambda token: s.search_logged_models(
                exps, filter_string=flt, datasets=ds, max_results=page_size, order_by=order, page_token=token)))
            models = [m for p in pages for m in p]
            values = [[model_order_value(m, c, ds) for c in order or [] if "timestamp" not in c["field_name"]]
                      for m in models]
            return {"page_sizes": [len(p) for p in pages], "names": sorted(m.name for m in models),
                    "unique": len({m.model_id for m in models}) == len(models),
                    "order_values": [[_num(v) for v in vs] for vs in values],
                    "in_order": models_in_order(models, order, ds)}

        rec.call(f"search_logged_models filter={flt!r} datasets={ds} order={order}", search, lambda x: x)
    rec.call("search one page of everything", lambda: s.search_logged_models(exps), lambda p: (len(p), p.token))
    rec.call("search missing experiment", lambda: s.search_logged_models(["987654321"]), lambda p: len(p))
    rec.call("search bad experiment id", lambda: s.search_logged_models(["abc"]))
    for bad in ("foo.bar = 1", "name = 'a' OR name = 'b'", "metrics.acc LIKE 1", "params.lr > '1'",
                "nope = 'x'", "attributes.creation_time > 0", "metrics.acc > 'a'"):
        rec.call(f"search bad filter {bad}", partial(s.search_logged_models, exps, filter_string=bad))
    for bad_order in ([{"field_name": "params.lr"}], [{"field_name": "nope"}], [{"ascending": True}], ["name"]):
        rec.call(f"search bad order {bad_order}", partial(s.search_logged_models, exps, order_by=bad_order))
    rec.call("search datasets without name", lambda: s.search_logged_models(exps, datasets=[{"dataset_digest": "d1"}]))
    rec.call("search max_results 0 means default", lambda: s.search_logged_models(exps, max_results=0), len)
    rec.call("search max_results not an int", lambda: s.search_logged_models(exps, max_results="5"))
    page = rec.call("first page of 2", lambda: s.search_logged_models(exps, max_results=2), len)
    if page is not None and page.token:
        rec.call("page token, other experiments", lambda: s.search_logged_models(exps[:1], page_token=page.token))
        rec.call("page token, other filter", lambda: s.search_logged_models(exps, "name = 'x'", page_token=page.token))
        rec.call("page token, same query", lambda: s.search_logged_models(exps, max_results=2, page_token=page.token),
                 len)


def replay_models(store: Any, n_models: int = 14, page_size: int = 4) -> list[Observation]:
    rec = ModelRecorder(store)
    populate_models(rec, n_models)
    observe_models(rec, page_size)
    return [(label, value if not label.startswith(("create_experiment", "create_run")) or isinstance(value, tuple)
             else "ok") for label, value in rec.log]


_MODEL_REFERENCE: dict[tuple[int, int], list[Observation]] = {}


def reference_model_observations(root: Path, n_models: int, page_size: int) -> list[Observation]:
    key = (n_models, page_size)
    if key not in _MODEL_REFERENCE:
        _MODEL_REFERENCE[key] = replay_models(sqlite_reference_store(root), n_models, page_size)
    return _MODEL_REFERENCE[key]


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


CRASH = ("error", "INTERNAL_ERROR")
CLEAR_ERROR = ("error", "INVALID_PARAMETER_VALUE")


def compare(reference: list[Observation], candidate: list[Observation], *, clearer_errors: bool = False) -> list[str]:
    """Human-readable differences (empty when the stores agree).

    With `clearer_errors`, where MLflow's store crashes on bad input (INTERNAL_ERROR, e.g. an
    AttributeError on an unknown filter attribute) the candidate must answer INVALID_PARAMETER_VALUE.
    Where the installed MLflow's store has a named bug (`deviations.DEVIATIONS`), the fields it gets
    wrong are left out, and the run reports which deviations it applied.
    """
    from mlflow_plugins_shared.testing import deviations

    diffs = []
    applied: set[str] = set()
    for (label, want), (label2, got) in zip(reference, candidate, strict=False):  # lengths compared below
        assert label == label2, f"scenario diverged: {label} vs {label2}"
        if clearer_errors and want == CRASH:
            want = CLEAR_ERROR
        want, got = deviations.without_deviations(label, want, got, applied)
        if want != got:
            diffs.append(f"{label}:\n  MLflow SqlAlchemyStore: {str(want)[:400]}\n  candidate:             {str(got)[:400]}")
    if len(reference) != len(candidate):
        diffs.append(f"{len(reference)} observations from MLflow, {len(candidate)} from the candidate")
    deviations.report(applied)
    return diffs


_REFERENCE: dict[tuple[int, int], list[Observation]] = {}


def reference_observations(root: Path, n_runs: int, page_size: int) -> list[Observation]:
    """MLflow's answers, computed once per process (SQLite setup and replay take most of the time)."""
    key = (n_runs, page_size)
    if key not in _REFERENCE:
        _REFERENCE[key] = replay(sqlite_reference_store(root), n_runs, page_size)
    return _REFERENCE[key]


class TrackingStoreConformance:
    """Subclass and provide a `candidate_store` fixture returning a fresh, empty tracking store.

    A store without logged models sets `logged_models = False`: the kit then checks that every
    logged-model method answers MlflowNotImplementedException (the server's 501), never None.
    """

    n_runs = 40
    page_size = 7
    logged_models = True
    n_models = 14
    model_page_size = 4
    paging_threads = 8  # the candidate is filled from this many threads (the reference from one)

    def test_same_answers_as_sqlalchemy_store(self, candidate_store: Any, tmp_path: Path) -> None:
        want = reference_observations(tmp_path / "reference", self.n_runs, self.page_size)
        got = replay(candidate_store, self.n_runs, self.page_size)
        diffs = compare(want, got)
        assert not diffs, f"{len(diffs)} difference(s) from MLflow's store:\n" + "\n".join(diffs[:15])

    def test_paging_many_runs_same_answers_as_sqlalchemy_store(self, candidate_store: Any,
                                                               tmp_path_factory: Any) -> None:
        """10,000 runs (MLFLOW_PLUGINS_KIT_PAGING_RUNS), seven searches paged to the end in both stores."""
        from mlflow_plugins_shared.testing import paging

        n = paging.n_runs()
        base = Path(tmp_path_factory.getbasetemp())
        shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base  # one reference per session
        want = paging.reference(shared / "kit-paging", n)
        got = paging.observe(candidate_store, self.paging_fill(candidate_store, n))
        diffs = paging.differences(want, got)
        assert not diffs, f"{len(diffs)} difference(s) from MLflow's store:\n" + "\n".join(diffs)

    def paging_fill(self, candidate_store: Any, n: int) -> str:
        """Put the paging runs into the candidate; returns the experiment id. Override to load faster
        (e.g. through a second store with bulk settings); the searches then go through `candidate_store`."""
        from mlflow_plugins_shared.testing import paging

        return paging.fill(candidate_store, n, threads=self.paging_threads)

    def test_logged_models_same_answers_as_sqlalchemy_store(self, candidate_store: Any, tmp_path: Path) -> None:
        if not self.logged_models:
            from mlflow_plugins_shared.errors import MlflowNotImplementedException

            for name in ("create_logged_model", "get_logged_model", "search_logged_models", "log_outputs"):
                try:
                    getattr(candidate_store, name)("0")
                except MlflowNotImplementedException:
                    continue
                raise AssertionError(f"{name} neither works nor raises MlflowNotImplementedException")
            return
        want = reference_model_observations(tmp_path / "reference", self.n_models, self.model_page_size)
        got = replay_models(candidate_store, self.n_models, self.model_page_size)
        # the kit's own oracle, whatever the installed MLflow does: every search comes back in order
        unordered = [label for label, v in got if isinstance(v, dict) and v.get("in_order") is False]
        assert not unordered, f"searches out of order: {unordered}"
        diffs = compare(want, got, clearer_errors=True)
        assert not diffs, f"{len(diffs)} difference(s) from MLflow's store:\n" + "\n".join(diffs[:15])
