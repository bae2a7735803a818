"""MLflow run context: CI, git, container/Kubernetes and host tags on every new run."""

from mlflow_context_ci.version import __version__

__all__ = ["__version__"]
