"""Request header provider (skeleton)."""

from mlflow.exceptions import MlflowNotImplementedException
from mlflow.tracking.request_header.abstract_request_header_provider import RequestHeaderProvider


class EnvHeaderProvider(RequestHeaderProvider):
    def in_context(self) -> bool:
        return True

    def request_headers(self) -> dict[str, str]:
        raise MlflowNotImplementedException("mlflow-headers-env: not implemented yet")
