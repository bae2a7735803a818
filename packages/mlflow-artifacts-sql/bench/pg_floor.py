"""PostgreSQL upload floor: a 1 GiB upload through the plugin (fresh process) with the testenv's
default server settings or checkpoint-free ones, alternating with a local copy of the same file;
reports wall time, WAL bytes and checkpoints per upload.

    python packages/mlflow-artifacts-sql/bench/pg_floor.py default|tuned ROUNDS FILE
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import sqlalchemy as sa

from mlflow_testenv import start_service

SETTINGS = {
    "default": [],
    "tuned": ["-c", "shared_buffers=1GB", "-c", "max_wal_size=8GB", "-c", "checkpoint_timeout=30min",
              "-c", "wal_buffers=64MB"],
}
UPLOAD = r"""
import sys, time
from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository
repo = get_artifact_repository(sys.argv[1])
t = time.perf_counter()
repo.log_artifact(sys.argv[2])
print(time.perf_counter() - t)
"""


def scalar(engine: sa.Engine, sql: str) -> object:
    with engine.connect() as conn:
        return conn.exec_driver_sql(sql).scalar()


def main() -> None:
    settings, rounds, big = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    srv = start_service("postgres", SETTINGS[settings], parent_pid=os.getpid(), record=False)
    try:
        url = srv.exports["MLFLOW_TESTENV_POSTGRES_URL"].replace("postgresql://", "postgresql+psycopg://")
        engine = sa.create_engine(url)
        checkpoints = "select checkpoints_timed + checkpoints_req from pg_stat_bgwriter"
        for i in range(rounds):
            os.sync()
            scratch = tempfile.mkdtemp(dir=os.path.dirname(os.path.abspath(big)))
            t = time.perf_counter()
            shutil.copyfile(big, os.path.join(scratch, "big"))
            local = time.perf_counter() - t
            shutil.rmtree(scratch)
            os.sync()
            wal0, ck0 = scalar(engine, "select pg_current_wal_lsn()"), scalar(engine, checkpoints)
            out = subprocess.run([sys.executable, "-c", UPLOAD, f"{url}/r{i}", big], capture_output=True, text=True)
            if out.returncode:
                sys.exit(out.stderr[-2000:])
            wall = float(out.stdout.split()[-1])
            wal = float(scalar(engine, f"select pg_current_wal_lsn() - '{wal0}'::pg_lsn"))  # type: ignore[arg-type]
            print(json.dumps({
                "settings": settings, "round": i, "local_copy_s": round(local, 3), "upload_s": round(wall, 3),
                "ratio": round(local / wall, 3), "wal_mib": round(wal / 2**20),
                "checkpoints": int(scalar(engine, checkpoints)) - int(ck0),  # type: ignore[call-overload]
                "load": os.getloadavg()[0],
            }), flush=True)
        engine.dispose()
    finally:
        srv.stop()


if __name__ == "__main__":
    main()
