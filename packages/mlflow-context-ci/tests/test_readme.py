"""The README documents exactly the declared settings, and every code block in it runs as written."""

from __future__ import annotations

import importlib.metadata
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from mlflow import MlflowClient
from mlflow_context_ci import settings

from mlflow_plugins_shared.settings import settings_table
from mlflow_plugins_shared.testing import entry_points
from mlflow_plugins_shared.testing.readme import code_blocks, only_block

README = Path(__file__).resolve().parents[1] / "README.md"


def test_every_setting_row_is_in_the_readme_and_nothing_else() -> None:
    text = README.read_text()
    rows = settings_table(settings.ALL).splitlines()[2:]
    missing = [row for row in rows if row not in text]
    assert not missing, f"README rows out of date: {missing}"
    documented = set(re.findall(r"^\| `(MLFLOW_CONTEXT_[A-Z_]+)` \|", text, flags=re.M))
    assert documented == {s.env for s in settings.ALL}


# ---- every code block, run as written against the real server

BLOCKS = code_blocks(README)
TRAIN = """\
import mlflow
with mlflow.start_run() as run:
    mlflow.log_param("p", 1)
print("RUN", run.info.run_id)
"""


def _block(lang: str, first_line: str) -> str:
    return only_block(BLOCKS, first_line, lang)


def test_every_code_block_is_run_here() -> None:
    assert sorted((kind, text.splitlines()[0]) for kind, text in BLOCKS) == sorted([
        ("bash", "pip install mlflow-context-ci"),
        ("bash", """export MLFLOW_CONTEXT_TAGS='{"team": "vision", "cost_center": "4711"}'"""),
        ("yaml", "env:"),
    ])


def test_install_block() -> None:
    """Mirrored (the package is not on an index here): the distribution is installed and MLflow's
    registry loads its provider."""
    dist = _block("bash", "pip install").split()[-1]
    assert importlib.metadata.distribution(dist).metadata["Name"] == dist
    assert "CiContextProvider" in [type(p).__name__ for p in entry_points.run_context_providers()]


def test_use_block(mlflow_url: str, outside_git: Path) -> None:
    script = _block("bash", "export MLFLOW_CONTEXT_TAGS=")
    assert "python train.py" in script
    (outside_git / "train.py").write_text(TRAIN)
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    done = subprocess.run(["bash", "-euc", script], cwd=outside_git, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PATH": path, "MLFLOW_TRACKING_URI": mlflow_url})
    assert done.returncode == 0, done.stderr[-3000:]
    run_id = done.stdout.split("RUN ", 1)[1].split()[0]
    tags = MlflowClient(tracking_uri=mlflow_url).get_run(run_id).data.tags
    assert tags["context.tag.team"] == "vision" and tags["context.tag.cost_center"] == "4711"
    assert tags["context.host.python"] and "context.host.gpu" not in tags


def test_kubernetes_block(monkeypatch: pytest.MonkeyPatch, outside_git: Path, run_tags) -> None:
    """The kubelet's part mirrored: each `fieldRef` resolved to this pod's field, `value`s as written."""
    pod_fields = {"metadata.name": "trainer-7d9f", "metadata.namespace": "ml", "spec.nodeName": "node-1"}
    for var in yaml.safe_load(_block("yaml", "env:"))["env"]:
        value = var["value"] if "value" in var else pod_fields[var["valueFrom"]["fieldRef"]["fieldPath"]]
        monkeypatch.setenv(var["name"], value)
    tags = run_tags()
    assert tags["context.k8s.pod"] == "trainer-7d9f"
    assert tags["context.k8s.namespace"] == "ml"
    assert tags["context.k8s.node"] == "node-1"
    assert tags["context.container.runtime"] == "kubernetes"
    assert tags["context.container.image"] == "registry.example.com/ml/trainer:1.4"
