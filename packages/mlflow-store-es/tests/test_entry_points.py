"""The entry points load through MLflow's own registries (a failed import is only a warning there)."""

from mlflow_plugins_shared.testing import entry_points


def test_tracking_store_elasticsearch():
    assert entry_points.tracking_store_builder('elasticsearch').__name__ == 'EsTrackingStore'


def test_tracking_store_elasticsearch_https():
    assert entry_points.tracking_store_builder('elasticsearch+https').__name__ == 'EsTrackingStore'


def test_tracking_store_opensearch():
    assert entry_points.tracking_store_builder('opensearch').__name__ == 'EsTrackingStore'


def test_tracking_store_opensearch_https():
    assert entry_points.tracking_store_builder('opensearch+https').__name__ == 'EsTrackingStore'


def test_registry_store_elasticsearch():
    assert entry_points.registry_store_builder('elasticsearch').__name__ == 'EsRegistryStore'


def test_registry_store_elasticsearch_https():
    assert entry_points.registry_store_builder('elasticsearch+https').__name__ == 'EsRegistryStore'


def test_registry_store_opensearch():
    assert entry_points.registry_store_builder('opensearch').__name__ == 'EsRegistryStore'


def test_registry_store_opensearch_https():
    assert entry_points.registry_store_builder('opensearch+https').__name__ == 'EsRegistryStore'

