"""Helpers shared by every mlflow-plugins package. Imports no plugin package."""

from mlflow_plugins_shared.version import __version__

__all__ = ["__version__"]
