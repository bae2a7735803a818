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
