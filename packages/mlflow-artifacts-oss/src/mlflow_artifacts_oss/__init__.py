"""MLflow artifact repository for Aliyun OSS, with multipart and presigned URLs."""

# MLflow registers artifact plugins while it is imported; importing it first means that importing
# this package directly does not hand MLflow a half-initialised module ("circular import" warning).
import mlflow  # noqa: F401  isort: skip

from mlflow_artifacts_oss.version import __version__

__all__ = ["__version__"]
