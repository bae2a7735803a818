"""The second thread of uploads (writer) and downloads (reader): failures, replays, no thread left behind."""

from __future__ import annotations

import hashlib
import io
import logging
import os
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from mlflow.exceptions import MlflowException
from mlflow_artifacts_sql.pipeline import THREAD_PREFIX
from mlflow_artifacts_sql.repository import SqlArtifactRepository

MiB = 1 << 20


@pytest.fixture
def private_tables(monkeypatch) -> str:
    prefix = f"t{uuid.uuid4().hex[:10]}_"
    monkeypatch.setenv("MLFLOW_ARTIFACTS_SQL_TABLE_PREFIX", prefix)
    return prefix


def _our_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith(THREAD_PREFIX)]


def _counts(repo: SqlArtifactRepository) -> tuple[int, int, int]:
    """(published files, unfinished uploads, chunk rows)."""
    db = repo._db
    files, chunks = db.tables.files, db.tables.chunks
    with db.engine.connect() as c:
        def count(table: sa.Table, where: sa.ColumnElement[bool] | None = None) -> int:
            q = sa.select(sa.func.count()).select_from(table)
            return c.execute(q if where is None else q.where(where)).scalar() or 0
        return count(files, files.c.path.isnot(None)), count(files, files.c.path.is_(None)), count(chunks)


def _refuse_chunks_from(repo: SqlArtifactRepository, seq: int) -> None:
    """A real database error for one chunk: a trigger that rejects rows with this seq or later."""
    db = repo._db
    t = db.tables.chunks.name
    statements = {
        "sqlite": [f"CREATE TRIGGER {t}_refuse BEFORE INSERT ON {t} WHEN NEW.seq >= {seq} "
                   "BEGIN SELECT RAISE(ABORT, 'chunk refused by test trigger'); END"],
        "postgresql": [
            f"CREATE FUNCTION {t}_refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"IF NEW.seq >= {seq} THEN RAISE EXCEPTION 'chunk refused by test trigger'; END IF; RETURN NEW; END $$",
            f"CREATE TRIGGER {t}_refuse BEFORE INSERT ON {t} FOR EACH ROW EXECUTE FUNCTION {t}_refuse()",
        ],
        "mariadb": [f"CREATE TRIGGER {t}_refuse BEFORE INSERT ON {t} FOR EACH ROW IF NEW.seq >= {seq} THEN "
                    "SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'chunk refused by test trigger'; END IF"],
    }
    with db.engine.begin() as c:
        for sql in statements["mariadb" if db.dialect == "mysql" else db.dialect]:
            c.exec_driver_sql(sql)


@pytest.mark.parametrize("source", ["file", "stream"])
def test_writer_failure_mid_upload_leaves_nothing_and_no_thread(db_url, tmp_path, private_tables, monkeypatch,
                                                                 source):
    monkeypatch.setenv("MLFLOW_ARTIFACTS_SQL_CHUNK_SIZE", "64KiB")
    monkeypatch.setenv("MLFLOW_ARTIFACTS_SQL_TRANSACTION_SIZE", "128KiB")  # commits every 2 chunks
    repo = SqlArtifactRepository(f"{db_url}/r")
    repo.list_artifacts()
    _refuse_chunks_from(repo, 9)  # chunks 0-7 commit in 4 transactions, the 5th fails
    local = tmp_path / "big.bin"
    local.write_bytes(os.urandom(MiB))
    with pytest.raises(MlflowException) as e:
        if source == "file":
            repo.log_artifact(str(local), "d")
        else:
            with open(local, "rb") as f:
                repo.log_artifact_from_stream(f, "big.bin", "d")
    assert "chunk refused by test trigger" in e.value.message
    assert e.value.error_code == "INTERNAL_ERROR"
    assert repo.list_artifacts() == []
    assert _counts(repo) == (0, 0, 0)  # the committed chunks were removed by abort()
    assert _our_threads() == []


