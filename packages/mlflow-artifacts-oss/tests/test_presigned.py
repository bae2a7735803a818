"""Presigned URLs: downloads (MultipartDownloadMixin), single PUT uploads (PresignedUploadMixin),
and multipart uploads whose parts go straight to OSS (MultipartUploadMixin), used with plain HTTP."""

from __future__ import annotations

import os

import oss2
import pytest
import requests
from mlflow.entities.multipart_upload import MultipartUploadPart
from mlflow.exceptions import MlflowException
from mlflow_artifacts_oss.repository import OssArtifactRepository


@pytest.fixture(params=["v1", "v4"])
def repo(request, oss_settings, root_uri):
    oss_settings(SIGNATURE_VERSION=request.param, REGION="cn-hangzhou")
    return OssArtifactRepository(root_uri)


def test_download_url(repo, tmp_path):
    data = os.urandom(300_000)
    (tmp_path / "w b.bin").write_bytes(data)
    repo.log_artifact(str(tmp_path / "w b.bin"), "model dir")
    presigned = repo.get_download_presigned_url("model dir/w b.bin", expiration=60)
    assert presigned.file_size == len(data) and presigned.headers == {}
    r = requests.get(presigned.url, timeout=10)
    assert r.status_code == 200 and r.content == data
    assert r.headers["Content-Disposition"] == "attachment; filename*=UTF-8''w%20b.bin"
    part = requests.get(presigned.url, headers={"Range": "bytes=100-199"}, timeout=10)
    assert part.status_code == 206 and part.content == data[100:200]


def test_presigned_put(repo, raw_bucket):
    resp = repo.create_presigned_upload_url("up/loaded.json", expiration=60)
    r = requests.put(resp.presigned_url, data=b'{"a": 1}', headers=resp.headers, timeout=10)
    assert r.status_code == 200, r.text
    assert raw_bucket.get_object(repo.location.key("up/loaded.json")).read() == b'{"a": 1}'
    assert [f.path for f in repo.list_artifacts("up")] == ["up/loaded.json"]


def test_client_side_multipart_through_presigned_part_urls(repo, raw_bucket, tmp_path):
    data = os.urandom(250_000)  # parts of 100 KiB: the OSS minimum for all but the last
    local = tmp_path / "parts.bin"
    local.write_bytes(data)
    created = repo.create_multipart_upload(str(local), num_parts=3, artifact_path="mpu")
    assert [c.part_number for c in created.credentials] == [1, 2, 3]
    chunks = [data[:102_400], data[102_400:204_800], data[204_800:]]
    parts = []
    for cred, chunk in zip(created.credentials, chunks, strict=True):
        r = requests.put(cred.url, data=chunk, headers=cred.headers, timeout=10)
        assert r.status_code == 200, r.text
        parts.append(MultipartUploadPart(cred.part_number, r.headers["ETag"]))
    key = repo.location.key("mpu/parts.bin")
    assert not raw_bucket.object_exists(key)
    repo.complete_multipart_upload(str(local), created.upload_id, parts, artifact_path="mpu")
    assert raw_bucket.get_object(key).read() == data


def test_aborted_client_side_multipart_leaves_nothing(repo, raw_bucket, tmp_path):
    local = tmp_path / "gone.bin"
    local.write_bytes(b"x")
    created = repo.create_multipart_upload(str(local), num_parts=1)
    requests.put(created.credentials[0].url, data=b"x", timeout=10)
    repo.abort_multipart_upload(str(local), created.upload_id)
    key = repo.location.key("gone.bin")
    assert list(oss2.MultipartUploadIterator(raw_bucket, prefix=key)) == []
    assert not raw_bucket.object_exists(key)
    with pytest.raises(MlflowException) as e:
        repo.complete_multipart_upload(str(local), created.upload_id, [MultipartUploadPart(1, "x")])
    assert e.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    with pytest.raises(MlflowException):
        repo.create_multipart_upload(str(local), num_parts=0)
