"""Stored files: chunked uploads that appear at once, verified streaming reads, listing, deletes.

Paths here are full paths inside the database (artifact root + relative path), already validated.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, BinaryIO

import sqlalchemy as sa
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import DATA_LOSS
from sqlalchemy.engine import Connection

from mlflow_artifacts_sql.database import Database
from mlflow_artifacts_sql.db_errors import is_transient_or_conflict
from mlflow_plugins_shared import errors
from mlflow_plugins_shared.logs import get_logger

_logger = get_logger(__name__)
_IN_LIST = 500  # SQL Server allows 2100 parameters per statement
_READ_ATTEMPTS = 3


@dataclass(frozen=True)
class StoredFile:
    id: str
    path: str
    size: int
    sha256: str
    chunk_count: int


@dataclass
class NewFile:
    id: str
    path: str
    size: int
    sha256: str
    chunks: list[bytes]


def _groups(items: Sequence[Any], n: int = _IN_LIST) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), n):
        yield items[i:i + n]


def _ancestors(path: str) -> list[str]:
    parts = path.split("/")
    return ["/".join(parts[:i]) for i in range(1, len(parts))]


def _now_ms() -> int:
    return int(time.time() * 1000)


class FileStore:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.files = db.tables.files
        self.chunks = db.tables.chunks

    # -- helpers --------------------------------------------------------------------------------

    def _below(self, directory: str) -> Any:
        """Rows strictly inside `directory` ('' = everything). '0' follows '/' in code point order."""
        path = self.files.c.path
        if not directory:
            return path.isnot(None)
        return sa.and_(path >= directory + "/", path < directory + "0")

    def _insert_chunks(self, conn: Connection, file_id: str, first_seq: int, chunks: Sequence[bytes]) -> None:
        # One row per statement unless rows are small: a statement never carries more than a chunk
        # (MySQL's max_allowed_packet, driver memory).
        group: list[dict[str, Any]] = []
        size = 0
        for i, data in enumerate(chunks):
            if group and size + len(data) > self.db.chunk_size:
                conn.execute(self.chunks.insert(), group)
                group, size = [], 0
            group.append({"file_id": file_id, "seq": first_seq + i, "data": data})
            size += len(data)
        if group:
            conn.execute(self.chunks.insert(), group)

    def _insert_many_chunks(self, conn: Connection, new: Sequence[NewFile]) -> None:
        group: list[dict[str, Any]] = []
        size = 0
        for f in new:
            for seq, data in enumerate(f.chunks):
                if group and size + len(data) > self.db.chunk_size:
                    conn.execute(self.chunks.insert(), group)
                    group, size = [], 0
                group.append({"file_id": f.id, "seq": seq, "data": data})
                size += len(data)
        if group:
            conn.execute(self.chunks.insert(), group)

    def _check_conflicts(self, conn: Connection, paths: Sequence[str]) -> None:
        """A file cannot sit where a directory is, nor inside a path that is a file."""
        parents = sorted({a for p in paths for a in _ancestors(p)})
        for group in _groups(parents):
            hit = conn.execute(sa.select(self.files.c.path).where(self.files.c.path.in_(group)).limit(1)).scalar()
            if hit is not None:
                raise errors.invalid_parameter(f"Cannot store an artifact under '{hit}': it is a file")
        for group in _groups(list(paths), 100):
            hit = conn.execute(
                sa.select(self.files.c.path).where(sa.or_(*[self._below(p) for p in group])).limit(1)
            ).scalar()
            if hit is not None:
                folder = next(p for p in group if hit.startswith(p + "/"))
                raise errors.invalid_parameter(f"Cannot store a file at '{folder}': it is a directory")

    def _remove_ids(self, conn: Connection, ids: Sequence[str]) -> None:
        for group in _groups(ids):
            conn.execute(self.chunks.delete().where(self.chunks.c.file_id.in_(group)))
            conn.execute(self.files.delete().where(self.files.c.id.in_(group)))

    def _replace_existing(self, conn: Connection, paths: Sequence[str]) -> None:
        self._check_conflicts(conn, paths)
        old: list[str] = []
        for group in _groups(paths):
            old += [r[0] for r in conn.execute(sa.select(self.files.c.id).where(self.files.c.path.in_(group)))]
        self._remove_ids(conn, old)

    # -- writes ---------------------------------------------------------------------------------

    def write_small(self, new: Sequence[NewFile]) -> None:
        """Files that fit in memory, published together in one transaction."""
        if not new:
            return
        created = _now_ms()

        def tx(conn: Connection) -> None:
            self._replace_existing(conn, [f.path for f in new])
            conn.execute(self.files.insert(), [
                {"id": f.id, "path": f.path, "size": f.size, "sha256": f.sha256,
                 "chunk_count": len(f.chunks), "created_ms": created} for f in new
            ])
            self._insert_many_chunks(conn, new)

        self.db.transaction(f"store {len(new)} file(s)", tx, retry_if=is_transient_or_conflict)

    def upload(self, path: str) -> Upload:
        return Upload(self, path)

    # -- reads ----------------------------------------------------------------------------------

    def stat(self, path: str) -> StoredFile | None:
        f = self.files

        def tx(conn: Connection) -> StoredFile | None:
            row = conn.execute(
                sa.select(f.c.id, f.c.size, f.c.sha256, f.c.chunk_count).where(f.c.path == path)
            ).first()
            return None if row is None else StoredFile(row[0], path, int(row[1]), row[2], int(row[3]))

        return self.db.transaction("look up a file", tx, read_only=True)

    def _head(self, path: str) -> tuple[StoredFile, bytes | None] | None:
        """The file's row and its first chunk in one round trip (most artifacts are one chunk)."""
        f, c = self.files, self.chunks
        joined = f.outerjoin(c, sa.and_(c.c.file_id == f.c.id, c.c.seq == 0))
        query = sa.select(f.c.id, f.c.size, f.c.sha256, f.c.chunk_count, c.c.data).select_from(joined).where(
            f.c.path == path
        )

        def tx(conn: Connection) -> tuple[StoredFile, bytes | None] | None:
            row = conn.execute(query).first()
            if row is None:
                return None
            return StoredFile(row[0], path, int(row[1]), row[2], int(row[3])), row[4]

        return self.db.transaction("look up a file", tx, read_only=True)

    def _chunk(self, file_id: str, seq: int) -> bytes | None:
        c = self.chunks
        binary = self.db.engine.dialect.driver == "psycopg"
        raw_sql = f"SELECT data FROM {c.name} WHERE file_id = %s AND seq = %s"  # noqa: S608 - validated prefix

        def tx(conn: Connection) -> bytes | None:
            if binary:  # psycopg 3: bytea in binary format, not hex text (about 3x faster)
                with conn.connection.driver_connection.cursor(binary=True) as cur:  # type: ignore[union-attr]
                    cur.execute(raw_sql, (file_id, seq))
                    row = cur.fetchone()
                return None if row is None else row[0]
            return conn.execute(sa.select(c.c.data).where(c.c.file_id == file_id, c.c.seq == seq)).scalar()

        return self.db.transaction("read a chunk", tx, read_only=True)

    def read_into(self, path: str, out: BinaryIO) -> StoredFile:
        """Stream the file into `out` chunk by chunk, verifying size and SHA-256."""
        previous: str | None = None
        for _ in range(_READ_ATTEMPTS):
            head = self._head(path)
            if head is None:
                raise errors.not_found(f"No such artifact: '{path}'")
            stored, first = head
            if stored.id == previous:
                raise MlflowException(
                    f"Artifact '{path}' is damaged in the database: a chunk is missing", error_code=DATA_LOSS
                )
            out.seek(0)
            out.truncate()
            sha = hashlib.sha256()
            size = 0
            complete = True
            for seq in range(stored.chunk_count):
                data = first if seq == 0 else self._chunk(stored.id, seq)
                if data is None:  # replaced or deleted while we read: look again
                    complete = False
                    break
                sha.update(data)
                out.write(data)
                size += len(data)
            if not complete:
                previous = stored.id
                continue
            if size != stored.size or sha.hexdigest() != stored.sha256:
                raise MlflowException(
                    f"Artifact '{path}' failed verification: stored size {stored.size} and SHA-256 "
                    f"{stored.sha256}, read {size} bytes with SHA-256 {sha.hexdigest()}",
                    error_code=DATA_LOSS,
                )
            return stored
        raise errors.unavailable(f"Artifact '{path}' kept changing while it was read; try again")

    def list_below(self, directory: str) -> list[tuple[str, bool, int | None]]:
        """(full path, is_dir, size) of the entries directly inside `directory`, sorted."""
        f = self.files

        def tx(conn: Connection) -> list[tuple[str, int]]:
            return [(r[0], int(r[1])) for r in conn.execute(
                sa.select(f.c.path, f.c.size).where(self._below(directory))
            )]

        rows = self.db.transaction("list artifacts", tx, read_only=True)
        cut = len(directory) + 1 if directory else 0
        entries: dict[str, tuple[bool, int | None]] = {}
        for path, size in rows:
            rest = path[cut:]
            name, sep, _ = rest.partition("/")
            child = path[:cut] + name
            entries[child] = (True, None) if sep else (False, size)
        return [(p, d, s) for p, (d, s) in sorted(entries.items())]

    # -- deletes --------------------------------------------------------------------------------

    def delete(self, path: str) -> int:
        """Delete a file, or everything below a directory ('' = everything). Returns the count."""
        f = self.files
        where = self._below("") if not path else sa.or_(f.c.path == path, self._below(path))

        def tx(conn: Connection) -> int:
            ids = [r[0] for r in conn.execute(sa.select(f.c.id).where(where))]
            self._remove_ids(conn, ids)
            return len(ids)

        return self.db.transaction("delete artifacts", tx)


