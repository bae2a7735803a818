"""The entry points load through MLflow's own registries (a failed import is only a warning there)."""

from mlflow_plugins_shared.testing import entry_points


def test_artifact_repository_oss():
    assert entry_points.artifact_repository_class('oss').__name__ == 'OssArtifactRepository'

