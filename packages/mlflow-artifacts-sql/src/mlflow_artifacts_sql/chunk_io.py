"""Writing and reading chunk rows, with driver fast paths where they pay.

- psycopg 3: bytea sent in binary (`%b`, not escaped text); read with `COPY ... TO STDOUT (FORMAT
  BINARY)`, parsed here. Binary COPY for inserts was measured too: no faster than `%b` inserts (the
  server's TOAST and WAL work dominates), so it is not used.
- psycopg2: inserts through binary `COPY ... FROM STDIN` (psycopg2 only sends parameters as text).
- SQLite: plain SQL text (`exec_driver_sql`), skipping SQLAlchemy's per-statement compilation.
- Other drivers: SQLAlchemy Core (its bind processors know each driver's quirks).

Reads stream one file's chunks in `seq` order from one statement, never more than one row at a
time held by the driver (COPY messages / unbuffered or server-side cursors).
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection

Data = bytes | bytearray | memoryview
Chunk = tuple[str, int, Data]  # (file_id, seq, data)


def _raw(conn: Connection) -> Any:
    return conn.connection.driver_connection


@contextmanager
def _wrapped(conn: Connection, sql: str) -> Iterator[None]:
    """Errors of the DB-API cursor as SQLAlchemy raises them (what retries and error messages expect)."""
    dbapi_error = conn.dialect.loaded_dbapi.Error
    try:
        yield
    except dbapi_error as e:
        invalid = conn.dialect.is_disconnect(e, conn.connection.dbapi_connection, None)
        if invalid:
            conn.invalidate(e)
        raise sa_exc.DBAPIError.instance(
            sql, None, e, dbapi_error, connection_invalidated=invalid, dialect=conn.dialect
        ) from None


def _name(conn: Connection, table: sa.Table) -> str:
    return conn.dialect.identifier_preparer.format_table(table)


def insert_chunks(conn: Connection, table: sa.Table, rows: Sequence[Chunk], max_statement_bytes: int) -> None:
    """Insert chunk rows in the connection's open transaction."""
    if not rows:
        return
    driver = conn.dialect.driver
    if driver in ("psycopg", "pysqlite"):
        mark = "%s, %s, %b" if driver == "psycopg" else "?, ?, ?"
        sql = f"INSERT INTO {_name(conn, table)} (file_id, seq, data) VALUES ({mark})"  # noqa: S608 - our table
        # exec_driver_sql: no statement compilation, SQLAlchemy's error wrapping kept. Many rows (small
        # files) go as one executemany (psycopg 3: pipelined).
        conn.exec_driver_sql(sql, rows[0] if len(rows) == 1 else list(rows))
        return
    if driver == "psycopg2":
        _copy_in_psycopg2(conn, table, rows)
        return
    # One row per statement unless rows are small: a statement never carries more than a chunk
    # (MySQL's max_allowed_packet, driver memory).
    group: list[dict[str, Any]] = []
    size = 0
    for file_id, seq, data in rows:
        if group and size + len(data) > max_statement_bytes:
            conn.execute(table.insert(), group)
            group, size = [], 0
        group.append({"file_id": file_id, "seq": seq, "data": bytes(data)})
        size += len(data)
    if group:
        conn.execute(table.insert(), group)


def stream_chunks(conn: Connection, table: sa.Table, file_id: str, first: int, stop: int) -> Generator[tuple[int, Data], None, None]:
    """(seq, data) of the chunks `first <= seq < stop` of a file, in order, one statement."""
    driver = conn.dialect.driver
    if driver == "psycopg":
        yield from _copy_out(conn, table, file_id, first, stop)
        return
    if driver == "pysqlite":
        sql = (f"SELECT seq, data FROM {_name(conn, table)} "  # noqa: S608 - our table
               "WHERE file_id = ? AND seq >= ? AND seq < ? ORDER BY seq")
        result = conn.exec_driver_sql(sql, (file_id, first, stop))
        try:
            for seq, data in result:
                yield int(seq), data
        finally:
            result.close()
        return
    c = table.c
    query = sa.select(c.seq, c.data).where(c.file_id == file_id, c.seq >= first, c.seq < stop).order_by(c.seq)
    result = conn.execution_options(stream_results=True, yield_per=1).execute(query)
    try:
        for seq, data in result:
            yield int(seq), data
    finally:
        result.close()