def test_source_failure_stops_the_writer(db_url, private_tables, monkeypatch):
    monkeypatch.setenv("MLFLOW_ARTIFACTS_SQL_CHUNK_SIZE", "64KiB")
    monkeypatch.setenv("MLFLOW_ARTIFACTS_SQL_TRANSACTION_SIZE", "128KiB")

    class Breaks(io.RawIOBase):
        def __init__(self) -> None:
            self.left = 20 * 64 * 1024

        def readable(self) -> bool:
            return True

        def readinto(self, b) -> int:  # type: ignore[no-untyped-def]
            if self.left <= 0:
                raise OSError("client went away")
            n = min(len(b), self.left)
            b[:n] = os.urandom(n)
            self.left -= n
            return n

    repo = SqlArtifactRepository(f"{db_url}/r")
    with pytest.raises(OSError, match="client went away"):
        repo.log_artifact_from_stream(io.BufferedReader(Breaks()), "x.bin")
    assert _counts(repo) == (0, 0, 0)
    assert _our_threads() == []


class _RetryHook(logging.Handler):
    """Runs `action` in the writer thread when the shared retry helper announces the first retry."""

    def __init__(self, action) -> None:  # type: ignore[no-untyped-def]
        super().__init__(logging.DEBUG)
        self.action = action
        self.retries: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        msg = record.getMessage()
        if msg.startswith("retrying store chunks"):
            if not self.retries:
                self.action()
            self.retries.append(msg)


_HOLDER = """
import sqlite3, sys, time
c = sqlite3.connect(sys.argv[1], isolation_level=None)
c.execute("BEGIN")
c.execute("SELECT count(*) FROM sqlite_master").fetchall()
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
c.execute("COMMIT")
"""


