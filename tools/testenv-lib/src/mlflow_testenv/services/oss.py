"""OSS: the project's own OSS-protocol test server (mlflow_testenv.oss_server, stdlib only)."""

from __future__ import annotations

import sys
from pathlib import Path

from mlflow_testenv.core import Launch, Service
from mlflow_testenv.services._http import http_ok

KEY_ID = "LTAItestenvkey"
KEY_SECRET = "testenv-oss-secret"
BUCKET = "mlflow-test"
REGION = "cn-hangzhou"
DOMAIN = "oss.test"


class OssService(Service):
    name = "oss"
    description = "Aliyun OSS protocol (the project's own test server; V1/V4 signatures, multipart)"

    def launch(self, workdir: Path, port: int, args: list[str]) -> Launch:
        url = f"http://127.0.0.1:{port}"
        cmd = [sys.executable, "-m", "mlflow_testenv.oss_server", "--host", "127.0.0.1", "--port", str(port),
               "--data", str(workdir / "data"), "--key-id", KEY_ID, "--key-secret", KEY_SECRET,
               "--region", REGION, "--domain", DOMAIN, "--bucket", BUCKET, *args]
        exports = {
            "MLFLOW_TESTENV_OSS_ENDPOINT": url,
            "MLFLOW_TESTENV_OSS_KEY_ID": KEY_ID,
            "MLFLOW_TESTENV_OSS_KEY_SECRET": KEY_SECRET,
            "MLFLOW_TESTENV_OSS_BUCKET": BUCKET,
            "MLFLOW_TESTENV_OSS_REGION": REGION,
            "MLFLOW_TESTENV_OSS_DOMAIN": DOMAIN,
            "MLFLOW_TESTENV_OSS_ECS_METADATA_URL": f"{url}/_ecs/latest/meta-data/ram/security-credentials/",
        }
        return Launch(cmd=cmd, exports=exports, health=lambda: http_ok(f"{url}/_testenv/health"), timeout=30)


SERVICE = OssService()
