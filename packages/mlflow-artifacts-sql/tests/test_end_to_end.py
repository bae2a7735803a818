"""Through MLflow itself: a real `mlflow server --artifacts-destination postgresql://...` with
`mlflow-artifacts:` clients, an experiment whose artifact_location is a SQLite file, and a real
scikit-learn model logged and loaded back."""

from __future__ import annotations

import uuid
from pathlib import Path

import mlflow
import numpy as np
import sqlalchemy as sa
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression


def _model():
    x, y = load_iris(return_X_y=True)
    return LogisticRegression(max_iter=300).fit(x, y), x


def _stored_paths(postgres_url: str, prefix: str) -> set[str]:
    engine = sa.create_engine(postgres_url)
    try:
        with engine.connect() as c:
            rows = c.exec_driver_sql(
                "SELECT path FROM mlflow_artifact_files WHERE path LIKE %(p)s", {"p": prefix + "%"}
            )
            return {r[0] for r in rows}
    finally:
        engine.dispose()


def test_proxied_artifacts_land_in_postgres(tracking, postgres_url, proxied_root, tmp_path):
    exp_id = tracking.create_experiment(f"proxied-{uuid.uuid4().hex[:8]}")
    assert tracking.get_experiment(exp_id).artifact_location.startswith("mlflow-artifacts:")
    src = tmp_path / "report"
    (src / "plots").mkdir(parents=True)
    (src / "summary.txt").write_text("accuracy 0.97")
    (src / "plots" / "curve.bin").write_bytes(bytes(range(256)) * 4000)
    model, x = _model()
    with mlflow.start_run(experiment_id=exp_id) as run:
        mlflow.log_artifacts(str(src), "report")
        info = mlflow.sklearn.log_model(model, name="model")
    listed = {f.path: f.file_size for f in tracking.list_artifacts(run.info.run_id, "report")}
    assert listed == {"report/plots": None, "report/summary.txt": 13}
    out = Path(tracking.download_artifacts(run.info.run_id, "report", str(tmp_path / "dl")))
    assert (out / "plots" / "curve.bin").read_bytes() == (src / "plots" / "curve.bin").read_bytes()

    stored = _stored_paths(postgres_url, f"{proxied_root}/{exp_id}/")
    assert f"{proxied_root}/{exp_id}/{run.info.run_id}/artifacts/report/summary.txt" in stored
    assert any(p.startswith(f"{proxied_root}/{exp_id}/models/") and p.endswith("/MLmodel") for p in stored), stored

    loaded = mlflow.sklearn.load_model(info.model_uri)
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))

    tracking.delete_experiment(exp_id)


def test_experiment_with_a_sqlite_artifact_location(tracking, tmp_path):
    db_file = tmp_path / "artifacts.db"
    exp_id = mlflow.create_experiment(f"sqlite-{uuid.uuid4().hex[:8]}", artifact_location=f"sqlite:///{db_file}")
    model, x = _model()
    note = tmp_path / "note.txt"
    note.write_text("stored in SQLite")
    with mlflow.start_run(experiment_id=exp_id) as run:
        mlflow.log_artifact(str(note), "notes")
        info = mlflow.sklearn.log_model(model, name="clf")
    assert db_file.exists()  # written directly by this client, not through the server
    assert [f.path for f in tracking.list_artifacts(run.info.run_id, "notes")] == ["notes/note.txt"]
    got = mlflow.artifacts.download_artifacts(run_id=run.info.run_id, artifact_path="notes/note.txt",
                                              dst_path=str(tmp_path / "dl"))
    assert Path(got).read_text() == "stored in SQLite"
    loaded = mlflow.pyfunc.load_model(info.model_uri)
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
