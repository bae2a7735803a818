"""Headers reach a real mlflow server through MLflow's own client and registry (seen by the proxy)."""

from __future__ import annotations

import platform
import uuid

import mlflow
import pytest
from mlflow import MlflowClient
from mlflow_headers_env.version import __version__


def test_static_identity_and_environment_headers_on_every_request(
    monkeypatch: pytest.MonkeyPatch, client: MlflowClient, direct_client: MlflowClient, proxy, unique_name: str
) -> None:
    monkeypatch.setenv("MLFLOW_HEADERS", '{"X-Team": "ml-platform", "X-Cost-Center": "4711"}')
    monkeypatch.setenv("MLFLOW_ENVIRONMENT", "staging")
    monkeypatch.setenv("MLFLOW_HEADERS_USER_AGENT_PACKAGES", "mlflow,not-an-installed-dist")

    exp_id = client.create_experiment(unique_name)
    run = client.create_run(exp_id, tags={"t": "1"})
    client.log_param(run.info.run_id, "alpha", "0.5")

    # The server really stored what went through the proxy.
    stored = direct_client.get_run(run.info.run_id)
    assert stored.data.params == {"alpha": "0.5"}

    seen = proxy.api_requests()
    assert len(seen) >= 3
    for r in seen:
        assert r.status == 200, r.path
        assert r.headers["x-team"] == "ml-platform"
        assert r.headers["x-cost-center"] == "4711"
        assert r.headers["x-mlflow-environment"] == "staging"
        assert r.headers["x-mlflow-client-host"] == platform.node()
        assert r.headers["x-mlflow-client-user"]
        ua = r.headers["user-agent"]
        # MLflow's own User-Agent first, ours appended as a suffix.
        assert ua.startswith(f"mlflow-python-client/{mlflow.__version__} ")
        assert f"mlflow-headers-env/{__version__}" in ua
        assert f"python/{platform.python_version()}" in ua
        assert f"mlflow/{mlflow.__version__}" in ua
        assert "not-an-installed-dist" not in ua


def test_key_value_form_and_switches(monkeypatch: pytest.MonkeyPatch, client: MlflowClient, proxy, unique_name: str) -> None:
    monkeypatch.setenv("MLFLOW_HEADERS", "X-Team=ml, X-Tenant=a=b")
    monkeypatch.setenv("MLFLOW_HEADERS_CLIENT_INFO", "false")
    monkeypatch.setenv("MLFLOW_HEADERS_REQUEST_ID", "off")
    client.create_experiment(unique_name)
    (r,) = proxy.api_requests()
    assert r.headers["x-team"] == "ml"
    assert r.headers["x-tenant"] == "a=b"
    assert "x-mlflow-client-host" not in r.headers
    assert "x-mlflow-client-user" not in r.headers
    assert "x-request-id" not in r.headers


def test_fresh_request_id_per_request(client: MlflowClient, proxy, unique_name: str) -> None:
    exp_id = client.create_experiment(unique_name)
    run = client.create_run(exp_id)
    for i in range(5):
        client.log_metric(run.info.run_id, "m", i, step=i)
    client.get_run(run.info.run_id)

    seen = proxy.api_requests()
    ids = [r.headers["x-request-id"] for r in seen]
    assert len(seen) >= 8
    # MLflow asks the provider again for every request: no id is reused.
    assert len(set(ids)) == len(ids)
    assert all(uuid.UUID(i).version == 4 for i in ids)


def test_fluent_run_goes_through_the_provider(monkeypatch: pytest.MonkeyPatch, proxy, direct_client: MlflowClient, unique_name: str) -> None:
    monkeypatch.setenv("MLFLOW_HEADERS", "X-Audit=fluent")
    mlflow.set_tracking_uri(proxy.url)
    try:
        mlflow.set_experiment(unique_name)
        with mlflow.start_run() as run:
            mlflow.log_metric("loss", 0.25)
    finally:
        mlflow.set_tracking_uri(None)
    assert direct_client.get_run(run.info.run_id).data.metrics == {"loss": 0.25}
    seen = proxy.api_requests()
    assert seen and all(r.headers.get("x-audit") == "fluent" for r in seen)
