"""MLflow artifacts as chunked BLOBs in SQL Server, PostgreSQL, MySQL/MariaDB and SQLite."""

# Importing MLflow registers artifact-repository entry points, which imports our repository
# module; load MLflow first so importing `mlflow_artifacts_sql.repository` directly is not circular.
import mlflow  # noqa: F401

from mlflow_artifacts_sql.version import __version__

__all__ = ["__version__"]
