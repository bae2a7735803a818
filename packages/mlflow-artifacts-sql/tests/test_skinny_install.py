"""The package depends on `mlflow-skinny` (which `mlflow` itself depends on), so it installs into a
client-only environment: a fresh venv with only mlflow-skinny, SQLAlchemy, the driver, the shared
wheel and this package must move a file through PostgreSQL, without pandas, scipy or the full mlflow."""

from __future__ import annotations

from importlib.metadata import version
from pathlib import Path

from mlflow_plugins_shared.testing.client_venv import round_trip
from mlflow_testenv.minimal_venv import minimal_python

ROOT = Path(__file__).resolve().parents[3]


def test_moves_a_file_with_only_mlflow_skinny_installed(postgres_url, tmp_path):
    python = minimal_python(
        "artifacts-sql-skinny",
        [f"mlflow-skinny=={version('mlflow-skinny')}", "sqlalchemy>=2.0,<3", "psycopg[binary]>=3.1", "psycopg2-binary>=2.9"],
        [ROOT / "shared", ROOT / "packages" / "mlflow-artifacts-sql"],
    )
    src = tmp_path / "weights.bin"
    src.write_bytes(bytes(range(256)) * 8192)  # 2 MiB: more than one chunk
    result = round_trip(python, src, postgres_url + "/skinny", tmp_path)  # plain postgresql://
    assert result == {"repo": "mlflow_artifacts_sql.repository", "listed": [["model/weights.bin", 2 * 1024 * 1024]],
                      "same": True, "full_mlflow": False, "heavy": []}
