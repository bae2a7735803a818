"""`make new-plugin KIND= NAME=` scaffolds a package that builds, declares its entry point and is strict."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib

from mlflow_plugins_shared.errors import MlflowNotImplementedException

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))
import new_plugin  # noqa: E402


@pytest.mark.parametrize("kind", sorted(new_plugin.KINDS))
def test_scaffold_every_kind(tmp_path, kind):
    dest = new_plugin.scaffold(kind, "demo", root=tmp_path)
    imp = f"mlflow_{kind}_demo"
    assert dest == tmp_path / "packages" / f"mlflow-{kind}-demo"
    for rel in ("pyproject.toml", "README.md", "CHANGELOG.md", f"src/{imp}/__init__.py", f"src/{imp}/version.py",
                f"src/{imp}/py.typed", "tests/test_entry_points.py"):
        assert (dest / rel).exists(), rel
    meta = tomllib.loads((dest / "pyproject.toml").read_text())
    assert meta["project"]["name"] == f"mlflow-{kind}-demo"
    assert meta["project"]["dynamic"] == ["version"]
    assert meta["tool"]["hatch"]["version"]["path"] == f"src/{imp}/version.py"
    floor = new_plugin.KINDS[kind]["floor"]
    assert f"mlflow>={floor},<4" in meta["project"]["dependencies"]
    assert set(meta["project"]["entry-points"]) == set(new_plugin.KINDS[kind]["groups"])
    compile((dest / "tests" / "test_entry_points.py").read_text(), "t", "exec")
    sys.path.insert(0, str(dest / "src"))
    try:
        module = importlib.import_module(f"{imp}.{new_plugin.MODULE_FILE[kind]}")
    finally:
        sys.path.remove(str(dest / "src"))
    if kind == "store":
        with pytest.raises(MlflowNotImplementedException):
            module.DemoTrackingStore("demo://x").create_experiment("e")
    if kind == "artifacts":
        with pytest.raises(MlflowNotImplementedException):
            module.DemoArtifactRepository("demo://x", tracking_uri="http://t").list_artifacts()


def test_refuses_bad_names_and_existing_packages(tmp_path):
    with pytest.raises(SystemExit, match="KIND must be one of"):
        new_plugin.scaffold("nosuchkind", "x", root=tmp_path)
    with pytest.raises(SystemExit, match="lowercase"):
        new_plugin.scaffold("store", "Bad-Name", root=tmp_path)
    new_plugin.scaffold("headers", "x", root=tmp_path)
    with pytest.raises(SystemExit, match="already exists"):
        new_plugin.scaffold("headers", "x", root=tmp_path)


def test_make_new_plugin_usage_error():
    r = subprocess.run(["make", "-s", "new-plugin"], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode != 0 and "usage: make new-plugin KIND=store NAME=foo" in r.stdout
