"""bearer-file: a token file rotated by something else (Kubernetes projected token, Vault agent sink)."""

from __future__ import annotations

import os

import pytest
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException


@pytest.fixture
def token_file(tmp_path, monkeypatch):
    path = tmp_path / "token"
    monkeypatch.setenv("MLFLOW_TRACKING_AUTH", "bearer-file")
    monkeypatch.setenv("MLFLOW_BEARER_TOKEN_FILE", str(path))
    return path


def _swap(path, token: str) -> None:
    """Atomic replace, the way Kubernetes and Vault agent rotate their files."""
    tmp = path.with_suffix(".new")
    tmp.write_text(token + "\n")
    os.replace(tmp, path)


def test_token_from_file_and_rotation_is_picked_up(token_file, gateway, jwt_check, new_client):
    a, b = new_client(), new_client()
    _swap(token_file, a.fetch_token())
    mc = MlflowClient(tracking_uri=gateway.url)
    mc.search_experiments(max_results=1)
    assert jwt_check.seen_subjects == [a.client_id]
    _swap(token_file, b.fetch_token())
    mc.search_experiments(max_results=1)
    assert jwt_check.seen_subjects == [a.client_id, b.client_id]
    assert gateway.denied == []


def test_401_rereads_the_file_once_and_does_not_loop(token_file, gateway, jwt_check, new_client):
    a = new_client()
    token = a.fetch_token()
    token_file.write_text(token)
    mc = MlflowClient(tracking_uri=gateway.url)
    mc.search_experiments(max_results=1)
    jwt_check.revoke(token)
    with pytest.raises(MlflowException):
        mc.search_experiments(max_results=1)
    assert len(gateway.denied) == 1  # same token in the file: no pointless retry


def test_missing_and_empty_files_name_the_setting(token_file, gateway):
    mc = MlflowClient(tracking_uri=gateway.url)
    with pytest.raises(MlflowException) as e:
        mc.search_experiments(max_results=1)
    assert e.value.error_code == "INVALID_PARAMETER_VALUE" and "MLFLOW_BEARER_TOKEN_FILE" in e.value.message
    token_file.write_text("  \n")
    with pytest.raises(MlflowException) as e:
        mc.search_experiments(max_results=1)
    assert "MLFLOW_BEARER_TOKEN_FILE" in e.value.message and "empty" in e.value.message
    token_file.write_text("two tokens\n")
    with pytest.raises(MlflowException) as e:
        mc.search_experiments(max_results=1)
    assert "more than one token" in e.value.message and "two tokens" not in e.value.message
    assert gateway.passed == 0


def test_unset_variable_is_named(monkeypatch, gateway):
    monkeypatch.setenv("MLFLOW_TRACKING_AUTH", "bearer-file")
    with pytest.raises(MlflowException) as e:
        MlflowClient(tracking_uri=gateway.url).search_experiments(max_results=1)
    assert e.value.message.startswith("MLFLOW_BEARER_TOKEN_FILE: is not set")
