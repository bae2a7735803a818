"""Misconfiguration reaches the user as an MlflowException naming the setting, never leaking a secret."""

from __future__ import annotations

import logging
import socket

import pytest
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from mlflow_auth_oauth2.provider import Oauth2AuthProvider


def _error(url: str) -> MlflowException:
    with pytest.raises(MlflowException) as e:
        MlflowClient(tracking_uri=url).search_experiments(max_results=1)
    return e.value


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("missing", ["MLFLOW_OAUTH2_TOKEN_URL", "MLFLOW_OAUTH2_CLIENT_ID", "MLFLOW_OAUTH2_CLIENT_SECRET"])
def test_missing_setting_is_named(missing, gateway, new_client, use_client, monkeypatch):
    client = new_client()
    use_client(client)
    monkeypatch.delenv(missing)
    err = _error(gateway.url)
    assert err.error_code == "INVALID_PARAMETER_VALUE"
    assert err.message.startswith(f"{missing}: is not set")
    assert gateway.passed == 0 and gateway.denied == []


def test_secret_and_secret_file_together_are_refused(gateway, new_client, use_client, monkeypatch, tmp_path):
    client = new_client()
    use_client(client, MLFLOW_OAUTH2_CLIENT_SECRET_FILE=str(tmp_path / "s"))
    err = _error(gateway.url)
    assert "MLFLOW_OAUTH2_CLIENT_SECRET_FILE" in err.message and client.client_secret not in err.message


def test_unreadable_secret_file_is_named(gateway, new_client, use_client, monkeypatch, tmp_path):
    client = new_client()
    use_client(client, MLFLOW_OAUTH2_CLIENT_SECRET_FILE=str(tmp_path / "missing"))
    monkeypatch.delenv("MLFLOW_OAUTH2_CLIENT_SECRET")
    err = _error(gateway.url)
    assert "MLFLOW_OAUTH2_CLIENT_SECRET_FILE" in err.message and "missing" in err.message


@pytest.mark.parametrize("bad", ["ftp://x/token", "not a url"])
def test_token_url_must_be_http(bad, gateway, new_client, use_client):
    use_client(new_client(), MLFLOW_OAUTH2_TOKEN_URL=bad)
    err = _error(gateway.url)
    assert err.error_code == "INVALID_PARAMETER_VALUE" and "MLFLOW_OAUTH2_TOKEN_URL" in err.message


def test_bad_client_auth_choice_is_named(gateway, new_client, use_client):
    use_client(new_client(), MLFLOW_OAUTH2_CLIENT_AUTH="jwt")
    err = _error(gateway.url)
    assert "MLFLOW_OAUTH2_CLIENT_AUTH" in err.message and "basic, post" in err.message


def test_unreachable_token_endpoint_names_the_url_setting(gateway, new_client, use_client):
    use_client(new_client(), MLFLOW_OAUTH2_TOKEN_URL=f"http://127.0.0.1:{_free_port()}/token",
               MLFLOW_OAUTH2_TIMEOUT="2")
    err = _error(gateway.url)
    assert "MLFLOW_OAUTH2_TOKEN_URL" in err.message and "unreachable" in err.message


def test_non_json_answer_names_the_url_setting(gateway, mlflow_url, new_client, use_client):
    use_client(new_client(), MLFLOW_OAUTH2_TOKEN_URL=f"{mlflow_url}/health")  # a real server answering "OK"
    err = _error(gateway.url)
    assert "MLFLOW_OAUTH2_TOKEN_URL" in err.message and "non-JSON" in err.message


def test_json_without_access_token_names_the_url_setting(gateway, oauth2, new_client, use_client):
    use_client(new_client(), MLFLOW_OAUTH2_TOKEN_URL=oauth2["MLFLOW_TESTENV_OAUTH2_INTROSPECTION_URL"])
    err = _error(gateway.url)
    assert "MLFLOW_OAUTH2_TOKEN_URL" in err.message and "access_token" in err.message


def test_wrong_secret_is_unauthenticated_and_not_echoed(gateway, new_client, use_client, caplog):
    client = new_client()
    wrong = "wrong-secret-value-123456"
    use_client(client, MLFLOW_OAUTH2_CLIENT_SECRET=wrong)
    with caplog.at_level(logging.DEBUG):
        err = _error(gateway.url)
    assert err.error_code == "UNAUTHENTICATED"
    assert "MLFLOW_OAUTH2_CLIENT_SECRET" in err.message
    assert wrong not in err.message and wrong not in caplog.text and wrong not in repr(err)


def test_no_token_or_secret_in_repr_or_debug_logs(gateway, jwt_check, new_client, use_client, caplog):
    client = new_client()
    use_client(client)
    with caplog.at_level(logging.DEBUG):
        MlflowClient(tracking_uri=gateway.url).search_experiments(max_results=1)
        provider = Oauth2AuthProvider()
        auth = provider.get_auth()
        shown = " ".join(repr(x) for x in (provider, auth, auth._source, auth.__dict__))
    token = jwt_check.last_token
    assert token and client.client_secret
    for secret in (token, client.client_secret):
        assert secret not in shown
        assert secret not in caplog.text


def _faults(oauth2, client, status: int, count: int, body: str = "") -> None:
    import requests

    r = requests.post(f"{oauth2['MLFLOW_TESTENV_OAUTH2_ADMIN_URL']}/faults", timeout=10,
                      json={"client_id": client.client_id, "status": status, "count": count, "body": body},
                      headers={"Authorization": f"Bearer {oauth2['MLFLOW_TESTENV_OAUTH2_ADMIN_TOKEN']}"})
    assert r.status_code == 204


def test_transient_token_endpoint_errors_are_retried(gateway, oauth2, new_client, use_client):
    client = new_client()
    use_client(client)
    _faults(oauth2, client, 503, 2)
    MlflowClient(tracking_uri=gateway.url).search_experiments(max_results=1)
    assert client.token_requests() == 3 and gateway.passed == 1


def test_token_endpoint_down_names_the_url_setting(gateway, oauth2, new_client, use_client):
    client = new_client()
    use_client(client)
    _faults(oauth2, client, 502, 3)
    err = _error(gateway.url)
    assert err.error_code == "TEMPORARILY_UNAVAILABLE"
    assert err.message.startswith("MLFLOW_OAUTH2_TOKEN_URL: token endpoint") and "502" in err.message
    assert client.token_requests() == 3


def test_failed_renewal_keeps_the_still_valid_token(gateway, oauth2, jwt_check, new_client, use_client):
    import time

    from joserfc import jwt

    client = new_client(token_lifetime=10)  # renewal due 2 s before the token's exp
    use_client(client)
    mc = MlflowClient(tracking_uri=gateway.url)
    mc.search_experiments(max_results=1)
    first = jwt_check.last_token
    exp = jwt.decode(first, jwt_check.keys).claims["exp"]
    time.sleep(max(0.0, exp - 1.2 - time.time()))  # renewal is due, the token is still valid
    _faults(oauth2, client, 400, 1, "<html>maintenance</html>")  # not retried: fails at once
    mc.search_experiments(max_results=1)
    assert jwt_check.last_token == first and gateway.denied == []  # the old token was used, no error
    assert client.token_requests() == 2
