"""Request auth provider (skeleton)."""

from mlflow.exceptions import MlflowNotImplementedException
from mlflow.tracking.request_auth.abstract_request_auth_provider import RequestAuthProvider


class Sigv4AuthProvider(RequestAuthProvider):
    def get_name(self) -> str:
        return "sigv4"

    def get_auth(self):
        raise MlflowNotImplementedException("mlflow-auth-sigv4: the sigv4 provider is not implemented yet")