_COPY_SIGNATURE = b"PGCOPY\n\xff\r\n\x00"


class _BinaryCopyRows:
    """A file-like `read()` producing binary COPY data for chunk rows, a piece at a time."""

    def __init__(self, rows: Sequence[Chunk]) -> None:
        self._pieces = self._generate(rows)

    @staticmethod
    def _generate(rows: Sequence[Chunk]) -> Iterator[bytes]:
        yield _COPY_SIGNATURE + bytes(8)  # flags, header extension length
        for file_id, seq, data in rows:
            fid = file_id.encode()
            yield (b"\x00\x03" + len(fid).to_bytes(4, "big") + fid + b"\x00\x00\x00\x04"
                   + seq.to_bytes(4, "big") + len(data).to_bytes(4, "big"))
            yield bytes(data)
        yield b"\xff\xff"

    def read(self, _size: int = -1) -> bytes:
        return next(self._pieces, b"")


def _copy_in_psycopg2(conn: Connection, table: sa.Table, rows: Sequence[Chunk]) -> None:
    """psycopg2 has no binary parameters: bytea would travel as escaped text (twice the bytes, and
    the escaped copy in memory). Binary COPY sends the bytes as they are."""
    sql = f"COPY {_name(conn, table)} (file_id, seq, data) FROM STDIN (FORMAT BINARY)"
    with _wrapped(conn, sql), _raw(conn).cursor() as cur:
        cur.copy_expert(sql, _BinaryCopyRows(rows))


class _Blocks:
    """Exact-size reads over COPY's data blocks; a slice of one block is returned without copying."""

    def __init__(self, read: Callable[[], Any]) -> None:
        self._read = read  # the next block; empty at the end
        self._view = memoryview(b"")

    def take(self, n: int) -> memoryview:
        if len(self._view) >= n:
            out, self._view = self._view[:n], self._view[n:]
            return out
        parts = bytearray(self._view)
        while len(parts) < n:
            block = self._read()
            if not block:
                raise ValueError("COPY data ended inside a row")
            parts += block
        self._view = memoryview(bytes(parts[n:]))
        return memoryview(parts)[:n]


def _copy_out(conn: Connection, table: sa.Table, file_id: str, first: int, stop: int) -> Generator[tuple[int, Data], None, None]:
    """psycopg 3: `COPY (SELECT ...) TO STDOUT (FORMAT BINARY)`, parsed here.

    Measured against single-row-mode SELECT: about half the client CPU per MiB (no PGresult, no
    bytes copy: each chunk is a view of the block libpq received) and a little less server CPU.
    """
    raw = _raw(conn)
    sql = (f"COPY (SELECT seq, data FROM {_name(conn, table)} "  # noqa: S608 - our table
           "WHERE file_id = %s AND seq >= %s AND seq < %s ORDER BY seq) TO STDOUT (FORMAT BINARY)")
    # Leaving early (an exception, GeneratorExit) makes psycopg cancel the COPY and drain it.
    with _wrapped(conn, sql), raw.cursor() as cur, cur.copy(sql, (file_id, first, stop)) as copy:
        data = _Blocks(copy.read)
        if bytes(data.take(11)) != _COPY_SIGNATURE:
            raise ValueError("not binary COPY data")
        data.take(4)
        data.take(int.from_bytes(data.take(4), "big"))  # header extension
        while (fields := int.from_bytes(data.take(2), "big", signed=True)) != -1:
            if fields != 2:
                raise ValueError(f"COPY row with {fields} fields")
            seq = int.from_bytes(data.take(int.from_bytes(data.take(4), "big")), "big")
            yield seq, data.take(int.from_bytes(data.take(4), "big"))
        while copy.read():  # the end of the COPY: the connection is then ready for the next statement
            pass
