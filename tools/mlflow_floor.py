"""The MLflow floor a package declares (`mlflow>=X,<4` or `mlflow-skinny>=X,<4` -> X), read from its pyproject.

The floor lives in one place, the package's own pyproject; CI's floor jobs, `make compat-floors` and the
integration runner all compute it here.

    python tools/mlflow_floor.py packages/mlflow-store-es            -> 3.0
    python tools/mlflow_floor.py packages/mlflow-store-es --pin      -> mlflow~=3.0.0
    python tools/mlflow_floor.py packages/mlflow-store-es --resolve  -> 3.0.1 (newest release of the floor's series on PyPI)
    python tools/mlflow_floor.py --groups                            -> "3.0.1 mlflow-store-es mlflow-app-rbac ..." per line
    python tools/mlflow_floor.py --integration                       -> 3.0.1 (the highest floor: what all wheels together need)
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parent.parent


def floor(pkg_dir: str | Path) -> str:
    deps = tomllib.loads((Path(pkg_dir) / "pyproject.toml").read_text())["project"]["dependencies"]
    for dep in deps:
        m = re.fullmatch(r"mlflow(?:-skinny)?(?:\[[^\]]*\])?\s*>=\s*([0-9.]+)\s*,\s*<\s*[0-9.]+", dep.replace(" ", ""))
        if m:
            return m.group(1)
    raise SystemExit(f"{pkg_dir}: no 'mlflow>=X,<N' dependency found")


def _series(v: str) -> tuple[int, ...]:
    parts = [int(p) for p in v.split(".")]
    return tuple(parts + [0] * (3 - len(parts)))


def resolve(v: str) -> str:
    """The newest final release of the floor's series (`3.0` -> newest 3.0.x; `3.5.1` -> newest 3.5.x >= 3.5.1)."""
    sys.path.insert(0, str(ROOT / "tools"))
    from mlflow_lock import final_versions

    want = _series(v)
    matching = [x for x in final_versions() if x.release[:2] == want[:2] and x.release >= want]
    if not matching:
        raise SystemExit(f"no MLflow release on PyPI in the series of {v}")
    return str(matching[-1])


def packages() -> list[Path]:
    return sorted(p for p in (ROOT / "packages").iterdir() if (p / "pyproject.toml").is_file())


def groups() -> dict[str, list[str]]:
    """Resolved floor -> the packages that declare it."""
    out: dict[str, list[str]] = {}
    resolved: dict[str, str] = {}
    for p in packages():
        f = floor(p)
        resolved.setdefault(f, resolve(f))
        out.setdefault(resolved[f], []).append(p.name)
    return out


if __name__ == "__main__":
    args = sys.argv[1:]
    if "--groups" in args:
        for v, names in sorted(groups().items(), key=lambda kv: _series(kv[0])):
            print(v, *names)
    elif "--integration" in args:
        print(resolve(max((floor(p) for p in packages()), key=_series)))
    else:
        v = floor(args[0])
        if "--pin" in args:
            v = f"mlflow~={'.'.join(str(x) for x in _series(v))}"
        elif "--resolve" in args:
            v = resolve(v)
        print(v)
