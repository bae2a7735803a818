"""The oauth2 test service: a real authlib token endpoint the auth plugins and RBAC tests rely on."""

from __future__ import annotations

import time

import pytest
import requests
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from mlflow_testenv import session_service


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    return session_service("oauth2", tmp_path_factory)


def _admin(env):
    return {"Authorization": f"Bearer {env['MLFLOW_TESTENV_OAUTH2_ADMIN_TOKEN']}"}


def _register(env, **body):
    r = requests.post(f"{env['MLFLOW_TESTENV_OAUTH2_ADMIN_URL']}/clients", json=body, headers=_admin(env), timeout=10)
    assert r.status_code == 201, r.text
    return r.json()


def _token(env, client_id, secret, *, post=False, **form):
    data = {"grant_type": "client_credentials", **form}
    if post:
        return requests.post(env["MLFLOW_TESTENV_OAUTH2_TOKEN_URL"],
                             data={**data, "client_id": client_id, "client_secret": secret}, timeout=10)
    return requests.post(env["MLFLOW_TESTENV_OAUTH2_TOKEN_URL"], data=data, auth=(client_id, secret), timeout=10)


def _keys(env):
    return KeySet.import_key_set(requests.get(env["MLFLOW_TESTENV_OAUTH2_JWKS_URL"], timeout=10).json())


def test_default_client_gets_rs256_jwt_with_claims(env):
    r = _token(env, env["MLFLOW_TESTENV_OAUTH2_CLIENT_ID"], env["MLFLOW_TESTENV_OAUTH2_CLIENT_SECRET"])
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token_type"].lower() == "bearer"
    assert body["expires_in"] == int(env["MLFLOW_TESTENV_OAUTH2_TOKEN_LIFETIME"])
    tok = jwt.decode(body["access_token"], _keys(env), algorithms=["RS256"])
    assert tok.header["alg"] == "RS256"
    c = tok.claims
    assert c["iss"] == env["MLFLOW_TESTENV_OAUTH2_ISSUER"]
    assert c["aud"] == env["MLFLOW_TESTENV_OAUTH2_AUDIENCE"]
    assert c["sub"] == env["MLFLOW_TESTENV_OAUTH2_CLIENT_ID"]
    assert c["groups"] == ["mlflow-users"]
    assert c["exp"] > time.time()


def test_form_post_auth_lifetime_groups_and_audience_per_client(env):
    c = _register(env, groups=["admins", "ml"], token_lifetime=7)
    r = _token(env, c["client_id"], c["client_secret"], post=True, audience="other-api")
    assert r.status_code == 200, r.text
    assert r.json()["expires_in"] == 7
    claims = jwt.decode(r.json()["access_token"], _keys(env)).claims
    assert claims["groups"] == ["admins", "ml"]
    assert claims["aud"] == "other-api"
    assert claims["exp"] - claims["iat"] == 7


def test_wrong_secret_and_revoked_client_are_refused_and_counted(env):
    c = _register(env)
    bad = _token(env, c["client_id"], "not-the-secret")
    assert bad.status_code in (400, 401) and bad.json()["error"] == "invalid_client"
    good = _token(env, c["client_id"], c["client_secret"])
    assert good.status_code == 200
    r = requests.delete(f"{env['MLFLOW_TESTENV_OAUTH2_ADMIN_URL']}/clients/{c['client_id']}", headers=_admin(env), timeout=10)
    assert r.status_code == 204
    after = _token(env, c["client_id"], c["client_secret"])
    assert after.status_code in (400, 401) and after.json()["error"] == "invalid_client"
    intro = requests.post(env["MLFLOW_TESTENV_OAUTH2_INTROSPECTION_URL"],
                          data={"token": good.json()["access_token"]}, timeout=10).json()
    assert intro == {"active": False}
    stats = requests.get(f"{env['MLFLOW_TESTENV_OAUTH2_ADMIN_URL']}/stats", headers=_admin(env), timeout=10).json()
    assert stats["by_client"][c["client_id"]] == 3


