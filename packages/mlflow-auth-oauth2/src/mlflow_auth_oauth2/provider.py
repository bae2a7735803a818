"""Request auth providers (skeleton)."""

from mlflow.exceptions import MlflowNotImplementedException
from mlflow.tracking.request_auth.abstract_request_auth_provider import RequestAuthProvider


class _Skeleton(RequestAuthProvider):
    name = ""

    def get_name(self) -> str:
        return self.name

    def get_auth(self):
        raise MlflowNotImplementedException(f"mlflow-auth-oauth2: the {self.name} provider is not implemented yet")


class Oauth2AuthProvider(_Skeleton):
    name = "oauth2"


class BearerFileAuthProvider(_Skeleton):
    name = "bearer-file"


class BearerCommandAuthProvider(_Skeleton):
    name = "bearer-command"
