"""`SqlArtifactRepository`: MLflow's artifact repository API over the chunked file tables."""

from __future__ import annotations

import asyncio
import hashlib
import os
import posixpath
import uuid
from collections.abc import AsyncIterable
from typing import Any, BinaryIO

from mlflow.entities.file_info import FileInfo
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import ErrorCode
from mlflow.store.artifact.artifact_repo import ArtifactRepository

from mlflow_artifacts_sql import settings
from mlflow_artifacts_sql.database import Database, database_for
from mlflow_artifacts_sql.files import FileStore, NewFile
from mlflow_artifacts_sql.location import Location, parse_location
from mlflow_artifacts_sql.schema import PATH_MAX_BYTES
from mlflow_artifacts_sql.upload import Upload
from mlflow_plugins_shared import compat, errors
from mlflow_plugins_shared.logs import get_logger
from mlflow_plugins_shared.redact import redact_text
from mlflow_plugins_shared.strict import StrictMixin
from mlflow_plugins_shared.uris import validate_artifact_path

try:  # newer MLflow: the server streams uploads straight into repositories that offer it
    from mlflow.store.artifact.artifact_repo import StreamUploadMixin
except ImportError:  # pragma: no cover - older MLflow spools to a temp file and calls log_artifact
    class StreamUploadMixin:  # type: ignore[no-redef]
        pass

_logger = get_logger(__name__)


