"""One file written chunk by chunk: invisible until `finish()`, removed by `abort()`.

The caller reads and hashes; once the file is bigger than a couple of chunks, a writer thread
stores the chunks (in transactions of about `transaction_size` bytes) while the caller reads and
hashes the next ones. A transaction that fails with a transient error is replayed whole, so its
chunks must stay available until it commits: a source file we opened ourselves is simply read
again (`os.pread`, checked against the running SHA-256, so what is stored is what was hashed);
the bytes of any other stream are kept in memory until their transaction commits.
"""

from __future__ import annotations

import hashlib
import os
import queue
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any, BinaryIO

from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import DATA_LOSS
from sqlalchemy.engine import Connection

from mlflow_artifacts_sql.db_errors import is_transient_or_conflict
from mlflow_artifacts_sql.files import FileStore
from mlflow_artifacts_sql.pipeline import END, THREAD_PREFIX, Channel, Stopped
from mlflow_plugins_shared.logs import get_logger

_logger = get_logger(__name__)
_QUEUE = 2  # chunks read and hashed ahead of the writer
_THREAD_AFTER = 2  # chunks: smaller files are stored in their publishing transaction, on no thread
# Inside a transaction the writer waits this long for the next chunk before committing what it
# has: a slow stream never holds a transaction (a SQLite write lock) open.
_WAIT_IN_TX = 0.05


def _now_ms() -> int:
    return int(time.time() * 1000)


@dataclass
class _Piece:
    seq: int
    size: int
    data: bytes | None  # None once stored when it can be read again from the source file
    offset: int  # in the source file (when there is one)
    before: Any = None  # running SHA-256 before / after this piece (to check a re-read)
    after: Any = None


