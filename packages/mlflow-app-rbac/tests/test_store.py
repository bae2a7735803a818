"""The permission store on SQLite and on a real PostgreSQL (testenv)."""

from __future__ import annotations

import uuid

import pytest
from mlflow.exceptions import MlflowException
from mlflow_app_rbac.permissions import Permission
from mlflow_app_rbac.store import RbacStore

from mlflow_plugins_shared.redact import Secret
from mlflow_testenv import session_service


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path, tmp_path_factory):
    if request.param == "sqlite":
        return RbacStore(Secret(f"sqlite:///{tmp_path / 'rbac.db'}"))
    url = session_service("postgres", tmp_path_factory)["MLFLOW_TESTENV_POSTGRES_URL"]
    return RbacStore(Secret(url))


def test_grants_highest_of_user_and_groups(store):
    exp = f"e-{uuid.uuid4().hex}"
    store.set_grant("experiment", exp, "user", "alice", Permission.READ, "admin")
    store.set_grant("experiment", exp, "group", "ds", Permission.EDIT, "admin")
    assert store.permission_for("experiment", exp, "alice", []) is Permission.READ
    assert store.permission_for("experiment", exp, "alice", ["ds"]) is Permission.EDIT
    assert store.permission_for("experiment", exp, "bob", ["other"]) is Permission.NONE
    store.set_grant("experiment", exp, "user", "alice", Permission.MANAGE, "admin")  # replaces
    assert [g.permission for g in store.list_grants("experiment", exp, "user")] == [Permission.MANAGE]
    assert store.readable_ids("experiment", "alice", []) >= {exp}
    assert store.delete_grant("experiment", exp, "user", "alice") is True
    assert store.delete_grant("experiment", exp, "user", "alice") is False


def test_rename_moves_grants(store):
    old, new = f"m-{uuid.uuid4().hex}", f"m-{uuid.uuid4().hex}"
    store.set_grant("registered_model", old, "user", "alice", Permission.EDIT, None)
    store.rename_resource("registered_model", old, new)
    assert store.permission_for("registered_model", new, "alice", []) is Permission.EDIT
    assert store.permission_for("registered_model", old, "alice", []) is Permission.NONE


@pytest.mark.parametrize("args, word", [
    (("run", "1", "user", "a"), "resource_type"), (("experiment", "", "user", "a"), "resource_id"),
    (("experiment", "1", "robot", "a"), "principal_type"), (("experiment", "1", "user", " "), "principal"),
])
def test_bad_grants_are_named(store, args, word):
    with pytest.raises(MlflowException) as e:
        store.set_grant(*args, Permission.READ, None)
    assert word in e.value.message


def test_api_keys_and_audit_paging(store):
    key_id = uuid.uuid4().hex[:16]
    store.add_api_key(key_id, "svc", "0" * 64, False, ["g"], "ci", "admin")
    assert store.get_api_key(key_id).groups == ("g",)
    assert store.revoke_api_key(key_id).revoked_at is not None
    assert key_id not in [k.key_id for k in store.list_api_keys()]
    with pytest.raises(MlflowException, match="does not exist"):
        store.revoke_api_key("nope")
    who = f"p-{uuid.uuid4().hex}"
    for i in range(5):
        store.add_audit_event({"ts": float(i), "principal": who, "method": "POST", "route": "r", "path": "/p",
                               "outcome": "allowed", "status": 200, "request_id": str(i)})
    page = store.list_audit_events(max_results=3, principal=who)
    rest = store.list_audit_events(max_results=3, principal=who, before_id=page[-1]["id"])
    assert [e["request_id"] for e in page + rest] == ["4", "3", "2", "1", "0"]
