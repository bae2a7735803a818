"""The skills registry (MLflow 3.18) on real engines: the shared conformance kit against SqlAlchemyStore,
plus what it cannot cover (concurrency, atomicity of bulk registration, docs of a cut-off batch)."""

from __future__ import annotations

import pytest

from mlflow_plugins_shared.testing.skill_store import HAS_SKILLS, SKIP_REASON, SkillStoreConformance

pytestmark = pytest.mark.skipif(not HAS_SKILLS, reason=SKIP_REASON)


class TestSkillConformance(SkillStoreConformance):
    @pytest.fixture
    def candidate_store(self, tracking_store):
        return tracking_store
