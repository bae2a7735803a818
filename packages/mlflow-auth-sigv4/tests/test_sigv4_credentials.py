"""Credential chain and STS assume-role against moto with IAM authentication turned on."""

from __future__ import annotations

import json
import os
import time

import boto3
import pytest
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from mlflow_testenv import start_service
from mlflow_testenv.oauth2_server.gateway import Gateway


@pytest.fixture
def assume_role(monkeypatch, iam, use_keys):
    def use(key_id: str, secret: str, **extra: str) -> None:
        use_keys(key_id, secret, **{"MLFLOW_SIGV4_ROLE_ARN": iam.role_arn, "AWS_ENDPOINT_URL_STS": iam.url, **extra})

    return use


def test_assumed_role_credentials_sign_the_requests(verifier, check, iam, assume_role):
    assume_role(iam.key_id, iam.secret)
    mc = MlflowClient(tracking_uri=verifier.url)
    for _ in range(3):
        mc.search_experiments(max_results=1)
    assert verifier.denied == [] and verifier.passed == 3
    assert len(set(check.key_ids)) == 1
    assert check.key_ids[0].startswith("ASIA")  # moto's STS session, not the user's key


def test_assumed_role_is_renewed_before_it_expires(verifier, check, iam, assume_role):
    # 900 s sessions renewed 898 s before expiry: due after ~2 s
    assume_role(iam.key_id, iam.secret, MLFLOW_SIGV4_ROLE_DURATION="900", MLFLOW_SIGV4_REFRESH_MARGIN="898")
    mc = MlflowClient(tracking_uri=verifier.url)
    mc.search_experiments(max_results=1)
    mc.search_experiments(max_results=1)
    assert len(set(check.key_ids)) == 1
    time.sleep(2.5)
    mc.search_experiments(max_results=1)
    assert len(set(check.key_ids)) == 2 and verifier.denied == []


def test_wrong_base_secret_is_refused_by_sts(verifier, iam, assume_role):
    assume_role(iam.key_id, "wrong-secret-abcdefghijklmnop")
    with pytest.raises(MlflowException) as e:
        MlflowClient(tracking_uri=verifier.url).search_experiments(max_results=1)
    msg = e.value.message
    assert e.value.error_code == "UNAUTHENTICATED"
    assert "MLFLOW_SIGV4_ROLE_ARN" in msg and "SignatureDoesNotMatch" in msg
    assert "wrong-secret-abcdefghijklmnop" not in msg
    assert verifier.passed == 0 and verifier.denied == []


def test_user_without_permission_cannot_assume(verifier, iam, assume_role):
    assume_role(iam.denied_key_id, iam.denied_secret)
    with pytest.raises(MlflowException) as e:
        MlflowClient(tracking_uri=verifier.url).search_experiments(max_results=1)
    assert e.value.error_code == "PERMISSION_DENIED"
    assert "MLFLOW_SIGV4_ROLE_ARN" in e.value.message and iam.role_arn in e.value.message


