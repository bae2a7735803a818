"""Names this store uses that older MLflow 3.x releases lack (the floor is 3.0)."""

from __future__ import annotations

from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE

try:
    from mlflow.utils.validation import _REGISTERED_MODEL_ALIAS_LATEST
except ImportError:  # MLflow < 3.x where "latest" was not yet a reserved alias name constant
    _REGISTERED_MODEL_ALIAS_LATEST = "latest"

try:
    from mlflow.utils.validation import _parse_experiment_id
except ImportError:

    def _parse_experiment_id(experiment_id: str | int) -> int:
        try:
            return int(experiment_id)
        except (ValueError, TypeError):
            raise MlflowException(f"Invalid experiment ID '{experiment_id}'. Experiment ID must be a valid integer.",
                                  INVALID_PARAMETER_VALUE) from None

try:
    from mlflow.utils.validation import _validate_model_alias_name_reserved
except ImportError:
    import re

    _VERSION_ALIAS = re.compile(r"^[vV]\d+$")

    def _validate_model_alias_name_reserved(model_alias_name):  # type: ignore[no-untyped-def]
        if model_alias_name.lower() == "latest":
            raise MlflowException("'latest' alias name (case insensitive) is reserved.", INVALID_PARAMETER_VALUE)
        if _VERSION_ALIAS.match(model_alias_name):
            raise MlflowException(f"Version alias name '{model_alias_name}' is reserved.", INVALID_PARAMETER_VALUE)


def _validate_model_version(model_version: object) -> int:
    """The version as an int (MLflow 3.17's validator returns it; 3.0's returns None)."""
    from mlflow.utils.validation import _validate_model_version as validate

    validate(model_version)
    return int(model_version)  # type: ignore[call-overload]


__all__ = ["_validate_model_version", "_REGISTERED_MODEL_ALIAS_LATEST", "_parse_experiment_id", "_validate_model_alias_name_reserved"]
