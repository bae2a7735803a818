"""Same operations, same answers as MLflow's SqlAlchemyStore on SQLite (the shared kit)."""

import pytest

from mlflow_plugins_shared.testing.tracking_store import TrackingStoreConformance


class TestConformance(TrackingStoreConformance):
    @pytest.fixture
    def candidate_store(self, tracking_store):
        return tracking_store
