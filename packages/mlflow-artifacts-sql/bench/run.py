"""Benchmark: mlflow-artifacts-sql on SQLite and PostgreSQL beside MLflow's LocalArtifactRepository,
all on the same disk, in one run.

Moves one large file (quick: 128 MiB, `--full`: 1 GiB) and a directory of small files (quick: 2,000,
`--full`: 10,000) up and down. Each transfer runs in a fresh process: its RSS is sampled every 5 ms
(psutil) from the moment MLflow and the drivers are imported and connected ("base") to the end.
Targets (issue 4): large-file throughput at least 0.5x the local repository's; peak RSS under 150 MB
while moving the large file (reported as measured, and as growth above the process after importing
MLflow and connecting: `import mlflow` alone takes about 205 MiB). The large-file transfers also run
from a venv with only mlflow-skinny (what the package depends on) and the driver: a client's RSS. PostgreSQL is a private instance
started with tools/testenv. Each row notes the 1-minute load average when its transfer ended.

    python packages/mlflow-artifacts-sql/bench/run.py [--full] [--backends sqlite,postgres] --out bench.json
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

PACKAGE = "mlflow-artifacts-sql"
MiB = 1024 * 1024
ANCHOR = "LocalArtifactRepository"
OPS = ("upload-file", "download-file", "upload-dir", "download-dir")
SKINNY = "+skinny"  # results of the transfers run from a venv with mlflow-skinny instead of mlflow


# ---- worker side: one operation in its own process ---------------------------------------------

class _Sampler(threading.Thread):
    def __init__(self) -> None:
        super().__init__(daemon=True)
        import psutil

        self.proc = psutil.Process()
        self.peak = self.proc.memory_info().rss
        self.running = True

    def run(self) -> None:
        while self.running:
            self.peak = max(self.peak, self.proc.memory_info().rss)
            time.sleep(0.005)


def _worker(spec: dict) -> dict:
    os.environ.update(spec.get("env", {}))
    if spec["subject"] == "local":
        from mlflow.store.artifact.local_artifact_repo import LocalArtifactRepository

        repo = LocalArtifactRepository(spec["uri"])
    else:
        from mlflow_artifacts_sql.repository import SqlArtifactRepository

        repo = SqlArtifactRepository(spec["uri"])
        repo.list_artifacts("warm-up")  # connect, create tables: not part of the measurement
    import psutil

    base = psutil.Process().memory_info().rss
    sampler = _Sampler()
    sampler.start()
    t = time.perf_counter()
    op, src = spec["op"], spec["src"]
    if op == "upload-file":
        repo.log_artifact(src, spec.get("folder", "big"))
    elif op == "download-file":
        repo.download_artifacts(f"big/{os.path.basename(src)}", spec["dst"])
    elif op == "upload-dir":
        repo.log_artifacts(src, "many")
    elif op == "download-dir":
        repo.download_artifacts("many", spec["dst"])
    seconds = time.perf_counter() - t
    sampler.running = False
    sampler.join()
    return {"seconds": seconds, "base_mib": base / MiB, "peak_mib": sampler.peak / MiB,
            "load": round(os.getloadavg()[0], 2)}


# ---- driver side ----------------------------------------------------------------------------------

def _run(spec: dict) -> dict:
    python = spec.pop("python", None) or sys.executable
    out = subprocess.run([python, __file__, "--worker", json.dumps(spec)], capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"worker failed: {spec['subject']} {spec['op']}\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _skinny_python() -> Path:
    from importlib.metadata import version

    from mlflow_testenv.minimal_venv import minimal_python

    root = Path(__file__).resolve().parents[3]
    return minimal_python("bench-artifacts-sql-skinny",
                          [f"mlflow-skinny=={version('mlflow-skinny')}", "sqlalchemy>=2.0,<3", "psycopg[binary]>=3.1",
                           "psutil>=5"], [root / "shared", root / "packages" / PACKAGE])


def _make_data(work: Path, big_mib: int, small_files: int) -> tuple[Path, Path]:
    big = work / "data" / "big.bin"
    big.parent.mkdir(parents=True)
    block = os.urandom(MiB)
    with open(big, "wb") as f:
        for i in range(big_mib):
            f.write(block[i % 251:] + block[: i % 251])  # distinct blocks, cheap to make
    small = work / "data" / "many"
    for i in range(small_files):
        p = small / f"d{i % 50:02d}" / f"f{i:05d}.json"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(os.urandom(512 + (i * 37) % 3500))
    return big, small


def _engines(pg_url: str | None) -> dict[str, str]:
    import sqlite3

    engines = {"local": "local disk", "sqlite": f"SQLite {sqlite3.sqlite_version}"}
    if pg_url:
        import sqlalchemy as sa

        engine = sa.create_engine(pg_url)
        with engine.connect() as c:
            engines["postgres"] = "PostgreSQL " + c.exec_driver_sql("SHOW server_version").scalar().split()[0]
        engine.dispose()
    return engines


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--worker")
    ap.add_argument("--full", action="store_true")
    ap.add_argument("--out", default="bench.json")
    ap.add_argument("--backends", default="sqlite,postgres")
    ap.add_argument("--repeat", type=int, default=2, help="runs of each large-file transfer (the fastest counts)")
    ap.add_argument("--no-skinny", action="store_true", help="skip the transfers from an mlflow-skinny venv")
    args = ap.parse_args()
    if args.worker:
        print(json.dumps(_worker(json.loads(args.worker))))
        return 0

    big_mib, small_files = (1024, 10_000) if args.full else (128, 2_000)
    backends = [b for b in args.backends.split(",") if b]
    work = Path(tempfile.mkdtemp(prefix="bench-artifacts-sql-", dir=os.environ.get("BENCH_DIR")))
    pg = None
    try:
        big, small = _make_data(work, big_mib, small_files)
        subjects = {"local": str(work / "local-repo"), "sqlite": f"sqlite:///{work / 'artifacts.db'}/bench"}
        if "postgres" in backends:
            from mlflow_testenv import start_service

            pg = start_service("postgres", parent_pid=os.getpid(), record=False)
            # psycopg 3 (binary bytea reads); plain postgresql:// means psycopg2, which reads hex text.
            pg_url = pg.exports["MLFLOW_TESTENV_POSTGRES_URL"].replace("postgresql://", "postgresql+psycopg://")
            subjects["postgres"] = pg_url + "/bench"
        subjects = {k: v for k, v in subjects.items() if k == "local" or k in backends}
        engines = _engines(pg.exports["MLFLOW_TESTENV_POSTGRES_URL"] if pg else None)
        if pg:
            engines["postgres"] += " (psycopg 3)"
        results: dict[tuple[str, str], dict] = {}
        print(f"1-min load average at the start {os.getloadavg()[0]:.2f}", flush=True)

        def transfer(subject: str, uri: str, op: str, python: str | None = None, tag: str = "") -> None:
            src = big if op.endswith("file") else small
            dst = work / f"dl-{subject}-{op}{tag}"
            dst.mkdir()
            # The large file moves `repeat` times (uploads to distinct folders), each in a fresh
            # process; the fastest counts. Fresh page-cache writes on this machine sometimes pay for
            # reclaim (the same 1 GiB write measured 0.4 and 5 GB/s back to back).
            runs = []
            for i in range(args.repeat if op.endswith("file") else 1):
                runs.append(_run({"subject": subject, "uri": uri, "op": op, "src": str(src), "dst": str(dst),
                                  "folder": f"big{tag}" if i == 0 else f"big{tag}-{i}", "python": python}))
                shutil.rmtree(dst, ignore_errors=True)
                dst.mkdir()
            r = min(runs, key=lambda x: x["seconds"])
            r = {**r, "peak_mib": max(x["peak_mib"] for x in runs), "base_mib": min(x["base_mib"] for x in runs),
                 "all_seconds": [round(x["seconds"], 2) for x in runs]}
            results[(subject + tag, op)] = r
            print(f"{subject + tag:16s} {op:14s} {r['seconds']:8.2f} s  base {r['base_mib']:.0f} MiB  "
                  f"peak {r['peak_mib']:.0f} MiB  runs {r.get('all_seconds')}  load {r['load']}", flush=True)
            shutil.rmtree(dst, ignore_errors=True)
            write_rows()  # what is complete so far: a long run cut short still leaves its figures

        def write_rows() -> list[dict]:
            done = [s for s in subjects if all((s, o) in results for o in OPS) and ("local", OPS[-1]) in results]
            rows = _rows(results, done, engines, big_mib, small_files)
            Path(args.out).write_text(json.dumps(rows, indent=1))
            return rows

        for subject, uri in subjects.items():
            for op in OPS:
                transfer(subject, uri, op)
        if not args.no_skinny:
            # The same large-file transfers from a venv holding only what a client installs:
            # mlflow-skinny, SQLAlchemy, the driver, the shared wheel and this package (+ psutil).
            skinny = str(_skinny_python())
            for subject, uri in subjects.items():
                for op in ("upload-file", "download-file"):
                    transfer(subject, uri, op, python=skinny, tag=SKINNY)
        rows = write_rows()
    finally:
        if pg is not None:
            pg.stop()
        shutil.rmtree(work, ignore_errors=True)
    print(f"wrote {args.out} ({len(rows)} rows); 1-min load average at the end {os.getloadavg()[0]:.2f}")
    return 0


def _rows(results: dict, subjects, engines: dict, big_mib: int, small_files: int) -> list[dict]:
    size = f"{big_mib // 1024} GiB" if big_mib >= 1024 else f"{big_mib} MiB"
    rows = []

    def row(benchmark: str, subject: str, value: float, unit: str, anchor_value: float | None,
            target: str, notes: str = "") -> None:
        ratio = value / anchor_value if anchor_value else None
        rows.append({"package": PACKAGE, "benchmark": benchmark, "subject": subject, "anchor": ANCHOR,
                     "value": round(value, 2), "unit": unit,
                     "anchor_value": None if anchor_value is None else round(anchor_value, 2),
                     "ratio": None if ratio is None else round(ratio, 3), "target": target,
                     "engine": engines.get(subject, ""), "notes": notes})

    for subject in subjects:
        if subject == "local":
            continue
        for op, what in (("upload-file", "upload"), ("download-file", "download")):
            r, a = results[(subject, op)], results[("local", op)]
            row(f"{what} one {size} file", subject, big_mib / r["seconds"], "MiB/s", big_mib / a["seconds"],
                ">= 0.5x anchor", f"best of {r['all_seconds']} s (anchor {a['all_seconds']} s); "
                                  f"1-min load {r['load']} (anchor {a['load']})")
            row(f"peak RSS, {what} of the {size} file", subject, r["peak_mib"], "MiB", a["peak_mib"],
                "< 150 MB", f"{r['base_mib']:.0f} MiB after importing MLflow and connecting; "
                            f"+{r['peak_mib'] - r['base_mib']:.0f} MiB while moving")
            # What the plugin itself adds: the absolute figure is mostly `import mlflow` (~205 MiB).
            row(f"RSS growth while moving the {size} file ({what})", subject, r["peak_mib"] - r["base_mib"], "MiB",
                a["peak_mib"] - a["base_mib"], "", "peak minus the process after importing MLflow and connecting")
            if (subject + SKINNY, op) in results and ("local" + SKINNY, op) in results:
                rs, as_ = results[(subject + SKINNY, op)], results[("local" + SKINNY, op)]
                row(f"peak RSS, {what} of the {size} file, client with mlflow-skinny", subject, rs["peak_mib"], "MiB",
                    as_["peak_mib"], "< 150 MB", f"venv with only mlflow-skinny, SQLAlchemy, psycopg 3, this package "
                    f"(and psutil); {rs['base_mib']:.0f} MiB after importing and connecting, "
                    f"+{rs['peak_mib'] - rs['base_mib']:.0f} MiB while moving; {rs['all_seconds']} s")
        for op, what in (("upload-dir", "log_artifacts"), ("download-dir", "download_artifacts")):
            r, a = results[(subject, op)], results[("local", op)]
            row(f"{what} of {small_files:,} small files", subject, small_files / r["seconds"], "files/s",
                small_files / a["seconds"], "", f"{r['seconds']:.1f} s")
    return rows


if __name__ == "__main__":
    sys.exit(main())
