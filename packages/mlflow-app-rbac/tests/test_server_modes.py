"""The same guarantees under gunicorn and waitress (WSGI) and with --static-prefix (uvicorn), one server each per session."""

from __future__ import annotations

import json
import time
import uuid

import pytest

PREFIX = "/mlf"


@pytest.fixture(scope="session", params=["gunicorn", "static-prefix", "waitress"])
def mode(request, kit, idp, tmp_path_factory):
    """Shared by all xdist workers (one server per mode per session)."""
    return kit.mode_server(tmp_path_factory, idp, request.param)


def test_401_403_200(mode, idp, kit):
    s = mode.server
    exp_id = s.experiment()
    user = f"user-{uuid.uuid4().hex[:8]}"
    path = f"/api/2.0/mlflow/experiments/get?experiment_id={exp_id}"
    unauth = s.call("GET", path)
    assert unauth.status_code == 401 and "WWW-Authenticate" in unauth.headers
    assert s.call("GET", path, idp.token(user)).status_code == 403
    s.grant("experiment", exp_id, user, "READ")
    ok = s.call("GET", path, idp.token(user))
    assert ok.status_code == 200 and ok.json()["experiment"]["experiment_id"] == exp_id
    # search filtering works in this mode too
    hidden = s.experiment()
    runs = s.call("POST", "/api/2.0/mlflow/runs/search", idp.token(user), json={"experiment_ids": [hidden]})
    assert runs.status_code == 200 and runs.json().get("runs", []) == []


def test_path_bypasses_are_refused(mode, idp, kit):
    s = mode.server
    exp_id = s.experiment()
    token = idp.token(f"user-{uuid.uuid4().hex[:8]}")
    prefix = mode.prefix
    for path, expected in [
        (f"{prefix}//api/2.0/mlflow/experiments/get?experiment_id={exp_id}", 400),
        (f"{prefix}/api/2.0/mlflow%2Fexperiments/get?experiment_id={exp_id}", 400),
        (f"{prefix}/static-files/../api/2.0/mlflow/experiments/get?experiment_id={exp_id}", 400),
        (f"{prefix}/ajax-api/2.0/mlflow/experiments/get?experiment_id={exp_id}", 403),
        (f"{prefix}/api/2.0/mlflow/experiments/get/?experiment_id={exp_id}", 403),
        # with and without the static prefix the gate checks the same route
        (f"/api/2.0/mlflow/experiments/get?experiment_id={exp_id}", 403),
        (f"{PREFIX}/api/2.0/mlflow/experiments/get?experiment_id={exp_id}", 403),
    ]:
        status, body = kit.raw(mode.base, "GET", path, token)
        assert status == expected, (path, status, body[:200])


def test_artifact_proxy_of_other_experiments(mode, idp, kit):
    s = mode.server
    user = f"user-{uuid.uuid4().hex[:8]}"
    token = idp.token(user)
    own, hidden = s.experiment(token), s.experiment()
    prefix = mode.prefix
    for base_path in {f"{prefix}/api/2.0/mlflow-artifacts/artifacts", "/api/2.0/mlflow-artifacts/artifacts"}:
        assert kit.raw(mode.base, "PUT", f"{base_path}/{hidden}/a.txt", token, body="x")[0] == 403
        assert kit.raw(mode.base, "GET", f"{base_path}/{hidden}/a.txt", token)[0] == 403
    own_path = mode.server.url[len(mode.base):] + f"/api/2.0/mlflow-artifacts/artifacts/{own}/a.txt"
    assert kit.raw(mode.base, "PUT", own_path, token, body="x")[0] == 200


def test_secrets_never_logged_and_audit_lines_are_json(mode, idp, kit):
    s = mode.server
    user = f"user-{uuid.uuid4().hex[:8]}"
    token = idp.token(user)
    expired = idp.token(user, lifetime=-60)
    key_id, key = s.api_key(user)
    s.call("GET", "/api/2.0/mlflow/experiments/search", token)
    s.call("POST", "/api/2.0/mlflow/experiments/create", key, json={"name": f"x-{uuid.uuid4().hex}"})
    s.call("GET", "/api/2.0/mlflow/experiments/search", expired)
    s.call("GET", "/api/2.0/mlflow/experiments/search", key[:-3] + "zzz")
    s.admin("DELETE", f"/api/2.0/rbac/api-keys/{key_id}")
    s.call("GET", "/api/2.0/mlflow/experiments/search", key)
    time.sleep(1)
    log = mode.log.read_text(errors="replace")
    # the key's secret part: "mlrbac_<hex id>_<token_urlsafe>", which may itself hold "_"
    for secret in (token, expired, key, key.split("_", 2)[2], s.admin_key):
        assert secret not in log
    audit = [json.loads(line) for line in log.splitlines() if line.startswith('{"') and "mlflow_rbac_audit" in line]
    assert any(e["principal"] == user and e["path"].endswith("/experiments/create") and e["outcome"] == "allowed"
               for e in audit)
    assert any(e["status"] == 401 and e["outcome"] == "denied" for e in audit)
