"""MlflowException constructors with the right error codes and redacted messages."""

from __future__ import annotations

from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import (
    INTERNAL_ERROR,
    INVALID_PARAMETER_VALUE,
    NOT_IMPLEMENTED,
    PERMISSION_DENIED,
    RESOURCE_DOES_NOT_EXIST,
    TEMPORARILY_UNAVAILABLE,
    UNAUTHENTICATED,
)

try:
    from mlflow.exceptions import MlflowNotImplementedException
except ImportError:  # MLflow 2.22 and 3.0 lack it; same error code, so the server still answers 501

    class MlflowNotImplementedException(MlflowException):  # type: ignore[no-redef]
        """Exception thrown when a feature is not implemented"""

        def __init__(self, message: str = "") -> None:
            super().__init__(message, error_code=NOT_IMPLEMENTED)

from mlflow_plugins_shared.redact import redact_text


def _exc(message: str, code: int, secrets: tuple[str, ...] = ()) -> MlflowException:
    return MlflowException(redact_text(message, secrets=secrets), error_code=code)


def invalid_parameter(message: str, *secrets: str) -> MlflowException:
    return _exc(message, INVALID_PARAMETER_VALUE, secrets)


def config_error(setting: str, problem: str, *secrets: str) -> MlflowException:
    """A misconfiguration: the message names the setting the user has to fix.

    Only the problem text is redacted: a setting's name (`MLFLOW_BEARER_TOKEN_FILE`) is not a
    secret, and scrubbing it as `key: value` would mask the first word of the problem.
    """
    return MlflowException(f"{setting}: {redact_text(problem, secrets=secrets)}", error_code=INVALID_PARAMETER_VALUE)


def not_found(message: str) -> MlflowException:
    return _exc(message, RESOURCE_DOES_NOT_EXIST)


def unavailable(message: str, *secrets: str) -> MlflowException:
    return _exc(message, TEMPORARILY_UNAVAILABLE, secrets)


def unauthenticated(message: str, *secrets: str) -> MlflowException:
    return _exc(message, UNAUTHENTICATED, secrets)


def permission_denied(message: str, *secrets: str) -> MlflowException:
    return _exc(message, PERMISSION_DENIED, secrets)


def internal(message: str, *secrets: str) -> MlflowException:
    return _exc(message, INTERNAL_ERROR, secrets)


def not_implemented(owner: str, method: str) -> MlflowNotImplementedException:
    return MlflowNotImplementedException(f"{owner}.{method} is not supported by this plugin.")
