"""MLflow 3 tracking and model-registry store on Elasticsearch and OpenSearch."""

# Import MLflow first: importing it registers plugin entry points (ours included), and doing
# that while mlflow_plugins_shared is half-imported would be a circular import.
import mlflow  # noqa: F401

from mlflow_store_es.version import __version__

__all__ = ["__version__"]
