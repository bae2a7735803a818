"""Credential sources: the old plugin's AccessKey variables, an STS token, the ECS RAM-role
provider (the test server plays the ECS metadata service), each with signature V1 and V4."""

from __future__ import annotations

import logging

import pytest
import requests
from mlflow.exceptions import MlflowException
from mlflow_artifacts_oss.repository import OssArtifactRepository


def _roundtrip(root_uri: str, tmp_path, presigned: bool = True) -> None:
    repo = OssArtifactRepository(root_uri)
    f = tmp_path / "cred.txt"
    f.write_text("credentials work")
    repo.log_artifact(str(f), "c")
    assert [x.path for x in repo.list_artifacts("c")] == ["c/cred.txt"]
    out = repo.download_artifacts("c/cred.txt", str(tmp_path / "dl"))
    assert open(out).read() == "credentials work"
    if presigned:
        url = repo.get_download_presigned_url("c/cred.txt").url
        assert requests.get(url, timeout=10).text == "credentials work"


@pytest.mark.parametrize("version", ["v1", "v4"])
def test_access_key(oss_settings, root_uri, tmp_path, version):
    oss_settings(SIGNATURE_VERSION=version, REGION="cn-hangzhou" if version == "v4" else None)
    _roundtrip(root_uri, tmp_path)


def test_region_alone_selects_v4(oss_settings, root_uri, tmp_path):
    oss_settings(REGION="cn-hangzhou")
    repo = OssArtifactRepository(root_uri)
    assert repo.config.signature_version == "v4"
    _roundtrip(root_uri, tmp_path)


@pytest.mark.parametrize("version", ["v1", "v4"])
def test_sts_token(oss_settings, oss_env, root_uri, tmp_path, version):
    cred = requests.post(oss_env["MLFLOW_TESTENV_OSS_ENDPOINT"] + "/_testenv/sts", timeout=10).json()
    oss_settings(KEY_ID=cred["AccessKeyId"], KEY_SECRET=cred["AccessKeySecret"],
                 SECURITY_TOKEN=cred["SecurityToken"], SIGNATURE_VERSION=version, REGION="cn-hangzhou")
    _roundtrip(root_uri, tmp_path)
    oss_settings(KEY_ID=cred["AccessKeyId"], KEY_SECRET=cred["AccessKeySecret"], SECURITY_TOKEN="forged-token")
    with pytest.raises(MlflowException) as e:
        OssArtifactRepository(root_uri).list_artifacts()
    assert e.value.error_code == "UNAUTHENTICATED" and "InvalidSecurityToken" in e.value.message
    assert "forged-token" not in e.value.message and cred["AccessKeySecret"] not in e.value.message


@pytest.mark.parametrize("version", ["v1", "v4"])
def test_ecs_ram_role(oss_settings, oss_env, root_uri, tmp_path, version):
    oss_settings(KEY_ID=None, KEY_SECRET=None, ECS_RAM_ROLE="mlflow-role",
                 ECS_METADATA_URL=oss_env["MLFLOW_TESTENV_OSS_ECS_METADATA_URL"],
                 SIGNATURE_VERSION=version, REGION="cn-hangzhou")
    _roundtrip(root_uri, tmp_path)


def test_unreachable_ecs_metadata_is_a_clear_error(oss_settings, root_uri):
    oss_settings(KEY_ID=None, KEY_SECRET=None, ECS_RAM_ROLE="role", ECS_METADATA_URL="http://127.0.0.1:9/meta/",
                 RETRIES="1")
    with pytest.raises(MlflowException) as e:
        OssArtifactRepository(root_uri).list_artifacts()
    assert "ECS" in e.value.message or "credentials" in e.value.message.lower()


def test_sdk_debug_logs_carry_no_secret(oss_settings, oss_env, root_uri, tmp_path, caplog):
    cred = requests.post(oss_env["MLFLOW_TESTENV_OSS_ENDPOINT"] + "/_testenv/sts", timeout=10).json()
    oss_settings(KEY_ID=cred["AccessKeyId"], KEY_SECRET=cred["AccessKeySecret"], SECURITY_TOKEN=cred["SecurityToken"],
                 REGION="cn-hangzhou")
    with caplog.at_level(logging.DEBUG):  # (a presigned URL carries the token by design: not fetched here)
        _roundtrip(root_uri, tmp_path, presigned=False)
    assert "x-oss-security-token" in caplog.text.lower()  # oss2 did log the request headers...
    assert cred["SecurityToken"] not in caplog.text  # ...without the token
    assert cred["AccessKeySecret"] not in caplog.text