class Upload:
    """A file written chunk by chunk. Invisible until `finish()`; `abort()` removes what was written.

    Chunks of one transaction (at most the transaction size) stay in memory so a transient error
    can replay that transaction; everything before it is already committed.
    """

    def __init__(self, store: FileStore, path: str) -> None:
        self.store = store
        self.db = store.db
        self.path = path
        self.id = uuid.uuid4().hex
        self._sha = hashlib.sha256()
        self._size = 0
        self._committed = 0  # chunks already committed
        self._pending: list[bytes] = []
        self._pending_bytes = 0
        self._buffer = bytearray()
        self._staged = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        chunk = self.db.chunk_size
        if not self._buffer and len(data) == chunk:
            self._add(bytes(data))
            return
        self._buffer += data
        while len(self._buffer) >= chunk:
            self._add(bytes(self._buffer[:chunk]))
            del self._buffer[:chunk]

    def write_from(self, src: BinaryIO) -> None:
        chunk = self.db.chunk_size
        while data := src.read(chunk):
            self.write(data)

    def _add(self, data: bytes) -> None:
        self._sha.update(data)
        self._size += len(data)
        self._pending.append(data)
        self._pending_bytes += len(data)
        if self._pending_bytes >= self.db.transaction_size:
            self._flush()

    def _stage_row(self, conn: Connection) -> None:
        if not self._staged:
            conn.execute(self.store.files.insert().values(
                id=self.id, path=None, size=0, sha256=None, chunk_count=0, created_ms=_now_ms()
            ))

    def _flush(self) -> None:
        pending = self._pending

        def tx(conn: Connection) -> None:
            self._stage_row(conn)
            self.store._insert_chunks(conn, self.id, self._committed, pending)

        self.db.transaction("store chunks", tx)
        self._staged = True
        self._committed += len(pending)
        self._pending, self._pending_bytes = [], 0

    def finish(self) -> None:
        if self._buffer:
            self._add(bytes(self._buffer))
            self._buffer.clear()
        pending = self._pending
        count = self._committed + len(pending)
        sha = self._sha.hexdigest()
        files = self.store.files

        def tx(conn: Connection) -> None:
            self.store._replace_existing(conn, [self.path])
            if self._staged:
                conn.execute(files.update().where(files.c.id == self.id).values(
                    path=self.path, size=self._size, sha256=sha, chunk_count=count))
            else:
                conn.execute(files.insert().values(
                    id=self.id, path=self.path, size=self._size, sha256=sha, chunk_count=count,
                    created_ms=_now_ms()))
            self.store._insert_chunks(conn, self.id, self._committed, pending)

        self.db.transaction(f"publish '{self.path}'", tx, retry_if=is_transient_or_conflict)
        self._pending, self._pending_bytes = [], 0
        _logger.debug("stored %s: %d bytes in %d chunks", self.path, self._size, count)

    def abort(self) -> None:
        """Best effort: remove the committed chunks (else the stale-upload purge will)."""
        self._pending, self._buffer = [], bytearray()
        if not self._staged:
            return
        try:
            self.db.transaction("remove an unfinished upload", lambda c: self.store._remove_ids(c, [self.id]))
        except Exception as e:  # the original error matters more
            _logger.warning("could not remove unfinished upload of %s: %s", self.path, type(e).__name__)
