"""Long transfers report progress through MLflow's own ArtifactProgressBar (same bar, same
500 MB display threshold, same MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR switch)."""

from __future__ import annotations

import threading

from mlflow_artifacts_oss.progress import TransferProgress


def test_progress_reaches_the_total_from_concurrent_callbacks(monkeypatch):
    monkeypatch.setenv("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "true")
    total, step = 600_000_000, 16 * 1024 * 1024
    with TransferProgress("Uploading model.bin", total, step) as progress:
        bar = progress._bar.pbar
        assert bar is not None and bar.desc.startswith("Uploading model.bin")
        threads = [threading.Thread(target=progress, args=(n, total)) for n in range(0, total, step // 2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert bar.n <= total
    assert bar.n == total


def test_small_transfers_show_no_bar(monkeypatch):
    monkeypatch.setenv("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "true")
    with TransferProgress("x", 10_000_000, 1_000_000) as progress:
        progress(5_000_000, 10_000_000)
        assert progress._bar.pbar is None


def test_switched_off_like_mlflow(monkeypatch):
    monkeypatch.setenv("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    with TransferProgress("x", 600_000_000, 1_000_000) as progress:
        assert progress._bar.pbar is None
