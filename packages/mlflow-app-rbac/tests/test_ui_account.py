"""The account routes MLflow 3.17's UI asks (`users/current`...), answered from rbac identities."""

from __future__ import annotations

import uuid


def test_current_user_is_the_caller(server, idp, user):
    for prefix in ("/ajax-api", "/api"):
        resp = server.call("GET", f"{prefix}/2.0/mlflow/users/current", idp.token(user, ["team-a"]))
        assert resp.status_code == 200, resp.text
        assert resp.json() == {"user": {"id": user, "username": user, "is_admin": False}, "is_basic_auth": False}


def test_current_user_of_an_admin(server, idp):
    resp = server.call("GET", "/ajax-api/2.0/mlflow/users/current", idp.token("an-admin", ["mlflow-admins"]))
    assert resp.status_code == 200 and resp.json()["user"]["is_admin"] is True
    resp = server.call("GET", "/ajax-api/2.0/mlflow/users/current", server.admin_key)
    assert resp.json()["user"] == {"id": "bootstrap-admin", "username": "bootstrap-admin", "is_admin": True}


def test_current_user_needs_authentication(server):
    resp = server.call("GET", "/ajax-api/2.0/mlflow/users/current")
    assert resp.status_code == 401 and "Bearer" in resp.headers["WWW-Authenticate"]


def test_current_user_permissions_are_the_effective_grants(server, idp, user):
    group = f"g-{uuid.uuid4().hex[:8]}"
    token = idp.token(user, [group])
    own = server.experiment(token)  # creator: MANAGE
    shared = server.experiment()
    server.grant("experiment", shared, user, "READ")
    server.grant("experiment", shared, group, "EDIT", principal_type="group")
    resp = server.call("GET", "/ajax-api/3.0/mlflow/users/current/permissions", token)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["is_admin"] is False
    rows = {(r["resource_type"], r["resource_pattern"]): r["permission"] for r in body["permissions"]}
    assert rows == {("experiment", own): "MANAGE", ("experiment", shared): "EDIT"}


def test_roles_list_only_for_oneself(server, idp, user):
    token = idp.token(user)
    resp = server.call("GET", f"/ajax-api/3.0/mlflow/users/roles/list?username={user}", token)
    assert resp.status_code == 200 and resp.json() == {"roles": []}
    resp = server.call("GET", "/ajax-api/3.0/mlflow/users/roles/list?username=someone-else", token)
    assert resp.status_code == 403
