"""Bad settings: a clear MlflowException naming the variable, never a secret, never a header injected."""

from __future__ import annotations

import logging

import pytest
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE, ErrorCode
from mlflow_headers_env.provider import EnvHeaderProvider

SECRET = "s3cr3t-value-42"


def _error(monkeypatch: pytest.MonkeyPatch, **env: str) -> MlflowException:
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    with pytest.raises(MlflowException) as info:
        EnvHeaderProvider().request_headers()
    err = info.value
    assert err.error_code == ErrorCode.Name(INVALID_PARAMETER_VALUE)
    assert SECRET not in str(err) and SECRET not in repr(err)
    return err


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (f"X-Key={SECRET}\r\nX-Evil: 1", "CR, LF"),
        (f'{{"X-Key": "{SECRET}\\nX-Evil: 1"}}', "CR, LF"),
        (f'{{"X-Key\\r\\nX-Evil": "{SECRET}"}}', "control character"),
        (f"X Key={SECRET}", "invalid header name 'X Key'"),
        (f"X-Key={SECRET},oops", "Name=value"),
        (f"={SECRET}", "Name=value"),
        (f'{{"X-Key": "{SECRET}", "x-key": "b"}}', "given twice"),
        (f'{{"X-Key": "{SECRET}"', "not valid JSON"),
        ('{"Host": "evil.example"}', "cannot be static"),
        ('{"X-Request-ID": "fixed"}', "cannot be static"),
        ('{"traceparent": "00-1-2-01"}', "cannot be static"),
        (f'{{"X-Key": "{SECRET}\u20ac"}}', "ISO-8859-1"),
    ],
)
def test_bad_mlflow_headers(monkeypatch: pytest.MonkeyPatch, value: str, expected: str) -> None:
    err = _error(monkeypatch, MLFLOW_HEADERS=value)
    assert str(err).startswith("MLFLOW_HEADERS: ")
    assert expected in str(err)


@pytest.mark.parametrize("name", ["Authorization", "proxy-authorization"])
def test_authorization_refused_unless_allowed(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    err = _error(monkeypatch, MLFLOW_HEADERS=f"{name}=Bearer {SECRET}")
    assert "MLFLOW_HEADERS_ALLOW_AUTHORIZATION" in str(err)
    monkeypatch.setenv("MLFLOW_HEADERS_ALLOW_AUTHORIZATION", "true")
    assert EnvHeaderProvider().request_headers()[name] == f"Bearer {SECRET}"


def test_bad_environment_and_switch_values(monkeypatch: pytest.MonkeyPatch) -> None:
    err = _error(monkeypatch, MLFLOW_ENVIRONMENT="prod\r\nX-Evil: 1")
    assert str(err).startswith("MLFLOW_ENVIRONMENT: ")
    monkeypatch.delenv("MLFLOW_ENVIRONMENT")
    err = _error(monkeypatch, MLFLOW_HEADERS_REQUEST_ID="sometimes")
    assert "MLFLOW_HEADERS_REQUEST_ID" in str(err) and "true/false" in str(err)


def test_repr_and_debug_log_hold_no_values(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("MLFLOW_HEADERS", f"X-Gateway-Key={SECRET}")
    provider = EnvHeaderProvider()
    with caplog.at_level(logging.DEBUG, logger="mlflow_headers_env"):
        assert provider.request_headers()["X-Gateway-Key"] == SECRET
    assert "X-Gateway-Key" in caplog.text and SECRET not in caplog.text
    assert SECRET not in repr(provider._current_config())


def test_bad_setting_is_reported_at_first_request_and_injects_nothing(
    monkeypatch: pytest.MonkeyPatch, client: MlflowClient, proxy, caplog: pytest.LogCaptureFixture, unique_name: str
) -> None:
    monkeypatch.setenv("MLFLOW_HEADERS", f"X-Team=ml\r\nX-Evil: {SECRET}")
    with caplog.at_level(logging.WARNING):
        client.create_experiment(unique_name)  # MLflow's registry turns provider errors into warnings
    assert "MLFLOW_HEADERS: header 'X-Team' has a CR, LF" in caplog.text
    assert SECRET not in caplog.text
    (r,) = proxy.api_requests()
    assert "x-evil" not in r.headers and "x-team" not in r.headers
    assert not any(SECRET in line for line in r.raw_header_lines)

    # Fixing the variable takes effect at the next request, no restart needed.
    monkeypatch.setenv("MLFLOW_HEADERS", "X-Team=ml")
    client.get_experiment_by_name(unique_name)
    assert proxy.api_requests()[-1].headers["x-team"] == "ml"
