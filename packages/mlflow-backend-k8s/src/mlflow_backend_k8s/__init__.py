"""MLflow project backend that runs projects as Kubernetes Jobs in a prebuilt image."""

from mlflow_backend_k8s.version import __version__

__all__ = ["__version__"]
