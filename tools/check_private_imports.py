"""Fail on any private MLflow name used outside a compat module (run by ``make lint``).

MLflow renames and removes underscore names between minor releases; a package that imports one in
many places breaks in many places, and a package that fails to import silently loses its entry
points. So every private name lives in one module per package, named ``mlflow_compat.py``.

Flagged, in every ``.py`` file of the repository except ``mlflow_compat.py`` files:
- ``from mlflow.x import _name`` and ``from mlflow._x import name`` (any private module segment);
- ``import mlflow._x`` and attribute chains such as ``mlflow.tracking._tracking_service``.

``python tools/check_private_imports.py [paths...]`` prints ``path:line: what`` for each and exits 1.
The one-grep view of where they all are: ``grep -rn "import _\\|\\._" --include=mlflow_compat.py .``
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ALLOWED_NAME = "mlflow_compat.py"
SKIP_DIRS = {".venv", ".git", "dist", "build", "node_modules", "plugin-template", "__pycache__"}


def _private(parts: list[str]) -> bool:
    return any(p.startswith("_") and not (p.startswith("__") and p.endswith("__")) for p in parts)


def _attribute_chain(node: ast.Attribute) -> list[str] | None:
    parts: list[str] = []
    cur: ast.expr = node
    while isinstance(cur, ast.Attribute):
        parts.append(cur.attr)
        cur = cur.value
    if isinstance(cur, ast.Name) and cur.id == "mlflow":
        return ["mlflow", *reversed(parts)]
    return None


def violations(path: Path) -> Iterator[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            parts = node.module.split(".")
            if parts[0] != "mlflow":
                continue
            names = [a.name for a in node.names]
            if _private(parts) or _private(names):
                yield node.lineno, f"from {node.module} import {', '.join(names)}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "mlflow" and _private(parts):
                    yield node.lineno, f"import {alias.name}"
        elif isinstance(node, ast.Attribute):
            chain = _attribute_chain(node)
            if chain and _private(chain):
                yield node.lineno, ".".join(chain)


def python_files(paths: list[Path]) -> Iterator[Path]:
    for base in paths:
        if base.is_file():
            yield base
            continue
        for path in sorted(base.rglob("*.py")):
            if not SKIP_DIRS.intersection(path.relative_to(base).parts) and not path.name.startswith("."):
                yield path


def main(argv: list[str]) -> int:
    targets = [Path(a) for a in argv] or [ROOT / d for d in ("shared", "packages", "tools", "tests-integration")]
    found = 0
    for path in python_files(targets):
        if path.name == ALLOWED_NAME:
            continue
        seen: set[tuple[int, str]] = set()
        for lineno, what in violations(path):
            if (lineno, what) in seen:
                continue
            seen.add((lineno, what))
            found += 1
            print(f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}:{lineno}: "
                  f"private MLflow name outside mlflow_compat.py: {what}")
    if found:
        print(f"{found} private MLflow name(s): move them into the package's mlflow_compat.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
