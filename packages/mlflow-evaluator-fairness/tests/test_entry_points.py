"""The entry points load through MLflow's own registries (a failed import is only a warning there)."""

from mlflow_plugins_shared.testing import entry_points


def test_model_evaluator_fairness():
    assert type(entry_points.model_evaluator('fairness')).__name__ == 'FairnessEvaluator'

