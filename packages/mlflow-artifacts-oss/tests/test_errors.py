"""Bad input gets a clear MlflowException with the right code, naming the problem, never a secret."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from mlflow.exceptions import MlflowException
from mlflow_artifacts_oss.repository import OssArtifactRepository


def _secret_free(e: pytest.ExceptionInfo, *secrets: str) -> str:
    text = str(e.value) + repr(e.value) + (e.value.message or "")
    for s in secrets:
        assert s not in text
    return e.value.message


@pytest.mark.parametrize("uri", ["oss://Bad_Bucket/x", "oss://ab/x", "oss://-abc/x", "oss://abc-/x",
                                 "oss://" + "a" * 64 + "/x", "oss:///no-bucket", "oss://bu.cket/x"])
def test_bad_bucket_names(oss_settings, uri):
    with pytest.raises(MlflowException) as e:
        OssArtifactRepository(uri)
    assert e.value.error_code == "INVALID_PARAMETER_VALUE"
    assert "bucket name" in e.value.message


def test_wrong_scheme_and_credentials_in_uri(oss_settings):
    with pytest.raises(MlflowException) as e:
        OssArtifactRepository("s3://bucket/x")
    assert "scheme" in e.value.message
    with pytest.raises(MlflowException) as e:
        OssArtifactRepository("oss://id:topsecret@bucket/x")
    _secret_free(e, "topsecret")
    assert "MLFLOW_OSS_KEY_ID" in e.value.message


@pytest.mark.parametrize("bad", ["../escape", "a/../../b", "/abs", "a\x00b"])
def test_dotdot_paths_everywhere(oss_settings, root_uri, tmp_path, bad):
    repo = OssArtifactRepository(root_uri)
    f = tmp_path / "f.txt"
    f.write_text("x")
    calls = [lambda: repo.log_artifact(str(f), bad), lambda: repo.log_artifacts(str(tmp_path), bad),
             lambda: repo.list_artifacts(bad), lambda: repo.delete_artifacts(bad),
             lambda: repo.download_artifacts(bad, str(tmp_path / "dl")),
             lambda: repo.get_download_presigned_url(bad)]
    for call in calls:
        with pytest.raises(MlflowException) as e:
            call()
        assert e.value.error_code == "INVALID_PARAMETER_VALUE", e.value.message
    with pytest.raises(MlflowException):
        OssArtifactRepository(root_uri + "/../other")


def test_missing_credentials_name_the_variables(oss_settings, root_uri):
    oss_settings(KEY_ID=None, KEY_SECRET=None)
    with pytest.raises(MlflowException) as e:
        OssArtifactRepository(root_uri)
    assert e.value.error_code == "INVALID_PARAMETER_VALUE"
    assert "MLFLOW_OSS_KEY_ID" in e.value.message and "MLFLOW_OSS_KEY_SECRET" in e.value.message
    oss_settings(KEY_SECRET=None)
    with pytest.raises(MlflowException) as e:
        OssArtifactRepository(root_uri)
    assert "MLFLOW_OSS_KEY_SECRET" in e.value.message


def test_missing_or_bad_endpoint(oss_settings, root_uri):
    oss_settings(ENDPOINT_URL=None)
    with pytest.raises(MlflowException) as e:
        OssArtifactRepository(root_uri)
    assert "MLFLOW_OSS_ENDPOINT_URL" in e.value.message
    oss_settings(ENDPOINT_URL="http://user:pw-secret@host")
    with pytest.raises(MlflowException) as e:
        OssArtifactRepository(root_uri)
    _secret_free(e, "pw-secret")
    oss_settings(ENDPOINT_URL="ftp://host")
    with pytest.raises(MlflowException) as e:
        OssArtifactRepository(root_uri)
    assert "MLFLOW_OSS_ENDPOINT_URL" in e.value.message


@pytest.mark.parametrize("name,value", [("PART_SIZE", "12"), ("PART_SIZE", "lots"), ("THREADS", "0"),
                                        ("SIGNATURE_VERSION", "v2"), ("RETRIES", "x")])
def test_bad_settings_name_the_variable(oss_settings, root_uri, name, value):
    oss_settings(**{name: value})
    with pytest.raises(MlflowException) as e:
        OssArtifactRepository(root_uri)
    assert f"MLFLOW_OSS_{name}" in e.value.message and e.value.error_code == "INVALID_PARAMETER_VALUE"


def test_v4_needs_a_region(oss_settings, root_uri):
    oss_settings(SIGNATURE_VERSION="v4")
    with pytest.raises(MlflowException) as e:
        OssArtifactRepository(root_uri)
    assert "MLFLOW_OSS_REGION" in e.value.message


@pytest.mark.parametrize("version", ["v1", "v4"])
def test_wrong_secret_is_unauthenticated_without_the_secret(oss_settings, root_uri, tmp_path, version):
    wrong = "wrong-secret-value-123"
    oss_settings(KEY_SECRET=wrong, SIGNATURE_VERSION=version, REGION="cn-hangzhou")
    repo = OssArtifactRepository(root_uri)
    f = tmp_path / "f.txt"
    f.write_text("x")
    for call in (lambda: repo.log_artifact(str(f)), lambda: repo.list_artifacts(),
                 lambda: repo.download_artifacts("f.txt", str(tmp_path / "dl"))):
        with pytest.raises(MlflowException) as e:
            call()
        message = _secret_free(e, wrong)
        assert e.value.error_code in ("UNAUTHENTICATED",), message
        assert "SignatureDoesNotMatch" in message and "MLFLOW_OSS_KEY_SECRET" in message
    assert wrong not in repr(repo)


def test_wrong_region_names_the_setting(oss_settings, root_uri):
    oss_settings(REGION="us-west-1")
    with pytest.raises(MlflowException) as e:
        OssArtifactRepository(root_uri).list_artifacts()
    assert "MLFLOW_OSS_REGION" in e.value.message


def test_unreachable_endpoint_is_unavailable(oss_settings, root_uri, tmp_path, oss_env):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    oss_settings(ENDPOINT_URL=f"http://127.0.0.1:{port}", RETRIES="2", TIMEOUT="2")
    repo = OssArtifactRepository(root_uri)
    f = tmp_path / "f.txt"
    f.write_text("x")
    with pytest.raises(MlflowException) as e:
        repo.log_artifact(str(f))
    message = _secret_free(e, oss_env["MLFLOW_TESTENV_OSS_KEY_SECRET"])
    assert e.value.error_code == "TEMPORARILY_UNAVAILABLE"
    assert "could not reach" in message and "MLFLOW_OSS_ENDPOINT_URL" in message


def test_missing_bucket_and_missing_file(oss_settings, tmp_path):
    repo = OssArtifactRepository("oss://no-such-bucket-here/x")
    with pytest.raises(MlflowException) as e:
        repo.list_artifacts()
    assert e.value.error_code == "RESOURCE_DOES_NOT_EXIST" and "NoSuchBucket" in e.value.message
    with pytest.raises(MlflowException) as e:
        repo.log_artifact(str(tmp_path / "nope.txt"))
    assert e.value.error_code == "INVALID_PARAMETER_VALUE" and "nope.txt" in e.value.message


def test_unimplemented_methods_raise_not_implemented():
    from mlflow_artifacts_oss.repository import OssArtifactRepository as R

    # every MLflow stub is implemented (nothing silently returns None)
    assert R.strict_stubbed_methods() == []


def test_presigned_expiry_is_checked(oss_settings, root_uri, tmp_path):
    repo = OssArtifactRepository(root_uri)
    (tmp_path / "f").write_text("x")
    repo.log_artifact(str(tmp_path / "f"))
    for bad in (0, 8 * 24 * 3600):
        with pytest.raises(MlflowException) as e:
            repo.get_download_presigned_url("f", expiration=bad)
        assert "expiration" in e.value.message
    with pytest.raises(MlflowException) as e:
        repo.get_download_presigned_url("missing")
    assert e.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    assert Path(tmp_path / "f").exists()
