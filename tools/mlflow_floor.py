"""Print the MLflow floor a package declares (`mlflow>=X,<4` or `mlflow-skinny>=X,<4` -> X), read from its pyproject.

CI's "floor" jobs use this, so the floor lives in one place: the package's own pyproject.
`python tools/mlflow_floor.py packages/mlflow-store-es` -> `3.0`; `--pin` -> `mlflow~=3.0.0`.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import tomllib


def floor(pkg_dir: str) -> str:
    deps = tomllib.loads((Path(pkg_dir) / "pyproject.toml").read_text())["project"]["dependencies"]
    for dep in deps:
        m = re.fullmatch(r"mlflow(?:-skinny)?(?:\[[^\]]*\])?\s*>=\s*([0-9.]+)\s*,\s*<\s*[0-9.]+", dep.replace(" ", ""))
        if m:
            return m.group(1)
    raise SystemExit(f"{pkg_dir}: no 'mlflow>=X,<N' dependency found")


if __name__ == "__main__":
    v = floor(sys.argv[1])
    if "--pin" in sys.argv:
        parts = v.split(".")
        v = f"mlflow~={'.'.join(parts + ['0'] * (3 - len(parts)))}"
    print(v)
