"""The user's promise end to end: every plugin together against one real mlflow server.

Server: `mlflow server --backend-store-uri elasticsearch://… --registry-store-uri elasticsearch://…
--artifacts-destination postgresql://… --app-name rbac`, with JWTs from the oauth2 service.
Clients: MLFLOW_TRACKING_AUTH=oauth2 plus the header and context providers, in their own processes.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from mlflow_testenv import session_service

HERE = Path(__file__).resolve().parent
ADMIN_KEY = "integration-bootstrap-admin-key-0123456789"


@pytest.fixture(scope="session")
def oauth2(tmp_path_factory) -> dict[str, str]:
    return session_service("oauth2", tmp_path_factory)


@pytest.fixture(scope="session")
def oss(tmp_path_factory) -> dict[str, str]:
    return session_service("oss", tmp_path_factory)


@pytest.fixture(scope="session")
def stack(tmp_path_factory, es_url, postgres_url, oauth2) -> dict[str, str]:
    """The one mlflow server every test here talks to."""
    rbac_db = tmp_path_factory.getbasetemp().parent / "rbac.db"
    os.environ.update({
        "MLFLOW_RBAC_DATABASE_URI": f"sqlite:///{rbac_db}",
        "MLFLOW_RBAC_JWKS_URL": oauth2["MLFLOW_TESTENV_OAUTH2_JWKS_URL"],
        "MLFLOW_RBAC_JWT_ISSUER": oauth2["MLFLOW_TESTENV_OAUTH2_ISSUER"],
        "MLFLOW_RBAC_JWT_AUDIENCE": oauth2["MLFLOW_TESTENV_OAUTH2_AUDIENCE"],
        "MLFLOW_RBAC_BOOTSTRAP_ADMIN_KEY": ADMIN_KEY,
    })
    store = es_url.replace("http://", "elasticsearch://")
    artifacts = postgres_url + "/mlflow-artifacts"
    env = session_service("mlflow", tmp_path_factory, [
        "--backend-store-uri", store, "--registry-store-uri", store,
        "--artifacts-destination", artifacts, "--app-name", "rbac",
    ], key="mlflow-integration-stack")
    return {"url": env["MLFLOW_TESTENV_MLFLOW_URL"], "artifacts": artifacts}


def new_client(oauth2: dict[str, str], name: str) -> dict[str, str]:
    """Register an OAuth2 client (a user) at the token endpoint; returns id and secret."""
    r = requests.post(f"{oauth2['MLFLOW_TESTENV_OAUTH2_ADMIN_URL']}/clients",
                      headers={"Authorization": f"Bearer {oauth2['MLFLOW_TESTENV_OAUTH2_ADMIN_TOKEN']}"},
                      json={"client_id": name, "groups": ["data-science"]}, timeout=10)
    r.raise_for_status()
    return r.json()


def token_for(oauth2: dict[str, str], client: dict[str, str]) -> str:
    r = requests.post(oauth2["MLFLOW_TESTENV_OAUTH2_TOKEN_URL"], data={"grant_type": "client_credentials"},
                      auth=(client["client_id"], client["client_secret"]), timeout=10)
    r.raise_for_status()
    return r.json()["access_token"]


def run_client(stack, oauth2, client, tmp_path, **extra_env) -> dict:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_RBAC_", "MLFLOW_TESTENV_"))},
        "MLFLOW_TRACKING_URI": stack["url"],
        "MLFLOW_TRACKING_AUTH": "oauth2",
        "MLFLOW_OAUTH2_TOKEN_URL": oauth2["MLFLOW_TESTENV_OAUTH2_TOKEN_URL"],
        "MLFLOW_OAUTH2_CLIENT_ID": client["client_id"],
        "MLFLOW_OAUTH2_CLIENT_SECRET": client["client_secret"],
        "MLFLOW_HEADERS": '{"X-Team": "integration"}',
        "MLFLOW_ENVIRONMENT": "integration",
        "MLFLOW_CONTEXT_TAGS": "team=integration,cost_center=42",
        **extra_env,
    }
    r = subprocess.run([sys.executable, str(HERE / "workflow_client.py")], env=env, cwd=tmp_path,
                       capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, f"client failed:\n{r.stderr[-4000:]}"
    assert client["client_secret"] not in r.stderr
    return json.loads(r.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="session")
def alice_run(stack, oauth2, oss, tmp_path_factory) -> dict:
    alice = new_client(oauth2, "alice")
    tmp = tmp_path_factory.mktemp("alice")
    oss_env = {
        "MLFLOW_OSS_ENDPOINT_URL": oss["MLFLOW_TESTENV_OSS_ENDPOINT"],
        "MLFLOW_OSS_KEY_ID": oss["MLFLOW_TESTENV_OSS_KEY_ID"],
        "MLFLOW_OSS_KEY_SECRET": oss["MLFLOW_TESTENV_OSS_KEY_SECRET"],
        "WORKFLOW_OSS_LOCATION": f"oss://{oss['MLFLOW_TESTENV_OSS_BUCKET']}/integration",
        "WORKFLOW_SQLITE_LOCATION": f"sqlite:///{tmp}/artifacts.db/integration",
    }
    out = run_client(stack, oauth2, alice, tmp, **oss_env)
    out["token"] = token_for(oauth2, alice)
    return out


def api(stack, token, method, path, **kw):
    return requests.request(method, f"{stack['url']}/api/2.0/mlflow/{path}",
                            headers={"Authorization": f"Bearer {token}"}, timeout=30, **kw)


def test_run_is_in_the_es_store_with_params_metrics_and_context_tags(stack, alice_run):
    r = api(stack, alice_run["token"], "GET", "runs/get", params={"run_id": alice_run["run_id"]})
    assert r.status_code == 200, r.text
    data = r.json()["run"]["data"]
    params = {p["key"]: p["value"] for p in data["params"]}
    metrics = {m["key"]: m["value"] for m in data["metrics"]}
    tags = {t["key"]: t["value"] for t in data["tags"]}
    assert params["model"] == "LogisticRegression"
    assert metrics["loss"] == pytest.approx(math.exp(-4), rel=1e-12)  # latest value of the history
    # default evaluator and fairness evaluator on one run
    assert "accuracy_score" in metrics
    assert "demographic_parity_difference" in metrics
    assert any(k.startswith("group/size_band=") for k in metrics)
    # run context provider
    assert tags["context.tag.team"] == "integration" and tags["context.tag.cost_center"] == "42"
    assert tags["context.host.python"].startswith("3.")


def test_artifacts_went_through_the_proxy_into_postgres(stack, alice_run, postgres_url):
    r = api(stack, alice_run["token"], "GET", "artifacts/list", params={"run_id": alice_run["run_id"]})
    assert r.status_code == 200, r.text
    paths = {f["path"] for f in r.json().get("files", [])}
    assert "notes" in paths
    import sqlalchemy

    engine = sqlalchemy.create_engine(postgres_url.replace("postgresql://", "postgresql+psycopg2://"))
    with engine.connect() as c:
        tables = set(sqlalchemy.inspect(c).get_table_names())
    engine.dispose()
    assert tables, "no artifact tables were created in PostgreSQL"


def test_model_registered_aliased_and_loaded(stack, alice_run):
    assert alice_run["predictions"] == alice_run["expected_predictions"]
    r = api(stack, alice_run["token"], "GET", "registered-models/alias",
            params={"name": "integration-model", "alias": "champion"})
    assert r.status_code == 200, r.text
    assert r.json()["model_version"]["version"] == str(alice_run["model_version"])


def test_oss_and_sqlite_experiments_work_beside_it(alice_run):
    assert alice_run["oss_artifact_uri"].startswith("oss://")
    assert alice_run["oss_roundtrip_ok"] is True
    assert alice_run["sqlite_artifact_uri"].startswith("sqlite:")
    assert alice_run["sqlite_roundtrip_ok"] is True


def test_second_user_is_refused_by_rbac(stack, oauth2, alice_run):
    bob = new_client(oauth2, "bob")
    token = token_for(oauth2, bob)
    r = api(stack, token, "GET", "runs/get", params={"run_id": alice_run["run_id"]})
    assert r.status_code == 403, r.text
    r = api(stack, token, "POST", "runs/search", json={"experiment_ids": [alice_run["experiment_id"]]})
    assert r.status_code in (200, 403)
    if r.status_code == 200:
        assert r.json().get("runs", []) == []
    r = requests.get(f"{stack['url']}/api/2.0/mlflow/runs/get", params={"run_id": alice_run["run_id"]}, timeout=10)
    assert r.status_code == 401 and "Bearer" in r.headers.get("WWW-Authenticate", "")


def test_audit_log_has_request_ids_from_the_header_provider(stack, alice_run):
    r = requests.get(f"{stack['url']}/api/2.0/rbac/audit", params={"principal": "alice", "max_results": 50},
                     headers={"Authorization": f"Bearer {ADMIN_KEY}"}, timeout=10)
    assert r.status_code == 200, r.text
    events = r.json()["events"]
    assert events, "no audit events for alice"
    assert all(e.get("request_id") for e in events), events[:3]
