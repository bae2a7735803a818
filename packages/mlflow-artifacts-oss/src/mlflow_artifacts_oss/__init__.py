"""MLflow artifact repository for Aliyun OSS, with multipart and presigned URLs."""

from mlflow_artifacts_oss.version import __version__

__all__ = ["__version__"]
