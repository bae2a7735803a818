"""Paging across many runs (10,000 by default), compared with MLflow's SqlAlchemyStore on SQLite.

The same runs go into both stores (ties in start time and in metric values, deleted runs, NaN),
then the same searches page to the end. Which run of a tie lands first is not defined by MLflow
(its store breaks ties by the random run id), so each page is observed as the sequence of its
sort values, and each whole search as the sorted list of run names: every run exactly once.

The reference takes minutes to build, so it is computed once and cached as JSON in a directory
shared by all xdist workers of the session (keyed by size, MLflow version and this file).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import math
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from mlflow.entities import Metric, Param, RunTag, ViewType

DEFAULT_RUNS = 10_000
ENV_RUNS = "MLFLOW_PLUGINS_KIT_PAGING_RUNS"

# (label, filter, view, order_by, page size, what each page is observed by)
SEARCHES: list[tuple[str, str | None, int, list[str], int, tuple[str, ...]]] = [
    ("all runs by start time, pages of 97", None, ViewType.ALL, ["attributes.start_time ASC"], 97,
     ("start_time",)),
    ("metric and param filter, order by metric, pages of 1,000", "metrics.m > 10 and params.p != '3'",
     ViewType.ACTIVE_ONLY, ["metrics.m DESC"], 1000, ("m",)),
    ("tag ILIKE, order by param then start time", "tags.g ILIKE '1%'", ViewType.ACTIVE_ONLY,
     ["params.p ASC", "attributes.start_time DESC"], 1000, ("p", "start_time")),
    ("deleted runs by a unique metric", None, ViewType.DELETED_ONLY, ["metrics.u ASC"], 250, ("name",)),
    ("NaN metrics sort last", "metrics.m >= 0", ViewType.ALL, ["metrics.m ASC"], 1000, ("m",)),
    ("LIKE on the run name, default order", "attributes.run_name LIKE 'r0%'", ViewType.ACTIVE_ONLY, [], 1000,
     ("start_time",)),
    ("one page of 50,000", None, ViewType.ALL, ["metrics.u DESC"], 50_000, ("name",)),
]


def n_runs() -> int:
    return int(os.environ.get(ENV_RUNS, str(DEFAULT_RUNS)))


def _run_spec(i: int) -> tuple[int, list[RunTag], list[Metric], list[Param], bool]:
    value = float("nan") if i % 101 == 0 else float(i % 97)
    metrics = [Metric("m", value, 0, 0), Metric("u", float(i), 0, 0)]
    return i // 2, [RunTag("g", str(i % 10))], metrics, [Param("p", f"{i % 13:02d}")], i % 7 == 3


def fill(store: Any, n: int, threads: int = 1) -> str:
    """The same n runs in any store; returns the experiment id."""
    eid = store.create_experiment("paging", None, [])

    def one(i: int) -> None:
        start, tags, metrics, params, deleted = _run_spec(i)
        run_id = store.create_run(eid, "u", start, tags, f"r{i:05d}").info.run_id
        store.log_batch(run_id, metrics, params, [])
        if deleted:
            store.delete_run(run_id)

    if threads <= 1:
        for i in range(n):
            one(i)
    else:
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(one, range(n)))
    return eid


def _value(run: Any, field: str) -> str:
    if field == "start_time":
        return str(run.info.start_time)
    if field == "name":
        return run.info.run_name
    if field == "p":
        return run.data.params.get("p", "<none>")
    v = run.data.metrics.get(field)
    return "<none>" if v is None else ("nan" if math.isnan(v) else repr(v))


def observe(store: Any, eid: str) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for label, flt, view, order, size, fields in SEARCHES:
        pages: list[list[str]] = []
        names: list[str] = []
        token = None
        while True:
            page = store.search_runs([eid], flt, view, max_results=size, order_by=order, page_token=token)
            pages.append(["|".join(_value(r, f) for f in fields) for r in page])
            names += [r.info.run_name for r in page]
            token = page.token
            if not token:
                break
        out.append((label, {"page_sizes": [len(p) for p in pages], "pages": pages, "runs": sorted(names),
                            "each_once": len(names) == len(set(names))}))
    return out


def _cache_key(n: int) -> str:
    import mlflow

    kit = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:12]
    return f"paging-reference-{n}-mlflow{mlflow.__version__}-{kit}.json"


def reference(shared_dir: Path, n: int) -> list[tuple[str, Any]]:
    """MLflow's answers; the first worker to get here computes them, the others wait and read them."""
    from mlflow_plugins_shared.testing.tracking_store import sqlite_reference_store

    shared_dir.mkdir(parents=True, exist_ok=True)
    path = shared_dir / _cache_key(n)
    with open(shared_dir / (path.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not path.exists():
            store = sqlite_reference_store(shared_dir / f"reference-{os.getpid()}")
            _no_fsync(store.engine)
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps(observe(store, fill(store, n))))
            tmp.replace(path)
            store.engine.dispose()
    return [tuple(o) for o in json.loads(path.read_text())]  # type: ignore[misc]


def _no_fsync(engine: Any) -> None:
    """The reference database is scratch: without an fsync per commit it fills several times faster,
    and MLflow's answers do not depend on durability."""
    import sqlalchemy as sa

    @sa.event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA synchronous=OFF")
        cur.close()

    engine.dispose()  # pooled connections were opened before the listener


def differences(want: list[tuple[str, Any]], got: list[tuple[str, Any]]) -> list[str]:
    diffs = []
    for (label, w), (_, g) in zip(want, got, strict=True):
        for part in ("page_sizes", "each_once", "runs", "pages"):
            if w[part] != g[part]:
                if part == "pages":
                    at = next((i for i, (a, b) in enumerate(zip(w[part], g[part], strict=False)) if a != b),
                              min(len(w[part]), len(g[part])) - 1)
                    shown = f"first differing page {at}: MLflow {w[part][at][:8]}... candidate {g[part][at][:8]}..."
                else:
                    shown = f"MLflow {str(w[part])[:200]} candidate {str(g[part])[:200]}"
                diffs.append(f"{label}: {part} differ: {shown}")
    return diffs