class Upload:
    def __init__(self, store: FileStore, path: str, source_fd: int | None = None) -> None:
        """`source_fd`: the file the bytes come from (opened by us, read from offset 0), for replays."""
        self.store = store
        self.db = store.db
        self.path = path
        self.id = uuid.uuid4().hex
        self._fd = source_fd
        self._sha = hashlib.sha256()
        self._size = 0
        self._seq = 0
        self._committed = 0  # chunks committed by the writer
        self._held: list[_Piece] = []  # before the writer starts
        self._held_bytes = 0
        self._buffer = bytearray()
        self._staged = False
        self._writer: _Writer | None = None

    # -- the caller's side ----------------------------------------------------------------------

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

    def write_file(self, fd: int) -> None:
        """All of the file `fd` (the `source_fd`, just opened: replays read it again at offsets from 0)."""
        chunk = self.db.chunk_size
        while True:
            data = os.read(fd, chunk)
            while data and len(data) < chunk:  # a short read of a regular file: read on
                more = os.read(fd, chunk - len(data))
                if not more:
                    break
                data += more
            if not data:
                return
            self._add(data)

    def _add(self, data: bytes) -> None:
        replayable = self._fd is not None
        before = self._sha.copy() if replayable else None
        self._sha.update(data)
        piece = _Piece(self._seq, len(data), data, self._size, before, self._sha.copy() if replayable else None)
        self._seq += 1
        self._size += len(data)
        if self._writer is not None:
            self._writer.put(piece)
            return
        self._held.append(piece)
        self._held_bytes += len(data)
        if len(self._held) > _THREAD_AFTER:
            self._writer = _Writer(self)
            held, self._held, self._held_bytes = self._held, [], 0
            for p in held:
                self._writer.put(p)

    def finish(self) -> None:
        if self._buffer:
            self._add(bytes(self._buffer))
            self._buffer.clear()
        if self._writer is not None:
            self._writer.close()
        held = [(self.id, p.seq, self._data(p)) for p in self._held]
        count, sha, files = self._seq, self._sha.hexdigest(), self.store.files

        def tx(conn: Connection) -> None:
            self.store._replace_existing(conn, [self.path])
            if self._staged:
                conn.execute(files.update().where(files.c.id == self.id).values(
                    path=self.path, size=self._size, sha256=sha, chunk_count=count))
            else:
                conn.execute(files.insert().values(
                    id=self.id, path=self.path, size=self._size, sha256=sha, chunk_count=count,
                    created_ms=_now_ms()))
            self.store.insert_chunks(conn, held)

        self.db.transaction(f"publish '{self.path}'", tx, retry_if=is_transient_or_conflict)
        self._held, self._held_bytes = [], 0
        _logger.debug("stored %s: %d bytes in %d chunks", self.path, self._size, count)

    def abort(self) -> None:
        """Stop the writer, then remove the committed chunks, best effort (else the stale-upload purge will)."""
        if self._writer is not None:
            self._writer.stop()
        self._held, self._buffer = [], bytearray()
        if not self._staged:
            return
        try:
            self.db.transaction("remove an unfinished upload", lambda c: self.store._remove_ids(c, [self.id]))
        except Exception as e:  # the original error matters more
            _logger.warning("could not remove unfinished upload of %s: %s", self.path, type(e).__name__)

    # -- the writer's side ----------------------------------------------------------------------

    def _data(self, piece: _Piece) -> bytes:
        if piece.data is not None:
            return piece.data
        assert self._fd is not None and piece.before is not None
        data = os.pread(self._fd, piece.size, piece.offset)
        check = piece.before.copy()
        check.update(data)
        if len(data) != piece.size or check.digest() != piece.after.digest():
            raise MlflowException(
                f"'{self.path}': the source file changed while it was uploaded; nothing was stored",
                error_code=DATA_LOSS,
            )
        return data

    def _store(self, first: _Piece, channel: Channel[_Piece]) -> bool:
        """One transaction: `first` and what follows it without waiting, up to the transaction size.

        Returns True once the caller has finished (the end was seen).
        """
        pending = [first]
        end = False
        files = self.store.files

        def insert(conn: Connection, piece: _Piece) -> None:
            self.store.insert_chunks(conn, [(self.id, piece.seq, self._data(piece))])
            if self._fd is not None:
                piece.data = None  # read again should this transaction be replayed

        def tx(conn: Connection) -> None:
            nonlocal end
            if not self._staged:
                conn.execute(files.insert().values(
                    id=self.id, path=None, size=0, sha256=None, chunk_count=0, created_ms=_now_ms()))
            for piece in pending:  # a replay after a transient error
                insert(conn, piece)
            stored = sum(p.size for p in pending)
            while stored < self.db.transaction_size and not end:
                try:
                    item = channel.get(timeout=_WAIT_IN_TX)
                except queue.Empty:
                    break
                if isinstance(item, _Piece):
                    pending.append(item)
                    insert(conn, item)
                    stored += item.size
                else:
                    end = True

        self.db.transaction("store chunks", tx)
        self._staged = True
        self._committed += len(pending)
        return end


class _Writer:
    """The thread that stores an upload's chunks; its error is raised in the caller's thread."""

    def __init__(self, upload: Upload) -> None:
        self.upload = upload
        self.channel: Channel[_Piece] = Channel(_QUEUE)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name=THREAD_PREFIX + "writer", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            while True:
                piece = self.channel.get()
                if piece is END or self.upload._store(piece, self.channel):  # type: ignore[arg-type]
                    return
        except Stopped:
            pass
        except BaseException as e:  # handed to the caller
            self.error = e
            self.channel.close()

    def _raise(self) -> None:
        if self.error is not None:
            raise self.error

    def put(self, piece: _Piece) -> None:
        try:
            self.channel.put(piece)
        except Stopped:
            self.thread.join()
            self._raise()
            raise

    def close(self) -> None:
        """Wait until every chunk is committed."""
        try:
            self.channel.put(END)
        except Stopped:
            pass
        self.thread.join()
        self._raise()

    def stop(self) -> None:
        self.channel.close()
        self.thread.join()
