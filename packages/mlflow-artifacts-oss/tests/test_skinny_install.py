"""The package depends on `mlflow-skinny` (which `mlflow` itself depends on), so it installs into a
client-only environment: a fresh venv with only mlflow-skinny, oss2, the shared wheel and this
package must move a multipart file through the OSS test server, without pandas, scipy or the full
mlflow."""

from __future__ import annotations

import os
from importlib.metadata import version
from pathlib import Path

from mlflow_plugins_shared.testing.client_venv import round_trip
from mlflow_testenv.minimal_venv import minimal_python

ROOT = Path(__file__).resolve().parents[3]


def test_moves_a_file_with_only_mlflow_skinny_installed(oss_settings, root_uri, tmp_path):
    oss_settings(MULTIPART_THRESHOLD="1MiB", PART_SIZE="1MiB")  # a multipart upload of 3 parts
    python = minimal_python(
        "artifacts-oss-skinny",
        [f"mlflow-skinny=={version('mlflow-skinny')}", f"oss2=={version('oss2')}"],
        [ROOT / "shared", ROOT / "packages" / "mlflow-artifacts-oss"],
    )
    src = tmp_path / "weights.bin"
    src.write_bytes(os.urandom(3 * 1024 * 1024 - 17))
    result = round_trip(python, src, root_uri, tmp_path)
    assert result == {"repo": "mlflow_artifacts_oss.repository", "listed": [["model/weights.bin", 3 * 1024 * 1024 - 17]],
                      "same": True, "full_mlflow": False, "heavy": []}
