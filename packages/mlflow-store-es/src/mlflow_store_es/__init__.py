"""MLflow 3 tracking and model-registry store on Elasticsearch and OpenSearch."""

from mlflow_store_es.version import __version__

__all__ = ["__version__"]
