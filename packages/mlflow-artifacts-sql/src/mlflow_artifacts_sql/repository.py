"""Artifact repository (skeleton: every method raises until implemented)."""

from mlflow.store.artifact.artifact_repo import ArtifactRepository

from mlflow_plugins_shared.strict import StrictMixin


class SqlArtifactRepository(StrictMixin, ArtifactRepository):
    strict_plugin_name = "mlflow-artifacts-sql"

    def __init__(self, artifact_uri: str, tracking_uri: str | None = None, registry_uri: str | None = None, **kwargs: object) -> None:
        super().__init__(artifact_uri)
        self.tracking_uri = tracking_uri
        self.registry_uri = registry_uri
