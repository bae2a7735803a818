"""Audit events: one JSON log line each, and a row in the database."""

from __future__ import annotations

import json
import time
from typing import Any

from mlflow_app_rbac.logs import audit_logger, logger
from mlflow_app_rbac.store import RbacStore
from mlflow_plugins_shared.redact import redact_text


class AuditLog:
    def __init__(self, store: RbacStore | None) -> None:
        self.store = store

    def record(self, **event: Any) -> None:
        event = {"ts": time.time(), **event}
        for k in ("path", "detail", "resource"):
            if event.get(k):
                event[k] = redact_text(str(event[k]))[:1024]
        audit_logger.info(json.dumps({"event": "mlflow_rbac_audit", **event}, sort_keys=True))
        if self.store is not None:
            try:
                self.store.add_audit_event(event)
            except Exception as e:  # the request must not fail because the audit row could not be written
                logger.error("could not store audit event %s: %s", event.get("request_id"), type(e).__name__)
