"""Integration suite: all plugins installed together (from wheels) against real servers.

The stack every test shares:

Server: `mlflow server --backend-store-uri elasticsearch://… --registry-store-uri elasticsearch://…
--artifacts-destination postgresql://… --app-name rbac`, with JWTs from the oauth2 service.
Clients: MLFLOW_TRACKING_AUTH=oauth2 plus the header and context providers, in their own processes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from mlflow_testenv import session_service


@pytest.fixture(scope="session")
def es_url(tmp_path_factory) -> str:
    return session_service("es", tmp_path_factory)["MLFLOW_TESTENV_ES_URL"]


@pytest.fixture(scope="session")
def postgres_url(tmp_path_factory) -> str:
    return session_service("postgres", tmp_path_factory)["MLFLOW_TESTENV_POSTGRES_URL"]

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


_CLIENTS: dict[str, dict[str, str]] = {}


def client_named(oauth2: dict[str, str], name: str) -> dict[str, str]:
    if name not in _CLIENTS:
        _CLIENTS[name] = new_client(oauth2, name)
    return _CLIENTS[name]


def new_client_env(stack, oauth2, name: str, **extra_env) -> dict[str, str]:
    """The environment a user `name` works in: oauth2 auth, header and context providers."""
    client = client_named(oauth2, name)
    return {
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


def run_client(stack, oauth2, client, tmp_path, **extra_env) -> dict:
    env = new_client_env(stack, oauth2, client["client_id"], **extra_env)
    r = subprocess.run([sys.executable, str(HERE / "workflow_client.py")], env=env, cwd=tmp_path,
                       capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, f"client failed:\n{r.stderr[-4000:]}"
    assert client["client_secret"] not in r.stderr
    return json.loads(r.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="session")
def alice_run(stack, oauth2, oss, tmp_path_factory) -> dict:
    alice = client_named(oauth2, "alice")
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


@pytest.fixture(scope="session")
def rest(stack):
    """rest(token, method, path, **kw): a REST call to the stack's server as the token's user."""
    return lambda token, method, path, **kw: api(stack, token, method, path, **kw)


@pytest.fixture(scope="session")
def user_env(stack, oauth2):
    """user_env(name, **extra): the environment variables user `name` works with."""
    return lambda name, **extra: new_client_env(stack, oauth2, name, **extra)


@pytest.fixture(scope="session")
def admin_key() -> str:
    return ADMIN_KEY


@pytest.fixture(scope="session")
def user_token(oauth2):
    return lambda name: token_for(oauth2, client_named(oauth2, name))
