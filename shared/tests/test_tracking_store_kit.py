"""The tracking-store conformance kit notices a store that answers differently from MLflow's."""

from pathlib import Path

from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

from mlflow_plugins_shared.testing.tracking_store import compare, reference_observations, replay, sqlite_reference_store


class _DropsLongTags(SqlAlchemyStore):
    """A deliberately wrong store: loses tags longer than 1,000 characters."""

    def get_run(self, run_id):
        run = super().get_run(run_id)
        for key in [k for k, v in run.data.tags.items() if len(v) > 1000]:
            del run.data._tags[key]
        return run


def test_kit_finds_a_difference(tmp_path: Path) -> None:
    want = reference_observations(tmp_path / "ref", 12, 5)
    broken = sqlite_reference_store(tmp_path / "broken", _DropsLongTags)
    diffs = compare(want, replay(broken, 12, 5))
    assert diffs and all("get_run run-000" in d for d in diffs)


def test_compare_reports_each_changed_observation() -> None:
    a = [("x", 1), ("y", ("error", "INVALID_PARAMETER_VALUE"))]
    assert compare(a, a) == []
    assert len(compare(a, [("x", 2), ("y", None)])) == 2
