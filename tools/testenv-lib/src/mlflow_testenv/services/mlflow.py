"""An `mlflow server` with whatever plugins are installed in this Python; options pass through.

Defaults: SQLite backend store and a local artifact root in the service's data dir, unless
the options given override them (`--backend-store-uri`, `--artifacts-destination`, ...).
"""

from __future__ import annotations

import sys
from pathlib import Path

from mlflow_testenv.core import Launch, Service
from mlflow_testenv.services._http import http_ok


class MlflowServerService(Service):
    name = "mlflow"
    description = "mlflow server (plugins installed in this venv; options pass through)"

    def launch(self, workdir: Path, port: int, args: list[str]) -> Launch:
        url = f"http://127.0.0.1:{port}"
        opts = list(args)
        if not any(a.startswith("--backend-store-uri") for a in opts):
            opts += ["--backend-store-uri", f"sqlite:///{workdir / 'mlflow.db'}"]
        if not any(a.startswith(("--artifacts-destination", "--default-artifact-root", "--no-serve-artifacts")) for a in opts):
            opts += ["--artifacts-destination", str(workdir / "artifacts")]
        if not any(a.startswith("--workers") or a.startswith("--gunicorn-opts") or a.startswith("--waitress-opts") for a in opts):
            opts += ["--workers", "1"]
        cmd = [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port), *opts]
        env = {"MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false", "PYTHONUNBUFFERED": "1"}
        prefix = ""
        for i, a in enumerate(opts):
            if a == "--static-prefix" and i + 1 < len(opts):
                prefix = opts[i + 1]
            elif a.startswith("--static-prefix="):
                prefix = a.split("=", 1)[1]
        health_url = f"{url}{prefix.rstrip('/')}/health"
        return Launch(cmd=cmd, exports={"MLFLOW_TESTENV_MLFLOW_URL": url}, env=env,
                      health=lambda: http_ok(health_url) or http_ok(f"{url}/health"), timeout=120)


SERVICE = MlflowServerService()
