"""Moving one file: a single PUT/GET below the thresholds; above them oss2's resumable, parallel
multipart upload (with checkpoints, so a retried or re-run upload continues where it stopped) and
our parallel ranged download (`ranged`; a retry fetches only missing ranges). Transient faults are
retried with backoff."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import mimetypes
import os
from dataclasses import dataclass
from pathlib import Path

import oss2

from mlflow_artifacts_oss import settings
from mlflow_artifacts_oss.errors import is_transient
from mlflow_artifacts_oss.progress import TransferProgress
from mlflow_artifacts_oss.ranged import RangedDownload
from mlflow_plugins_shared.retry import retrying

_logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TransferConfig:
    multipart_threshold: int
    part_size: int
    download_threshold: int
    threads: int
    checkpoint_dir: Path
    attempts: int

    @classmethod
    def load(cls) -> TransferConfig:
        return cls(
            multipart_threshold=settings.MULTIPART_THRESHOLD.get(),  # type: ignore[arg-type]
            part_size=settings.PART_SIZE.get(),  # type: ignore[arg-type]
            download_threshold=settings.DOWNLOAD_THRESHOLD.get(),  # type: ignore[arg-type]
            threads=settings.THREADS.get(),  # type: ignore[arg-type]
            checkpoint_dir=Path(settings.CHECKPOINT_DIR.get() or Path.home() / ".cache" / "mlflow-artifacts-oss"),
            attempts=settings.RETRIES.get(),  # type: ignore[arg-type]
        )


def _retry(cfg: TransferConfig, what: str):
    return retrying(is_transient, attempts=cfg.attempts, initial=0.2, maximum=5.0, deadline=None, what=what)


def content_type(path: str) -> str:
    return mimetypes.guess_type(path)[0] or "application/octet-stream"


def _upload_store(cfg: TransferConfig) -> oss2.ResumableStore:
    return oss2.ResumableStore(root=str(cfg.checkpoint_dir), dir="upload")


def upload_file(bucket: oss2.Bucket, local_file: str, key: str, cfg: TransferConfig) -> None:
    size = os.path.getsize(local_file)
    headers = {"Content-Type": content_type(local_file)}
    if size < cfg.multipart_threshold:
        _logger.debug("PUT oss://%s/%s (%d bytes)", bucket.bucket_name, key, size)
        for attempt in _retry(cfg, f"upload of {key}"):
            with attempt:
                bucket.put_object_from_file(key, local_file, headers=headers)
        return
    store = _upload_store(cfg)
    _logger.debug("multipart upload oss://%s/%s (%d bytes, parts of %d, %d threads)",
                  bucket.bucket_name, key, size, cfg.part_size, cfg.threads)
    try:
        with TransferProgress(f"Uploading {key}", size, cfg.part_size) as progress:
            for attempt in _retry(cfg, f"multipart upload of {key}"):
                with attempt:  # a retry resumes from the checkpoint: only missing parts are sent
                    oss2.resumable_upload(bucket, key, local_file, store=store, headers=headers,
                                          multipart_threshold=cfg.multipart_threshold, part_size=cfg.part_size,
                                          progress_callback=progress, num_threads=cfg.threads)
    except BaseException as e:
        if not is_transient(e):
            abort_checkpointed_upload(bucket, local_file, key, store)
        # after transient faults the checkpoint stays: logging the same file again resumes the upload
        raise


def abort_checkpointed_upload(bucket: oss2.Bucket, local_file: str, key: str, store: oss2.ResumableStore) -> None:
    """Abort the multipart upload a checkpoint names, and drop the checkpoint (nothing becomes visible)."""
    store_key = store.make_store_key(bucket.bucket_name, key, os.path.abspath(local_file))
    record = store.get(store_key)
    if not record:
        return
    if record.get("upload_id"):
        try:
            bucket.abort_multipart_upload(key, record["upload_id"])
            _logger.debug("aborted multipart upload %s of %s", record["upload_id"], key)
        except oss2.exceptions.OssError as e:
            _logger.debug("abort of multipart upload of %s failed: %s", key, e.code)
    with contextlib.suppress(FileNotFoundError):
        store.delete(store_key)


def _object_size(bucket: oss2.Bucket, key: str, cfg: TransferConfig) -> int:
    for attempt in _retry(cfg, f"HEAD of {key}"):
        with attempt:
            return int(bucket.head_object(key).content_length or 0)
    raise AssertionError("unreachable")  # pragma: no cover


def download_file(bucket: oss2.Bucket, key: str, local_path: str, cfg: TransferConfig, size: int | None = None) -> None:
    """Download into a temporary file beside `local_path`, renamed into place when complete."""
    if size is None:
        size = _object_size(bucket, key, cfg)
    tmp = f"{local_path}.{hashlib.sha256(key.encode()).hexdigest()[:8]}.part"
    try:
        if size < cfg.download_threshold:
            for attempt in _retry(cfg, f"download of {key}"):
                with attempt:
                    bucket.get_object_to_file(key, tmp)
        else:
            with TransferProgress(f"Downloading {key}", size, cfg.part_size) as progress:
                download = RangedDownload(bucket, key, tmp, cfg.part_size, cfg.threads, progress)
                for attempt in _retry(cfg, f"ranged download of {key}"):
                    with attempt:  # a retry fetches only the ranges still missing
                        download.run()
        os.replace(tmp, local_path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
