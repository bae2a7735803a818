"""The entry points load through MLflow's own registries (a failed import is only a warning there)."""

from mlflow_plugins_shared.testing import entry_points


def test_auth_provider_oauth2():
    assert type(entry_points.request_auth_provider('oauth2')).__name__ == 'Oauth2AuthProvider'


def test_auth_provider_bearer_file():
    assert type(entry_points.request_auth_provider('bearer-file')).__name__ == 'BearerFileAuthProvider'


def test_auth_provider_bearer_command():
    assert type(entry_points.request_auth_provider('bearer-command')).__name__ == 'BearerCommandAuthProvider'

