"""The lock: every third-party version the dev environment and CI install, MLflow's among them.

A new MLflow release must not turn CI red between two commits, so `make install` (and with it
`make test` and `.ci/run`) installs with ``-c constraints.txt``, and moving the lock is a deliberate
step (`make upgrade-mlflow`): it re-resolves MLflow to the newest release, runs the suite, and writes
the tested version into every README's compatibility section.

    python3 tools/mlflow_lock.py compile [--upgrade-mlflow | --upgrade]   # rewrite constraints.txt
    python3 tools/mlflow_lock.py version                                # the locked MLflow version
    python3 tools/mlflow_lock.py stamp                                  # write it into the READMEs
    python3 tools/mlflow_lock.py resolve latest|pre|<version>           # an MLflow version on PyPI

The lock is resolved with ``uv pip compile --universal`` for Python 3.10 and up, so one file serves
every Python the packages support.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "constraints.txt"
MLFLOW_DISTS = ("mlflow", "mlflow-skinny", "mlflow-tracing")
MARK = re.compile(r"(<!-- mlflow-tested -->).*?(<!-- /mlflow-tested -->)", re.S)
HEADER = """\
# The lock (see tools/mlflow_lock.py): every third-party version `make install` installs, as a
# constraints file. It pins the MLflow release this project was last tested with, so a new MLflow
# on PyPI cannot turn CI red between two commits. Move it with `make upgrade-mlflow` (MLflow only)
# or `python3 tools/mlflow_lock.py compile --upgrade` (everything); never edit it by hand.
"""


def _inputs() -> str:
    """requirements-dev.txt plus shared/, the testenv lib and every package with all its extras."""
    sys.path.insert(0, str(ROOT / "tools"))
    from package_extras import extras

    lines = ["-r requirements-dev.txt", "-e shared", "-e tools/testenv-lib"]
    for pkg in sorted((ROOT / "packages").iterdir()):
        if (pkg / "pyproject.toml").is_file():
            names = extras(str(pkg))
            lines.append(f"-e packages/{pkg.name}" + (f"[{','.join(names)}]" if names else ""))
    return "\n".join(lines) + "\n"


def compile_lock(upgrade_mlflow: bool, upgrade_all: bool) -> str:
    with tempfile.NamedTemporaryFile("w", suffix=".txt", dir=ROOT, prefix=".lock-inputs-", delete=False) as f:
        f.write(_inputs())
        inputs = Path(f.name)
    try:
        cmd = ["uv", "pip", "compile", "--quiet", "--universal", "--python-version", "3.10", "--no-header",
               "--no-annotate", str(inputs.name)]
        if LOCK.is_file() and not upgrade_all:
            cmd += ["--output-file", str(LOCK.name)]  # uv keeps the pins it finds there
        if upgrade_all:
            cmd.append("--upgrade")
        elif upgrade_mlflow:
            for dist in MLFLOW_DISTS:
                cmd += ["--upgrade-package", dist]
        out = subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True, text=True).stdout
    finally:
        inputs.unlink()
    if LOCK.is_file() and "--output-file" in cmd:
        out = LOCK.read_text()
    pins = [ln for ln in out.splitlines() if ln.strip() and not ln.startswith(("-e ", "#"))]
    LOCK.write_text(HEADER + "\n".join(pins) + "\n")
    return locked_version()


def locked_version(lock: Path = LOCK) -> str:
    for line in lock.read_text().splitlines():
        m = re.match(r"mlflow==([^\s;]+)", line)
        if m:
            return m.group(1)
    raise SystemExit(f"{lock}: no mlflow== pin")


def _pypi_versions() -> list[Any]:
    from packaging.version import InvalidVersion, Version

    with urllib.request.urlopen("https://pypi.org/pypi/mlflow/json", timeout=30) as r:  # noqa: S310
        releases = json.load(r)["releases"]
    out = []
    for text, files in releases.items():
        try:
            v = Version(text)
        except InvalidVersion:
            continue
        if files and not all(f.get("yanked") for f in files):
            out.append(v)
    return sorted(out)


def final_versions() -> list[Any]:
    """Every final (not pre-, not dev-) MLflow release on PyPI, oldest first."""
    return [v for v in _pypi_versions() if not v.is_prerelease and not v.is_devrelease]


def resolve(spec: str) -> str:
    """``latest``: the newest final release; ``pre``: the newest pre-release if it is newer than that, else
    an empty string; anything else is returned as given."""
    if spec not in ("latest", "pre"):
        return spec
    versions = _pypi_versions()
    newest = final_versions()[-1]
    if spec == "latest":
        return str(newest)
    pre = [v for v in versions if v.is_prerelease and v > newest]
    return str(pre[-1]) if pre else ""


def readmes() -> list[Path]:
    return [ROOT / "README.md", ROOT / "shared" / "README.md", *sorted((ROOT / "packages").glob("*/README.md"))]


def stamp(version: str) -> list[Path]:
    changed = []
    for path in readmes():
        text = path.read_text()
        new = MARK.sub(lambda m: f"{m.group(1)}{version}{m.group(2)}", text)
        if new != text:
            path.write_text(new)
            changed.append(path)
    return changed


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("compile")
    g = c.add_mutually_exclusive_group()
    g.add_argument("--upgrade-mlflow", action="store_true")
    g.add_argument("--upgrade", action="store_true")
    sub.add_parser("version")
    sub.add_parser("stamp")
    r = sub.add_parser("resolve")
    r.add_argument("spec")
    args = ap.parse_args()
    if args.cmd == "compile":
        print(compile_lock(args.upgrade_mlflow, args.upgrade))
    elif args.cmd == "version":
        print(locked_version())
    elif args.cmd == "stamp":
        v = locked_version()
        for p in stamp(v):
            print(f"{p.relative_to(ROOT)}: MLflow {v}")
    elif args.cmd == "resolve":
        print(resolve(args.spec))
    return 0


if __name__ == "__main__":
    sys.exit(main())
