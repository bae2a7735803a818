"""MLflow request headers from the environment: static, audit, request id and trace context."""

from mlflow_headers_env.version import __version__

__all__ = ["__version__"]
