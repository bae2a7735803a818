"""Errors read whole and name the non-secret settings in use; only secrets are masked (the access
key secret, the STS security token). Entered the way a user does: `mlflow.log_artifact` into an
experiment whose artifact location is `oss://...`, against the real tracking server and OSS test server."""

from __future__ import annotations

import logging
import uuid

import mlflow
import pytest
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

PLANTED = "Planted-S3cret-Key-9f8e7d6c5b4a"


def _log_artifact_error(bucket_name: str, tmp_path, caplog: pytest.LogCaptureFixture) -> MlflowException:
    location = f"oss://{bucket_name}/messages/{uuid.uuid4().hex[:8]}"
    exp = MlflowClient().create_experiment(f"messages-{uuid.uuid4().hex[:8]}", artifact_location=location)
    (tmp_path / "notes.txt").write_text("hello")
    with caplog.at_level(logging.DEBUG), pytest.raises(MlflowException) as e:
        with mlflow.start_run(experiment_id=exp):
            mlflow.log_artifact(str(tmp_path / "notes.txt"))
    return e.value


def _no_planted_secret(err: MlflowException, caplog: pytest.LogCaptureFixture) -> None:
    for text in (err.message, str(err), repr(err), caplog.text):
        assert PLANTED not in text and PLANTED[-12:] not in text


def test_v4_without_a_region_reads_whole(tracking, oss_settings, oss_env, bucket_name, tmp_path, caplog) -> None:
    oss_settings(SIGNATURE_VERSION="v4", KEY_SECRET=PLANTED)
    err = _log_artifact_error(bucket_name, tmp_path, caplog)
    endpoint = oss_env["MLFLOW_TESTENV_OSS_ENDPOINT"].rstrip("/")
    assert err.error_code == "INVALID_PARAMETER_VALUE"
    assert err.message == (
        "MLFLOW_OSS_REGION: is required for signature V4 (MLFLOW_OSS_SIGNATURE_VERSION=v4). Set it to the region "
        f"of MLFLOW_OSS_ENDPOINT_URL={endpoint} (e.g. cn-hangzhou for oss-cn-hangzhou.aliyuncs.com), or set "
        "MLFLOW_OSS_SIGNATURE_VERSION=v1.")
    _no_planted_secret(err, caplog)


@pytest.mark.parametrize("version", ["v1", "v4"])
def test_wrong_secret_names_the_settings_in_use_and_never_the_secret(
    version, tracking, oss_settings, oss_env, bucket_name, tmp_path, caplog
) -> None:
    oss_settings(SIGNATURE_VERSION=version, REGION="cn-hangzhou", KEY_SECRET=PLANTED)
    err = _log_artifact_error(bucket_name, tmp_path, caplog)
    key_id = oss_env["MLFLOW_TESTENV_OSS_KEY_ID"]
    endpoint = oss_env["MLFLOW_TESTENV_OSS_ENDPOINT"].rstrip("/")
    assert err.error_code == "UNAUTHENTICATED"
    assert "OSS answered 403 SignatureDoesNotMatch: " in err.message
    assert err.message.endswith(
        ". Check MLFLOW_OSS_KEY_ID / MLFLOW_OSS_KEY_SECRET (and MLFLOW_OSS_SECURITY_TOKEN for STS keys). This client "
        f"uses MLFLOW_OSS_ENDPOINT_URL={endpoint}, MLFLOW_OSS_KEY_ID=****{key_id[-4:]}, "
        f"MLFLOW_OSS_SIGNATURE_VERSION={version}, MLFLOW_OSS_REGION=cn-hangzhou."), err.message
    _no_planted_secret(err, caplog)


def test_swapped_key_id_and_secret_show_neither(tracking, oss_settings, oss_env, bucket_name, tmp_path, caplog) -> None:
    # the secret pasted into MLFLOW_OSS_KEY_ID, the ID into MLFLOW_OSS_KEY_SECRET
    oss_settings(KEY_ID=PLANTED, KEY_SECRET=oss_env["MLFLOW_TESTENV_OSS_KEY_ID"], REGION="cn-hangzhou")
    err = _log_artifact_error(bucket_name, tmp_path, caplog)
    assert err.error_code == "UNAUTHENTICATED" and "InvalidAccessKeyId" in err.message
    assert f"MLFLOW_OSS_KEY_ID=****{PLANTED[-4:]}," in err.message
    assert oss_env["MLFLOW_TESTENV_OSS_KEY_ID"] not in err.message  # the value of MLFLOW_OSS_KEY_SECRET
    _no_planted_secret(err, caplog)


def test_sts_token_and_secret_masked_settings_named(tracking, oss_settings, oss_env, bucket_name, tmp_path,
                                                    caplog) -> None:
    oss_settings(SECURITY_TOKEN=PLANTED, KEY_SECRET=PLANTED[::-1], SIGNATURE_VERSION="v4", REGION="cn-hangzhou")
    err = _log_artifact_error(bucket_name, tmp_path, caplog)
    assert err.error_code == "UNAUTHENTICATED"
    assert "MLFLOW_OSS_SIGNATURE_VERSION=v4, MLFLOW_OSS_REGION=cn-hangzhou." in err.message
    _no_planted_secret(err, caplog)
    assert PLANTED[::-1] not in err.message and PLANTED[::-1] not in caplog.text
