"""Project backend (skeleton)."""

from mlflow.exceptions import MlflowNotImplementedException
from mlflow.projects.backend.abstract_backend import AbstractBackend


class KSBackend(AbstractBackend):
    def run(self, project_uri, entry_point, params, version, backend_config, tracking_uri, experiment_id):
        raise MlflowNotImplementedException("mlflow-backend-k8s: not implemented yet")
