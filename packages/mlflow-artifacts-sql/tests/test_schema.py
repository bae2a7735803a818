"""Schema 2 (a SHA-256 per chunk, verified in parallel) and the migration from schema 1, on every real backend."""

from __future__ import annotations

import hashlib
import io
import os
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from mlflow.exceptions import MlflowException
from mlflow_artifacts_sql.database import dispose_all
from mlflow_artifacts_sql.pipeline import THREAD_PREFIX
from mlflow_artifacts_sql.repository import SqlArtifactRepository
from mlflow_artifacts_sql.schema import SCHEMA_VERSION, PathType, blob_type

KiB = 1024


@pytest.fixture
def private_tables(monkeypatch) -> str:
    prefix = f"t{uuid.uuid4().hex[:10]}_"
    monkeypatch.setenv("MLFLOW_ARTIFACTS_SQL_TABLE_PREFIX", prefix)
    return prefix


def _our_threads() -> list[str]:
    import threading

    return [t.name for t in threading.enumerate() if t.name.startswith(THREAD_PREFIX)]


def _file_row(repo: SqlArtifactRepository, path: str) -> sa.Row:
    db = repo._db
    f = db.tables.files
    with db.engine.connect() as c:
        return c.execute(sa.select(f).where(f.c.path == path)).one()


