"""READ < EDIT < MANAGE on experiments and registered models, users and groups, creators, filtering."""

from __future__ import annotations

import uuid

import pytest


def _get_exp(server, token, exp_id):
    return server.call("GET", f"/api/2.0/mlflow/experiments/get?experiment_id={exp_id}", token)


def test_no_grant_403_then_read_grant_gives_the_normal_answer(server, idp, user):
    exp_id = server.experiment()
    token = idp.token(user)
    resp = _get_exp(server, token, exp_id)
    assert resp.status_code == 403
    assert resp.json()["error_code"] == "PERMISSION_DENIED"
    server.grant("experiment", exp_id, user, "READ")
    resp = _get_exp(server, token, exp_id)
    assert resp.status_code == 200
    assert resp.json()["experiment"]["experiment_id"] == exp_id


def test_revoking_a_grant_takes_access_away(server, idp, user):
    exp_id = server.experiment()
    server.grant("experiment", exp_id, user, "READ")
    assert _get_exp(server, idp.token(user), exp_id).status_code == 200
    server.admin("DELETE", "/api/2.0/rbac/grants", json={
        "resource_type": "experiment", "resource_id": exp_id, "principal": user})
    assert _get_exp(server, idp.token(user), exp_id).status_code == 403


@pytest.mark.parametrize("granted, can_log, can_delete", [
    ("READ", False, False), ("EDIT", True, False), ("MANAGE", True, True)])
def test_role_order_on_runs(server, idp, user, granted, can_log, can_delete):
    exp_id = server.experiment()
    run_id = server.run(exp_id)
    server.grant("experiment", exp_id, user, granted)
    token = idp.token(user)
    assert server.call("GET", f"/api/2.0/mlflow/runs/get?run_id={run_id}", token).status_code == 200
    log = server.call("POST", "/api/2.0/mlflow/runs/log-metric", token,
                      json={"run_id": run_id, "key": "m", "value": 1.0, "timestamp": 1, "step": 0})
    assert log.status_code == (200 if can_log else 403), log.text
    delete = server.call("POST", "/api/2.0/mlflow/runs/delete", token, json={"run_id": run_id})
    assert delete.status_code == (200 if can_delete else 403), delete.text


def test_group_grant_from_the_groups_claim(server, idp, user):
    exp_id = server.experiment()
    group = f"team-{uuid.uuid4().hex[:8]}"
    server.grant("experiment", exp_id, group, "EDIT", principal_type="group")
    assert _get_exp(server, idp.token(user, [group]), exp_id).status_code == 200
    assert _get_exp(server, idp.token(user, ["other-team"]), exp_id).status_code == 403


def test_creator_gets_manage_others_get_nothing(server, idp, user):
    creator = idp.token(user)
    exp_id = server.experiment(creator)
    run_id = server.run(exp_id, creator)
    other = idp.token(f"other-{user}")
    assert _get_exp(server, other, exp_id).status_code == 403
    assert server.call("GET", f"/api/2.0/mlflow/runs/get?run_id={run_id}", other).status_code == 403
    grants = server.admin("GET", f"/api/2.0/rbac/grants?resource_type=experiment&resource_id={exp_id}").json()
    assert [(g["principal"], g["permission"]) for g in grants["grants"]] == [(user, "MANAGE")]
    assert server.call("POST", "/api/2.0/mlflow/experiments/delete", creator,
                       json={"experiment_id": exp_id}).status_code == 200


