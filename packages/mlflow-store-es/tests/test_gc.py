"""`mlflow gc --backend-store-uri elasticsearch://…` on the real engines: deleted runs and experiments
are removed for good (documents, metric points, traces, spans, logged models, artifacts) and nothing
that is still live is touched."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from mlflow.entities import LoggedModelStatus, Metric
from mlflow.exceptions import MlflowException
from mlflow_store_es.tracking_store import EsTrackingStore

from mlflow_plugins_shared.testing.trace_store import make_span, make_trace_info, span_id, trace_id

T0 = 1_700_000_000_000
KEYS, STEPS = 1_000, 6  # 6,000 point documents (one pack per key per batch): more than one scan page
POINTS = KEYS * STEPS


def _gc(store_uri: str, *args: str) -> subprocess.CompletedProcess:
    # --tracking-uri: mlflow gc insists on one (it resolves artifact URIs through it)
    return subprocess.run([sys.executable, "-m", "mlflow", "gc", "--backend-store-uri", store_uri,
                           "--tracking-uri", store_uri, *args],
                          capture_output=True, text=True, timeout=600)


def _count(s: EsTrackingStore, index: str, field: str, value: str) -> int:
    s.client.refresh(index)
    return sum(1 for _ in s.client.scan(index, {"term": {field: value}}, _sort(index), source=False))


def _sort(index: str) -> list:
    return [{"seq": "asc"}] if index.endswith("metrics") else [{"trace_id": "asc"}, {"span_id": "asc"}]


def _run_with_points(s: EsTrackingStore, eid: str, name: str) -> str:
    rid = s.create_run(eid, "u", T0, [], name).info.run_id
    for step in range(STEPS):
        s.log_batch(rid, [Metric(f"k{k:04d}", float(step), T0 + step, step) for k in range(KEYS)], [], [])
    Path(s.get_run(rid).info.artifact_uri).mkdir(parents=True)
    (Path(s.get_run(rid).info.artifact_uri) / "model.txt").write_text(name)
    return rid


def _code(e: pytest.ExceptionInfo[MlflowException]) -> str:
    return e.value.error_code


def test_gc_removes_deleted_runs_with_their_points_and_artifacts(tracking_store: EsTrackingStore,
                                                                  store_uri: str) -> None:
    s = tracking_store
    eid = s.create_experiment("gc-runs", None, [])
    gone, kept, young = (_run_with_points(s, eid, n) for n in ("gone", "kept", "young"))
    gone_artifacts = Path(s.get_run(gone).info.artifact_uri)
    s.delete_run(gone)
    r = _gc(store_uri, "--run-ids", gone)
    assert r.returncode == 0, r.stderr[-3000:]
    assert f"Run with ID {gone} has been permanently deleted" in r.stdout
    with pytest.raises(MlflowException) as e:
        s.get_run(gone)
    assert _code(e) == "RESOURCE_DOES_NOT_EXIST"
    assert _count(s, s.ix.metrics, "run_id", gone) == 0
    assert not gone_artifacts.exists()
    assert _count(s, s.ix.metrics, "run_id", kept) == POINTS  # a live run is untouched
    assert len(s.get_metric_history(kept, "k0007")) == STEPS
    assert s.get_run(kept).data.metrics == {f"k{k:04d}": float(STEPS - 1) for k in range(KEYS)}

    s.delete_run(young)  # deleted just now: --older-than keeps it
    r = _gc(store_uri, "--older-than", "1d")
    assert r.returncode == 0, r.stderr[-3000:]
    assert s.get_run(young).info.lifecycle_stage == "deleted"
    assert _count(s, s.ix.metrics, "run_id", young) == POINTS
    r = _gc(store_uri, "--run-ids", kept)  # not deleted: refused, nothing removed
    assert r.returncode != 0 and "not in `deleted` lifecycle stage" in r.stderr
    assert _count(s, s.ix.metrics, "run_id", kept) == POINTS


def test_gc_removes_a_deleted_experiment_and_everything_in_it(tracking_store: EsTrackingStore, store_uri: str) -> None:
    s = tracking_store
    eid = s.create_experiment("gc-exp", None, [])
    other = s.create_experiment("gc-other", None, [])
    rid = _run_with_points(s, eid, "in-exp")
    other_rid = _run_with_points(s, other, "other")
    model = s.create_logged_model(eid, "clf", rid)
    s.finalize_logged_model(model.model_id, LoggedModelStatus.READY)
    s.log_batch(rid, [Metric("acc", 0.9, T0, 0, model_id=model.model_id)], [], [])
    tid = trace_id(7)
    s.start_trace(make_trace_info(tid, eid, T0))
    s.log_spans(eid, [make_span(tid, span_id(7, 0), None, "root", T0, T0 + 5)])
    other_tid = trace_id(8)
    s.start_trace(make_trace_info(other_tid, other, T0))

    with pytest.raises(MlflowException) as e:
        s._hard_delete_experiment(eid)  # still active
    assert _code(e) == "INVALID_PARAMETER_VALUE"
    s.delete_experiment(eid)
    r = _gc(store_uri, "--experiment-ids", eid)
    assert r.returncode == 0, r.stderr[-3000:]
    assert f"Experiment with ID {eid} has been permanently deleted" in r.stdout

    for call in (lambda: s.get_experiment(eid), lambda: s.get_run(rid),
                 lambda: s.get_logged_model(model.model_id, allow_deleted=True),
                 lambda: s.get_trace_info(tid)):
        with pytest.raises(MlflowException) as e:
            call()
        assert _code(e) == "RESOURCE_DOES_NOT_EXIST"
    assert _count(s, s.ix.metrics, "run_id", rid) == 0
    assert _count(s, s.ix.spans, "trace_id", tid) == 0
    assert s.get_experiment_by_name("gc-exp") is None
    assert s.create_experiment("gc-exp", None, []) != eid  # the name is free again
    # the other experiment is untouched
    assert _count(s, s.ix.metrics, "run_id", other_rid) == POINTS
    assert s.get_trace_info(other_tid).experiment_id == other


def test_gc_with_nothing_deleted_changes_nothing(tracking_store: EsTrackingStore, store_uri: str) -> None:
    s = tracking_store
    eid = s.create_experiment("gc-none", None, [])
    rid = _run_with_points(s, eid, "live")
    r = _gc(store_uri)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "permanently deleted" not in r.stdout
    assert _count(s, s.ix.metrics, "run_id", rid) == POINTS


def test_gc_behind_a_server_that_proxies_artifacts(server_exports: dict[str, str], engine_base: str) -> None:
    """The README's setup: `mlflow server --artifacts-destination ...` stores runs under `mlflow-artifacts:/`
    URIs, which only the server resolves, so `mlflow gc` is given the server as its tracking URI."""
    from mlflow import MlflowClient

    url = server_exports["MLFLOW_TESTENV_MLFLOW_URL"]
    artifacts_root = Path(server_exports["MLFLOW_TESTENV_MLFLOW_LOG"]).parent / "artifacts"
    client = MlflowClient(tracking_uri=url)
    eid = client.create_experiment(f"gc-proxied-{T0}-{id(client)}")
    run = client.create_run(eid)
    client.log_text(run.info.run_id, "weights", "model/w.txt")
    assert run.info.artifact_uri.startswith("mlflow-artifacts:")
    stored = list(artifacts_root.rglob(f"{run.info.run_id}/artifacts/model/w.txt"))
    assert len(stored) == 1
    client.delete_run(run.info.run_id)
    store_uri = f"{engine_base}/?index_prefix=server"

    # what the README used to show: the store's URI as tracking URI cannot resolve mlflow-artifacts:/
    wrong = _gc(store_uri, "--run-ids", run.info.run_id)
    assert wrong.returncode != 0 and "http" in wrong.stderr

    r = subprocess.run([sys.executable, "-m", "mlflow", "gc", "--backend-store-uri", store_uri, "--tracking-uri", url,
                        "--run-ids", run.info.run_id], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    assert not stored[0].exists()
    with pytest.raises(MlflowException) as e:
        client.get_run(run.info.run_id)
    assert _code(e) == "RESOURCE_DOES_NOT_EXIST"
