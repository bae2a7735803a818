"""Stored files: chunked uploads that appear at once, verified streaming reads, listing, deletes.

Paths here are full paths inside the database (artifact root + relative path), already validated.
"""

from __future__ import annotations

import functools
import hashlib
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass
from typing import Any, BinaryIO

import sqlalchemy as sa
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import DATA_LOSS
from sqlalchemy.engine import Connection

from mlflow_artifacts_sql.chunk_io import Chunk, Data, insert_chunks, stream_chunks
from mlflow_artifacts_sql.database import Database
from mlflow_artifacts_sql.db_errors import is_transient_or_conflict
from mlflow_artifacts_sql.pipeline import prefetch
from mlflow_plugins_shared import errors
from mlflow_plugins_shared.logs import get_logger

_logger = get_logger(__name__)
_IN_LIST = 500  # SQL Server allows 2100 parameters per statement
_READ_ATTEMPTS = 3
_PREFETCH = 2  # chunks fetched ahead of the one being hashed and written


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

    def insert_chunks(self, conn: Connection, rows: Sequence[Chunk]) -> None:
        insert_chunks(conn, self.chunks, rows, self.db.chunk_size)

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
            self.insert_chunks(conn, [(f.id, seq, data) for f in new for seq, data in enumerate(f.chunks)])

        self.db.transaction(f"store {len(new)} file(s)", tx, retry_if=is_transient_or_conflict)

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

    def _fetch_and_write(self, stored: StoredFile, out: BinaryIO, put: Callable[[Data], None]) -> None:
        """Write chunks 1.. of `stored` to `out` and hand each to `put` (for hashing), in order.

        Stops at the first missing chunk: the reader then sees fewer chunks than the file has.
        """
        state = {"next": 1}
        if self.db.dialect == "sqlite":
            # A SQLite reader blocks writers' commits: read in transactions of about a transaction's bytes.
            per_chunk = max(1, stored.size // max(stored.chunk_count, 1))
            step = max(1, self.db.transaction_size // per_chunk)
        else:  # one statement: one consistent snapshot, streamed
            step = stored.chunk_count

        def tx(conn: Connection, stop: int) -> None:
            with closing(stream_chunks(conn, self.chunks, stored.id, state["next"], stop)) as rows:
                for seq, data in rows:
                    if seq != state["next"]:
                        return
                    out.write(data)
                    put(data)
                    state["next"] = seq + 1

        while state["next"] < stored.chunk_count:
            stop = min(state["next"] + step, stored.chunk_count)
            self.db.transaction("read chunks", functools.partial(tx, stop=stop), read_only=True)
            if state["next"] != stop:
                return

    def read_into(self, path: str, out: BinaryIO) -> StoredFile:
        """Stream the file into `out`, verifying size and SHA-256.

        A second thread fetches each chunk and writes it to `out` while this one hashes the
        previous one (an unverified `out` is the caller's to delete).
        """
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
            got = 0
            if stored.chunk_count and first is not None:
                out.write(first)
                sha.update(first)
                size, got = len(first), 1
            if got == 1 and stored.chunk_count > 1:
                chunks = prefetch(functools.partial(self._fetch_and_write, stored, out), _PREFETCH, "reader")
                with closing(chunks):
                    for data in chunks:
                        sha.update(data)
                        size += len(data)
                        got += 1
            if got != stored.chunk_count:  # replaced or deleted while we read: look again
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
