"""Parallel ranged downloads (mlflow_artifacts_oss.ranged) against the OSS test server: CRC-64
checked against the object's, retries fetch only missing ranges, a replaced object starts over."""

from __future__ import annotations

import os

import oss2
import pytest
from mlflow.exceptions import MlflowException
from mlflow_artifacts_oss.ranged import RangedDownload
from mlflow_artifacts_oss.repository import OssArtifactRepository

PART = 100 * 1024


@pytest.fixture
def key(root_uri) -> str:
    return root_uri.split("/", 3)[3] + "/obj.bin"


def _download(raw_bucket, key, tmp_path, threads=3) -> tuple[RangedDownload, list[int]]:
    seen: list[int] = []
    return RangedDownload(raw_bucket, key, str(tmp_path / "out.part"), PART, threads, seen.append), seen


def test_ranges_are_written_in_place_and_progress_reaches_the_size(raw_bucket, key, tmp_path):
    data = os.urandom(5 * PART + 123)
    raw_bucket.put_object(key, data)
    d, seen = _download(raw_bucket, key, tmp_path)
    d.run()
    assert (tmp_path / "out.part").read_bytes() == data
    assert sorted(d.crcs) == [i * PART for i in range(6)]
    assert seen == sorted(seen) and seen[-1] == len(data)


def test_a_retry_fetches_only_the_missing_ranges(raw_bucket, inject_fault, key, tmp_path):
    data = os.urandom(6 * PART)
    raw_bucket.put_object(key, data)
    d, _ = _download(raw_bucket, key, tmp_path, threads=1)
    inject_fault(status=503, count=1, method="GET", key_contains=key)  # the first range fails
    with pytest.raises(oss2.exceptions.ServerError):
        d.run()
    done_before = set(d.crcs)
    assert 0 not in done_before
    inject_fault(drop=True, count=len(done_before), method="GET", key_contains="never-matches")
    d.run()
    assert (tmp_path / "out.part").read_bytes() == data
    assert done_before < set(d.crcs)


def test_an_object_replaced_between_attempts_is_fetched_again(raw_bucket, inject_fault, key, tmp_path):
    raw_bucket.put_object(key, os.urandom(4 * PART))
    d, _ = _download(raw_bucket, key, tmp_path, threads=1)
    inject_fault(status=503, count=1, method="GET", key_contains=key)
    with pytest.raises(oss2.exceptions.ServerError):
        d.run()
    new = os.urandom(3 * PART + 7)
    raw_bucket.put_object(key, new)
    d.run()
    assert (tmp_path / "out.part").read_bytes() == new


def test_crc_mismatch_is_detected_and_the_download_repeated(oss_settings, root_uri, raw_bucket, inject_fault,
                                                            tmp_path):
    oss_settings(DOWNLOAD_THRESHOLD="200KiB", PART_SIZE="100KiB", THREADS="4")
    repo = OssArtifactRepository(root_uri)
    data = os.urandom(700_000)
    key = repo.location.key("m.bin")
    raw_bucket.put_object(key, data)
    # the HEADs (size, then the one a ranged download checks against) report a wrong CRC-64 once:
    # detected, fetched again
    inject_fault(bad_crc=True, count=2, method="HEAD", key_contains=key)
    out = repo.download_artifacts("m.bin", str(tmp_path / "dl"))
    assert open(out, "rb").read() == data
    oss_settings(DOWNLOAD_THRESHOLD="200KiB", PART_SIZE="100KiB", RETRIES="1")
    repo = OssArtifactRepository(root_uri)
    inject_fault(bad_crc=True, count=2, method="HEAD", key_contains=key)
    with pytest.raises(MlflowException) as e:
        repo.download_artifacts("m.bin", str(tmp_path / "dl2"))
    assert e.value.error_code == "TEMPORARILY_UNAVAILABLE" and "CRC-64 check failed" in e.value.message
    assert not [p for p in (tmp_path / "dl2").rglob("*") if p.is_file()], "no partial file left behind"
