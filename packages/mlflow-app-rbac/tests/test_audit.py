"""Audit: every mutating and every denied request, in the database (paged admin API) and as JSON logs."""

from __future__ import annotations

import uuid


def _events(server, **params):
    return server.admin("GET", "/api/2.0/rbac/audit", params=params).json()


def test_mutating_request_is_audited_with_request_id(server, idp, user):
    rid = f"req-{uuid.uuid4().hex}"
    resp = server.call("POST", "/api/2.0/mlflow/experiments/create", idp.token(user),
                       json={"name": f"audit-{uuid.uuid4().hex}"}, headers={"X-Request-ID": rid})
    assert resp.status_code == 200
    events = [e for e in _events(server, principal=user, max_results=50)["events"] if e["request_id"] == rid]
    assert len(events) == 1
    e = events[0]
    assert (e["method"], e["path"], e["outcome"], e["status"]) == ("POST", "/api/2.0/mlflow/experiments/create", "allowed", 200)
    assert e["route"] == "2.0/mlflow/experiments/create" and e["ts"] > 0


def test_denied_request_is_audited_with_resource(server, idp, user):
    exp_id = server.experiment()
    rid = f"req-{uuid.uuid4().hex}"
    resp = server.call("GET", f"/api/2.0/mlflow/experiments/get?experiment_id={exp_id}", idp.token(user),
                       headers={"X-Request-ID": rid})
    assert resp.status_code == 403
    (e,) = [e for e in _events(server, principal=user)["events"] if e["request_id"] == rid]
    assert (e["outcome"], e["status"], e["resource"]) == ("denied", 403, f"experiment:{exp_id}")


def test_unauthenticated_denial_is_audited_without_the_token(server, idp, user):
    rid = f"req-{uuid.uuid4().hex}"
    bad = idp.token(user, lifetime=-60)
    server.call("GET", "/api/2.0/mlflow/experiments/search", bad, headers={"X-Request-ID": rid})
    events = [e for e in _events(server, outcome="denied", max_results=200)["events"] if e["request_id"] == rid]
    assert len(events) == 1 and events[0]["principal"] is None and events[0]["status"] == 401
    assert bad not in str(events)


def test_reads_are_not_audited(server, idp, user):
    exp_id = server.experiment(idp.token(user))
    rid = f"req-{uuid.uuid4().hex}"
    assert server.call("GET", f"/api/2.0/mlflow/experiments/get?experiment_id={exp_id}", idp.token(user),
                       headers={"X-Request-ID": rid}).status_code == 200
    assert [e for e in _events(server, principal=user)["events"] if e["request_id"] == rid] == []


def test_audit_is_paged(server, idp, user):
    token = idp.token(user)
    for _ in range(3):
        server.call("GET", "/api/2.0/mlflow/not-a-route", token)
    first = _events(server, principal=user, max_results=2)
    assert len(first["events"]) == 2 and "next_page_token" in first
    second = _events(server, principal=user, max_results=2, page_token=first["next_page_token"])
    ids = [e["id"] for e in first["events"] + second["events"]]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == len(ids) >= 3


def test_bad_paging_parameters_get_a_clear_error(server):
    resp = server.call("GET", "/api/2.0/rbac/audit?max_results=0", server.admin_key)
    assert resp.status_code == 400 and "max_results" in resp.json()["message"]
    resp = server.call("GET", "/api/2.0/rbac/audit?page_token=abc", server.admin_key)
    assert resp.status_code == 400 and "page_token" in resp.json()["message"]


# MLflow 3.18's UI asks these on its own on page views (seen in headless Chromium as a non-admin reader:
# assistant config and providers on every page, an experiment's scorers and issues on its pages, the
# gateway's endpoint list on the runs page)
UI_PROBES = [("GET", "/ajax-api/3.0/mlflow/assistant/config", None),
             ("GET", "/ajax-api/3.0/mlflow/assistant/providers", None),
             ("GET", "/ajax-api/3.0/mlflow/scorers/list?experiment_id={exp}", None),
             ("POST", "/ajax-api/3.0/mlflow/issues/search", {"experiment_id": "{exp}"})]
GATEWAY_LIST = "/ajax-api/2.0/mlflow/gateway-proxy?gateway_path=api%2F2.0%2Fendpoints%2F"


def _page_view(server, token, exp_id):
    """The background requests of one page view, as the UI sends them; their statuses."""
    statuses = []
    for method, path, body in UI_PROBES:
        path = path.format(exp=exp_id)
        kw = {"json": {k: v.format(exp=exp_id) for k, v in body.items()}} if body else {}
        statuses.append(server.call(method, path, token, **kw).status_code)
    statuses.append(server.call("GET", GATEWAY_LIST, token).status_code)
    return statuses


