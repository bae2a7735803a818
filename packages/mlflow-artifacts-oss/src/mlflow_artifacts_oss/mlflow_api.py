"""MLflow artifact-repository mixins that not every MLflow 3.x has (detected, not version-gated:
a missing mixin only means the server does not offer that feature)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import mlflow.store.artifact.artifact_repo as _repo


class _Absent:
    pass


MultipartUploadMixin: Any = getattr(_repo, "MultipartUploadMixin", _Absent)
MultipartDownloadMixin: Any = getattr(_repo, "MultipartDownloadMixin", _Absent)
PresignedUploadMixin: Any = getattr(_repo, "PresignedUploadMixin", _Absent)


def _mixins() -> tuple[type, ...]:
    seen: list[type] = []
    for m in (MultipartUploadMixin, MultipartDownloadMixin, PresignedUploadMixin):
        if m is not _Absent and m not in seen:
            seen.append(m)
    return tuple(seen)


OPTIONAL_MIXINS: tuple[type, ...] = _mixins()


@dataclass
class _PresignedDownloadUrlResponse:
    """Stand-in for mlflow.entities.presigned_download.PresignedDownloadUrlResponse (absent before ~3.6)."""

    url: str
    headers: dict[str, str]
    file_size: int | None = None


@dataclass
class _CreatePresignedUploadResponse:
    """Stand-in for mlflow.entities.presigned_upload.CreatePresignedUploadResponse."""

    presigned_url: str
    headers: dict[str, str]


try:
    from mlflow.entities.presigned_download import PresignedDownloadUrlResponse
except ImportError:  # older MLflow: the server does not ask for presigned downloads; direct callers still can
    PresignedDownloadUrlResponse = _PresignedDownloadUrlResponse  # type: ignore[assignment,misc]
try:
    from mlflow.entities.presigned_upload import CreatePresignedUploadResponse
except ImportError:
    CreatePresignedUploadResponse = _CreatePresignedUploadResponse  # type: ignore[assignment,misc]