class SqlArtifactRepository(StrictMixin, ArtifactRepository, StreamUploadMixin):
    """Artifacts as chunked BLOBs in any database SQLAlchemy speaks (see the README for URIs)."""

    strict_plugin_name = "mlflow-artifacts-sql"

    def __init__(
        self, artifact_uri: str, tracking_uri: str | None = None, registry_uri: str | None = None, **kwargs: Any
    ) -> None:
        self._location: Location = parse_location(artifact_uri)
        if compat.ARTIFACT_REPO_TAKES_REGISTRY_URI:
            super().__init__(artifact_uri, tracking_uri=tracking_uri, registry_uri=registry_uri)
        elif compat.ARTIFACT_REPO_TAKES_TRACKING_URI:
            super().__init__(artifact_uri, tracking_uri=tracking_uri)
        else:
            super().__init__(artifact_uri)
        self.tracking_uri = tracking_uri
        self.registry_uri = registry_uri
        self._store: FileStore | None = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(artifact_uri={redact_text(self.artifact_uri, self._secrets())!r})"

    # -- plumbing -------------------------------------------------------------------------------

    @property
    def _db(self) -> Database:
        return self._files.db

    @property
    def _files(self) -> FileStore:
        if self._store is None:  # connect on first use: MLflow builds repositories eagerly
            self._store = FileStore(database_for(self._location))
        return self._store

    def _secrets(self) -> tuple[str, ...]:
        password = self._location.password
        env = settings.PASSWORD.get() if settings.PASSWORD.is_set() else None
        return tuple(s for s in (password, env.get() if env else None) if s)

    def _full(self, relative: str) -> str:
        full = posixpath.join(self._location.root, relative) if self._location.root and relative else (
            self._location.root or relative
        )
        size = len(full.encode("utf-8"))
        if size > PATH_MAX_BYTES:
            raise errors.invalid_parameter(
                f"Artifact path '{relative[:80]}...' is {size} bytes long with the artifact root; "
                f"the limit is {PATH_MAX_BYTES} bytes"
            )
        return full

    def _relative(self, full: str) -> str:
        root = self._location.root
        return full[len(root) + 1:] if root else full

    def _target(self, artifact_path: str | None, name: str) -> str:
        """Validated full path of a file called `name` logged into directory `artifact_path`."""
        folder = validate_artifact_path(artifact_path)
        base = validate_artifact_path(name, allow_empty=False)
        if "/" in base:
            raise errors.invalid_parameter(f"Artifact file name must not contain '/': {name!r}")
        return self._full(posixpath.join(folder, base) if folder else base)

    # -- writes ---------------------------------------------------------------------------------

    def log_artifact(self, local_file: str | os.PathLike[str], artifact_path: str | None = None) -> None:
        local = os.fspath(local_file)
        target = self._target(artifact_path, os.path.basename(local))
        if not os.path.isfile(local):
            raise errors.invalid_parameter(f"Not a file: {local!r}")
        self._upload_file(target, local)

    def _upload_file(self, target: str, local: str) -> None:
        with open(local, "rb", buffering=0) as src:
            upload = Upload(self._files, target, source_fd=src.fileno())
            try:
                upload.write_file(src.fileno())
                upload.finish()
            except BaseException:
                upload.abort()
                raise

    def _upload(self, target: str, src: BinaryIO) -> None:
        upload = Upload(self._files, target)
        try:
            upload.write_from(src)
            upload.finish()
        except BaseException:
            upload.abort()
            raise

    def log_artifacts(self, local_dir: str | os.PathLike[str], artifact_path: str | None = None) -> None:
        local_dir = os.fspath(local_dir)
        if not os.path.isdir(local_dir):
            raise errors.invalid_parameter(f"Not a directory: {local_dir!r}")
        folder = validate_artifact_path(artifact_path)
        plan: list[tuple[str, str, int]] = []
        for dirpath, dirnames, filenames in os.walk(local_dir):
            dirnames.sort()
            rel_dir = os.path.relpath(dirpath, local_dir)
            rel_dir = "" if rel_dir == "." else rel_dir.replace(os.sep, "/")
            for name in sorted(filenames):
                local = os.path.join(dirpath, name)
                inner = posixpath.join(folder, rel_dir) if folder and rel_dir else (folder or rel_dir)
                # Every name is checked before anything is written.
                plan.append((local, self._target(inner, name), os.path.getsize(local)))
        self._store_plan(plan)

    def _store_plan(self, plan: list[tuple[str, str, int]]) -> None:
        db = self._db
        batch: list[NewFile] = []
        batch_bytes = 0
        batch_files = settings.BATCH_FILES.get() or 500
        for local, target, size in plan:
            if size > db.chunk_size:
                self._upload_file(target, local)
                continue
            with open(local, "rb") as src:
                data = src.read()
            if len(data) > db.chunk_size:  # grew since we looked
                chunks = [data[i:i + db.chunk_size] for i in range(0, len(data), db.chunk_size)]
            else:
                chunks = [data] if data else []
            batch.append(NewFile(uuid.uuid4().hex, target, len(data), hashlib.sha256(data).hexdigest(), chunks))
            batch_bytes += len(data)
            if len(batch) >= batch_files or batch_bytes >= db.transaction_size:
                self._files.write_small(batch)
                batch, batch_bytes = [], 0
        self._files.write_small(batch)

    def log_artifact_from_stream(
        self, stream: BinaryIO, artifact_file_name: str, artifact_path: str | None = None
    ) -> None:
        target = self._target(artifact_path, posixpath.basename(str(artifact_file_name).replace("\\", "/")))
        self._upload(target, stream)

    async def log_artifact_from_async_stream(
        self, chunks: AsyncIterable[bytes], artifact_file_name: str, artifact_path: str | None = None
    ) -> None:
        target = self._target(artifact_path, posixpath.basename(str(artifact_file_name).replace("\\", "/")))
        upload = await asyncio.to_thread(Upload, self._files, target)
        size = self._db.chunk_size
        buffer = bytearray()
        try:
            async for piece in chunks:
                buffer += piece
                if len(buffer) >= size:
                    data, buffer = bytes(buffer), bytearray()
                    await asyncio.to_thread(upload.write, data)
            if buffer:
                await asyncio.to_thread(upload.write, bytes(buffer))
            await asyncio.to_thread(upload.finish)
        except BaseException:
            await asyncio.to_thread(upload.abort)
            raise

    # -- reads ----------------------------------------------------------------------------------

    def list_artifacts(self, path: str | None = None) -> list[FileInfo]:
        directory = self._full(validate_artifact_path(path))
        if directory and directory != self._location.root and self._files.stat(directory) is not None:
            return []  # a file, like LocalArtifactRepository
        return [
            FileInfo(self._relative(full), is_dir, size)
            for full, is_dir, size in self._files.list_below(directory)
        ]

    def _is_directory(self, artifact_path: str) -> bool:
        return bool(self.list_artifacts(artifact_path))

    def _download_file(self, remote_file_path: str, local_path: str | os.PathLike[str]) -> None:
        full = self._full(validate_artifact_path(remote_file_path, allow_empty=False))
        local = os.fspath(local_path)
        try:
            with open(local, "wb") as out:
                self._files.read_into(full, out)
        except BaseException:
            try:
                os.remove(local)
            except OSError:
                pass
            raise

    def download_artifacts(self, artifact_path: str, dst_path: str | None = None) -> str:
        if dst_path and not os.path.exists(dst_path):
            os.makedirs(dst_path, exist_ok=True)  # MLflow requires it to exist; creating it is kinder
        try:
            return super().download_artifacts(artifact_path, dst_path)
        except MlflowException as e:  # MLflow's message quotes artifact_uri, which may hold a password
            raise MlflowException(
                redact_text(e.message, self._secrets()), error_code=ErrorCode.Value(e.error_code)
            ) from None

    # -- deletes --------------------------------------------------------------------------------

    def delete_artifacts(self, artifact_path: str | None = None) -> None:
        full = self._full(validate_artifact_path(artifact_path))
        removed = self._files.delete(full)
        _logger.debug("deleted %d file(s) at %r", removed, full)
