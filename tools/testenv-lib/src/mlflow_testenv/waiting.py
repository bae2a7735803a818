"""Waiting for a server a test started itself (a README's `mlflow server` line, `mlflow models serve`)."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import requests


def wait_until_answers(url: str, proc: subprocess.Popen, *, timeout: float, what: str,
                       log: Path | None = None, interval: float = 0.5) -> None:
    """Return once `url` answers 200; fail at once if `proc` exits, or after `timeout` seconds, with
    `what` and the tail of its `log` in the message."""
    def tail() -> str:
        return f":\n{log.read_text(errors='replace')[-3000:]}" if log is not None and log.exists() else ""

    deadline = time.monotonic() + timeout
    while True:
        assert proc.poll() is None, f"{what} exited with {proc.returncode}{tail()}"
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        assert time.monotonic() < deadline, f"{what} did not answer {url} within {timeout:.0f} s{tail()}"
        time.sleep(interval)