def test_search_runs_returns_only_readable_experiments(server, idp, user):
    exps = [server.experiment() for _ in range(3)]
    runs = {e: {server.run(e) for _ in range(2)} for e in exps}
    server.grant("experiment", exps[1], user, "READ")
    token = idp.token(user)
    resp = server.call("POST", "/api/2.0/mlflow/runs/search", token, json={"experiment_ids": exps})
    assert resp.status_code == 200
    assert {r["info"]["run_id"] for r in resp.json()["runs"]} == runs[exps[1]]
    # camelCase spelling of the field is filtered the same way
    resp = server.call("POST", "/api/2.0/mlflow/runs/search", token, json={"experimentIds": exps})
    assert {r["info"]["run_id"] for r in resp.json()["runs"]} == runs[exps[1]]
    only_hidden = server.call("POST", "/api/2.0/mlflow/runs/search", token, json={"experiment_ids": [exps[0], exps[2]]})
    assert only_hidden.status_code == 200 and only_hidden.json().get("runs", []) == []


def test_search_experiments_lists_only_readable(server, idp, user):
    tag = uuid.uuid4().hex
    exps = [server.experiment(name=f"{tag}-{i}") for i in range(3)]
    server.grant("experiment", exps[2], user, "READ")
    resp = server.call("GET", f"/api/2.0/mlflow/experiments/search?max_results=1000&filter=name LIKE '{tag}%25'",
                       idp.token(user))
    assert resp.status_code == 200
    assert [e["experiment_id"] for e in resp.json()["experiments"]] == [exps[2]]
    admin = server.call("GET", f"/api/2.0/mlflow/experiments/search?max_results=1000&filter=name LIKE '{tag}%25'",
                        server.admin_key)
    assert len(admin.json()["experiments"]) == 3


def _create_model(server, token, name, prompt=False):
    body = {"name": name}
    if prompt:
        body["tags"] = [{"key": "mlflow.prompt.is_prompt", "value": "true"}]
    return server.call("POST", "/api/2.0/mlflow/registered-models/create", token, json=body)


@pytest.mark.parametrize("prompt", [False, True], ids=["model", "prompt"])
def test_registered_models_and_prompts(server, idp, user, prompt):
    owner = idp.token(user)
    name = f"m-{uuid.uuid4().hex[:10]}"
    assert _create_model(server, owner, name, prompt).status_code == 200
    other_user = f"other-{user}"
    other = idp.token(other_user)
    get = f"/api/2.0/mlflow/registered-models/get?name={name}"
    flt = f"name='{name}'" + (" AND tags.`mlflow.prompt.is_prompt` = 'true'" if prompt else "")
    assert server.call("GET", get, owner).status_code == 200
    assert server.call("GET", get, other).status_code == 403
    search = server.call("GET", "/api/2.0/mlflow/registered-models/search", other, params={"filter": flt})
    assert search.status_code == 200 and search.json().get("registered_models", []) == []
    server.grant("registered_model", name, other_user, "READ")
    assert server.call("GET", get, other).json()["registered_model"]["name"] == name
    search = server.call("GET", "/api/2.0/mlflow/registered-models/search", other, params={"filter": flt})
    assert [m["name"] for m in search.json()["registered_models"]] == [name]
    rename = server.call("POST", "/api/2.0/mlflow/registered-models/rename", other, json={"name": name, "new_name": name + "-x"})
    assert rename.status_code == 403
    rename = server.call("POST", "/api/2.0/mlflow/registered-models/rename", owner, json={"name": name, "new_name": name + "-x"})
    assert rename.status_code == 200
    # grants follow the rename
    assert server.call("GET", f"/api/2.0/mlflow/registered-models/get?name={name}-x", other).status_code == 200


def test_model_version_needs_read_on_the_source_run(server, idp, user):
    token = idp.token(user)
    name = f"m-{uuid.uuid4().hex[:10]}"
    assert _create_model(server, token, name).status_code == 200
    hidden_run = server.run(server.experiment())
    resp = server.call("POST", "/api/2.0/mlflow/model-versions/create", token,
                       json={"name": name, "source": f"runs:/{hidden_run}/model", "run_id": hidden_run})
    assert resp.status_code == 403


