"""A real `mlflow server --backend-store-uri elasticsearch://...`: clients talk REST to it."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import requests
from mlflow import MlflowClient
from mlflow.entities import Metric, Param, RunTag
from mlflow.exceptions import MlflowException


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


def test_registration_recorded_on_the_logged_model_with_int_versions(server_url: str) -> None:
    """The server records `create_model_version(..., model_id=...)` on the logged model; a server on MLflow's
    SQL stores writes `[{"name": ..., "version": 1}]` (a number), and so does this store (it wrote "1")."""
    import json

    client = MlflowClient(tracking_uri=server_url, registry_uri=server_url)
    eid = client.create_experiment(f"mv-tag-{uuid.uuid4().hex[:8]}")
    model = client.create_logged_model(eid, name="lm")
    name = f"mv-tag-{uuid.uuid4().hex[:8]}"
    client.create_registered_model(name)
    for _ in range(2):
        client.create_model_version(name, f"models:/{model.model_id}", model_id=model.model_id)
    tag = json.loads(client.get_logged_model(model.model_id).tags["mlflow.modelVersions"])
    assert tag == [{"name": name, "version": 1}, {"name": name, "version": 2}]


def test_server_registers_both_stores_without_warning(server_exports: dict[str, str]) -> None:
    """MLflow turns a store plugin that fails to import into a UserWarning and then answers every registry
    call with "unsupported URI" (what MLflow 3.18 did to this store before its compat fix)."""
    url = server_exports["MLFLOW_TESTENV_MLFLOW_URL"]
    client = MlflowClient(tracking_uri=url, registry_uri=url)
    name = f"warn-{uuid.uuid4().hex[:8]}"
    client.create_registered_model(name)
    assert client.get_registered_model(name).name == name
    log = Path(server_exports["MLFLOW_TESTENV_MLFLOW_LOG"]).read_text(errors="replace")
    assert "Failure attempting to register" not in log, log[-3000:]
    assert "unsupported URI" not in log, log[-3000:]


def test_unimplemented_answers_501_not_500(server_url: str) -> None:
    # evaluation datasets are outside this store's scope: the server must say so (501), not crash (500)
    r = requests.post(f"{server_url}/api/3.0/mlflow/datasets/create", json={"name": "d", "experiment_ids": ["0"]},
                      timeout=30)
    assert r.status_code == 501, r.text
    assert "not supported" in r.json()["message"]


@pytest.mark.timeout(120)  # a 5xx retry loop would take minutes
def test_v2_trace_api_answers_501_at_once(server_url: str) -> None:
    """The V2 trace endpoints call `deprecated_start_trace_v2`/`deprecated_end_trace_v2`, which this store does
    not implement: 501 NOT_IMPLEMENTED (MLflow's client does not retry it), not the 500 of an AttributeError
    (which MLflow's client retried for minutes)."""
    from mlflow.store.tracking.rest_store import RestStore
    from mlflow.utils.rest_utils import MlflowHostCreds

    r = requests.post(f"{server_url}/api/2.0/mlflow/traces",
                      json={"experiment_id": "0", "timestamp_ms": 1_700_000_000_000}, timeout=30)
    assert r.status_code == 501, r.text
    assert r.json()["error_code"] == "NOT_IMPLEMENTED" and "deprecated_start_trace_v2" in r.json()["message"]
    r = requests.patch(f"{server_url}/api/2.0/mlflow/traces/tr-{uuid.uuid4().hex}",
                       json={"timestamp_ms": 1_700_000_000_001, "status": "OK"}, timeout=30)
    assert r.status_code == 501 and r.json()["error_code"] == "NOT_IMPLEMENTED", r.text
    # MLflow's own client: the error comes back on the first answer, without a retry loop
    store = RestStore(lambda: MlflowHostCreds(server_url))
    with pytest.raises(MlflowException) as e:
        store.deprecated_start_trace_v2(experiment_id="0", timestamp_ms=1_700_000_000_000, request_metadata={},
                                        tags={})
    assert e.value.error_code == "NOT_IMPLEMENTED"
    assert e.value.get_http_status_code() == 501


def test_bad_filter_is_400(server_url: str) -> None:
    r = requests.post(f"{server_url}/api/2.0/mlflow/runs/search",
                      json={"experiment_ids": ["0"], "filter": "metrics.x >>> 1"}, timeout=30)
    assert r.status_code == 400 and r.json()["error_code"] == "INVALID_PARAMETER_VALUE"


@pytest.fixture
def fluent_on(server_url: str):
    """Point MLflow's fluent API at the server for one test, then back."""
    import mlflow

    from mlflow_plugins_shared.testing.mlflow_compat import fluent_uris

    with fluent_uris(server_url):
        yield mlflow
        if mlflow.active_run():
            mlflow.end_run()


def test_sklearn_logged_model_round_trip(fluent_on, server_url: str) -> None:
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    mlflow = fluent_on
    tag = uuid.uuid4().hex[:8]
    eid = mlflow.set_experiment(f"lm-{tag}").experiment_id
    x = np.array([[0.0, 1.0], [1.0, 0.5], [2.0, 0.1], [3.0, 0.0], [0.5, 0.9], [2.5, 0.2]])
    y = np.array([0, 0, 1, 1, 0, 1])
    clf = LogisticRegression().fit(x, y)
    with mlflow.start_run() as run:
        mlflow.log_param("C", "1.0")
        info = mlflow.sklearn.log_model(clf, name="model", pip_requirements=["scikit-learn"])
        mlflow.log_metric("accuracy", 1.0, model_id=info.model_id)
    model_id = info.model_id

    loaded = mlflow.pyfunc.load_model(f"models:/{model_id}")
    assert list(loaded.predict(x)) == list(clf.predict(x))

    found = mlflow.search_logged_models(experiment_ids=[eid], filter_string="name = 'model' AND metrics.accuracy >= 1",
                                        output_format="list")
    assert [m.model_id for m in found] == [model_id]
    model = found[0]
    assert model.status == "READY" and model.source_run_id == run.info.run_id
    assert [(m.key, m.value, m.run_id) for m in model.metrics] == [("accuracy", 1.0, run.info.run_id)]

    client = MlflowClient(tracking_uri=server_url, registry_uri=server_url)
    outputs = client.get_run(run.info.run_id).outputs.model_outputs
    assert [o.model_id for o in outputs] == [model_id]

    mv = mlflow.register_model(f"models:/{model_id}", f"lm-reg-{tag}")
    assert mv.version == "1"
    version = client.get_model_version(f"lm-reg-{tag}", "1")
    assert version.source == f"models:/{model_id}"
    # as MLflow's SQL registry: the logged model's source run and artifact location are filled in
    assert version.run_id == run.info.run_id
    assert client.get_model_version_download_uri(f"lm-reg-{tag}", "1") == client.get_logged_model(model_id).artifact_location
    # the server records the registration on the logged model (set_model_versions_tags -> set_logged_model_tags)
    assert f"lm-reg-{tag}" in client.get_logged_model(model_id).tags["mlflow.modelVersions"]
    registered = mlflow.pyfunc.load_model(f"models:/lm-reg-{tag}/1")
    assert list(registered.predict(x)) == list(clf.predict(x))


def test_logged_model_rest_errors(server_url: str) -> None:
    api = f"{server_url}/api/2.0/mlflow/logged-models"
    r = requests.get(f"{api}/m-{'0' * 32}", timeout=30)
    assert r.status_code == 404 and r.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    r = requests.post(f"{api}/search", json={"experiment_ids": ["0"], "filter": "params.x > '1'"}, timeout=30)
    assert r.status_code == 400 and r.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    r = requests.post(f"{api}/search", json={"experiment_ids": ["0"], "filter": "nope = 'x'"}, timeout=30)
    assert r.status_code == 400 and "nope" in r.json()["message"]
