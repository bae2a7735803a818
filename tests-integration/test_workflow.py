"""The user's promise end to end: every plugin together against one real mlflow server.

Server: `mlflow server --backend-store-uri elasticsearch://… --registry-store-uri elasticsearch://…
--artifacts-destination postgresql://… --app-name rbac`, with JWTs from the oauth2 service (conftest.py).
Clients: MLFLOW_TRACKING_AUTH=oauth2 plus the header and context providers, in their own processes.
"""

from __future__ import annotations

import math

import pytest
import requests


def test_run_is_in_the_es_store_with_params_metrics_and_context_tags(rest, alice_run):
    r = rest(alice_run["token"], "GET", "runs/get", params={"run_id": alice_run["run_id"]})
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
    assert any(k.startswith("group/size_band/") for k in metrics)
    # run context provider
    assert tags["context.tag.team"] == "integration" and tags["context.tag.cost_center"] == "42"
    assert tags["context.host.python"].startswith("CPython 3.")


def test_artifacts_went_through_the_proxy_into_postgres(rest, alice_run, postgres_url):
    r = rest(alice_run["token"], "GET", "artifacts/list", params={"run_id": alice_run["run_id"]})
    assert r.status_code == 200, r.text
    paths = {f["path"] for f in r.json().get("files", [])}
    assert "notes" in paths
    import sqlalchemy

    engine = sqlalchemy.create_engine(postgres_url.replace("postgresql://", "postgresql+psycopg2://"))
    with engine.connect() as c:
        tables = set(sqlalchemy.inspect(c).get_table_names())
    engine.dispose()
    assert tables, "no artifact tables were created in PostgreSQL"


def test_model_registered_aliased_and_loaded(rest, alice_run):
    assert alice_run["predictions"] == alice_run["expected_predictions"]
    r = rest(alice_run["token"], "GET", "registered-models/alias",
            params={"name": "integration-model", "alias": "champion"})
    assert r.status_code == 200, r.text
    assert r.json()["model_version"]["version"] == str(alice_run["model_version"])


def test_oss_and_sqlite_experiments_work_beside_it(alice_run):
    assert alice_run["oss_artifact_uri"].startswith("oss://")
    assert alice_run["oss_roundtrip_ok"] is True
    assert alice_run["sqlite_artifact_uri"].startswith("sqlite:")
    assert alice_run["sqlite_roundtrip_ok"] is True


def test_second_user_is_refused_by_rbac(stack, rest, user_token, alice_run):
    token = user_token("bob")
    r = rest(token, "GET", "runs/get", params={"run_id": alice_run["run_id"]})
    assert r.status_code == 403, r.text
    r = rest(token, "POST", "runs/search", json={"experiment_ids": [alice_run["experiment_id"]]})
    assert r.status_code in (200, 403)
    if r.status_code == 200:
        assert r.json().get("runs", []) == []
    r = requests.get(f"{stack['url']}/api/2.0/mlflow/runs/get", params={"run_id": alice_run["run_id"]}, timeout=10)
    assert r.status_code == 401 and "Bearer" in r.headers.get("WWW-Authenticate", "")


def test_audit_log_has_request_ids_from_the_header_provider(stack, admin_key, alice_run):
    r = requests.get(f"{stack['url']}/api/2.0/rbac/audit", params={"principal": "alice", "max_results": 50},
                     headers={"Authorization": f"Bearer {admin_key}"}, timeout=10)
    assert r.status_code == 200, r.text
    events = r.json()["events"]
    assert events, "no audit events for alice"
    assert all(e.get("request_id") for e in events), events[:3]