def test_missing_credentials_name_the_chain(verifier, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_AUTH", "sigv4")
    monkeypatch.setenv("MLFLOW_SIGV4_REGION", "eu-west-1")
    with pytest.raises(MlflowException) as e:
        MlflowClient(tracking_uri=verifier.url).search_experiments(max_results=1)
    assert e.value.error_code == "UNAUTHENTICATED"
    assert "AWS_ACCESS_KEY_ID" in e.value.message and "MLFLOW_SIGV4_PROFILE" in e.value.message
    assert verifier.passed == 0 and verifier.denied == []


def test_missing_region_is_named(verifier, iam, use_keys, monkeypatch):
    use_keys(iam.key_id, iam.secret)
    monkeypatch.delenv("MLFLOW_SIGV4_REGION")
    with pytest.raises(MlflowException) as e:
        MlflowClient(tracking_uri=verifier.url).search_experiments(max_results=1)
    assert e.value.error_code == "INVALID_PARAMETER_VALUE" and "MLFLOW_SIGV4_REGION" in e.value.message


def test_unknown_profile_is_named(verifier, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_AUTH", "sigv4")
    monkeypatch.setenv("MLFLOW_SIGV4_PROFILE", "no-such-profile")
    with pytest.raises(MlflowException) as e:
        MlflowClient(tracking_uri=verifier.url).search_experiments(max_results=1)
    assert "MLFLOW_SIGV4_PROFILE" in e.value.message and "no-such-profile" in e.value.message


@pytest.mark.parametrize("value", ["10", "soon"])
def test_bad_role_duration_is_named(value, verifier, iam, assume_role):
    assume_role(iam.key_id, iam.secret, MLFLOW_SIGV4_ROLE_DURATION=value)
    with pytest.raises(MlflowException) as e:
        MlflowClient(tracking_uri=verifier.url).search_experiments(max_results=1)
    assert e.value.message.startswith("MLFLOW_SIGV4_ROLE_DURATION: invalid value")


def test_unreachable_sts_is_named(verifier, iam, assume_role):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    assume_role(iam.key_id, iam.secret, AWS_ENDPOINT_URL_STS=f"http://127.0.0.1:{port}", AWS_MAX_ATTEMPTS="1")
    with pytest.raises(MlflowException) as e:
        MlflowClient(tracking_uri=verifier.url).search_experiments(max_results=1)
    assert "MLFLOW_SIGV4_ROLE_ARN" in e.value.message and "AWS_ENDPOINT_URL_STS" in e.value.message


def test_web_identity_from_the_standard_chain(mlflow_url, make_check, trust_policy, monkeypatch, tmp_path):
    """botocore sends AssumeRoleWithWebIdentity unsigned, which moto refuses (HTTP 500) once its IAM
    auth is on, so this test uses a second, private moto server without IAM auth."""
    srv = start_service("s3", parent_pid=os.getpid(), record=False)
    try:
        url = srv.exports["MLFLOW_TESTENV_S3_URL"]
        iam_client = boto3.client("iam", endpoint_url=url, region_name="us-east-1", aws_access_key_id="setup",
                                  aws_secret_access_key="setup")  # noqa: S106 - moto without auth
        role = iam_client.create_role(RoleName="web", AssumeRolePolicyDocument=json.dumps(trust_policy))["Role"]["Arn"]
        token = tmp_path / "web-identity-token"
        token.write_text("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJtbGZsb3cifQ.c2ln")
        monkeypatch.setenv("MLFLOW_TRACKING_AUTH", "sigv4")
        monkeypatch.setenv("MLFLOW_SIGV4_REGION", "eu-west-1")
        monkeypatch.setenv("AWS_WEB_IDENTITY_TOKEN_FILE", str(token))
        monkeypatch.setenv("AWS_ROLE_ARN", role)
        monkeypatch.setenv("AWS_ENDPOINT_URL_STS", url)
        check = make_check(url, "eu-west-1")
        gw = Gateway(mlflow_url, check).start()
        try:
            MlflowClient(tracking_uri=gw.url).search_experiments(max_results=1)
        finally:
            gw.stop()
        assert gw.denied == [] and gw.passed == 1 and check.key_ids[0].startswith("ASIA")
    finally:
        srv.stop()


def test_chain_errors_surface_as_mlflow_errors(verifier, monkeypatch, tmp_path):
    monkeypatch.setenv("MLFLOW_TRACKING_AUTH", "sigv4")
    monkeypatch.setenv("MLFLOW_SIGV4_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_WEB_IDENTITY_TOKEN_FILE", str(tmp_path / "missing-token"))
    monkeypatch.setenv("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/x")
    with pytest.raises(MlflowException) as e:
        MlflowClient(tracking_uri=verifier.url).search_experiments(max_results=1)
    assert e.value.error_code == "UNAUTHENTICATED" and "AWS_WEB_IDENTITY_TOKEN_FILE" in e.value.message
    assert verifier.passed == 0
