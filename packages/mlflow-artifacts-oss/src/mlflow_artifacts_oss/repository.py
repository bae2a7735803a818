"""`oss://bucket/path` artifact repository on Aliyun OSS (oss2)."""

from __future__ import annotations

import logging
import os
import posixpath
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import oss2
from mlflow.entities import FileInfo
from mlflow.store.artifact.artifact_repo import ArtifactRepository

from mlflow_artifacts_oss.client import ClientConfig, load_config, make_bucket, make_session
from mlflow_artifacts_oss.crc_bucket import CrcBucket
from mlflow_artifacts_oss.errors import is_transient, to_mlflow
from mlflow_artifacts_oss.location import OssLocation
from mlflow_artifacts_oss.mlflow_api import OPTIONAL_MIXINS
from mlflow_artifacts_oss.presign import PresignMixin
from mlflow_artifacts_oss.transfer import TransferConfig, download_file, upload_file
from mlflow_plugins_shared.compat import ARTIFACT_REPO_TAKES_REGISTRY_URI, ARTIFACT_REPO_TAKES_TRACKING_URI
from mlflow_plugins_shared.errors import invalid_parameter
from mlflow_plugins_shared.retry import retrying
from mlflow_plugins_shared.strict import StrictMixin
from mlflow_plugins_shared.uris import validate_artifact_path

_logger = logging.getLogger(__name__)
T = TypeVar("T")
DELETE_BATCH = 1000  # OSS DeleteMultipleObjects limit
LIST_PAGE = 1000


