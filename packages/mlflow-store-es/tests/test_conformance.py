"""Same operations, same answers as MLflow's SqlAlchemyStore on SQLite (the shared kit)."""

import pytest

from mlflow_plugins_shared.testing import paging
from mlflow_plugins_shared.testing.tracking_store import TrackingStoreConformance


class TestConformance(TrackingStoreConformance):
    @pytest.fixture
    def candidate_store(self, tracking_store, store_uri):
        self.store_uri = store_uri
        return tracking_store

    def paging_fill(self, candidate_store, n):
        """10,000 runs through a `refresh=false` store on the same indices, then one refresh: with the
        default `refresh=true` every write makes a Lucene segment of the runs index. Searching is what
        is compared here."""
        from mlflow_store_es.tracking_store import EsTrackingStore

        uri = self.store_uri
        loader = EsTrackingStore(f"{uri}{'&' if '?' in uri else '?'}refresh=false", candidate_store.artifact_root_uri)
        eid = paging.fill(loader, n, threads=self.paging_threads)
        candidate_store.client.refresh(candidate_store.ix.runs)
        return eid
