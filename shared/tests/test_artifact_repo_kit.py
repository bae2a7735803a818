"""The artifact conformance kit itself, run on a minimal strict repository built on MLflow's local one."""

import re

import pytest
from mlflow.store.artifact.local_artifact_repo import LocalArtifactRepository

from mlflow_plugins_shared.testing.artifact_repo import ArtifactRepositoryConformance
from mlflow_plugins_shared.uris import validate_artifact_path


class CheckedLocalRepository(LocalArtifactRepository):
    """What a plugin must add: paths validated before anything is written."""

    def log_artifact(self, local_file, artifact_path=None):
        super().log_artifact(local_file, validate_artifact_path(artifact_path) or None)

    def log_artifacts(self, local_dir, artifact_path=None):
        super().log_artifacts(local_dir, validate_artifact_path(artifact_path) or None)


class TestKitOnCheckedLocalRepository(ArtifactRepositoryConformance):
    @pytest.fixture
    def repo(self, tmp_path):
        return CheckedLocalRepository(str(tmp_path / "under-test"))


class CarelessRepository(LocalArtifactRepository):
    """Accepts any artifact path (flattening it), as the old plugins did."""

    def log_artifact(self, local_file, artifact_path=None):
        super().log_artifact(local_file, re.sub(r"[^A-Za-z0-9]", "_", artifact_path or "") or None)


@pytest.mark.parametrize("bad", ["../escape", "/abs/path", "a\x00b"])
def test_kit_catches_a_repository_that_accepts_bad_paths(tmp_path, bad):
    kit = ArtifactRepositoryConformance()
    repo = CarelessRepository(str(tmp_path / "root"))
    with pytest.raises(pytest.fail.Exception, match="DID NOT RAISE"):
        kit.test_bad_artifact_paths_are_rejected(repo, tmp_path, bad)
