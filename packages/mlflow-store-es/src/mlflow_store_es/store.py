"""Tracking and model-registry stores (skeleton: every method raises until implemented)."""

from mlflow.store.model_registry.abstract_store import AbstractStore as AbstractRegistryStore
from mlflow.store.tracking.abstract_store import AbstractStore

from mlflow_plugins_shared.strict import SERVER_CALLED_UNDECLARED, StrictMixin


class EsTrackingStore(StrictMixin, AbstractStore):
    strict_plugin_name = "mlflow-store-es"
    strict_extra_methods = SERVER_CALLED_UNDECLARED

    def __init__(self, store_uri: str, artifact_uri: str | None = None, **kwargs: object) -> None:
        super().__init__()
        self.store_uri = store_uri
        self.artifact_uri = artifact_uri


class EsRegistryStore(StrictMixin, AbstractRegistryStore):
    strict_plugin_name = "mlflow-store-es"

    def __init__(self, store_uri: str, tracking_uri: str | None = None, **kwargs: object) -> None:
        super().__init__(store_uri=store_uri, tracking_uri=tracking_uri)
