"""MLflow's private names are used through `mlflow_compat` only, and its probes answer for this MLflow."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from mlflow_app_rbac import mlflow_compat

PACKAGE = Path(__file__).resolve().parents[1]
COMPAT = PACKAGE / "src" / "mlflow_app_rbac" / "mlflow_compat.py"
# `mlflow.x._y` written out anywhere (an attribute chain or a dotted import)
# (dunders such as `mlflow.__version__` are public)
_PRIVATE_PATH = re.compile(r"\bmlflow(?:\.[A-Za-z]\w*)*\._(?!_\w*__\b)\w+")


def _private_mlflow_uses(path: Path) -> list[str]:
    found: list[str] = []
    tree = ast.parse(path.read_text(), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "mlflow":
            private_module = any(part.startswith("_") for part in node.module.split("."))
            names = [a.name for a in node.names if a.name.startswith("_")]
            if private_module or names:
                found.append(f"{path.name}:{node.lineno}: from {node.module} import {', '.join(a.name for a in node.names)}")
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.split(".")[0] == "mlflow" and any(p.startswith("_") for p in a.name.split(".")):
                    found.append(f"{path.name}:{node.lineno}: import {a.name}")
    for lineno, line in enumerate(path.read_text().splitlines(), 1):
        if _PRIVATE_PATH.search(line.split("#", 1)[0]):
            found.append(f"{path.name}:{lineno}: {line.strip()}")
    return found


def test_no_private_mlflow_name_outside_the_compat_module():
    # this file holds the forbidden spellings as data (test_the_scan_sees_the_spellings_it_forbids)
    files = [p for d in ("src", "tests", "bench") for p in (PACKAGE / d).rglob("*.py")
             if p not in (COMPAT, Path(__file__).resolve())]
    assert len(files) > 30
    uses = [u for p in files for u in _private_mlflow_uses(p)]
    assert uses == [], "import MLflow's private names through mlflow_app_rbac.mlflow_compat:\n" + "\n".join(uses)


def test_the_scan_sees_the_spellings_it_forbids(tmp_path):
    """The scan above finds each way of reaching a private name (so its empty answer means something)."""
    sample = tmp_path / "sample.py"
    sample.write_text("from mlflow.server import _find_app\n"
                      "from mlflow.tracking._tracking_service import utils\n"
                      "import mlflow.store._unity_catalog\n"
                      "x = mlflow.server.handlers._get_tracking_store()\n"
                      "from mlflow.server import handlers  # public: not reported\n"
                      "v = mlflow.__version__  # public: not reported\n")
    reported_lines = {int(u.split(":")[1]) for u in _private_mlflow_uses(sample)}
    assert reported_lines == {1, 2, 3, 4}
    assert _private_mlflow_uses(COMPAT)  # the compat module is the one place that has them


def test_skills_probe_matches_what_the_running_server_serves(server):
    rows = server.admin("GET", "/api/2.0/rbac/routes").json()["routes"]
    served = any(r["rule"].startswith("/api/3.0/mlflow/skills") for r in rows)
    assert mlflow_compat.has_skills() is served


def test_bulk_register_limit_is_mlflows():
    if mlflow_compat.has_skills():
        from mlflow.server.skill_registry_api import BulkRegisterSkillsRequest

        field = BulkRegisterSkillsRequest.model_fields["skills"]
        limits = [m.max_length for m in field.metadata if hasattr(m, "max_length")]
        assert limits == [mlflow_compat.max_bulk_register_skills()]
        assert mlflow_compat.max_bulk_register_skills() == mlflow_compat.MAX_BULK_REGISTER_SKILLS_DEFAULT
    else:
        assert mlflow_compat.max_bulk_register_skills() == mlflow_compat.MAX_BULK_REGISTER_SKILLS_DEFAULT


def test_add_static_prefix(monkeypatch):
    monkeypatch.setenv(mlflow_compat.static_prefix_env_var(), "/mlf")
    assert mlflow_compat.add_static_prefix("/api/x") == "/mlf/api/x"
    monkeypatch.delenv(mlflow_compat.static_prefix_env_var())
    assert mlflow_compat.add_static_prefix("/api/x") == "/api/x"
