"""Deployment target (skeleton). MLflow loads this module: run_local, target_help, one client."""

from mlflow.deployments import BaseDeploymentClient
from mlflow.exceptions import MlflowNotImplementedException


def _todo(*args, **kwargs):
    raise MlflowNotImplementedException("mlflow-deploy-k8s: not implemented yet")


class KSDeploymentClient(BaseDeploymentClient):
    create_deployment = update_deployment = delete_deployment = _todo
    list_deployments = get_deployment = predict = _todo


def run_local(name, model_uri, flavor=None, config=None):
    _todo()


def target_help() -> str:
    return "mlflow-deploy-k8s: not implemented yet"
