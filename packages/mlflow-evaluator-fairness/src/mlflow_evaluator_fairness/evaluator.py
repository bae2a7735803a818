"""Model evaluator (skeleton)."""

from mlflow.exceptions import MlflowNotImplementedException
from mlflow.models.evaluation import ModelEvaluator


class FairnessEvaluator(ModelEvaluator):
    def can_evaluate(self, *, model_type, evaluator_config, **kwargs) -> bool:
        return False

    def evaluate(self, **kwargs):
        raise MlflowNotImplementedException("mlflow-evaluator-fairness: not implemented yet")
