"""The entry points load through MLflow's own registries (a failed import is only a warning there)."""

from mlflow_plugins_shared.testing import entry_points


def test_deployment_target_k8s():
    assert entry_points.deployment_plugin('k8s').__name__ == 'mlflow_deploy_k8s.deployment'

