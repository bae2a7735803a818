"""The README is what runs: its settings table is generated from the declared settings, and every
code block in it is run here as written against the real server behind the recording proxy (only the
example gateway URL and file path are swapped for the proxy's and a temporary file)."""

from __future__ import annotations

import importlib.metadata
import os
import subprocess
import sys
from pathlib import Path

from mlflow import MlflowClient
from mlflow_headers_env import settings
from packaging.requirements import Requirement

from mlflow_plugins_shared.settings import settings_table
from mlflow_plugins_shared.testing import entry_points
from mlflow_plugins_shared.testing.readme import code_blocks, only_block

README = (Path(__file__).parent.parent / "README.md").read_text()
BLOCKS = code_blocks(README)
TRAIN = """\
import mlflow
with mlflow.start_run():
    mlflow.log_metric("loss", 0.5)
"""


def test_readme_settings_table_is_current() -> None:
    block = README.split("<!-- settings-table", 1)[1].split("-->", 1)[1].split("<!-- /settings-table -->", 1)[0]
    assert block.strip() == settings_table(settings.ALL)


def _block(lang: str, first_line: str) -> str:
    return only_block(BLOCKS, first_line, lang)


def _run(argv: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    done = subprocess.run(argv, cwd=cwd, env={**os.environ, "PATH": path, **env}, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def test_every_code_block_is_run_here() -> None:
    assert sorted((kind, text.splitlines()[0]) for kind, text in BLOCKS) == sorted([
        ("bash", "pip install mlflow-headers-env            # static, identity and request-id headers"),
        ("bash", "export MLFLOW_TRACKING_URI=https://mlflow-gateway.example.com"),
        ("", "# rotated by the platform every hour"),
        ("python", "import mlflow"),
    ])


def test_install_block() -> None:
    """Mirrored (the packages are not on an index here): the distribution and its `otel` extra's
    requirements are installed, and MLflow's registry loads the provider."""
    block = _block("bash", "pip install mlflow-headers-env")
    assert "pip install 'mlflow-headers-env[otel]'" in block
    dist = importlib.metadata.distribution("mlflow-headers-env")
    extra = [Requirement(r) for r in dist.requires or [] if "extra ==" in r and "otel" in r]
    assert extra
    for req in extra:
        assert importlib.metadata.version(req.name) in req.specifier, req
    assert "EnvHeaderProvider" in [type(p).__name__ for p in entry_points.request_header_providers()]


def test_use_block_and_headers_file(proxy, tmp_path: Path) -> None:
    conf = tmp_path / "headers.conf"
    conf.write_text(_block("", "# rotated by the platform every hour"))
    script = _block("bash", "export MLFLOW_TRACKING_URI=https://mlflow-gateway.example.com")
    for example, real in {"https://mlflow-gateway.example.com": proxy.url, "/etc/mlflow/headers.conf": str(conf)}.items():
        assert example in script
        script = script.replace(example, real)
    (tmp_path / "train.py").write_text(TRAIN)
    _run(["bash", "-euc", script], tmp_path)
    seen = proxy.api_requests()
    assert any("/runs/log-metric" in r.path for r in seen)
    for r in seen:
        assert r.status == 200, r.path
        assert (r.headers["x-team"], r.headers["x-cost-center"]) == ("vision", "4711")
        assert r.headers["x-mlflow-environment"] == "prod"
        assert (r.headers["x-gateway-key"], r.headers["x-route"]) == ("7f3c...", "blue")


def test_mlflow_trace_block(proxy, mlflow_url: str, tmp_path: Path) -> None:
    _run([sys.executable, "-c", _block("python", "import mlflow")], tmp_path, MLFLOW_TRACKING_URI=proxy.url)
    in_span = [r for r in proxy.api_requests() if "/runs/" in r.path]
    assert any("/runs/log-metric" in r.path for r in in_span)
    parents = {r.headers["traceparent"] for r in in_span}
    assert len(parents) == 1  # every request inside evaluate() carries evaluate's span
    _, trace_hex, span_hex, _ = parents.pop().split("-")
    stored = MlflowClient(tracking_uri=mlflow_url).get_trace(f"tr-{trace_hex}")
    assert [(s.name, s.span_id) for s in stored.data.spans] == [("evaluate", span_hex)]
