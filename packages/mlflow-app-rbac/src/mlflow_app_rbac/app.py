"""`mlflow server --app-name rbac` (skeleton)."""

from mlflow.exceptions import MlflowNotImplementedException


def create_app():
    raise MlflowNotImplementedException("mlflow-app-rbac: not implemented yet")
