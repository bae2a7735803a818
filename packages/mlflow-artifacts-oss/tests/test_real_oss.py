"""Against real Alibaba Cloud OSS, when MLFLOW_ARTIFACTS_OSS_TEST_BUCKET and credentials are set
(MLFLOW_OSS_ENDPOINT_URL, MLFLOW_OSS_KEY_ID, MLFLOW_OSS_KEY_SECRET, optionally MLFLOW_OSS_REGION)."""

from __future__ import annotations

import os
import uuid

import pytest
import requests
from mlflow_artifacts_oss.repository import OssArtifactRepository

BUCKET = os.environ.get("MLFLOW_ARTIFACTS_OSS_TEST_BUCKET")
NEEDED = ("MLFLOW_OSS_ENDPOINT_URL", "MLFLOW_OSS_KEY_ID", "MLFLOW_OSS_KEY_SECRET")

pytestmark = [
    pytest.mark.external,
    pytest.mark.skipif(not BUCKET or not all(os.environ.get(v) for v in NEEDED),
                       reason="real OSS is an outside system: set MLFLOW_ARTIFACTS_OSS_TEST_BUCKET, "
                              "MLFLOW_OSS_ENDPOINT_URL, MLFLOW_OSS_KEY_ID and MLFLOW_OSS_KEY_SECRET to run"),
]


@pytest.fixture
def real_repo(monkeypatch, tmp_path):
    monkeypatch.setenv("MLFLOW_OSS_CHECKPOINT_DIR", str(tmp_path / "ckpt"))
    monkeypatch.setenv("MLFLOW_OSS_MULTIPART_THRESHOLD", "1MiB")
    monkeypatch.setenv("MLFLOW_OSS_DOWNLOAD_THRESHOLD", "1MiB")
    monkeypatch.setenv("MLFLOW_OSS_PART_SIZE", "256KiB")
    repo = OssArtifactRepository(f"oss://{BUCKET}/mlflow-artifacts-oss-tests/{uuid.uuid4().hex}")
    yield repo
    repo.delete_artifacts()


def test_roundtrip_multipart_presign_delete(real_repo, tmp_path):
    data = os.urandom(3 * 1024 * 1024 + 5)
    (tmp_path / "big.bin").write_bytes(data)
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "small.txt").write_text("small")
    real_repo.log_artifact(str(tmp_path / "big.bin"), "m")
    real_repo.log_artifacts(str(tmp_path / "d"), "m/d")
    assert [(f.path, f.is_dir) for f in real_repo.list_artifacts("m")] == [("m/big.bin", False), ("m/d", True)]
    out = real_repo.download_artifacts("m", str(tmp_path / "dl"))
    assert open(os.path.join(out, "big.bin"), "rb").read() == data
    url = real_repo.get_download_presigned_url("m/d/small.txt").url
    assert requests.get(url, timeout=30).text == "small"
    real_repo.delete_artifacts("m")
    assert real_repo.list_artifacts("m") == []
