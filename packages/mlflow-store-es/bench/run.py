"""Benchmark: mlflow-store-es against MLflow's SqlAlchemyStore on PostgreSQL and SQLite, same data,
side by side in one run. Starts its own servers with tools/testenv (es = Elasticsearch 8.19.21,
opensearch = OpenSearch 3.6.0, both the real distributions from Maven Central; postgres), all on
loopback, on a machine shared with other work.

Measured (every figure names its engine):
- ingest throughput: metric points/s from 4 processes, `log_batch` of 1,000 points (target >= 5x PostgreSQL);
- requests per `log_batch` of 1,000 metrics (the store's own HTTP request counter);
- `search_runs` latency over R runs: filter on a metric and a param, order by a metric, page of 1,000
  (target <= 1/3 of PostgreSQL), and requests per call (target 1 search + at most 1 mget);
- `get_metric_history` of H points; `get_run` with 1,000 params and tags (500 + 500; MLflow
  allows 100 per batch).

Quick (default): 4 x 10,000 points, R = 2,000 runs, H = 10,000. `--full`: 4 x 250,000 = 1,000,000
points, R = 100,000, H = 100,000 (the issue's sizes; takes long on 2 shared cores).

    python packages/mlflow-store-es/bench/run.py [--full] [--engines es,opensearch] --out bench.json

Engine `cluster` measures a real Elasticsearch/OpenSearch cluster given by MLFLOW_STORE_ES_TEST_URL
(the store URI, e.g. `elasticsearch+https://user:pw@host:9200`): `--engines cluster` or
`--engines es,opensearch,cluster`. Its indices get a fresh `bench<hex>` prefix and are deleted
at the end.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

PACKAGE = "mlflow-store-es"
ENGINE_NAMES = {"es": "Elasticsearch {version}", "opensearch": "OpenSearch {version}",
                "cluster": "the cluster of MLFLOW_STORE_ES_TEST_URL",
                "postgres": "PostgreSQL (tools/testenv)", "sqlite": "SQLite file"}
STORE_ENGINES = ("es", "opensearch", "cluster")
CLUSTER_URL_VAR = "MLFLOW_STORE_ES_TEST_URL"


def cluster_uri(url: str, prefix: str) -> str:
    """The store URI for the cluster of `url` (a store URI, with or without options) under `prefix`."""
    base, _, query = url.partition("?")
    options = "&".join(o for o in query.split("&") if o and not o.startswith("index_prefix="))
    return f"{base.rstrip('/')}/?index_prefix={prefix}" + (f"&{options}" if options else "")


def drop_indices(spec: dict[str, str]) -> None:
    """Delete the bench's own indices (named one by one: clusters refuse wildcard deletes)."""
    from mlflow_store_es.schema import MAPPINGS

    store = make_store(spec)
    for kind in MAPPINGS:
        store.client.request("DELETE", "/" + getattr(store.ix, kind), ok=(404,))


def make_store(spec: dict[str, str]) -> Any:
    if spec["kind"] in STORE_ENGINES:
        from mlflow_store_es.tracking_store import EsTrackingStore

        return EsTrackingStore(spec["uri"], spec["artifacts"])
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    return SqlAlchemyStore(spec["uri"], spec["artifacts"])


# ---- worker processes ------------------------------------------------------------------------
def _ingest_worker(spec: dict[str, str], run_id: str, points: int, barrier: Any, out: Any) -> None:
    from mlflow.entities import Metric

    store = make_store(spec)
    batches = [[Metric("loss", 1.0 / (i + 1), 1_700_000_000_000 + i, i) for i in range(s, min(s + 1000, points))]
               for s in range(0, points, 1000)]
    barrier.wait()
    t0 = time.perf_counter()
    for batch in batches:
        store.log_batch(run_id, batch, [], [])
    out.put((t0, time.perf_counter()))


def _populate_worker(spec: dict[str, str], experiment_id: str, first: int, count: int, barrier: Any, out: Any) -> None:
    from mlflow.entities import Metric, Param

    if spec["kind"] in STORE_ENGINES:  # setup, not measured: no refresh per write (see measure())
        spec = {**spec, "uri": spec["uri"] + "&refresh=false"}
    store = make_store(spec)
    barrier.wait()
    for i in range(first, first + count):
        rid = store.create_run(experiment_id, "bench", 1_700_000_000_000 + i, [], f"run-{i:06d}").info.run_id
        store.log_batch(rid, [Metric("acc", (i * 7919 % 1000) / 1000, 1, 0), Metric("loss", (i * 104729 % 997) / 997, 1, 0)],
                        [Param("opt", ["adam", "sgd", "rmsprop"][i % 3]), Param("lr", str(i % 5))], [])
    out.put((0.0, 0.0))


