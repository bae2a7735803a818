"""MLflow request auth: AWS Signature V4 signing through botocore."""

from mlflow_auth_sigv4.version import __version__

__all__ = ["__version__"]