def _flip(repo: SqlArtifactRepository, path: str, seq: int) -> None:
    db = repo._db
    files, chunks = db.tables.files, db.tables.chunks
    with db.engine.begin() as c:
        file_id = c.execute(sa.select(files.c.id).where(files.c.path == path)).scalar()
        where = sa.and_(chunks.c.file_id == file_id, chunks.c.seq == seq)
        data = bytearray(c.execute(sa.select(chunks.c.data).where(where)).scalar())
        data[len(data) // 2] ^= 0x01
        c.execute(chunks.update().where(where).values(data=bytes(data)))


def test_chunk_digests_are_stored_for_files_of_several_chunks(db_url, tmp_path, private_tables, monkeypatch):
    monkeypatch.setenv("MLFLOW_ARTIFACTS_SQL_CHUNK_SIZE", "64KiB")
    repo = SqlArtifactRepository(f"{db_url}/r")
    data = os.urandom(5 * 64 * KiB + 123)
    (tmp_path / "big.bin").write_bytes(data)
    (tmp_path / "small.bin").write_bytes(b"one chunk")
    repo.log_artifact(str(tmp_path / "big.bin"))
    repo.log_artifact(str(tmp_path / "small.bin"))
    with open(tmp_path / "big.bin", "rb") as f:
        repo.log_artifact_from_stream(f, "streamed.bin")
    for name in ("big.bin", "streamed.bin"):
        row = _file_row(repo, f"r/{name}")
        expected = b"".join(hashlib.sha256(data[i:i + 64 * KiB]).digest() for i in range(0, len(data), 64 * KiB))
        assert bytes(row.chunk_sha256) == expected, name
        assert row.sha256 == hashlib.sha256(data).hexdigest() and row.chunk_count == 6
    assert _file_row(repo, "r/small.bin").chunk_sha256 is None  # its one digest is the file's own


@pytest.mark.parametrize("seq", [0, 3, 5])
def test_damaged_chunk_is_detected_by_its_digest(db_url, tmp_path, private_tables, monkeypatch, seq):
    monkeypatch.setenv("MLFLOW_ARTIFACTS_SQL_CHUNK_SIZE", "64KiB")
    repo = SqlArtifactRepository(f"{db_url}/r")
    (tmp_path / "w.bin").write_bytes(os.urandom(5 * 64 * KiB + 99))
    repo.log_artifact(str(tmp_path / "w.bin"))
    _flip(repo, "r/w.bin", seq)
    dl = tmp_path / "dl"
    with pytest.raises(MlflowException) as e:
        repo.download_artifacts("w.bin", str(dl))
    assert e.value.error_code == "DATA_LOSS"
    assert f"chunk {seq} " in e.value.message and "SHA-256" in e.value.message
    assert not (dl / "w.bin").exists()
    assert _our_threads() == []


def test_damaged_digest_list_is_detected(db_url, tmp_path, private_tables, monkeypatch):
    monkeypatch.setenv("MLFLOW_ARTIFACTS_SQL_CHUNK_SIZE", "64KiB")
    repo = SqlArtifactRepository(f"{db_url}/r")
    (tmp_path / "w.bin").write_bytes(os.urandom(3 * 64 * KiB))
    repo.log_artifact(str(tmp_path / "w.bin"))
    db = repo._db
    f = db.tables.files
    with db.engine.begin() as c:
        c.execute(f.update().where(f.c.path == "r/w.bin").values(chunk_sha256=b"\x00" * 40))
    with pytest.raises(MlflowException) as e:
        repo.download_artifacts("w.bin", str(tmp_path / "dl"))
    assert e.value.error_code == "DATA_LOSS" and "digests" in e.value.message


def test_chunks_verified_into_a_stream_that_is_not_a_file(db_url, tmp_path, private_tables, monkeypatch):
    """No file descriptor to write at offsets: chunks are written in order, still each verified."""
    monkeypatch.setenv("MLFLOW_ARTIFACTS_SQL_CHUNK_SIZE", "64KiB")
    repo = SqlArtifactRepository(f"{db_url}/r")
    data = os.urandom(20 * 64 * KiB + 5)
    (tmp_path / "w.bin").write_bytes(data)
    repo.log_artifact(str(tmp_path / "w.bin"))
    out = io.BytesIO()
    repo._files.read_into("r/w.bin", out)
    assert out.getvalue() == data
    _flip(repo, "r/w.bin", 17)
    with pytest.raises(MlflowException) as e:
        repo._files.read_into("r/w.bin", io.BytesIO())
    assert e.value.error_code == "DATA_LOSS" and "chunk 17 " in e.value.message
    assert _our_threads() == []


# -- schema 1 databases ----------------------------------------------------------------------------

def _schema_1(url: str, prefix: str, with_column: bool = False) -> tuple[bytes, bytes]:
    """Tables as version 1 made them, with one stored file of 4 chunks and one of 1; returns their bytes."""
    meta = sa.MetaData()
    columns = [
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("path", PathType(), nullable=True),
        sa.Column("size", sa.BigInteger, nullable=False, default=0),
        sa.Column("sha256", sa.String(64), nullable=True),
        sa.Column("chunk_count", sa.Integer, nullable=False, default=0),
        sa.Column("created_ms", sa.BigInteger, nullable=False),
    ]
    if with_column:  # MySQL commits DDL at once: a migration cut short leaves the column, version 1
        columns.append(sa.Column("chunk_sha256", blob_type(), nullable=True))
    files = sa.Table(f"{prefix}files", meta, *columns, mysql_engine="InnoDB")
    sa.Index(f"{prefix}files_path", files.c.path, unique=True)
    chunks = sa.Table(
        f"{prefix}chunks", meta,
        sa.Column("file_id", sa.String(32), primary_key=True),
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("data", blob_type(), nullable=False), mysql_engine="InnoDB",
    )
    schema = sa.Table(f"{prefix}schema", meta, sa.Column("version", sa.Integer, primary_key=True,
                                                          autoincrement=False), mysql_engine="InnoDB")
    big, small = os.urandom(4 * 64 * KiB - 10), b"small and old"
    engine = sa.create_engine(url)
    with engine.begin() as c:
        meta.create_all(c)
        c.execute(schema.insert().values(version=1))
        for name, data in (("old/big.bin", big), ("old/small.txt", small)):
            fid = uuid.uuid4().hex
            parts = [data[i:i + 64 * KiB] for i in range(0, len(data), 64 * KiB)]
            c.execute(files.insert().values(id=fid, path=name, size=len(data), sha256=hashlib.sha256(data).hexdigest(),
                                            chunk_count=len(parts), created_ms=0))
            c.execute(chunks.insert(), [{"file_id": fid, "seq": i, "data": p} for i, p in enumerate(parts)])
    engine.dispose()
    return big, small


@pytest.mark.parametrize("with_column", [False, True])
def test_schema_1_database_is_migrated_and_its_files_still_download(db_url, tmp_path, private_tables, monkeypatch,
                                                                    with_column):
    monkeypatch.setenv("MLFLOW_ARTIFACTS_SQL_CHUNK_SIZE", "64KiB")
    dispose_all()  # this process has not opened the database since the old tables were made
    big, small = _schema_1(db_url, private_tables, with_column)
    repo = SqlArtifactRepository(db_url)
    assert [i.path for i in repo.list_artifacts("old")] == ["old/big.bin", "old/small.txt"]
    db = repo._db
    with db.engine.connect() as c:
        assert c.execute(sa.select(sa.func.max(db.tables.schema.c.version))).scalar() == SCHEMA_VERSION == 2
        columns = {col["name"] for col in sa.inspect(c).get_columns(db.tables.files.name)}
    assert "chunk_sha256" in columns
    assert _file_row(repo, "old/big.bin").chunk_sha256 is None
    assert Path(repo.download_artifacts("old/big.bin", str(tmp_path / "a"))).read_bytes() == big
    assert Path(repo.download_artifacts("old/small.txt", str(tmp_path / "a"))).read_bytes() == small
    # A new file in the migrated tables gets its chunk digests.
    (tmp_path / "new.bin").write_bytes(big)
    repo.log_artifact(str(tmp_path / "new.bin"), "new")
    assert len(_file_row(repo, "new/new.bin").chunk_sha256) == 4 * 32
    assert Path(repo.download_artifacts("new/new.bin", str(tmp_path / "b"))).read_bytes() == big
    # An old file is still verified by its whole-file SHA-256.
    _flip(repo, "old/big.bin", 2)
    with pytest.raises(MlflowException) as e:
        repo.download_artifacts("old/big.bin", str(tmp_path / "c"))
    assert e.value.error_code == "DATA_LOSS" and "SHA-256" in e.value.message
    # Opening the migrated database again (another process) changes nothing.
    dispose_all()
    again = SqlArtifactRepository(db_url)
    assert Path(again.download_artifacts("new/new.bin", str(tmp_path / "d"))).read_bytes() == big
    with again._db.engine.connect() as c:
        assert c.execute(sa.select(sa.func.count()).select_from(again._db.tables.schema)).scalar() == 2


def test_chunks_verified_into_a_file_opened_for_appending(db_url, tmp_path, private_tables, monkeypatch):
    """O_APPEND ignores write offsets: such a file gets the chunks in order instead."""
    monkeypatch.setenv("MLFLOW_ARTIFACTS_SQL_CHUNK_SIZE", "64KiB")
    repo = SqlArtifactRepository(f"{db_url}/r")
    data = os.urandom(9 * 64 * KiB + 1)
    (tmp_path / "w.bin").write_bytes(data)
    repo.log_artifact(str(tmp_path / "w.bin"))
    target = tmp_path / "appended.bin"
    target.write_bytes(b"stale bytes")
    with open(target, "ab") as out:
        repo._files.read_into("r/w.bin", out)
    assert target.read_bytes() == data
