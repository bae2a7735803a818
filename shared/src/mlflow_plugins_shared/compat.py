"""MLflow version gates, in one place (never scattered version checks)."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from packaging.version import Version


def _mlflow_version() -> Version:
    for dist in ("mlflow", "mlflow-skinny"):
        try:
            return Version(version(dist))
        except PackageNotFoundError:
            continue
    import mlflow

    return Version(mlflow.__version__)


MLFLOW_VERSION: Version = _mlflow_version()


def mlflow_at_least(v: str) -> bool:
    return MLFLOW_VERSION >= Version(v)


MLFLOW_3_PLUS = mlflow_at_least("3.0")
# Artifact repositories receive tracking_uri= from 3.1.4 and registry_uri= from 3.5.0.
ARTIFACT_REPO_TAKES_TRACKING_URI = mlflow_at_least("3.1.4")
ARTIFACT_REPO_TAKES_REGISTRY_URI = mlflow_at_least("3.5.0")
# The server runs uvicorn (ASGI) by default from 3.3.
SERVER_IS_ASGI = mlflow_at_least("3.3")
# FileStore refuses to start without MLFLOW_ALLOW_FILE_STORE=true from 3.13.
FILE_STORE_NEEDS_OPT_IN = mlflow_at_least("3.13")
