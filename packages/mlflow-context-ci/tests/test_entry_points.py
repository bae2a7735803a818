"""The entry points load through MLflow's own registries (a failed import is only a warning there)."""

from mlflow_plugins_shared.testing import entry_points


def test_context_provider():
    assert 'CiContextProvider' in [type(p).__name__ for p in entry_points.run_context_providers()]

