"""Isolation checks for the monorepo.

1. Import boundaries (always): no plugin package imports another plugin package, and
   mlflow-plugins-shared imports none (AST scan of src/ and tests/).
2. Alone-install (unless --imports-only): build every wheel, then for each plugin create a fresh
   venv, install only its wheel + the shared wheel (dependencies resolved from the index, nothing
   editable), check that no sibling plugin came in, and load each of its entry points there. This
   proves the declared dependencies are enough.
"""

from __future__ import annotations

import argparse
import ast
import concurrent.futures as cf
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = sorted(p for p in (ROOT / "packages").iterdir() if (p / "pyproject.toml").exists())


def import_name(pkg: Path) -> str:
    return sorted(
        d.name for d in (pkg / "src").iterdir() if d.is_dir() and not d.name.endswith(".egg-info")
    )[0]


def imported_top_levels(path: Path) -> set[str]:
    found: set[str] = set()
    for f in path.rglob("*.py"):
        try:
            tree = ast.parse(f.read_text(), str(f))
        except SyntaxError as e:
            raise SystemExit(f"cannot parse {f}: {e}") from None
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found.update(a.name.split(".")[0] for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add(node.module.split(".")[0])
    return found


def check_imports() -> list[str]:
    plugins = {import_name(p): p.name for p in PACKAGES}
    problems = []
    for pkg in PACKAGES:
        own = import_name(pkg)
        for sub in ("src", "tests", "bench"):
            if not (pkg / sub).exists():
                continue
            for other in sorted((imported_top_levels(pkg / sub) & set(plugins)) - {own}):
                problems.append(f"{pkg.name}/{sub} imports plugin {other} ({plugins[other]})")
    for other in sorted(imported_top_levels(ROOT / "shared" / "src") & set(plugins)):
        problems.append(f"shared/src imports plugin {other}")
    return problems


def build_wheels(out: Path) -> dict[str, Path]:
    uv = shutil.which("uv")
    wheels: dict[str, Path] = {}
    for src in [ROOT / "shared", *PACKAGES]:
        cmd = [uv, "build", "--wheel", "-q", "-o", str(out), str(src)] if uv else [
            sys.executable, "-m", "build", "--wheel", "-q", "-o", str(out), str(src)]
        subprocess.run(cmd, check=True, capture_output=True)
        name = tomllib.loads((src / "pyproject.toml").read_text())["project"]["name"]
        wheels[name] = next(out.glob(name.replace("-", "_") + "-*.whl"))
    return wheels


SMOKE = r"""
import importlib.metadata as md, sys
dist = sys.argv[1]
eps = [ep for ep in md.distribution(dist).entry_points if ep.group.startswith("mlflow.")]
assert eps, f"{dist} declares no mlflow.* entry points"
for ep in eps:
    ep.load()
siblings = {d.metadata["Name"] for d in md.distributions()} & set(sys.argv[2].split(","))
assert siblings == {dist}, f"sibling plugins installed alongside {dist}: {sorted(siblings - {dist})}"
print(f"{dist}: {len(eps)} entry points load")
"""


def check_alone(pkg: Path, wheels: dict[str, Path], work: Path) -> str:
    name = tomllib.loads((pkg / "pyproject.toml").read_text())["project"]["name"]
    venv = work / f"venv-{name}"
    uv = shutil.which("uv")
    py = venv / "bin" / "python"
    subprocess.run([uv, "venv", "-q", str(venv), "--python", sys.executable], check=True, capture_output=True)
    r = subprocess.run([uv, "pip", "install", "-q", "--python", str(py), str(wheels["mlflow-plugins-shared"]), str(wheels[name])],
                       capture_output=True, text=True)
    if r.returncode != 0:
        return f"FAIL {name}: install failed: {r.stderr[-1500:]}"
    all_plugins = ",".join(p.name for p in PACKAGES)
    r = subprocess.run([str(py), "-c", SMOKE, name, all_plugins], capture_output=True, text=True)
    if r.returncode != 0:
        return f"FAIL {name}: {r.stderr.strip().splitlines()[-1] if r.stderr.strip() else r.stdout}"
    return "ok   " + r.stdout.strip()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--imports-only", action="store_true")
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args()
    problems = check_imports()
    for p in problems:
        print(f"import boundary: {p}")
    if problems:
        return 1
    print(f"import boundaries: ok ({len(PACKAGES)} packages, shared imports no plugin)")
    if args.imports_only:
        return 0
    if not shutil.which("uv"):
        print("uv is required for the alone-install check (pip install uv)")
        return 1
    with tempfile.TemporaryDirectory(prefix="isolation-") as tmp:
        work = Path(tmp)
        wheels = build_wheels(work / "wheels")
        with cf.ThreadPoolExecutor(args.jobs) as pool:
            results = list(pool.map(lambda p: check_alone(p, wheels, work), PACKAGES))
    for line in results:
        print(line)
    return 1 if any(r.startswith("FAIL") for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
