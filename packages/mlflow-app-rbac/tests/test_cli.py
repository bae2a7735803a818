"""`mlflow-rbac` CLI against the real server."""

from __future__ import annotations

import json

from mlflow_app_rbac.cli import main


def _run(capsys, monkeypatch, server, token, *args):
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", token)
    code = main(["--url", server.url, *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_grant_list_revoke(server, idp, user, capsys, monkeypatch):
    exp_id = server.experiment()
    get = f"/api/2.0/mlflow/experiments/get?experiment_id={exp_id}"
    code, out, _ = _run(capsys, monkeypatch, server, server.admin_key, "grant", "experiment", exp_id, "--user", user, "READ")
    assert code == 0 and json.loads(out)["grant"]["permission"] == "READ"
    assert server.call("GET", get, idp.token(user)).status_code == 200
    code, out, _ = _run(capsys, monkeypatch, server, server.admin_key, "list", "--principal", user)
    assert [(g["resource_id"], g["permission"]) for g in json.loads(out)["grants"]] == [(exp_id, "READ")]
    code, out, _ = _run(capsys, monkeypatch, server, server.admin_key, "revoke", "experiment", exp_id, "--user", user)
    assert code == 0 and json.loads(out) == {"removed": True}
    assert server.call("GET", get, idp.token(user)).status_code == 403


def test_create_and_revoke_key(server, user, capsys, monkeypatch):
    code, out, _ = _run(capsys, monkeypatch, server, server.admin_key, "create-key", user, "--group", "svc")
    data = json.loads(out)
    key, key_id = data["key"], data["api_key"]["key_id"]
    assert server.call("GET", "/api/2.0/rbac/whoami", key).json()["groups"] == ["svc"]
    code, out, _ = _run(capsys, monkeypatch, server, server.admin_key, "list-keys")
    assert key_id in out and key not in out
    assert _run(capsys, monkeypatch, server, server.admin_key, "revoke-key", key_id)[0] == 0
    assert server.call("GET", "/api/2.0/rbac/whoami", key).status_code == 401


def test_non_admin_gets_a_clear_error_without_the_token(server, idp, user, capsys, monkeypatch):
    token = idp.token(user)
    code, _, err = _run(capsys, monkeypatch, server, token, "list-keys")
    assert code == 1 and "HTTP 403" in err and token not in err


def test_missing_url_and_token_are_explained(capsys, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("MLFLOW_TRACKING_TOKEN", raising=False)
    assert main(["list"]) == 2
    assert "MLFLOW_TRACKING_URI" in capsys.readouterr().err
    assert main(["--url", "http://127.0.0.1:9", "list"]) == 2
    assert "MLFLOW_TRACKING_TOKEN" in capsys.readouterr().err
