"""Helpers shared by this package's tests (imported via sys.path set in conftest.py)."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
from mlflow.tracking import MlflowClient


class ServerRun:
    """What the tracking server holds for a run: its metrics and its fairness artifacts."""

    def __init__(self, client: MlflowClient, run_id: str) -> None:
        self.client, self.run_id = client, run_id
        self.metrics: dict[str, float] = client.get_run(run_id).data.metrics
        self._dir = Path(tempfile.mkdtemp(prefix="fairness-art-"))

    def artifact(self, path: str) -> Path:
        return Path(self.client.download_artifacts(self.run_id, path, str(self._dir)))

    def group_json(self) -> dict[str, Any]:
        return json.loads(self.artifact("fairness/group_metrics.json").read_text())

    def group(self, key: str, metric: str) -> float:
        return self.metrics[f"{key}/{metric}"]


def evaluate(**kwargs: Any):
    """mlflow.models.evaluate in a fresh run on the test server; returns (result, run_id)."""
    with mlflow.start_run() as run:
        result = mlflow.models.evaluate(**kwargs)
    return result, run.info.run_id


def assert_close(actual: float, expected: float, tol: float = 1e-9) -> None:
    if np.isnan(expected):
        assert np.isnan(actual), (actual, expected)
    else:
        assert abs(actual - expected) <= tol * max(1.0, abs(expected)), (actual, expected)
