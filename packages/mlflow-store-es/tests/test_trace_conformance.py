"""Trace methods: same operations, same answers as MLflow's SqlAlchemyStore on SQLite (the shared kit)."""

import pytest

from mlflow_plugins_shared.testing.trace_store import TraceStoreConformance


class TestTraceConformance(TraceStoreConformance):
    @pytest.fixture
    def candidate_store(self, tracking_store):
        return tracking_store