class OssArtifactRepository(StrictMixin, PresignMixin, ArtifactRepository, *OPTIONAL_MIXINS):  # type: ignore[misc]
    strict_plugin_name = "mlflow-artifacts-oss"

    def __init__(self, artifact_uri: str, tracking_uri: str | None = None, registry_uri: str | None = None,
                 **kwargs: object) -> None:
        self.location = OssLocation.parse(artifact_uri)
        self.config: ClientConfig = load_config()
        self.transfer = TransferConfig.load()
        if ARTIFACT_REPO_TAKES_REGISTRY_URI:
            super().__init__(artifact_uri, tracking_uri=tracking_uri, registry_uri=registry_uri)
        elif ARTIFACT_REPO_TAKES_TRACKING_URI:
            super().__init__(artifact_uri, tracking_uri=tracking_uri)
        else:
            super().__init__(artifact_uri)
        self.tracking_uri, self.registry_uri = tracking_uri, registry_uri
        pool = max(self.max_workers, 1) * self.transfer.threads + 4
        session = make_session(pool)
        self.bucket = make_bucket(self.config, self.location.bucket, session)
        # uploads and ranged downloads check CRC-64 with liblzma, outside the GIL (crc_bucket, ranged)
        self.transfer_bucket = make_bucket(self.config, self.location.bucket, session, CrcBucket)

    # ---- helpers
    def _call(self, what: str, fn: Callable[[], T]) -> T:
        """One OSS request, retried on transient faults, failures turned into MlflowException."""
        try:
            for attempt in retrying(is_transient, attempts=self.transfer.attempts, initial=0.2, maximum=5.0,
                                    deadline=None, what=what):
                with attempt:
                    return fn()
        except Exception as e:
            raise to_mlflow(e, what, self.config.secrets, self.config.describe()) from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _guard(self, what: str, fn: Callable[[], T]) -> T:
        """A call that retries by itself; only map its failure."""
        try:
            return fn()
        except Exception as e:
            raise to_mlflow(e, what, self.config.secrets, self.config.describe()) from None

    def _iter_objects(self, prefix: str, delimiter: str = "") -> Iterator[Any]:
        """Every object (and common prefix) under `prefix`, page after page (continuation tokens)."""
        token = ""
        while True:
            def fetch(t: str = token) -> Any:
                return self.bucket.list_objects_v2(prefix=prefix, delimiter=delimiter, continuation_token=t,
                                                   max_keys=LIST_PAGE)

            page = self._call(f"listing oss://{self.location.bucket}/{prefix}", fetch)
            yield from page.object_list
            yield from page.prefix_list
            if not page.is_truncated:
                return
            token = page.next_continuation_token

    # ---- upload
    def log_artifact(self, local_file: str, artifact_path: str | None = None) -> None:
        if not os.path.isfile(local_file):
            raise invalid_parameter(f"Local file {local_file!r} does not exist or is not a file")
        key = self.location.key(artifact_path, os.path.basename(local_file))
        self._guard(f"upload to {self.location.uri(key)}",
                    lambda: upload_file(self.transfer_bucket, local_file, key, self.transfer))

    def log_artifacts(self, local_dir: str, artifact_path: str | None = None) -> None:
        if not os.path.isdir(local_dir):
            raise invalid_parameter(f"Local directory {local_dir!r} does not exist or is not a directory")
        base = validate_artifact_path(artifact_path)
        jobs: list[tuple[str, str]] = []
        for root, _, files in os.walk(local_dir):
            rel = os.path.relpath(root, local_dir)
            rel = "" if rel == "." else rel.replace(os.sep, "/")
            for name in files:
                jobs.append((os.path.join(root, name), self.location.key(base, rel, name)))
        if not jobs:
            return
        with ThreadPoolExecutor(max_workers=min(len(jobs), self.max_workers),
                                thread_name_prefix="mlflow-oss-upload") as pool:
            futures = [pool.submit(self._guard, f"upload to {self.location.uri(key)}",
                                   lambda f=f, key=key: upload_file(self.transfer_bucket, f, key, self.transfer))
                       for f, key in jobs]
            for fut in futures:
                fut.result()

    # ---- listing
    def list_artifacts(self, path: str | None = None) -> list[FileInfo]:
        rel = validate_artifact_path(path)
        prefix = self.location.dir_prefix(rel)
        infos: list[FileInfo] = []
        for item in self._iter_objects(prefix, delimiter="/"):
            if isinstance(item, str):  # a common prefix: a directory
                infos.append(FileInfo(posixpath.join(rel, item[len(prefix):].rstrip("/")), True, None))
            elif item.key != prefix:  # not a directory marker object
                infos.append(FileInfo(posixpath.join(rel, item.key[len(prefix):]), False, item.size))
        return sorted(infos, key=lambda f: f.path)

    # ---- download
    def download_artifacts(self, artifact_path: str, dst_path: str | None = None) -> str:
        # MLflow refuses a destination that does not exist yet; creating it is friendlier (and
        # what the shared conformance kit expects).
        if dst_path and not os.path.exists(dst_path):
            os.makedirs(dst_path, exist_ok=True)
        return super().download_artifacts(artifact_path, dst_path)

    def _download_file(self, remote_file_path: str, local_path: str) -> None:
        key = self.location.key(validate_artifact_path(remote_file_path, allow_empty=False))
        self._guard(f"download of {self.location.uri(key)}",
                    lambda: download_file(self.bucket, key, local_path, self.transfer))

    # ---- delete
    def delete_artifacts(self, artifact_path: str | None = None) -> None:
        rel = validate_artifact_path(artifact_path)
        keys: list[str] = []
        if rel:
            exact = self.location.key(rel)
            if self._call(f"HEAD {self.location.uri(exact)}", lambda: self.bucket.object_exists(exact)):
                keys.append(exact)
        keys.extend(o.key for o in self._iter_objects(self.location.dir_prefix(rel)))
        for i in range(0, len(keys), DELETE_BATCH):
            batch = keys[i:i + DELETE_BATCH]
            def delete(b: list[str] = batch) -> Any:
                return self.bucket.batch_delete_objects(b)

            self._call(f"deleting {len(batch)} objects under {self.location.uri(self.location.dir_prefix(rel))}",
                       delete)
        _logger.debug("deleted %d objects under %s", len(keys), self.location.uri(self.location.dir_prefix(rel)))

    def __repr__(self) -> str:
        return f"OssArtifactRepository(artifact_uri={self.artifact_uri!r}, {self.config.describe()})"


__all__ = ["OssArtifactRepository", "oss2"]
