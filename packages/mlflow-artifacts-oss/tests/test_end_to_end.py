"""End to end: a real `mlflow server --artifacts-destination oss://...` (proxied artifacts, presigned
downloads and client multipart uploads straight to OSS), and a run whose experiment has a direct
`oss://` artifact_location, both logging and loading a real scikit-learn model."""

from __future__ import annotations

import os
import uuid

import mlflow
import numpy as np
import oss2
import requests
from mlflow import MlflowClient
from mlflow_artifacts_oss.mlflow_api import MultipartDownloadMixin, _Absent
from sklearn.linear_model import LogisticRegression


def _model() -> tuple[LogisticRegression, np.ndarray]:
    x = np.array([[0.0, 1.0], [1.0, 0.0], [0.2, 0.9], [0.9, 0.1]])
    return LogisticRegression().fit(x, [0, 1, 0, 1]), x


def _log_and_load(tmp_path) -> tuple[str, str]:
    model, x = _model()
    with mlflow.start_run() as run:
        (tmp_path / "notes.txt").write_text("hello oss")
        mlflow.log_artifact(str(tmp_path / "notes.txt"), "docs")
        info = mlflow.sklearn.log_model(model, name="model", pip_requirements=["scikit-learn"])
    loaded = mlflow.sklearn.load_model(info.model_uri)
    assert (loaded.predict(x) == model.predict(x)).all()
    pyfunc = mlflow.pyfunc.load_model(info.model_uri)
    assert list(pyfunc.predict(x)) == list(model.predict(x))
    out = mlflow.artifacts.download_artifacts(run_id=run.info.run_id, artifact_path="docs/notes.txt",
                                              dst_path=str(tmp_path / "dl"))
    assert open(out).read() == "hello oss"
    return run.info.run_id, run.info.artifact_uri


def test_proxied_server_stores_in_oss(tracking, proxied_prefix, raw_bucket, tmp_path):
    mlflow.set_experiment(f"proxied-{uuid.uuid4().hex[:8]}")
    run_id, artifact_uri = _log_and_load(tmp_path)
    assert artifact_uri.startswith("mlflow-artifacts:")
    keys = [o.key for o in oss2.ObjectIterator(raw_bucket, prefix=proxied_prefix + "/")]
    assert any(k.endswith(f"{run_id}/artifacts/docs/notes.txt") for k in keys)
    assert [f.path for f in MlflowClient().list_artifacts(run_id, "docs")] == ["docs/notes.txt"]


def test_server_hands_out_presigned_urls(tracking, tmp_path):
    mlflow.set_experiment(f"presigned-{uuid.uuid4().hex[:8]}")
    with mlflow.start_run() as run:
        (tmp_path / "p.txt").write_text("direct from oss")
        mlflow.log_artifact(str(tmp_path / "p.txt"))
    rel = run.info.artifact_uri.split("mlflow-artifacts:/", 1)[1].lstrip("/")
    r = requests.get(f"{tracking}/api/2.0/mlflow-artifacts/presigned/{rel}/p.txt", timeout=10)
    if MultipartDownloadMixin is _Absent:  # this MLflow has no presigned downloads
        assert r.status_code == 404
        return
    info = requests.get(f"{tracking}/api/2.0/mlflow/server-info", timeout=10)
    if info.ok:  # MLflow versions with capability advertisement
        assert info.json().get("multipart_downloads_enabled", True)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["file_size"] == len("direct from oss")
    assert requests.get(body["url"], timeout=10).text == "direct from oss"


def test_client_multipart_upload_through_presigned_part_urls(tracking, proxied_prefix, monkeypatch, raw_bucket, tmp_path):
    monkeypatch.setenv("MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD", "true")
    monkeypatch.setenv("MLFLOW_MULTIPART_UPLOAD_MINIMUM_FILE_SIZE", "200000")
    monkeypatch.setenv("MLFLOW_MULTIPART_UPLOAD_CHUNK_SIZE", "102400")
    mlflow.set_experiment(f"mpu-{uuid.uuid4().hex[:8]}")
    data = os.urandom(300_000)
    (tmp_path / "big.bin").write_bytes(data)
    with mlflow.start_run() as run:
        mlflow.log_artifact(str(tmp_path / "big.bin"))
    keys = [o for o in oss2.ObjectIterator(raw_bucket, prefix=proxied_prefix + "/") if o.key.endswith(f"{run.info.run_id}/artifacts/big.bin")]
    assert len(keys) == 1 and keys[0].type == "Multipart"
    out = mlflow.artifacts.download_artifacts(run_id=run.info.run_id, artifact_path="big.bin", dst_path=str(tmp_path / "dl"))
    assert open(out, "rb").read() == data


def test_direct_oss_artifact_location(tracking, bucket_name, raw_bucket, tmp_path):
    location = f"oss://{bucket_name}/direct/{uuid.uuid4().hex[:8]}"
    exp = MlflowClient().create_experiment(f"direct-{uuid.uuid4().hex[:8]}", artifact_location=location)
    mlflow.set_experiment(experiment_id=exp)
    run_id, artifact_uri = _log_and_load(tmp_path)
    assert artifact_uri == f"{location}/{run_id}/artifacts"
    prefix = location[len(f"oss://{bucket_name}/"):] + "/"
    keys = [o.key for o in oss2.ObjectIterator(raw_bucket, prefix=prefix)]
    assert any(k.endswith("/MLmodel") for k in keys), keys  # MLflow 3 keeps models under <location>/models/
    assert any(k.endswith(f"{run_id}/artifacts/docs/notes.txt") for k in keys)
