"""Unreachable clusters, wrong credentials, transient errors, oversized values."""

from __future__ import annotations

import logging
import uuid

import pytest
from mlflow.entities import Metric, Param, RunTag, ViewType
from mlflow.exceptions import MlflowException
from mlflow_store_es.tracking_store import EsTrackingStore


def test_unreachable_cluster(caplog, monkeypatch):
    monkeypatch.setenv("MLFLOW_STORE_ES_RETRY_SECONDS", "1")
    caplog.set_level(logging.DEBUG)
    with pytest.raises(MlflowException, match="Cannot reach elasticsearch at http://127.0.0.1:9") as e:
        EsTrackingStore("elasticsearch://admin:pw-unreachable-123@127.0.0.1:9/?index_prefix=x&timeout=1")
    assert e.value.error_code == "TEMPORARILY_UNAVAILABLE"
    assert "pw-unreachable-123" not in str(e.value) and "pw-unreachable-123" not in caplog.text


def test_wrong_credentials(gateway, caplog):
    caplog.set_level(logging.DEBUG)
    uri = f"elasticsearch://elastic:wrong-password-99@127.0.0.1:{gateway.port}/?index_prefix=auth{uuid.uuid4().hex[:6]}"
    with pytest.raises(MlflowException, match="rejected the credentials") as e:
        EsTrackingStore(uri)
    assert e.value.error_code == "UNAUTHENTICATED"
    assert "wrong-password-99" not in str(e.value) and "wrong-password-99" not in caplog.text


def test_credentials_from_env_reach_the_server(gateway, monkeypatch):
    monkeypatch.setenv("MLFLOW_STORE_ES_USERNAME", "elastic")
    monkeypatch.setenv("MLFLOW_STORE_ES_PASSWORD", "right-password-42")
    s = EsTrackingStore(f"elasticsearch://127.0.0.1:{gateway.port}/?index_prefix=auth{uuid.uuid4().hex[:6]}")
    eid = s.create_experiment("through-gateway", None, [])
    assert s.get_experiment(eid).name == "through-gateway"
    assert set(gateway.seen_auth) == {gateway.expected}


@pytest.mark.parametrize("status", [429, 503])
def test_transient_errors_are_retried(gateway, status):
    uri = f"elasticsearch://elastic:right-password-42@127.0.0.1:{gateway.port}/?index_prefix=retry{uuid.uuid4().hex[:6]}"
    s = EsTrackingStore(uri)
    rid = s.create_run("0", "u", 0, [], None).info.run_id
    gateway.fail_status, gateway.fail_next = status, 3
    s.log_batch(rid, [Metric("m", 1.0, 1, 0)], [], [])
    assert gateway.fail_next == 0
    assert s.get_run(rid).data.metrics == {"m": 1.0}
    assert len(s.get_metric_history(rid, "m")) == 1


def test_persistent_overload_becomes_unavailable(gateway, monkeypatch):
    monkeypatch.setenv("MLFLOW_STORE_ES_RETRY_SECONDS", "1")
    uri = f"elasticsearch://elastic:right-password-42@127.0.0.1:{gateway.port}/?index_prefix=busy{uuid.uuid4().hex[:6]}"
    s = EsTrackingStore(uri)
    gateway.fail_status, gateway.fail_next = 503, 1000
    with pytest.raises(MlflowException, match="unavailable after retries") as e:
        s.get_experiment("0")
    assert e.value.error_code == "TEMPORARILY_UNAVAILABLE"


def test_oversized_values(tracking_store):
    s = tracking_store
    rid = s.create_run("0", "u", 0, [], None).info.run_id
    for call in (
        lambda: s.log_param(rid, Param("k" * 251, "v")),
        lambda: s.set_tag(rid, RunTag("k" * 251, "v")),
        lambda: s.log_batch(rid, [Metric("m" * 251, 1.0, 1, 0)], [], []),
        lambda: s.log_batch(rid, [], [Param(f"p{i}", "v") for i in range(101)], []),
        lambda: s.log_batch(rid, [Metric(f"m{i}", 1.0, 1, 0) for i in range(1001)], [], []),
        lambda: s.create_experiment("e" * 600, None, []),
    ):
        with pytest.raises(MlflowException) as e:
            call()
        assert e.value.error_code == "INVALID_PARAMETER_VALUE"
    assert s.get_run(rid).data.params == {}
    # over-long values are truncated, as MLflow's own stores do (param 6,000, tag 8,000 chars)
    s.log_param(rid, Param("p", "x" * 7000))
    s.set_tag(rid, RunTag("t", "y" * 9000))
    data = s.get_run(rid).data
    assert data.params["p"] == "x" * 6000 and data.tags["t"] == "y" * 8000


def test_bad_ids_and_view_types(tracking_store):
    s = tracking_store
    with pytest.raises(MlflowException) as e:
        s.get_run("../../etc")
    assert e.value.error_code == "INVALID_PARAMETER_VALUE"
    with pytest.raises(MlflowException) as e:
        s.search_runs(["0"], None, ViewType.ALL, max_results=0)
    assert e.value.error_code == "INVALID_PARAMETER_VALUE"
    with pytest.raises(MlflowException) as e:
        s.search_runs(["0"], None, ViewType.ALL, order_by=["metrics.m SIDEWAYS"])
    assert e.value.error_code == "INVALID_PARAMETER_VALUE"
