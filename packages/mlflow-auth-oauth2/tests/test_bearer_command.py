"""bearer-command: a real command fetches the token from the oauth2 service and prints it."""

from __future__ import annotations

import logging
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
         "MLFLOW_BEARER_TOKEN_COMMAND", "code 3; its stderr ends (redacted): denied"),
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


VAULT_TOKEN = "hvs.CAESIJq8Zr2Xw9vB3mN8pL4tR6yZ1aC5dE0fGkH7jQ2sU4wY"
JWT = ("eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJtbGZsb3ctY2kiLCJleHAiOjE3MDAwMDAwMDB9."
       "c2lnbmF0dXJlLXBhcnQtb2YtdGhlLXRva2Vu")


@pytest.mark.parametrize(
    "script, secrets, shown",
    [
        # the reproduction: a helper echoing the token it refused
        (f"echo Error: token {VAULT_TOKEN} expired >&2; exit 2", [VAULT_TOKEN, "CAESIJ"], ["code 2", "Error: token", "expired"]),
        ("echo Error: token hvs.CAESIJ... expired >&2; exit 2", ["CAESIJ"],
         ["code 2; its stderr ends (redacted): Error: token *** expired"]),  # the README's example
        # a token on stdout, then a failure: stdout never appears
        (f"echo {VAULT_TOKEN}; echo request failed >&2; exit 1", [VAULT_TOKEN], ["code 1", "request failed"]),
        (f"echo '{{\"access_token\": \"{VAULT_TOKEN}\"}}'; exit 4", [VAULT_TOKEN, "access_token"], ["code 4"]),
        # a JWT-looking value, and `Bearer x` with a short value, on stderr
        (f"echo refused {JWT} >&2; exit 3", [JWT, JWT.split(".")[1]], ["code 3", "refused"]),
        ("echo upstream answered 401 for Authorization: Bearer q7Zk >&2; exit 5", ["q7Zk"], ["code 5", "401", "Bearer ***"]),
        # stdout printed a JWT, stderr repeats part of it
        (f"echo {JWT}; echo header was Bearer {JWT.split('.')[2]} >&2; exit 6", [JWT.split(".")[2], JWT],
         ["code 6", "header was Bearer ***"]),
        # labelled values of any shape
        ("echo login failed: password: hunter secret=abc >&2; exit 7", ["hunter", "abc"], ["code 7", "login failed"]),
    ],
)
def test_command_output_never_reaches_the_message(script, secrets, shown, monkeypatch, gateway, caplog):
    monkeypatch.setenv("MLFLOW_TRACKING_AUTH", "bearer-command")
    monkeypatch.setenv("MLFLOW_BEARER_TOKEN_COMMAND", f"sh -c {shlex.quote(script)}")
    with caplog.at_level(logging.DEBUG), pytest.raises(MlflowException) as e:
        MlflowClient(tracking_uri=gateway.url).search_experiments(max_results=1)
    err = e.value
    assert err.error_code == "UNAUTHENTICATED"
    assert err.message.startswith("MLFLOW_BEARER_TOKEN_COMMAND: command 'sh' exited with code ")
    for text in shown:
        assert text in err.message, err.message
    for secret in secrets:
        assert secret not in err.message and secret not in repr(err) and secret not in caplog.text, err.message
    assert gateway.passed == 0


def test_a_long_stderr_is_cut_to_its_end(monkeypatch, gateway):
    script = f"i=0; while [ $i -lt 2000 ]; do echo noise line $i {VAULT_TOKEN} >&2; i=$((i+1)); done; " \
             "echo final: permission denied >&2; exit 9"
    monkeypatch.setenv("MLFLOW_TRACKING_AUTH", "bearer-command")
    monkeypatch.setenv("MLFLOW_BEARER_TOKEN_COMMAND", f"sh -c {shlex.quote(script)}")
    with pytest.raises(MlflowException) as e:
        MlflowClient(tracking_uri=gateway.url).search_experiments(max_results=1)
    message = e.value.message
    assert message.endswith("final: permission denied") and "code 9" in message
    assert VAULT_TOKEN not in message and "CAESIJ" not in message
    assert len(message) < 400