def _in_processes(target: Any, argsets: list[tuple[Any, ...]]) -> float:
    ctx = mp.get_context("spawn")
    barrier, out = ctx.Barrier(len(argsets)), ctx.Queue()
    procs = [ctx.Process(target=target, args=(*a, barrier, out)) for a in argsets]
    for p in procs:
        p.start()
    spans = [out.get(timeout=7200) for _ in procs]
    for p in procs:
        p.join()
        if p.exitcode:
            raise RuntimeError(f"worker failed with exit code {p.exitcode}")
    return max(e for _, e in spans) - min(s for s, _ in spans)


# ---- measurements ----------------------------------------------------------------------------
def _median_seconds(fn: Any, rounds: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(rounds):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def measure(spec: dict[str, str], sizes: dict[str, int]) -> dict[str, Any]:
    from mlflow.entities import Metric, Param, RunTag, ViewType

    store = make_store(spec)
    res: dict[str, Any] = {}
    exp = store.create_experiment(f"bench-{uuid.uuid4().hex[:8]}", None, [])
    # ingest from 4 processes
    runs = [store.create_run(exp, "bench", 0, [], f"writer-{w}").info.run_id for w in range(4)]
    per = sizes["points"] // 4
    wall = _in_processes(_ingest_worker, [(spec, runs[w], per) for w in range(4)])
    res["ingest"] = 4 * per / wall
    # requests per log_batch of 1,000 metrics
    if hasattr(store, "client"):
        rid = store.create_run(exp, "bench", 0, [], "requests").info.run_id
        before = store.client.requests
        store.log_batch(rid, [Metric("m", float(i), i, i) for i in range(1000)], [], [])
        res["log_batch_requests"] = store.client.requests - before
    # metric history of H points
    hist_run = store.create_run(exp, "bench", 0, [], "history").info.run_id
    for s in range(0, sizes["history"], 1000):
        store.log_batch(hist_run, [Metric("h", float(i), i, i) for i in range(s, min(s + 1000, sizes["history"]))], [], [])
    res["history_s"] = _median_seconds(lambda: store.get_metric_history(hist_run, "h"), 3)
    assert len(store.get_metric_history(hist_run, "h")) == sizes["history"]
    # get_run with 500 params + 500 tags
    big = store.create_run(exp, "bench", 0, [], "big").info.run_id
    for s in range(0, 500, 100):
        store.log_batch(big, [], [Param(f"p{i:04d}", "v" * 50) for i in range(s, s + 100)], [])
        store.log_batch(big, [], [], [RunTag(f"t{i:04d}", "w" * 50) for i in range(s, s + 100)])
    res["get_run_s"] = _median_seconds(lambda: store.get_run(big), 5)
    # search over R runs
    sexp = store.create_experiment(f"search-{uuid.uuid4().hex[:8]}", None, [])
    r = sizes["runs"]
    _in_processes(_populate_worker, [(spec, sexp, w * (r // 4), r // 4) for w in range(4)])
    if hasattr(store, "client"):
        # The runs were loaded with refresh=false (a refresh per write makes a Lucene segment per
        # write); one refresh here, and the searches below use the default store.
        store.client.refresh(store.ix.runs)

    def search() -> Any:
        return store.search_runs([sexp], "metrics.acc > 0.5 and params.opt = 'adam'", ViewType.ACTIVE_ONLY,
                                 max_results=1000, order_by=["metrics.loss ASC"])

    res["search_s"] = _median_seconds(search, 5)
    res["search_hits"] = len(search())
    if hasattr(store, "client"):
        before = store.client.requests
        search()
        res["search_requests"] = store.client.requests - before
    return res


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--full", action="store_true")
    ap.add_argument("--engines", default="es,opensearch")
    ap.add_argument("--anchors", default="postgres,sqlite",
                    help="MLflow stores to compare with (SQLite takes over 20 minutes to load 100,000 runs)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--sizes", default="", help="override, e.g. points=8000,runs=400,history=2000 (smoke runs)")
    args = ap.parse_args()
    sizes = ({"points": 1_000_000, "runs": 100_000, "history": 100_000} if args.full
             else {"points": 40_000, "runs": 2_000, "history": 10_000})
    for item in filter(None, args.sizes.split(",")):
        k, v = item.split("=")
        sizes[k] = int(v)
    from urllib.parse import urlsplit

    from mlflow_testenv import start_service

    tmp = Path(tempfile.mkdtemp(prefix="es-bench-"))
    started = []
    specs: dict[str, dict[str, str]] = {}
    try:
        for engine in args.engines.split(","):
            if engine == "cluster":
                url = os.environ.get(CLUSTER_URL_VAR)
                if not url:
                    sys.exit(f"--engines cluster needs {CLUSTER_URL_VAR} (a store URI such as elasticsearch+https://host:9200)")
                specs[engine] = {"kind": engine, "uri": cluster_uri(url, f"bench{uuid.uuid4().hex[:6]}"),
                                 "artifacts": str(tmp / engine)}
                continue
            srv = start_service(engine, parent_pid=os.getpid(), record=False)
            started.append(srv)
            ENGINE_NAMES[engine] = ENGINE_NAMES[engine].format(version=srv.exports[f"MLFLOW_TESTENV_{engine.upper()}_VERSION"])
            netloc = urlsplit(srv.exports[f"MLFLOW_TESTENV_{engine.upper()}_URL"]).netloc
            scheme = "elasticsearch" if engine == "es" else "opensearch"
            specs[engine] = {"kind": engine, "uri": f"{scheme}://{netloc}/?index_prefix=bench{uuid.uuid4().hex[:6]}",
                             "artifacts": str(tmp / engine)}
        anchors = [a for a in args.anchors.split(",") if a]
        if "postgres" in anchors:
            pg = start_service("postgres", parent_pid=os.getpid(), record=False)
            started.append(pg)
            specs["postgres"] = {"kind": "postgres", "uri": pg.exports["MLFLOW_TESTENV_POSTGRES_URL"].replace(
                "postgresql://", "postgresql+psycopg2://"), "artifacts": str(tmp / "pg")}
        if "sqlite" in anchors:
            specs["sqlite"] = {"kind": "sqlite", "uri": f"sqlite:///{tmp / 'bench.db'}", "artifacts": str(tmp / "sqlite")}
        for name in anchors:
            make_store(specs[name])  # run migrations once, before the worker processes start
        results = {}
        for name, spec in specs.items():
            print(f"measuring {name} ...", file=sys.stderr, flush=True)
            try:
                results[name] = measure(spec, sizes)
            except Exception as e:  # a failing anchor is reported, not fatal
                results[name] = {"error": f"{type(e).__name__}: {str(e)[:200]}"}
            print(f"  {results[name]}", file=sys.stderr, flush=True)
    finally:
        if "cluster" in specs:
            drop_indices(specs["cluster"])
        for srv in started:
            srv.stop()
    rows = build_rows(results, sizes, args.full)
    Path(args.out).write_text(json.dumps(rows, indent=2))
    print(markdown_table(rows))


def build_rows(results: dict[str, dict[str, Any]], sizes: dict[str, int], full: bool) -> list[dict[str, Any]]:
    import mlflow

    mode = "full" if full else "quick"
    note = (f"{sizes['points']:,} points from 4 processes; {sizes['runs']:,} runs; {sizes['history']:,}-point history; "
            f"mlflow {mlflow.__version__}; 2 CPUs shared with other work; servers on loopback")
    benches = [
        ("ingest", "ingest", "points/s", ">= 5x PostgreSQL", True),
        ("search_runs", "search_s", "s", "<= 1/3 of PostgreSQL", False),
        ("get_metric_history", "history_s", "s", "", False),
        ("get_run_1000_params_tags", "get_run_s", "s", "", False),
    ]
    rows = []
    for engine in [e for e in results if e in STORE_ENGINES]:
        mine = results[engine]
        for bench, key, unit, target, higher in benches:
            for anchor in [a for a in ("postgres", "sqlite") if a in results]:
                theirs = results.get(anchor, {})
                value, anchor_value = mine.get(key), theirs.get(key)
                ratio = None
                if value and anchor_value:
                    ratio = round(value / anchor_value if higher else anchor_value / value, 3)
                rows.append({
                    "package": PACKAGE, "benchmark": f"{bench}_{mode}", "subject": f"mlflow-store-es on {engine}",
                    "anchor": f"SqlAlchemyStore on {anchor}", "value": _round(value), "unit": unit,
                    "anchor_value": _round(anchor_value), "ratio": ratio,
                    "target": target if anchor == "postgres" else "",
                    "engine": f"{ENGINE_NAMES[engine]} vs {ENGINE_NAMES[anchor]}",
                    "notes": note + ("; ratio = speed-up (higher is better)" if ratio is not None else
                                     f"; {mine.get('error') or theirs.get('error') or 'n/a'}"),
                })
        for key, bench, target in (("log_batch_requests", "log_batch_1000_metrics_requests", "1 bulk (+1 GET of the run)"),
                                   ("search_requests", "search_runs_requests", "1 search + <= 1 mget")):
            rows.append({"package": PACKAGE, "benchmark": f"{bench}_{mode}", "subject": f"mlflow-store-es on {engine}",
                         "anchor": "", "value": mine.get(key), "unit": "HTTP requests", "anchor_value": None,
                         "ratio": None, "target": target, "engine": ENGINE_NAMES[engine],
                         "notes": f"search returned {mine.get('search_hits')} runs" if key == "search_requests" else note})
    return rows


def _round(v: Any) -> Any:
    if isinstance(v, float):
        return round(v, 4) if v < 10 else round(v, 1)
    return v


def markdown_table(rows: list[dict[str, Any]]) -> str:
    out = ["| benchmark | subject | anchor | value | anchor value | ratio | target | engine |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        out.append(f"| {r['benchmark']} | {r['subject']} | {r['anchor']} | {r['value']} {r['unit']} | "
                   f"{'' if r['anchor_value'] is None else r['anchor_value']} | {'' if r['ratio'] is None else r['ratio']} | "
                   f"{r['target']} | {r['engine']} |")
    return "\n".join(out)


if __name__ == "__main__":
    main()
