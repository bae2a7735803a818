"""MLflow run context: CI, git, container/Kubernetes and host tags on every new run."""

# MLflow's context registry loads this package's entry point while `mlflow` is being imported.
# Importing MLflow's registry first means a direct `import mlflow_context_ci.provider` (before
# `import mlflow`) is not a circular import that would make MLflow drop the provider.
import mlflow.tracking.context.registry  # noqa: F401

from mlflow_context_ci.version import __version__

__all__ = ["__version__"]
