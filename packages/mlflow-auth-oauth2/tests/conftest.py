"""Real servers: the oauth2 service (authlib), an `mlflow server`, and a JWT-checking gateway in front of it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import requests
from mlflow_auth_oauth2.provider import COMMAND_SOURCES, FILE_SOURCES, OAUTH2_SOURCES

from mlflow_testenv import session_service
from mlflow_testenv.oauth2_server.gateway import Gateway, JwtCheck

_ALL_VARS = ("MLFLOW_OAUTH2_", "MLFLOW_BEARER_TOKEN_", "MLFLOW_TRACKING_TOKEN", "MLFLOW_TRACKING_USERNAME",
             "MLFLOW_TRACKING_PASSWORD", "MLFLOW_TRACKING_AUTH")


@pytest.fixture(scope="session")
def oauth2(tmp_path_factory) -> dict[str, str]:
    return session_service("oauth2", tmp_path_factory)


@pytest.fixture(scope="session")
def mlflow_url(tmp_path_factory) -> str:
    return session_service("mlflow", tmp_path_factory)["MLFLOW_TESTENV_MLFLOW_URL"]


@dataclass
class OAuthClient:
    client_id: str
    client_secret: str
    env: dict[str, str]

    def token_requests(self) -> int:
        stats = requests.get(f"{self.env['MLFLOW_TESTENV_OAUTH2_ADMIN_URL']}/stats", headers=_admin(self.env),
                             timeout=10).json()
        return stats["by_client"].get(self.client_id, 0)

    def revoke(self) -> None:
        r = requests.delete(f"{self.env['MLFLOW_TESTENV_OAUTH2_ADMIN_URL']}/clients/{self.client_id}",
                            headers=_admin(self.env), timeout=10)
        assert r.status_code == 204

    def fetch_token(self) -> str:
        r = requests.post(self.env["MLFLOW_TESTENV_OAUTH2_TOKEN_URL"], data={"grant_type": "client_credentials"},
                          auth=(self.client_id, self.client_secret), timeout=10)
        r.raise_for_status()
        return r.json()["access_token"]


def _admin(env: dict[str, str]) -> dict[str, str]:
    return {"Authorization": f"Bearer {env['MLFLOW_TESTENV_OAUTH2_ADMIN_TOKEN']}"}


@pytest.fixture
def new_client(oauth2):
    def make(**body) -> OAuthClient:
        r = requests.post(f"{oauth2['MLFLOW_TESTENV_OAUTH2_ADMIN_URL']}/clients", json=body, headers=_admin(oauth2),
                          timeout=10)
        assert r.status_code == 201, r.text
        return OAuthClient(r.json()["client_id"], r.json()["client_secret"], oauth2)

    return make


@pytest.fixture
def jwt_check(oauth2) -> JwtCheck:
    return JwtCheck(oauth2["MLFLOW_TESTENV_OAUTH2_JWKS_URL"], oauth2["MLFLOW_TESTENV_OAUTH2_ISSUER"],
                    oauth2["MLFLOW_TESTENV_OAUTH2_AUDIENCE"])


@pytest.fixture
def gateway(mlflow_url, jwt_check) -> Iterator[Gateway]:
    gw = Gateway(mlflow_url, jwt_check).start()
    yield gw
    gw.stop()


@pytest.fixture(autouse=True)
def clean_env(monkeypatch) -> Iterator[None]:
    import os

    for name in list(os.environ):
        if name.startswith(_ALL_VARS):
            monkeypatch.delenv(name)
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    for sources in (OAUTH2_SOURCES, FILE_SOURCES, COMMAND_SOURCES):
        sources.clear()
    yield
    for sources in (OAUTH2_SOURCES, FILE_SOURCES, COMMAND_SOURCES):
        sources.clear()


@pytest.fixture
def use_client(monkeypatch, oauth2):
    """Point MLflow's client at the oauth2 provider with this OAuth client."""

    def use(client: OAuthClient, **extra: str) -> None:
        monkeypatch.setenv("MLFLOW_TRACKING_AUTH", "oauth2")
        monkeypatch.setenv("MLFLOW_OAUTH2_TOKEN_URL", oauth2["MLFLOW_TESTENV_OAUTH2_TOKEN_URL"])
        monkeypatch.setenv("MLFLOW_OAUTH2_CLIENT_ID", client.client_id)
        monkeypatch.setenv("MLFLOW_OAUTH2_CLIENT_SECRET", client.client_secret)
        for k, v in extra.items():
            monkeypatch.setenv(k, v)

    return use
