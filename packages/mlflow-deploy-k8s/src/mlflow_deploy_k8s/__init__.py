"""MLflow deployment target for Kubernetes Deployments and Services."""

from mlflow_deploy_k8s.version import __version__

__all__ = ["__version__"]
