"""bearer-command: a real command fetches the token from the oauth2 service and prints it."""

from __future__ import annotations

import shlex
import sys
import textwrap
import time

import pytest
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException


@pytest.fixture
def command(tmp_path, monkeypatch, oauth2):
    """Writes a token-printing script; returns (client) -> counter file path."""
    monkeypatch.setenv("MLFLOW_TRACKING_AUTH", "bearer-command")

    def make(client, output: str = "json", extra: str = "") -> object:
        counter = tmp_path / "runs"
        script = tmp_path / "get_token.py"
        script.write_text(textwrap.dedent(f"""
            import json, sys, requests
            open({str(counter)!r}, "a").write("x")
            r = requests.post({oauth2['MLFLOW_TESTENV_OAUTH2_TOKEN_URL']!r}, data={{"grant_type": "client_credentials"}},
                              auth=({client.client_id!r}, {client.client_secret!r}), timeout=10)
            tok = r.json()
            out = {output!r}
            if out == "json":
                print(json.dumps({{"access_token": tok["access_token"], "expires_in": tok["expires_in"]}}))
            elif out == "exec":
                import datetime
                when = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=600)).isoformat()
                print(json.dumps({{"kind": "ExecCredential", "status": {{"token": tok["access_token"],
                                                                          "expirationTimestamp": when}}}}))
            else:
                print(tok["access_token"])
            {extra}
        """))
        monkeypatch.setenv("MLFLOW_BEARER_TOKEN_COMMAND", f"{shlex.quote(sys.executable)} {shlex.quote(str(script))}")
        return counter

    return make


def _runs(counter) -> int:
    return len(counter.read_text()) if counter.exists() else 0


@pytest.mark.parametrize("output", ["json", "exec", "plain"])
def test_command_runs_once_for_many_requests(output, command, gateway, jwt_check, new_client):
    client = new_client()
    counter = command(client, output)
    mc = MlflowClient(tracking_uri=gateway.url)
    for _ in range(10):
        mc.search_experiments(max_results=1)
    assert gateway.passed == 10 and set(jwt_check.seen_subjects) == {client.client_id}
    assert _runs(counter) == 1


def test_jwt_exp_wins_over_the_ttl(command, gateway, new_client, monkeypatch):
    counter = command(new_client(), "plain")  # a bare JWT: its exp (1 h) is the stated expiry
    monkeypatch.setenv("MLFLOW_BEARER_TOKEN_COMMAND_TTL", "1")
    mc = MlflowClient(tracking_uri=gateway.url)
    mc.search_experiments(max_results=1)
    time.sleep(1.1)
    mc.search_experiments(max_results=1)
    assert _runs(counter) == 1 and gateway.denied == []


def test_ttl_bounds_the_cache_of_an_opaque_token(monkeypatch, tmp_path):
    from mlflow_auth_oauth2.provider import BearerCommandAuthProvider

    counter = tmp_path / "n"
    script = tmp_path / "opaque.py"
    script.write_text(f"open({str(counter)!r}, 'a').write('x'); print('opaque-token-value')")
    monkeypatch.setenv("MLFLOW_BEARER_TOKEN_COMMAND", f"{shlex.quote(sys.executable)} {shlex.quote(str(script))}")
    monkeypatch.setenv("MLFLOW_BEARER_TOKEN_COMMAND_TTL", "1")
    provider = BearerCommandAuthProvider()
    for _ in range(5):
        provider.get_auth()
    assert _runs(counter) == 1
    time.sleep(1.1)
    provider.get_auth()
    assert _runs(counter) == 2


def test_ttl_zero_runs_the_command_for_every_request(command, gateway, new_client, monkeypatch, tmp_path):
    monkeypatch.setenv("MLFLOW_BEARER_TOKEN_COMMAND_TTL", "0")
    counter = tmp_path / "n"
    script = tmp_path / "opaque.py"
    tok = new_client().fetch_token()
    script.write_text(f"open({str(counter)!r}, 'a').write('x'); print('opaque-' + {tok[-8:]!r})")
    monkeypatch.setenv("MLFLOW_TRACKING_AUTH", "bearer-command")
    monkeypatch.setenv("MLFLOW_BEARER_TOKEN_COMMAND", f"{shlex.quote(sys.executable)} {shlex.quote(str(script))}")
    mc = MlflowClient(tracking_uri=gateway.url)
    for _ in range(3):
        with pytest.raises(MlflowException):  # opaque tokens are refused by the JWT gateway
            mc.search_experiments(max_results=1)
    assert _runs(counter) >= 3


@pytest.mark.parametrize(
    "cmd, timeout, setting, words",
    [
        ("definitely-not-a-command-xyz", "5", "MLFLOW_BEARER_TOKEN_COMMAND", "not found"),
        (f"{sys.executable} -c 'import time; time.sleep(10)'", "0.5", "MLFLOW_BEARER_TOKEN_COMMAND_TIMEOUT", "0.5s"),
        (f"{sys.executable} -c 'import sys; sys.stderr.write(\"denied\"); sys.exit(3)'", "5",
         "MLFLOW_BEARER_TOKEN_COMMAND", "code 3: denied"),
        (f"{sys.executable} -c 'print()'", "5", "MLFLOW_BEARER_TOKEN_COMMAND", "printed nothing"),
        (f"{sys.executable} -c 'print(\"{{not json\")'", "5", "MLFLOW_BEARER_TOKEN_COMMAND", "invalid JSON"),
        ("'unbalanced", "5", "MLFLOW_BEARER_TOKEN_COMMAND", "cannot split"),
    ],
)
def test_command_failures_name_the_setting(cmd, timeout, setting, words, monkeypatch, gateway):
    monkeypatch.setenv("MLFLOW_TRACKING_AUTH", "bearer-command")
    monkeypatch.setenv("MLFLOW_BEARER_TOKEN_COMMAND", cmd)
    monkeypatch.setenv("MLFLOW_BEARER_TOKEN_COMMAND_TIMEOUT", timeout)
    with pytest.raises(MlflowException) as e:
        MlflowClient(tracking_uri=gateway.url).search_experiments(max_results=1)
    assert setting in e.value.message and words in e.value.message
    assert gateway.passed == 0