def _hold_sqlite_read_lock(db_file: Path, seconds: float) -> subprocess.Popen[str]:
    """Another process reading: our commits need its shared lock gone and fail with 'database is locked'."""
    proc = subprocess.Popen([sys.executable, "-c", _HOLDER, str(db_file), str(seconds)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
    return proc


@pytest.mark.parametrize("edit_source", [False, True])
def test_replayed_transaction_reads_the_source_file_again(tmp_path, monkeypatch, edit_source):
    """A transient error after chunks were sent: the transaction is replayed from the source file
    (its bytes are not kept in memory), checked against the running SHA-256."""
    monkeypatch.setenv("MLFLOW_ARTIFACTS_SQL_CHUNK_SIZE", "64KiB")
    monkeypatch.setenv("MLFLOW_ARTIFACTS_SQL_TRANSACTION_SIZE", "256KiB")
    monkeypatch.setenv("MLFLOW_ARTIFACTS_SQL_CONNECT_TIMEOUT", "1")
    db_file = tmp_path / "a.db"
    repo = SqlArtifactRepository(f"sqlite:///{db_file}/r")
    repo.list_artifacts()
    local = tmp_path / "src" / "m.bin"
    local.parent.mkdir()
    original = os.urandom(MiB)
    local.write_bytes(original)

    def edit() -> None:  # the first chunk was hashed and sent; change it before the replay reads it
        with open(local, "r+b") as f:
            f.write(b"\0" * 100)

    hook = _RetryHook(edit if edit_source else lambda: None)
    retry_logger = logging.getLogger("mlflow_plugins_shared.retry")
    old_level = retry_logger.level
    retry_logger.addHandler(hook)
    retry_logger.setLevel(logging.DEBUG)
    holder = _hold_sqlite_read_lock(db_file, 2.5)
    try:
        if edit_source:
            with pytest.raises(MlflowException) as e:
                repo.log_artifact(str(local))
            assert e.value.error_code == "DATA_LOSS"
            assert "changed while it was uploaded" in e.value.message
        else:
            repo.log_artifact(str(local))
    finally:
        holder.wait(timeout=60)
        retry_logger.removeHandler(hook)
        retry_logger.setLevel(old_level)
    assert hook.retries  # the lock really forced a replay
    assert _our_threads() == []
    if edit_source:
        assert repo.list_artifacts() == []
        assert _counts(repo) == (0, 0, 0)
    else:
        out = repo.download_artifacts("m.bin", str(tmp_path / "dl"))
        assert hashlib.sha256(Path(out).read_bytes()).digest() == hashlib.sha256(original).digest()


def test_failed_download_write_stops_the_reader(db_url, tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_ARTIFACTS_SQL_CHUNK_SIZE", "64KiB")
    repo = SqlArtifactRepository(f"{db_url}/{uuid.uuid4().hex[:8]}")
    local = tmp_path / "big.bin"
    local.write_bytes(os.urandom(2 * MiB))
    repo.log_artifact(str(local))

    class DiskFull(io.BytesIO):
        def write(self, b) -> int:  # type: ignore[no-untyped-def]
            if self.tell() >= 5 * 64 * 1024:
                raise OSError(28, "No space left on device")
            return super().write(b)

    with pytest.raises(OSError, match="No space left"):
        repo._files.read_into(repo._full("big.bin"), DiskFull())
    assert _our_threads() == []
    out = repo.download_artifacts("big.bin", str(tmp_path / "dl"))  # the connection pool is still sound
    assert Path(out).read_bytes() == local.read_bytes()


def test_download_spans_several_read_transactions_on_sqlite(tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_ARTIFACTS_SQL_CHUNK_SIZE", "64KiB")
    monkeypatch.setenv("MLFLOW_ARTIFACTS_SQL_TRANSACTION_SIZE", "128KiB")
    repo = SqlArtifactRepository(f"sqlite:///{tmp_path / 'a.db'}/r")
    data = os.urandom(33 * 64 * 1024 + 7)  # 34 chunks: 17 read transactions
    local = tmp_path / "x.bin"
    local.write_bytes(data)
    repo.log_artifact(str(local))
    out = repo.download_artifacts("x.bin", str(tmp_path / "dl"))
    assert Path(out).read_bytes() == data


def test_new_sqlite_database_uses_64k_pages(tmp_path):
    repo = SqlArtifactRepository(f"sqlite:///{tmp_path / 'new.db'}/r")
    repo.list_artifacts()
    with repo._db.engine.connect() as c:
        assert c.exec_driver_sql("PRAGMA page_size").scalar() == 65536


def test_missing_chunk_early_in_a_long_stream(db_url, tmp_path, private_tables, monkeypatch):
    """The reader stops a long streamed read at the gap (psycopg 3: a cancelled COPY) and the
    connection it returns to the pool still works."""
    monkeypatch.setenv("MLFLOW_ARTIFACTS_SQL_CHUNK_SIZE", "64KiB")
    repo = SqlArtifactRepository(f"{db_url}/r")
    damaged, intact = tmp_path / "damaged.bin", tmp_path / "intact.bin"
    damaged.write_bytes(os.urandom(8 * MiB))
    intact.write_bytes(os.urandom(3 * MiB))
    repo.log_artifact(str(damaged))
    repo.log_artifact(str(intact))
    db = repo._db
    files, chunks = db.tables.files, db.tables.chunks
    with db.engine.begin() as c:
        file_id = c.execute(sa.select(files.c.id).where(files.c.path == "r/damaged.bin")).scalar()
        c.execute(chunks.delete().where(chunks.c.file_id == file_id, chunks.c.seq == 3))
    for _ in range(3):  # more times than the pool has idle connections
        with pytest.raises(MlflowException) as e:
            repo.download_artifacts("damaged.bin", str(tmp_path / "dl"))
        assert e.value.error_code == "DATA_LOSS" and "missing" in e.value.message
        assert not (tmp_path / "dl" / "damaged.bin").exists()
        out = repo.download_artifacts("intact.bin", str(tmp_path / "dl"))
        assert Path(out).read_bytes() == intact.read_bytes()
    assert _our_threads() == []
