"""MLflow artifact-repository mixins that not every MLflow 3.x has (detected, not version-gated:
a missing mixin only means the server does not offer that feature)."""

from __future__ import annotations

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
