"""Elasticsearch 8 API: the noida-db engine binary (pip package `noida-db`), ES persona."""

from __future__ import annotations

from pathlib import Path

from mlflow_testenv._install import packaged_binary
from mlflow_testenv.core import Launch, Service
from mlflow_testenv.services._http import http_ok


class ElasticsearchService(Service):
    name = "es"
    description = "Elasticsearch-8-compatible engine (noida-db), data on disk"

    def binary(self) -> Path:
        return packaged_binary("noida-db", "noida_db", "noida-db", why="the es service")

    def install(self) -> None:
        self.binary()

    def launch(self, workdir: Path, port: int, args: list[str]) -> Launch:
        url = f"http://127.0.0.1:{port}"
        cmd = [str(self.binary()), "start", "--data-dir", str(workdir / "data"), "--host", "127.0.0.1",
               "--only", "elasticsearch", "--elasticsearch-port", str(port), *args]
        return Launch(cmd=cmd, exports={"MLFLOW_TESTENV_ES_URL": url}, health=lambda: http_ok(url), timeout=30)


SERVICE = ElasticsearchService()
