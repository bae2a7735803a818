"""MLflow request headers from the environment: static, audit, request id and trace context."""

# MLflow's header registry loads this package's entry point while `mlflow` is being imported.
# Importing MLflow's registry first means a direct `import mlflow_headers_env.provider` (before
# `import mlflow`) is not a circular import that would make MLflow drop the provider.
import mlflow.tracking.request_header.registry  # noqa: F401

from mlflow_headers_env.version import __version__

__all__ = ["__version__"]
