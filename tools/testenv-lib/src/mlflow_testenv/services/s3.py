"""S3/STS/IAM: moto's server (pip package `moto[server]`)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from mlflow_testenv._install import pip_install
from mlflow_testenv.core import Launch, Service
from mlflow_testenv.services._http import http_ok


class S3Service(Service):
    name = "s3"
    description = "S3, STS and IAM (moto server)"

    def install(self) -> None:
        pip_install("moto[server]", module="moto", why="the s3 service")
        pip_install("moto[server]", module="flask_cors", why="the s3 service")

    def launch(self, workdir: Path, port: int, args: list[str]) -> Launch:
        url = f"http://127.0.0.1:{port}"
        exe = shutil.which("moto_server", path=str(Path(sys.executable).parent)) or "moto_server"
        cmd = [exe, "-H", "127.0.0.1", "-p", str(port), *args]
        exports = {
            "MLFLOW_TESTENV_S3_URL": url,
            "MLFLOW_TESTENV_S3_ACCESS_KEY_ID": "testing",
            "MLFLOW_TESTENV_S3_SECRET_ACCESS_KEY": "testing",
            "MLFLOW_TESTENV_S3_REGION": "us-east-1",
        }
        return Launch(cmd=cmd, exports=exports, health=lambda: http_ok(f"{url}/moto-api/"), timeout=60)


SERVICE = S3Service()
