"""Importing the provider before `mlflow` must not be a circular import that makes MLflow drop it."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import json, mlflow_headers_env.provider
from mlflow.tracking.request_header.registry import resolve_request_headers
print(json.dumps(sorted(resolve_request_headers())))
"""


def test_headers_resolved_when_provider_imported_before_mlflow() -> None:
    done = subprocess.run([sys.executable, "-W", "ignore", "-c", SCRIPT], capture_output=True, text=True, timeout=120)
    last = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""
    assert "X-Request-ID" in last, done.stderr[-2000:]