def test_introspection_of_a_live_token_and_a_forged_one(env):
    c = _register(env, groups=["g"])
    tok = _token(env, c["client_id"], c["client_secret"]).json()["access_token"]
    intro = requests.post(env["MLFLOW_TESTENV_OAUTH2_INTROSPECTION_URL"], data={"token": tok}, timeout=10).json()
    assert intro["active"] is True and intro["sub"] == c["client_id"] and intro["groups"] == ["g"]
    head, body, sig = tok.split(".")
    forged = f"{head}.{body}.{sig[:-4]}AAAA"
    with pytest.raises(JoseError):
        jwt.decode(forged, _keys(env))
    assert requests.post(env["MLFLOW_TESTENV_OAUTH2_INTROSPECTION_URL"], data={"token": forged}, timeout=10).json() == {"active": False}


def test_admin_api_needs_the_admin_token(env):
    r = requests.post(f"{env['MLFLOW_TESTENV_OAUTH2_ADMIN_URL']}/clients", json={}, timeout=10)
    assert r.status_code == 401
    r = requests.get(f"{env['MLFLOW_TESTENV_OAUTH2_ADMIN_URL']}/stats", headers={"Authorization": "Bearer nope"}, timeout=10)
    assert r.status_code == 401


def test_metadata_points_at_the_endpoints(env):
    meta = requests.get(f"{env['MLFLOW_TESTENV_OAUTH2_URL']}/.well-known/openid-configuration", timeout=10).json()
    assert meta["token_endpoint"] == env["MLFLOW_TESTENV_OAUTH2_TOKEN_URL"]
    assert meta["jwks_uri"] == env["MLFLOW_TESTENV_OAUTH2_JWKS_URL"]
    assert meta["issuer"] == env["MLFLOW_TESTENV_OAUTH2_ISSUER"]


def test_injected_faults_then_recovery(env):
    c = _register(env)
    r = requests.post(f"{env['MLFLOW_TESTENV_OAUTH2_ADMIN_URL']}/faults", json={"client_id": c["client_id"], "status": 503, "count": 2},
                      headers=_admin(env), timeout=10)
    assert r.status_code == 204
    assert _token(env, c["client_id"], c["client_secret"]).status_code == 503
    assert _token(env, c["client_id"], c["client_secret"]).status_code == 503
    assert _token(env, c["client_id"], c["client_secret"]).status_code == 200


def test_clients_and_keys_survive_a_restart():
    """Same data dir, new process (on a new port: the old one may sit in TIME_WAIT)."""
    import os
    from pathlib import Path

    from mlflow_testenv import start_service

    srv = start_service("oauth2", parent_pid=os.getpid(), record=False)
    again = None
    try:
        c = _register(srv.exports, groups=["kept"])
        before = requests.get(srv.exports["MLFLOW_TESTENV_OAUTH2_JWKS_URL"], timeout=10).json()
        secret = srv.exports["MLFLOW_TESTENV_OAUTH2_CLIENT_SECRET"]
        srv.stop(keep_data=True)
        again = start_service("oauth2", workdir=Path(srv.workdir), parent_pid=os.getpid(), record=False)
        env = again.exports
        assert requests.get(env["MLFLOW_TESTENV_OAUTH2_JWKS_URL"], timeout=10).json() == before
        assert env["MLFLOW_TESTENV_OAUTH2_CLIENT_SECRET"] == secret
        r = _token(env, c["client_id"], c["client_secret"])
        assert r.status_code == 200
        assert jwt.decode(r.json()["access_token"], _keys(env)).claims["groups"] == ["kept"]
    finally:
        (again or srv).stop()


def test_secrets_starting_with_a_dash_are_accepted(tmp_path):
    """token_urlsafe() may start with "-": the launch must not let argparse take it for an option."""
    import json
    import os

    from mlflow_testenv import start_service

    (tmp_path / "testenv-secrets.json").write_text(json.dumps({"admin": "-admin-token-xyz", "client_secret": "-s3cret"}))
    srv = start_service("oauth2", workdir=tmp_path, parent_pid=os.getpid(), record=False)
    try:
        env = srv.exports
        assert env["MLFLOW_TESTENV_OAUTH2_ADMIN_TOKEN"] == "-admin-token-xyz"
        r = _token(env, env["MLFLOW_TESTENV_OAUTH2_CLIENT_ID"], "-s3cret")
        assert r.status_code == 200, r.text
        assert _register(env)["client_id"]
    finally:
        srv.stop()
