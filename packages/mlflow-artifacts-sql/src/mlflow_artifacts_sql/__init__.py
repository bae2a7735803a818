"""MLflow artifacts as chunked BLOBs in SQL Server, PostgreSQL, MySQL/MariaDB and SQLite."""

from mlflow_artifacts_sql.version import __version__

__all__ = ["__version__"]
