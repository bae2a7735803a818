"""Streaming, atomic visibility, concurrency and verification on every real backend."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
import tracemalloc
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from mlflow.exceptions import MlflowException
from mlflow_artifacts_sql.database import Database, database_for
from mlflow_artifacts_sql.location import parse_location
from mlflow_artifacts_sql.repository import SqlArtifactRepository

WORKER = str(Path(__file__).with_name("worker.py"))
MiB = 1 << 20


def unique_root() -> str:
    return f"t-{uuid.uuid4().hex[:12]}"


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


@pytest.fixture
def private_tables(monkeypatch) -> str:
    """Tables of this test only, so counting rows or purging cannot touch other tests."""
    prefix = f"t{uuid.uuid4().hex[:10]}_"
    monkeypatch.setenv("MLFLOW_ARTIFACTS_SQL_TABLE_PREFIX", prefix)
    return prefix


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _rows(repo: SqlArtifactRepository, staged: bool) -> int:
    db = repo._db
    files = db.tables.files
    cond = files.c.path.is_(None) if staged else files.c.path.isnot(None)
    with db.engine.connect() as c:
        return c.execute(sa.select(sa.func.count()).select_from(files).where(cond)).scalar()


def _chunk_rows(repo: SqlArtifactRepository) -> int:
    db = repo._db
    with db.engine.connect() as c:
        return c.execute(sa.select(sa.func.count()).select_from(db.tables.chunks)).scalar()


def test_big_file_streams_with_bounded_memory(db_url, tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_ARTIFACTS_SQL_CHUNK_SIZE", "1MiB")
    monkeypatch.setenv("MLFLOW_ARTIFACTS_SQL_TRANSACTION_SIZE", "4MiB")
    size = 48 * MiB
    big = tmp_path / "big.bin"
    with open(big, "wb") as f:
        for _ in range(size // MiB):
            f.write(os.urandom(MiB))
    repo = SqlArtifactRepository(f"{db_url}/{unique_root()}")
    repo.list_artifacts()  # connect and create tables outside the measurement
    tracemalloc.start()
    try:
        repo.log_artifact(str(big))
        upload_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.reset_peak()
        out = Path(repo.download_artifacts("big.bin", str(tmp_path / "dl")))
        download_peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert _sha(out) == _sha(big)
    # Reading the file whole would need 48 MiB (and the drivers copy it again); streaming needs
    # about one transaction of chunks plus one escaped chunk.
    assert upload_peak < 16 * MiB, upload_peak / MiB
    assert download_peak < 8 * MiB, download_peak / MiB


def test_killed_uploads_leave_nothing_visible_and_are_purged_later(all_db_urls, tmp_path, private_tables):
    uris = {name: f"{url}/{unique_root()}" for name, url in all_db_urls.items()}
    markers = tmp_path / "markers"
    markers.mkdir()
    env = {"MLFLOW_ARTIFACTS_SQL_CHUNK_SIZE": "256KiB", "MLFLOW_ARTIFACTS_SQL_TRANSACTION_SIZE": "512KiB"}
    proc = subprocess.Popen([sys.executable, WORKER, "stall", str(3 * MiB), str(markers), *uris.values()],
                            env={**os.environ, **env}, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 180
        while len(list(markers.iterdir())) < len(uris):
            assert proc.poll() is None, proc.stderr.read().decode()[-3000:] if proc.stderr else ""
            assert time.monotonic() < deadline, "the worker never reached the stall"
            time.sleep(0.05)
    finally:
        proc.kill()  # SIGKILL: no cleanup code runs
        proc.wait()
    for name, uri in uris.items():
        repo = SqlArtifactRepository(uri)
        assert repo.list_artifacts() == [], name
        with pytest.raises(MlflowException) as e:
            repo.download_artifacts("partial.bin", str(tmp_path / "dl"))
        assert "partial.bin" in e.value.message
        assert _rows(repo, staged=True) == 1 and _chunk_rows(repo) >= 8, name  # committed, yet invisible

        # A process that starts later removes unfinished uploads older than the configured age.
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("MLFLOW_ARTIFACTS_SQL_STALE_UPLOAD_HOURS", "0")
            Database(parse_location(uri))
        assert _rows(repo, staged=True) == 0 and _chunk_rows(repo) == 0, name


class _Failing:
    def __init__(self, good: int) -> None:
        self.left = good

    def read(self, n: int = -1) -> bytes:
        if self.left <= 0:
            raise OSError("disk went away")
        n = min(n if n > 0 else self.left, self.left)
        self.left -= n
        return os.urandom(n)


def test_failed_upload_is_invisible_and_cleaned_up(db_url, private_tables, monkeypatch):
    monkeypatch.setenv("MLFLOW_ARTIFACTS_SQL_CHUNK_SIZE", "256KiB")
    monkeypatch.setenv("MLFLOW_ARTIFACTS_SQL_TRANSACTION_SIZE", "256KiB")
    repo = SqlArtifactRepository(f"{db_url}/{unique_root()}")
    with pytest.raises(OSError):
        repo.log_artifact_from_stream(_Failing(2 * MiB), "x.bin", "d")  # type: ignore[arg-type]
    assert repo.list_artifacts() == []
    assert _rows(repo, staged=True) == 0 and _chunk_rows(repo) == 0


def test_overwrite_of_a_big_file_keeps_no_old_chunks(db_url, tmp_path, private_tables, monkeypatch):
    monkeypatch.setenv("MLFLOW_ARTIFACTS_SQL_CHUNK_SIZE", "256KiB")
    repo = SqlArtifactRepository(f"{db_url}/{unique_root()}")
    f = write(tmp_path / "m.bin", os.urandom(3 * MiB + 5))
    repo.log_artifact(str(f))
    f = write(tmp_path / "m.bin", os.urandom(MiB))
    repo.log_artifact(str(f))
    assert _chunk_rows(repo) == 4 and _rows(repo, staged=False) == 1
    out = repo.download_artifacts("m.bin", str(tmp_path / "dl"))
    assert Path(out).read_bytes() == f.read_bytes()


def test_concurrent_uploads_of_one_path_leave_one_complete_file(all_db_urls, tmp_path, private_tables):
    uris = {name: f"{url}/{unique_root()}" for name, url in all_db_urls.items()}
    a = write(tmp_path / "a" / "same.bin", os.urandom(3 * MiB + 17))
    b = write(tmp_path / "b" / "same.bin", os.urandom(2 * MiB + 3))
    barrier = tmp_path / "barrier"
    barrier.mkdir()
    env = {"MLFLOW_ARTIFACTS_SQL_CHUNK_SIZE": "256KiB", "MLFLOW_ARTIFACTS_SQL_TRANSACTION_SIZE": "512KiB"}
    procs = [
        subprocess.Popen([sys.executable, WORKER, "race", str(local), "3", str(barrier), me, other, *uris.values()],
                         env={**os.environ, **env}, stderr=subprocess.PIPE)
        for local, me, other in ((a, "a", "b"), (b, "b", "a"))
    ]
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err.decode()[-3000:]
    for name, uri in uris.items():
        repo = SqlArtifactRepository(uri)
        out = Path(repo.download_artifacts("shared/same.bin", str(tmp_path / "dl" / name)))
        assert _sha(out) in {_sha(a), _sha(b)}, name
        assert [f.path for f in repo.list_artifacts("shared")] == ["shared/same.bin"]
        assert _rows(repo, staged=True) == 0 and _rows(repo, staged=False) == 1, name
        expected_chunks = -(-out.stat().st_size // (256 * 1024))
        assert _chunk_rows(repo) == expected_chunks, name  # nothing of the losing uploads is left


def _corrupt(repo: SqlArtifactRepository, how: str) -> None:
    db = repo._db
    files, chunks = db.tables.files, db.tables.chunks
    with db.engine.begin() as c:
        file_id = c.execute(sa.select(files.c.id).where(files.c.path.isnot(None))).scalar()
        where = sa.and_(chunks.c.file_id == file_id, chunks.c.seq == 1)
        if how == "flip":
            data = bytearray(c.execute(sa.select(chunks.c.data).where(where)).scalar())
            data[100] ^= 0xFF
            c.execute(chunks.update().where(where).values(data=bytes(data)))
        else:
            c.execute(chunks.delete().where(where))


@pytest.mark.parametrize("how", ["flip", "drop"])
def test_verification_catches_corruption(db_url, tmp_path, private_tables, monkeypatch, how):
    monkeypatch.setenv("MLFLOW_ARTIFACTS_SQL_CHUNK_SIZE", "64KiB")
    repo = SqlArtifactRepository(f"{db_url}/{unique_root()}")
    f = write(tmp_path / "w.bin", os.urandom(300_000))
    repo.log_artifact(str(f))
    _corrupt(repo, how)
    dl = tmp_path / "dl"
    with pytest.raises(MlflowException) as e:
        repo.download_artifacts("w.bin", str(dl))
    assert e.value.error_code == "DATA_LOSS"
    assert ("SHA-256" if how == "flip" else "missing") in e.value.message
    assert not (dl / "w.bin").exists()  # no damaged copy left behind


def test_sqlite_lock_is_retried(tmp_path, monkeypatch):
    """A transient error (another process holds the write lock) is retried, not surfaced."""
    db_file = tmp_path / "locked.db"
    monkeypatch.setenv("MLFLOW_ARTIFACTS_SQL_CONNECT_TIMEOUT", "1")
    repo = SqlArtifactRepository(f"sqlite:///{db_file}/root")
    repo.list_artifacts()  # creates the tables
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sqlite3, sys, time\n"
        f"c = sqlite3.connect({str(db_file)!r}, isolation_level=None)\n"
        "c.execute('BEGIN EXCLUSIVE'); print('locked', flush=True); time.sleep(2.5); c.execute('COMMIT')\n"
    )], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        f = write(tmp_path / "x.txt", b"after the lock")
        repo.log_artifact(str(f))  # first attempt times out after 1 s; a retry succeeds
    finally:
        holder.wait(timeout=30)
    out = repo.download_artifacts("x.txt", str(tmp_path / "dl"))
    assert Path(out).read_bytes() == b"after the lock"


def test_one_engine_per_url_per_process(db_url):
    root_a, root_b = unique_root(), unique_root()
    a = SqlArtifactRepository(f"{db_url}/{root_a}")
    b = SqlArtifactRepository(f"{db_url}/{root_b}/1/r/artifacts")
    a.list_artifacts()
    b.list_artifacts()
    assert a._db is b._db
    assert a._db is database_for(parse_location(db_url))


def test_log_artifacts_batches_many_small_files(db_url, tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_ARTIFACTS_SQL_BATCH_FILES", "50")
    src = tmp_path / "many"
    for i in range(230):
        write(src / f"d{i % 7}" / f"f{i}.txt", f"file {i}".encode())
    repo = SqlArtifactRepository(f"{db_url}/{unique_root()}")
    repo.log_artifacts(str(src), "many")
    assert [f.path for f in repo.list_artifacts("many")] == [f"many/d{i}" for i in range(7)]
    out = Path(repo.download_artifacts("many", str(tmp_path / "dl")))
    assert sorted(p.name for p in out.rglob("*.txt")) == sorted(f"f{i}.txt" for i in range(230))
    assert (out / "d3" / "f10.txt").read_bytes() == b"file 10"


@pytest.mark.parametrize(
    ("backend", "scheme"),
    [("postgres", "postgresql+psycopg"), ("postgres", "postgresql+psycopg2"), ("mariadb", "mariadb+pymysql")],
)
def test_every_driver_spelling_round_trips(request, backend, scheme, tmp_path, monkeypatch, private_tables):
    monkeypatch.setenv("MLFLOW_ARTIFACTS_SQL_CHUNK_SIZE", "64KiB")
    url = request.getfixturevalue(f"{backend}_url")
    url = scheme + url[url.index("://"):]
    repo = SqlArtifactRepository(f"{url}/{unique_root()}")
    assert repo._db.engine.dialect.driver == scheme.split("+")[1]
    f = write(tmp_path / "src" / "r.bin", os.urandom(200_000))
    repo.log_artifact(str(f), "x")
    assert [(i.path, i.file_size) for i in repo.list_artifacts("x")] == [("x/r.bin", 200_000)]
    out = repo.download_artifacts("x/r.bin", str(tmp_path / "dl"))
    assert Path(out).read_bytes() == f.read_bytes()
    _corrupt(repo, "flip")
    with pytest.raises(MlflowException) as e:
        repo.download_artifacts("x/r.bin", str(tmp_path / "dl2"))
    assert e.value.error_code == "DATA_LOSS"
