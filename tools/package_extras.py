"""Print a package's optional-dependency (extra) names, comma separated, for pip/uv specs.

`python3 tools/package_extras.py packages/mlflow-store-es [--except test]` -> `opensearch,test`.
A directory without a pyproject (or without extras) prints an empty line.
"""

from __future__ import annotations

import sys
from pathlib import Path

import tomllib


def extras(pkg_dir: str, exclude: tuple[str, ...] = ()) -> list[str]:
    pyproject = Path(pkg_dir) / "pyproject.toml"
    if not pyproject.is_file():
        return []
    declared = tomllib.loads(pyproject.read_text())["project"].get("optional-dependencies", {})
    return [name for name in declared if name not in exclude]


if __name__ == "__main__":
    args = sys.argv[1:]
    excluded = tuple(args[args.index("--except") + 1].split(",")) if "--except" in args else ()
    print(",".join(extras(args[0], excluded)))
