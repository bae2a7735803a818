"""Writes the artifacts to a temp dir, logs them under `fairness/` on the run, and returns
MLflow `EvaluationArtifact`s for the EvaluationResult."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from mlflow.models.evaluation.artifacts import CsvEvaluationArtifact, ImageEvaluationArtifact, JsonEvaluationArtifact
from mlflow.models.evaluation.base import EvaluationArtifact
from mlflow.tracking import MlflowClient

from mlflow_evaluator_fairness.artifacts.charts import group_bars, reliability_diagram
from mlflow_evaluator_fairness.artifacts.report import write_report
from mlflow_evaluator_fairness.artifacts.tables import write_tables
from mlflow_evaluator_fairness.compute import FairnessResult
from mlflow_evaluator_fairness.config import FairnessConfig

ARTIFACT_DIR = "fairness"


class HtmlEvaluationArtifact(EvaluationArtifact):
    """The HTML report; its content is the page as text."""

    def _load_content_from_file(self, local_artifact_path: str) -> str:
        self._content = Path(local_artifact_path).read_text(encoding="utf-8")
        return self._content

    def _save(self, output_artifact_path: str) -> None:
        Path(output_artifact_path).write_text(self._content, encoding="utf-8")


def log_artifacts(client: MlflowClient, run_id: str, result: FairnessResult, config: FairnessConfig) -> dict[str, EvaluationArtifact]:
    prefix = config.metric_prefix
    # with a metric_prefix the files go to fairness/<prefix>/ so two evaluations can share a run
    artifact_path = f"{ARTIFACT_DIR}/{prefix.strip('/_. ') or 'prefixed'}" if prefix else ARTIFACT_DIR
    base = client.get_run(run_id).info.artifact_uri.rstrip("/") + f"/{artifact_path}"
    out: dict[str, EvaluationArtifact] = {}
    name = f"{prefix}fairness"
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        csv_path, json_path, json_content = write_tables(result, config, prefix, d)
        charts: dict[str, Path | None] = {
            "group_bars": group_bars(result, d / "group_rates.png"),
            "reliability": reliability_diagram(result, config.calibration_bins, d / "reliability_diagram.png"),
        }
        report = write_report(result, config, prefix, charts, d / "report.html")
        files: list[tuple[str, Path | None, Any]] = [
            (f"{name}_group_metrics_csv", csv_path, CsvEvaluationArtifact),
            (f"{name}_group_metrics_json", json_path, JsonEvaluationArtifact),
            (f"{name}_group_rates", charts["group_bars"], ImageEvaluationArtifact),
            (f"{name}_reliability_diagram", charts["reliability"], ImageEvaluationArtifact),
            (f"{name}_report", report, HtmlEvaluationArtifact),
        ]
        for art_name, path, cls in files:
            if path is None:
                continue
            client.log_artifact(run_id, str(path), artifact_path=artifact_path)
            art = cls(uri=f"{base}/{path.name}")
            art._load(str(path))
            out[art_name] = art
    return out