def test_ui_background_calls_are_audited_once_per_principal_and_route(server, idp, user):
    exp_id = server.experiment()
    server.grant("experiment", exp_id, user, "READ")
    token = idp.token(user)
    for _ in range(3):  # three page views
        assert _page_view(server, token, exp_id) == [403, 403, 403, 403, 200]
    denied = [e for e in _events(server, principal=user, max_results=200)["events"] if e["outcome"] == "denied"]
    assert sorted(e["route"] for e in denied) == sorted(
        ["3.0/mlflow/assistant/config", "3.0/mlflow/assistant/providers", "3.0/mlflow/scorers/list",
         "3.0/mlflow/issues/search"])
    assert all("recorded once per principal and route per hour" in e["detail"] for e in denied)
    # another principal's first denial is recorded: the hour is per principal
    other = f"other-{user}"
    assert _page_view(server, idp.token(other), exp_id)[:4] == [403] * 4
    assert len(_events(server, principal=other, outcome="denied")["events"]) == 4


def test_the_gateway_endpoint_list_is_open_and_nothing_else_of_the_proxy(server, idp, user):
    token = idp.token(user)
    resp = server.call("GET", GATEWAY_LIST, token)
    assert resp.status_code == 200 and resp.json() == {"endpoints": []}  # no MLFLOW_DEPLOYMENTS_TARGET here
    assert server.call("GET", "/ajax-api/2.0/mlflow/gateway-proxy?gateway_path=api/2.0/endpoints/chat",
                       token).status_code == 403
    assert server.call("POST", "/ajax-api/2.0/mlflow/gateway-proxy", token,
                       json={"gateway_path": "gateway/chat/invocations", "json_data": {}}).status_code == 403
    assert server.call("GET", GATEWAY_LIST).status_code == 401  # still only for authenticated callers
    events = _events(server, principal=user)["events"]
    assert [(e["method"], e["status"]) for e in events] == [("POST", 403), ("GET", 403)]  # each denial, each time


def test_other_denials_are_still_recorded_every_time(server, idp, user):
    hidden = server.experiment()
    token = idp.token(user)
    for _ in range(3):
        assert server.call("GET", f"/api/2.0/mlflow/experiments/get?experiment_id={hidden}", token).status_code == 403
        assert server.call("POST", "/ajax-api/3.0/mlflow/assistant/message", token,
                           json={"message": "hi"}).status_code == 403
    routes = [e["route"] for e in _events(server, principal=user)["events"]]
    assert routes.count("2.0/mlflow/experiments/get") == 3 and routes.count("3.0/mlflow/assistant/{rest:path}") == 3


def test_an_admins_ui_background_reads_are_not_audited(server, idp, user):
    admin = f"admin-{user}"
    token = idp.token(admin, ["mlflow-admins"])
    exp_id = server.experiment()
    resp = server.call("GET", "/ajax-api/3.0/mlflow/assistant/config", token)
    assert resp.status_code not in (401, 403), resp.text
    assert server.call("GET", GATEWAY_LIST, token).status_code == 200
    assert server.call("GET", f"/ajax-api/3.0/mlflow/scorers/list?experiment_id={exp_id}", token).status_code == 200
    assert _events(server, principal=admin)["events"] == []


def test_workers_sharing_the_audit_table_record_a_ui_probe_denial_once(tmp_path):
    """Two gates on one database (two server workers, or one restarted): the second finds the first's row."""
    from mlflow_app_rbac import apikeys
    from mlflow_app_rbac.config import load_config
    from mlflow_app_rbac.gate import Denial, Gate, Request
    from mlflow_app_rbac.store import RbacStore

    cfg = load_config({"MLFLOW_RBAC_BOOTSTRAP_ADMIN_KEY": "b" * 32,
                       "MLFLOW_RBAC_DATABASE_URI": f"sqlite:///{tmp_path / 'rbac.db'}"})
    workers = [Gate(cfg, RbacStore(cfg.database_uri), "") for _ in range(2)]
    key_id, key = apikeys.new_key()
    workers[0].store.add_api_key(key_id, "reader", apikeys.hash_key(key), False, [], None, None)
    probe = Request("GET", "/ajax-api/3.0/mlflow/assistant/config", "/ajax-api/3.0/mlflow/assistant/config", "",
                    {"authorization": f"Bearer {key}"})
    for gate in workers + workers:
        assert isinstance(gate.decide(probe, None), Denial)
    rows = workers[1].store.list_audit_events(max_results=10, principal="reader")
    assert [(r["route"], r["outcome"]) for r in rows] == [("3.0/mlflow/assistant/config", "denied")]
