"""The entry points load through MLflow's own registries (a failed import is only a warning there)."""

from mlflow_plugins_shared.testing import entry_points


def test_project_backend_k8s_job():
    assert type(entry_points.project_backend('k8s-job')).__name__ == 'K8sBackend'

