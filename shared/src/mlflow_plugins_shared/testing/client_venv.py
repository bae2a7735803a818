"""Move one file through an artifact repository from another interpreter (a venv that holds only
what a client installs, e.g. mlflow-skinny and one plugin) and report what that process saw."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

_SCRIPT = r"""
import filecmp, json, os, sys, importlib.metadata as md
import mlflow
from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository
src, dst, uri = sys.argv[1:4]
repo = get_artifact_repository(uri)
repo.log_artifact(src, "model")
listed = [(f.path, f.file_size) for f in repo.list_artifacts("model")]
got = repo.download_artifacts("model/" + os.path.basename(src), dst)
print(json.dumps({
    "repo": type(repo).__module__, "listed": listed, "same": filecmp.cmp(src, got, shallow=False),
    "full_mlflow": any(d.metadata["Name"] == "mlflow" for d in md.distributions()),
    "heavy": sorted(m for m in ("pandas", "scipy", "pyarrow", "numpy") if m in sys.modules),
}))
"""


def round_trip(python: Path, src: Path, uri: str, workdir: Path) -> dict[str, Any]:
    """log_artifact `src` under `model/`, list it, download it; returns the repository's module, the
    listing, whether the bytes came back the same, and which heavy modules the process imported."""
    dst = workdir / "downloaded"
    dst.mkdir(parents=True, exist_ok=True)
    out = subprocess.run([str(python), "-c", _SCRIPT, str(src), str(dst), uri], capture_output=True, text=True,
                         timeout=300)
    if out.returncode != 0:
        raise AssertionError(f"the client process failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])
