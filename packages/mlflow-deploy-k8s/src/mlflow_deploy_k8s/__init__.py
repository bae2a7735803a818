"""MLflow deployment target for Kubernetes Deployments and Services."""

# MLflow first: importing mlflow loads every installed plugin, and mlflow_plugins_shared.errors
# imports mlflow; importing shared before mlflow leaves shared half-initialized for the others.
import mlflow  # noqa: F401, I001

from mlflow_deploy_k8s.version import __version__

__all__ = ["__version__"]