def test_logged_models_follow_their_experiment(server, idp, user):
    exp_id = server.experiment()
    resp = server.call("POST", "/api/2.0/mlflow/logged-models", server.admin_key,
                       json={"experiment_id": exp_id, "name": "lm"})
    assert resp.status_code == 200, resp.text
    model_id = resp.json()["model"]["info"]["model_id"]
    token = idp.token(user)
    assert server.call("GET", f"/api/2.0/mlflow/logged-models/{model_id}", token).status_code == 403
    server.grant("experiment", exp_id, user, "READ")
    resp = server.call("GET", f"/api/2.0/mlflow/logged-models/{model_id}", token)
    assert resp.status_code == 200 and resp.json()["model"]["info"]["model_id"] == model_id
    assert server.call("DELETE", f"/api/2.0/mlflow/logged-models/{model_id}", token).status_code == 403


def test_traces_follow_their_experiment(server, idp, user):
    exp_id = server.experiment()
    trace = {"trace": {"trace_info": {
        "trace_id": f"tr-{uuid.uuid4().hex}", "trace_location": {"type": "MLFLOW_EXPERIMENT", "mlflow_experiment": {"experiment_id": exp_id}},
        "request_time": "2026-01-01T00:00:00Z", "state": "OK"}}}
    token = idp.token(user)
    assert server.call("POST", "/api/3.0/mlflow/traces", token, json=trace).status_code == 403
    resp = server.call("POST", "/api/3.0/mlflow/traces", server.admin_key, json=trace)
    if resp.status_code == 404:
        pytest.skip("this MLflow version has no /api/3.0/mlflow/traces (StartTraceV3)")
    assert resp.status_code == 200, resp.text
    trace_id = resp.json()["trace"]["trace_info"]["trace_id"]
    assert server.call("GET", f"/api/3.0/mlflow/traces/{trace_id}", token).status_code == 403
    search = server.call("POST", "/api/3.0/mlflow/traces/search", token, json={
        "locations": [{"type": "MLFLOW_EXPERIMENT", "mlflow_experiment": {"experiment_id": exp_id}}]})
    assert search.status_code == 200 and search.json().get("traces", []) == []
    server.grant("experiment", exp_id, user, "READ")
    assert server.call("GET", f"/api/3.0/mlflow/traces/{trace_id}", token).status_code == 200
    search = server.call("POST", "/api/3.0/mlflow/traces/search", token, json={
        "locations": [{"type": "MLFLOW_EXPERIMENT", "mlflow_experiment": {"experiment_id": exp_id}}]})
    assert [t["trace_id"] for t in search.json()["traces"]] == [trace_id]


def test_mlflow_client_works_unchanged_with_a_bearer_token(server, idp, user, monkeypatch):
    from mlflow import MlflowClient

    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", idp.token(user))
    client = MlflowClient(tracking_uri=server.url)
    exp_id = client.create_experiment(f"client-{uuid.uuid4().hex}")
    run = client.create_run(exp_id)
    client.log_metric(run.info.run_id, "acc", 0.9)
    assert client.get_run(run.info.run_id).data.metrics == {"acc": 0.9}
    assert [r.info.run_id for r in client.search_runs([exp_id, "0"])] == [run.info.run_id]


def test_unknown_route_is_denied_even_to_admins(server, idp, user):
    for token in (idp.token(user), server.admin_key):
        resp = server.call("GET", "/api/2.0/mlflow/not-a-route", token)
        assert resp.status_code == 403
        assert "not in the rbac route table" in resp.json()["message"]


def test_admin_only_families_refuse_users(server, idp, user):
    resp = server.call("GET", "/api/3.0/mlflow/gateway/secrets/list", idp.token(user))
    assert resp.status_code == 403
    assert server.call("GET", "/api/2.0/mlflow/webhooks", idp.token(user)).status_code == 403
    # admins pass the gate (MLflow answers: 200, or 404 where the version has no webhooks)
    assert server.call("GET", "/api/2.0/mlflow/webhooks", server.admin_key).status_code in (200, 404)
