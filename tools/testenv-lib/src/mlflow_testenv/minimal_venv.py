"""A virtualenv holding only what a user would install for one plugin (e.g. `mlflow-skinny` plus
the plugin), for tests and benchmarks that must not see the dev venv's other packages.

The dev venv has every plugin and the full `mlflow` (pandas, scipy, pyarrow...), so a process there
imports far more than a user's would. Venvs are cached under ~/.cache/mlflow-plugins/venvs, keyed
by the requirement list and local paths; every call installs the requirements with the local
projects (their dependencies resolved as a user's `pip install` would) and reinstalls the local
projects, so they always hold the checkout's code.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

from filelock import FileLock

from mlflow_testenv.core import TestenvError

VENVS = Path(os.environ.get("MLFLOW_TESTENV_VENVS", Path.home() / ".cache" / "mlflow-plugins" / "venvs"))


def _run(cmd: list[str], what: str) -> None:
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        raise TestenvError(f"{what} failed ({out.returncode}): {' '.join(cmd)}\n{out.stderr[-3000:]}")


def _project_name(path: Path) -> str:
    import tomllib

    return tomllib.loads((path / "pyproject.toml").read_text())["project"]["name"]


def minimal_python(name: str, requirements: list[str], local: list[Path]) -> Path:
    """The interpreter of a venv holding what `pip install <requirements> <local paths>` gives a
    user, and nothing else. The local projects are reinstalled from the checkout on every call."""
    uv = shutil.which("uv")
    if uv is None:
        raise TestenvError("minimal venvs need uv (tools/install-dev.sh installs it): pip install uv")
    key = hashlib.sha256("\n".join([sys.version, *sorted(requirements), *sorted(map(str, local))]).encode()).hexdigest()[:12]
    root = VENVS / f"{name}-{key}"
    python = root / "bin" / "python"
    VENVS.mkdir(parents=True, exist_ok=True)
    with FileLock(str(root) + ".lock"):
        if not python.exists():
            _run([uv, "venv", "-q", "--python", sys.executable, str(root)], "creating a venv")
        reinstall = [arg for p in local for arg in ("--reinstall-package", _project_name(p))]
        _run([uv, "pip", "install", "-q", "--python", str(python), *requirements, *map(str, local), *reinstall],
             f"installing {', '.join([*requirements, *(p.name for p in local)])}")
    return python
