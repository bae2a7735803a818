"""Helpers shared by every mlflow-plugins package. Imports no plugin package."""

# MLflow < 3.1 loads run-context and other plugins while `import mlflow` runs. Importing MLflow
# here, before any of our modules, lets a plugin be imported before MLflow without an import cycle
# (every plugin package's __init__ imports this package first).
import mlflow  # noqa: F401

from mlflow_plugins_shared.version import __version__

__all__ = ["__version__"]
