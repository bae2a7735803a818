"""The package's loggers (secrets are scrubbed by mlflow_plugins_shared.logs)."""

from __future__ import annotations

from mlflow_plugins_shared.logs import get_logger

logger = get_logger("mlflow_app_rbac")
audit_logger = get_logger("mlflow_app_rbac.audit")
