"""MLflow model-registry store on Elasticsearch/OpenSearch."""

from __future__ import annotations

from mlflow.store.model_registry.abstract_store import AbstractStore as AbstractRegistryStore

from mlflow_plugins_shared.strict import StrictMixin

from mlflow_store_es.connection import connect


class EsRegistryStore(StrictMixin, AbstractRegistryStore):
    strict_plugin_name = "mlflow-store-es"

    def __init__(self, store_uri: str, tracking_uri: str | None = None, **kwargs: object) -> None:
        super().__init__(store_uri=store_uri, tracking_uri=tracking_uri)
        self.cfg, self.client, self.ix = connect(store_uri)
