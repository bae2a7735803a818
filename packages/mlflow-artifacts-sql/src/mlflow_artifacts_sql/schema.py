"""The tables: files (one row per stored file version), chunks (its bytes), schema (version).

A file row with ``path`` NULL is an upload in progress: invisible until the transaction that
sets its path commits, which also removes the version it replaces.
"""

from __future__ import annotations

import functools
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import mssql, mysql
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

SCHEMA_VERSION = 1
# Artifact paths (root + relative, UTF-8 bytes). Fits every dialect's index key limit:
# InnoDB 3072 bytes, SQL Server 900 (clustered) / 1700, PostgreSQL btree ~2700.
PATH_MAX_BYTES = 768
# Dialects where the path is stored as bytes: MySQL/MariaDB and SQL Server compare strings with
# case-insensitive or PAD SPACE collations by default; bytes compare exactly, in code point order.
BINARY_PATH_DIALECTS = frozenset({"mysql", "mariadb", "mssql"})


class PathType(TypeDecorator[str]):
    """An artifact path that compares byte-wise (exact, case-sensitive, code point order)."""

    impl = sa.String(PATH_MAX_BYTES)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> Any:
        if dialect.name in BINARY_PATH_DIALECTS:
            return dialect.type_descriptor(sa.VARBINARY(PATH_MAX_BYTES))
        if dialect.name == "postgresql":
            return dialect.type_descriptor(sa.String(PATH_MAX_BYTES, collation="C"))
        return dialect.type_descriptor(sa.String(PATH_MAX_BYTES))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if isinstance(value, str) and dialect.name in BINARY_PATH_DIALECTS:
            return value.encode("utf-8")
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        if isinstance(value, (bytes, bytearray, memoryview)):
            return bytes(value).decode("utf-8")
        return value


def blob_type() -> sa.types.TypeEngine[bytes]:
    """BYTEA / LONGBLOB / VARBINARY(max) / BLOB."""
    return sa.LargeBinary().with_variant(mysql.LONGBLOB(), "mysql", "mariadb").with_variant(
        mssql.VARBINARY("max"), "mssql"
    )


class Tables:
    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.metadata = sa.MetaData()
        self.files = sa.Table(
            f"{prefix}files", self.metadata,
            sa.Column("id", sa.String(32), primary_key=True),
            sa.Column("path", PathType(), nullable=True),
            sa.Column("size", sa.BigInteger, nullable=False, default=0),
            sa.Column("sha256", sa.String(64), nullable=True),
            sa.Column("chunk_count", sa.Integer, nullable=False, default=0),
            sa.Column("created_ms", sa.BigInteger, nullable=False),
            mysql_engine="InnoDB",
        )
        sa.Index(
            f"{prefix}files_path", self.files.c.path, unique=True,
            mssql_where=self.files.c.path.isnot(None),
        )
        self.chunks = sa.Table(
            f"{prefix}chunks", self.metadata,
            sa.Column("file_id", sa.String(32), primary_key=True),
            sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
            sa.Column("data", blob_type(), nullable=False),
            mysql_engine="InnoDB",
        )
        # Chunks are already as large as a TOAST value gets; compressing random model bytes wastes CPU.
        sa.event.listen(
            self.chunks, "after_create",
            sa.DDL(f"ALTER TABLE {prefix}chunks ALTER COLUMN data SET STORAGE EXTERNAL").execute_if(
                dialect="postgresql"
            ),
        )
        self.schema = sa.Table(
            f"{prefix}schema", self.metadata,
            sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
            mysql_engine="InnoDB",
        )


@functools.lru_cache(maxsize=16)
def tables_for(prefix: str) -> Tables:
    return Tables(prefix)
