"""The package's loggers (secrets are scrubbed by mlflow_plugins_shared.logs).

Audit events go to `mlflow_app_rbac.audit` at INFO as one JSON object per line; when the
operator has configured no handler for it, they are written to stderr.
"""

from __future__ import annotations

import logging
import sys

from mlflow_plugins_shared.logs import get_logger

logger = get_logger("mlflow_app_rbac")
audit_logger = get_logger("mlflow_app_rbac.audit")
if not audit_logger.handlers:
    _handler = logging.StreamHandler(sys.stderr)
    _handler.setFormatter(logging.Formatter("%(message)s"))
    audit_logger.addHandler(_handler)
    audit_logger.setLevel(logging.INFO)
    audit_logger.propagate = False
