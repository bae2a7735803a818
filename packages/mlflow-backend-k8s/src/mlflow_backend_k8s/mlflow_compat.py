"""The private MLflow names this backend uses, in one place (``make lint`` refuses them anywhere else)."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def check_project(path: Path, entry_point: str, params: dict[str, Any]) -> None:
    """Load the MLproject at ``path`` and check ``params`` against ``entry_point``, as ``mlflow run`` does.

    MLflow raises ``ExecutionException`` with a readable message for a bad MLproject, an unknown entry
    point or a missing parameter; MLflow has no public API for this check.
    """
    from mlflow.projects import _project_spec

    project = _project_spec.load_project(str(path))
    project.get_entry_point(entry_point)._validate_parameters(params)
