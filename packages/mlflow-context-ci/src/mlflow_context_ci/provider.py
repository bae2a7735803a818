"""Run context provider (skeleton)."""

from mlflow.exceptions import MlflowNotImplementedException
from mlflow.tracking.context.abstract_context import RunContextProvider


class CiContextProvider(RunContextProvider):
    def in_context(self) -> bool:
        return True

    def tags(self) -> dict[str, str]:
        raise MlflowNotImplementedException("mlflow-context-ci: not implemented yet")
