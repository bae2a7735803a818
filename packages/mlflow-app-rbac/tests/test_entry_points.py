"""The entry points load through MLflow's own registries (a failed import is only a warning there)."""

from mlflow_plugins_shared.testing import entry_points


def test_server_app_rbac():
    assert entry_points.server_app('rbac').__name__ == 'create_app'

