"""The entry points load through MLflow's own registries (a failed import is only a warning there)."""

from mlflow_plugins_shared.testing import entry_points


def test_auth_provider_sigv4():
    assert type(entry_points.request_auth_provider('sigv4')).__name__ == 'Sigv4AuthProvider'

