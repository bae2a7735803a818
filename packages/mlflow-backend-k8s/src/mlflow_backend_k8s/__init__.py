"""MLflow project backend that runs projects as Kubernetes Jobs in a prebuilt image."""

# MLflow first: importing mlflow loads every installed plugin, and mlflow_plugins_shared.errors
# imports mlflow; importing shared before mlflow leaves shared half-initialized for the others.
import mlflow  # noqa: F401, I001

from mlflow_backend_k8s.version import __version__

__all__ = ["__version__"]
