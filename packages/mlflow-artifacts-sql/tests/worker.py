"""Run by tests in a separate process: `python worker.py stall|race <args...> <artifact URIs...>`."""

from __future__ import annotations

import hashlib
import io
import os
import sys
import threading
import time
from pathlib import Path


class _Stalling(io.RawIOBase):
    """Gives `before` bytes, writes a marker file, then blocks (the test kills us)."""

    def __init__(self, before: int, marker: str) -> None:
        self.left, self.marker = before, marker

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:  # type: ignore[no-untyped-def]
        if self.left <= 0:
            Path(self.marker).write_text("stalled")
            time.sleep(3600)
        n = min(len(b), self.left)
        b[:n] = os.urandom(n)
        self.left -= n
        return n


def _barrier(folder: Path, me: str, other: str, step: str) -> None:
    (folder / f"{step}.{me}").touch()
    deadline = time.monotonic() + 300
    while not (folder / f"{step}.{other}").exists():
        if time.monotonic() > deadline:
            raise SystemExit(f"{other} never reached {step}")
        time.sleep(0.005)


def main() -> None:
    action, *args = sys.argv[1:]
    from mlflow_artifacts_sql.repository import SqlArtifactRepository

    if action == "stall":  # one never-ending upload per URI, each in a thread; the test kills us
        size, marker_dir, *uris = args
        threads = [
            threading.Thread(target=SqlArtifactRepository(uri).log_artifact_from_stream, daemon=True,
                             args=(io.BufferedReader(_Stalling(int(size), f"{marker_dir}/{i}")), "partial.bin"))
            for i, uri in enumerate(uris)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    elif action == "race":  # upload our file to the same path several times, in step with the other worker
        local, rounds, folder, me, other, *uris = args
        for uri in uris:
            repo = SqlArtifactRepository(uri)
            repo.list_artifacts()  # connect before the start line
            _barrier(Path(folder), me, other, hashlib.sha256(uri.encode()).hexdigest()[:8])
            for _ in range(int(rounds)):
                repo.log_artifact(local, "shared")
    else:
        raise SystemExit(f"unknown action {action}")


if __name__ == "__main__":
    main()
