"""`make bench`: run every package's bench/run.py and write BENCHMARKS.md.

Quick mode by default (minutes); `QUICK=0 make bench` or `--full` runs the sizes the issues name.
Each package writes JSON rows (see DEVELOPING.md); this script adds the machine description and
puts every figure beside its anchor, as a ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT_DIR = ROOT / ".bench"


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kb = int(next(ln for ln in Path("/proc/meminfo").read_text().splitlines() if ln.startswith("MemTotal")).split()[1])
        mem = f", {kb / 1024 / 1024:.0f} GiB RAM"
    except (OSError, StopIteration, ValueError):
        pass
    import mlflow

    return (f"{os.cpu_count()} cores ({cpu}){mem}, {platform.system()} {platform.release()}, "
            f"Python {platform.python_version()}, MLflow {mlflow.__version__}")


def fmt(v: object) -> str:
    if v is None or v == "":
        return ""
    if isinstance(v, float):
        return f"{v:,.3g}" if abs(v) < 1000 else f"{v:,.0f}"
    return str(v)


def table(rows: list[dict]) -> str:
    head = "| benchmark | subject | value | anchor | anchor value | ratio | target | engine | notes |\n|---|---|---|---|---|---|---|---|---|"
    lines = [head]
    for r in rows:
        unit = r.get("unit", "")
        lines.append("| {b} | {s} | {v} {u} | {a} | {av} | {ratio} | {t} | {e} | {n} |".format(
            b=r.get("benchmark", ""), s=r.get("subject", ""), v=fmt(r.get("value")), u=unit,
            a=r.get("anchor", ""), av=(fmt(r.get("anchor_value")) + (f" {unit}" if r.get("anchor_value") not in (None, "") else "")),
            ratio=(f"{r['ratio']:.2f}×" if isinstance(r.get("ratio"), (int, float)) else fmt(r.get("ratio"))),
            t=r.get("target", ""), e=r.get("engine", ""), n=r.get("notes", "")))
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--full", action="store_true", default=os.environ.get("QUICK", "1") == "0")
    ap.add_argument("--only", help="comma-separated package names to run; the others keep their last results "
                                   "from .bench/ (marked with their date) when they have any")
    args = ap.parse_args()
    OUT_DIR.mkdir(exist_ok=True)
    scripts = sorted((ROOT / "packages").glob("*/bench/run.py"))
    wanted = set(args.only.split(",")) if args.only else {s.parent.parent.name for s in scripts}
    sections, failures = [], []
    for script in scripts:
        pkg = script.parent.parent.name
        out = OUT_DIR / f"{pkg}.json"
        if pkg not in wanted:
            if out.exists():
                when = time.strftime("%Y-%m-%d %H:%M", time.localtime(out.stat().st_mtime))
                rows = json.loads(out.read_text())
                sections.append(f"## {pkg}\n\n{table(rows)}\n\n({len(rows)} figures, from the run of {when})\n")
            continue
        cmd = [sys.executable, str(script), "--out", str(out)] + (["--full"] if args.full else [])
        print(f"== bench {pkg} ({'full' if args.full else 'quick'})", flush=True)
        t0 = time.monotonic()
        r = subprocess.run(cmd, cwd=ROOT)
        took = time.monotonic() - t0
        if r.returncode != 0 or not out.exists():
            failures.append(pkg)
            sections.append(f"## {pkg}\n\nbenchmark failed (exit {r.returncode}); see its output.\n")
            continue
        rows = json.loads(out.read_text())
        sections.append(f"## {pkg}\n\n{table(rows)}\n\n({len(rows)} figures, {took:.0f} s)\n")
    doc = (
        "# Benchmarks\n\n"
        f"Written by `make bench` ({'full' if args.full else 'quick'} mode) on {time.strftime('%Y-%m-%d')}.\n\n"
        f"Machine: {machine()}.\n\n"
        "Every figure stands beside its anchor (MLflow's built-in store, repository or server on the same "
        "machine, in the same run); ratio = value / anchor value unless the notes say otherwise. "
        "All servers run on 127.0.0.1.\n\n" + "\n".join(sections)
    )
    (ROOT / "BENCHMARKS.md").write_text(doc)
    print(f"wrote BENCHMARKS.md ({len(sections)} packages, {len(failures)} failed)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
