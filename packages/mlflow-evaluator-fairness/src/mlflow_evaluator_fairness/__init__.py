"""MLflow model evaluator for group fairness, calibration and cost-based thresholds."""

from mlflow_evaluator_fairness.version import __version__

__all__ = ["__version__"]
