"""OpenSearch 3 API: the osmem-server binary (pip package `osmem-server`), in memory."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from mlflow_testenv._install import pip_install
from mlflow_testenv.core import Launch, Service, TestenvError
from mlflow_testenv.services._http import http_ok


class OpenSearchService(Service):
    name = "opensearch"
    description = "OpenSearch-3-compatible engine (osmem-server), in memory"

    def binary(self) -> Path:
        pip_install("osmem-server", module="osmem_server", why="the opensearch service")
        path = Path(str(files("osmem_server").joinpath("bin", "osmem-server")))
        if not path.is_file():
            raise TestenvError(f"osmem-server binary missing at {path}; reinstall osmem-server")
        path.chmod(0o755)
        return path

    def install(self) -> None:
        self.binary()

    def launch(self, workdir: Path, port: int, args: list[str]) -> Launch:
        url = f"http://127.0.0.1:{port}"
        cmd = [str(self.binary()), "-addr", f"127.0.0.1:{port}", "-no-stdin-watch", *args]
        return Launch(cmd=cmd, exports={"MLFLOW_TESTENV_OPENSEARCH_URL": url}, health=lambda: http_ok(url), timeout=30)


SERVICE = OpenSearchService()
