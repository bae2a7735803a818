"""Multipart/parallel transfers with small thresholds, paged listing, batched deletes, retries of
transient faults, and interrupted multipart uploads (resumed, or aborted: never half-visible)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import oss2
import pytest
from mlflow.exceptions import MlflowException
from mlflow_artifacts_oss.repository import OssArtifactRepository

SMALL_PARTS = {"MULTIPART_THRESHOLD": "200KiB", "PART_SIZE": "100KiB", "DOWNLOAD_THRESHOLD": "200KiB", "THREADS": "4"}


def _file(path: Path, size: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(os.urandom(size))
    return path


def _sha(path: Path | str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _pending_uploads(raw_bucket: oss2.Bucket, prefix: str) -> list:
    return list(oss2.MultipartUploadIterator(raw_bucket, prefix=prefix))


def test_large_file_goes_multipart_and_downloads_in_ranges(oss_settings, root_uri, raw_bucket, tmp_path):
    oss_settings(**SMALL_PARTS)
    repo = OssArtifactRepository(root_uri)
    src = _file(tmp_path / "model.bin", 1_500_000)
    repo.log_artifact(str(src), "weights")
    key = repo.location.key("weights/model.bin")
    head = raw_bucket.head_object(key)
    assert head.object_type == "Multipart" and head.etag.endswith("-15")
    assert head.content_type == "application/octet-stream"
    out = repo.download_artifacts("weights/model.bin", str(tmp_path / "dl"))
    assert _sha(out) == _sha(src)
    assert not list((tmp_path / "dl" / "weights").glob("*.tmp*")), "no temp files left behind"
    assert _pending_uploads(raw_bucket, key) == []


def test_small_file_is_one_put(oss_settings, root_uri, raw_bucket, tmp_path):
    oss_settings(**SMALL_PARTS)
    repo = OssArtifactRepository(root_uri)
    repo.log_artifact(str(_file(tmp_path / "small.json", 1000)))
    assert raw_bucket.head_object(repo.location.key("small.json")).object_type == "Normal"


def test_listing_pages_and_deletes_batch_over_1000_objects(oss_settings, root_uri, tmp_path):
    oss_settings()
    src = tmp_path / "many"
    for i in range(1030):
        _file(src / "d" / f"f{i:04d}.txt", 3)
    _file(src / "top.txt", 1)
    repo = OssArtifactRepository(root_uri)
    repo.log_artifacts(str(src), "run")
    listed = repo.list_artifacts("run/d")
    assert len(listed) == 1030 and listed[0].path == "run/d/f0000.txt" and listed[-1].file_size == 3
    assert [(f.path, f.is_dir) for f in repo.list_artifacts("run")] == [("run/d", True), ("run/top.txt", False)]
    repo.delete_artifacts("run/d")
    assert repo.list_artifacts("run/d") == []
    assert [f.path for f in repo.list_artifacts("run")] == ["run/top.txt"]


def test_delete_of_a_file_leaves_siblings_with_the_same_prefix(oss_settings, root_uri, tmp_path):
    oss_settings()
    repo = OssArtifactRepository(root_uri)
    repo.log_artifact(str(_file(tmp_path / "a.txt", 1)))
    repo.log_artifact(str(_file(tmp_path / "a.txt2", 1)))
    repo.delete_artifacts("a.txt")
    assert [f.path for f in repo.list_artifacts()] == ["a.txt2"]


def test_transient_faults_are_retried(oss_settings, root_uri, inject_fault, tmp_path):
    oss_settings(**SMALL_PARTS)
    repo = OssArtifactRepository(root_uri)
    marker = root_uri.rsplit("/", 1)[-1]
    inject_fault(status=503, count=2, method="PUT", key_contains=marker)
    inject_fault(status=500, count=1, method="GET", key_contains=marker)
    inject_fault(drop=True, count=1, method="GET", key_contains=marker)
    src = _file(tmp_path / "flaky.bin", 700_000)
    repo.log_artifact(str(src))
    small = _file(tmp_path / "s.txt", 10)
    inject_fault(status=503, count=1, method="PUT", key_contains=marker)
    repo.log_artifact(str(small))
    assert _sha(repo.download_artifacts("flaky.bin", str(tmp_path / "dl"))) == _sha(src)
    assert _sha(repo.download_artifacts("s.txt", str(tmp_path / "dl"))) == _sha(small)


def test_interrupted_multipart_upload_resumes(oss_settings, root_uri, raw_bucket, inject_fault, tmp_path):
    oss_settings(**{**SMALL_PARTS, "RETRIES": "1", "THREADS": "1"})
    repo = OssArtifactRepository(root_uri)
    marker = root_uri.rsplit("/", 1)[-1]
    src = _file(tmp_path / "big.bin", 1_000_000)
    key = repo.location.key("big.bin")
    # the 4th PUT (a part upload) fails and no retry is allowed: the upload is interrupted
    inject_fault(status=503, count=3, method="PUT", key_contains="never-matches")
    inject_fault(status=503, count=1, method="PUT", key_contains=marker + "/big.bin")
    with pytest.raises(MlflowException) as e:
        repo.log_artifact(str(src))
    assert e.value.error_code == "TEMPORARILY_UNAVAILABLE"
    assert not raw_bucket.object_exists(key), "an interrupted upload must not be visible"
    pending = _pending_uploads(raw_bucket, key)
    assert len(pending) == 1
    done_before = len(raw_bucket.list_parts(key, pending[0].upload_id).parts)
    # logging the same file again continues the same upload (checkpoint), then completes it
    repo.log_artifact(str(src))
    assert _pending_uploads(raw_bucket, key) == []
    assert raw_bucket.head_object(key).etag.endswith("-10")
    assert done_before < 10
    assert _sha(repo.download_artifacts("big.bin", str(tmp_path / "dl"))) == _sha(src)


def test_failed_multipart_upload_is_aborted(oss_settings, root_uri, raw_bucket, inject_fault, tmp_path):
    oss_settings(**SMALL_PARTS)
    repo = OssArtifactRepository(root_uri)
    marker = root_uri.rsplit("/", 1)[-1]
    key = repo.location.key("denied.bin")
    # the upload is initiated, then a part upload is refused: not transient, so the upload is aborted
    inject_fault(status=403, code="AccessDenied", count=1, method="PUT", key_contains=marker + "/denied.bin")
    with pytest.raises(MlflowException) as e:
        repo.log_artifact(str(_file(tmp_path / "denied.bin", 600_000)))
    assert e.value.error_code == "PERMISSION_DENIED", e.value.message
    assert not raw_bucket.object_exists(key)
    assert _pending_uploads(raw_bucket, key) == []
    assert not any((tmp_path / "checkpoints").rglob("*--*")), "checkpoint dropped after abort"
    # refused before any part was sent (InitiateMultipartUpload): same clear error
    inject_fault(status=403, code="AccessDenied", count=1, method="POST", key_contains=marker + "/denied.bin")
    with pytest.raises(MlflowException) as e:
        repo.log_artifact(str(tmp_path / "denied.bin"))
    assert e.value.error_code == "PERMISSION_DENIED", e.value.message


def test_crc_mismatch_in_flight_is_sent_again(oss_settings, root_uri, raw_bucket, inject_fault, tmp_path):
    oss_settings(**SMALL_PARTS)
    repo = OssArtifactRepository(root_uri)
    marker = root_uri.rsplit("/", 1)[-1]
    src = _file(tmp_path / "big.bin", 900_000)
    # one part and then the single PUT are reported with a wrong CRC-64: both are detected and sent again
    inject_fault(bad_crc=True, count=1, method="PUT", key_contains=marker + "/big.bin")
    repo.log_artifact(str(src))
    small = _file(tmp_path / "small.txt", 100)
    inject_fault(bad_crc=True, count=1, method="PUT", key_contains=marker + "/small.txt")
    repo.log_artifact(str(small))
    assert raw_bucket.head_object(repo.location.key("big.bin")).etag.endswith("-9")
    assert _sha(repo.download_artifacts("big.bin", str(tmp_path / "dl"))) == _sha(src)
    assert _sha(repo.download_artifacts("small.txt", str(tmp_path / "dl"))) == _sha(small)


def test_crc_mismatch_that_persists_is_a_clear_error(oss_settings, root_uri, inject_fault, tmp_path):
    oss_settings(**{**SMALL_PARTS, "RETRIES": "1"})
    repo = OssArtifactRepository(root_uri)
    marker = root_uri.rsplit("/", 1)[-1]
    inject_fault(bad_crc=True, count=1, method="PUT", key_contains=marker + "/s.txt")
    with pytest.raises(MlflowException) as e:
        repo.log_artifact(str(_file(tmp_path / "s.txt", 10)))
    assert e.value.error_code == "TEMPORARILY_UNAVAILABLE"
    assert "CRC-64 check failed" in e.value.message and "Traceback" not in e.value.message
