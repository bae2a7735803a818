"""oauth2 provider end to end: MLflow client -> provider -> JWT-checking gateway -> real mlflow server."""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException


def _log_runs(url: str, n: int = 3) -> str:
    client = MlflowClient(tracking_uri=url)
    exp_id = client.create_experiment(f"oauth2-{uuid.uuid4().hex}")
    for i in range(n):
        run = client.create_run(exp_id)
        client.log_param(run.info.run_id, "i", str(i))
        client.log_metric(run.info.run_id, "m", float(i))
        client.set_terminated(run.info.run_id)
    return exp_id


def test_gateway_refuses_requests_without_a_token(gateway):
    r = requests.get(f"{gateway.url}/api/2.0/mlflow/experiments/search", params={"max_results": 1}, timeout=10)
    assert r.status_code == 401


def test_client_logs_runs_with_one_token_request(gateway, jwt_check, new_client, use_client):
    client = new_client(groups=["ml"])
    use_client(client)
    exp_id = _log_runs(gateway.url)
    runs = MlflowClient(tracking_uri=gateway.url).search_runs([exp_id])
    assert sorted(r.data.params["i"] for r in runs) == ["0", "1", "2"]
    assert gateway.denied == []
    assert gateway.passed >= 13
    assert set(jwt_check.seen_subjects) == {client.client_id}
    assert client.token_requests() == 1


@pytest.mark.parametrize("how", ["post", "basic"])
def test_client_auth_methods_and_secret_file(how, gateway, new_client, use_client, tmp_path, monkeypatch):
    client = new_client()
    use_client(client, MLFLOW_OAUTH2_CLIENT_AUTH=how)
    monkeypatch.delenv("MLFLOW_OAUTH2_CLIENT_SECRET")
    (tmp_path / "secret").write_text(client.client_secret + "\n")
    monkeypatch.setenv("MLFLOW_OAUTH2_CLIENT_SECRET_FILE", str(tmp_path / "secret"))
    MlflowClient(tracking_uri=gateway.url).search_experiments(max_results=1)
    assert client.token_requests() == 1 and gateway.passed == 1


def test_many_threads_share_one_token_request(gateway, new_client, use_client):
    client = new_client()
    use_client(client)
    mc = MlflowClient(tracking_uri=gateway.url)
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda _: mc.search_experiments(max_results=1), range(64)))
    assert gateway.passed == 64 and gateway.denied == []
    assert client.token_requests() == 1


def test_token_is_refreshed_once_per_expiry_window(gateway, new_client, use_client):
    client = new_client(token_lifetime=3)  # refreshed 0.6 s before expiry (a fifth of the lifetime)
    use_client(client)
    mc = MlflowClient(tracking_uri=gateway.url)
    calls = 0
    start = time.monotonic()
    while time.monotonic() - start < 5.0:
        mc.search_experiments(max_results=1)
        calls += 1
        time.sleep(0.05)
    fetched = client.token_requests()
    assert gateway.denied == []  # the user never saw an expired token
    assert 2 <= fetched <= 3, fetched  # t=0, ~2.4 s, ~4.8 s: once per window, not per request
    assert calls > 10 * fetched


def test_token_rejected_by_the_server_is_replaced_without_an_error(gateway, jwt_check, new_client, use_client):
    client = new_client()
    use_client(client)
    mc = MlflowClient(tracking_uri=gateway.url)
    exp_id = mc.create_experiment(f"oauth2-{uuid.uuid4().hex}")
    jwt_check.revoke(jwt_check.last_token)  # e.g. expired early or key rotated on the server side
    run = mc.create_run(exp_id)  # 401 -> one refresh -> one retry, invisible to the user
    assert mc.get_run(run.info.run_id).info.experiment_id == exp_id
    assert len(gateway.denied) == 1
    assert client.token_requests() == 2


def test_401_after_refresh_is_one_retry_then_the_error(gateway, jwt_check, new_client, use_client):
    client = new_client()
    use_client(client)
    mc = MlflowClient(tracking_uri=gateway.url)
    mc.search_experiments(max_results=1)
    jwt_check.refuse_all = True
    with pytest.raises(MlflowException) as e:
        mc.search_experiments(max_results=1)
    assert "401" in str(e.value) or "revoked" in str(e.value)
    assert len(gateway.denied) == 2  # the request and exactly one retry
    assert client.token_requests() == 2  # exactly one forced refresh, no loop


def test_revoked_client_gets_a_clear_error(gateway, new_client, use_client):
    client = new_client(token_lifetime=2)
    use_client(client)
    mc = MlflowClient(tracking_uri=gateway.url)
    mc.search_experiments(max_results=1)
    client.revoke()
    time.sleep(2.2)  # the cached token has expired; the next request needs a new one
    with pytest.raises(MlflowException) as e:
        mc.search_experiments(max_results=1)
    msg = e.value.message
    assert e.value.error_code == "UNAUTHENTICATED"
    assert "MLFLOW_OAUTH2_CLIENT_ID" in msg and "revoked" in msg and client.client_id in msg
    assert client.client_secret not in msg
