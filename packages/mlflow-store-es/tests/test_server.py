"""A real `mlflow server --backend-store-uri elasticsearch://...`: clients talk REST to it."""

from __future__ import annotations

import uuid

import pytest
import requests
from mlflow import MlflowClient
from mlflow.entities import Metric, Param, RunTag


def test_client_logs_and_reads_through_rest(server_url: str) -> None:
    client = MlflowClient(tracking_uri=server_url, registry_uri=server_url)
    name = f"rest-{uuid.uuid4().hex[:8]}"
    eid = client.create_experiment(name, tags={"via": "rest"})
    run = client.create_run(eid, run_name="rest-run")
    rid = run.info.run_id
    client.log_batch(rid, metrics=[Metric("loss", 1.0 / (i + 1), 1000 + i, i) for i in range(1000)],
                     params=[Param("lr", "0.1")], tags=[RunTag("k", "ü" * 100)])
    client.set_terminated(rid)
    got = client.get_run(rid)
    assert got.data.params == {"lr": "0.1"} and got.data.tags["k"] == "ü" * 100
    assert got.data.metrics["loss"] == pytest.approx(1.0 / 1000)
    assert got.info.status == "FINISHED"
    assert len(client.get_metric_history(rid, "loss")) == 1000
    found = client.search_runs([eid], "metrics.loss < 0.01 and params.lr = '0.1'", order_by=["metrics.loss ASC"])
    assert [r.info.run_id for r in found] == [rid]
    assert client.get_experiment_by_name(name).tags["via"] == "rest"
    assert name in [e.name for e in client.search_experiments(filter_string=f"name = '{name}'")]


def test_registry_through_rest(server_url: str) -> None:
    client = MlflowClient(tracking_uri=server_url, registry_uri=server_url)
    name = f"model-{uuid.uuid4().hex[:8]}"
    client.create_registered_model(name, tags={"team": "a"})
    mv = client.create_model_version(name, "s3://bucket/model", run_id=None)
    client.set_registered_model_alias(name, "prod", mv.version)
    assert client.get_model_version_by_alias(name, "prod").version == "1"
    assert [m.name for m in client.search_registered_models(f"name = '{name}'")] == [name]
    assert client.get_model_version_download_uri(name, "1") == "s3://bucket/model"


def test_unimplemented_answers_501_not_500(server_url: str) -> None:
    # evaluation datasets are outside this store's scope: the server must say so (501), not crash (500)
    r = requests.post(f"{server_url}/api/3.0/mlflow/datasets/create", json={"name": "d", "experiment_ids": ["0"]},
                      timeout=30)
    assert r.status_code == 501, r.text
    assert "not supported" in r.json()["message"]


def test_bad_filter_is_400(server_url: str) -> None:
    r = requests.post(f"{server_url}/api/2.0/mlflow/runs/search",
                      json={"experiment_ids": ["0"], "filter": "metrics.x >>> 1"}, timeout=30)
    assert r.status_code == 400 and r.json()["error_code"] == "INVALID_PARAMETER_VALUE"
