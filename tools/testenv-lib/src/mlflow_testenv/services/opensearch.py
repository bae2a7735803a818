"""OpenSearch 3 API: the osmem-server binary (pip package `osmem-server`), in memory."""

from __future__ import annotations

from pathlib import Path

from mlflow_testenv._install import packaged_binary
from mlflow_testenv.core import Launch, Service
from mlflow_testenv.services._http import http_ok


class OpenSearchService(Service):
    name = "opensearch"
    description = "OpenSearch-3-compatible engine (osmem-server), in memory"

    def binary(self) -> Path:
        return packaged_binary("osmem-server", "osmem_server", "bin", "osmem-server", why="the opensearch service")

    def install(self) -> None:
        self.binary()

    def launch(self, workdir: Path, port: int, args: list[str]) -> Launch:
        url = f"http://127.0.0.1:{port}"
        cmd = [str(self.binary()), "-addr", f"127.0.0.1:{port}", "-no-stdin-watch", *args]
        return Launch(cmd=cmd, exports={"MLFLOW_TESTENV_OPENSEARCH_URL": url}, health=lambda: http_ok(url), timeout=30)


SERVICE = OpenSearchService()
