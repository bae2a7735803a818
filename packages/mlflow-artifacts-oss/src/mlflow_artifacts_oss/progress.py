"""Progress for long transfers through MLflow's own ArtifactProgressBar, so bars look and switch
(MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR, shown from 500 MB) exactly like MLflow's."""

from __future__ import annotations

import threading
from types import TracebackType

from mlflow.utils.file_utils import ArtifactProgressBar


class TransferProgress:
    """An oss2 `progress_callback(consumed, total)` feeding an ArtifactProgressBar (thread-safe)."""

    def __init__(self, desc: str, total: int, step: int) -> None:
        self._bar = ArtifactProgressBar.chunks(total, desc, step)
        self._step = max(1, step)
        self._total = total
        self._shown = 0
        self._lock = threading.Lock()

    def __call__(self, consumed: int, total: int | None = None) -> None:
        self._advance(min(self._total, consumed) // self._step)

    def _advance(self, steps: int) -> None:
        with self._lock:
            while self._shown < steps:
                self._bar.update()
                self._shown += 1

    def __enter__(self) -> TransferProgress:
        self._bar.__enter__()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc is None:  # count the last, partial step too
            self._advance(-(-self._total // self._step))
        self._bar.__exit__(exc_type, exc, tb)
