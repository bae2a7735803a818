"""The entry points load through MLflow's own registries (a failed import is only a warning there)."""

from mlflow_plugins_shared.testing import entry_points


def test_artifact_repository_mssql_pyodbc():
    assert entry_points.artifact_repository_class('mssql+pyodbc').__name__ == 'SqlArtifactRepository'


def test_artifact_repository_mssql_pymssql():
    assert entry_points.artifact_repository_class('mssql+pymssql').__name__ == 'SqlArtifactRepository'


def test_artifact_repository_postgresql():
    assert entry_points.artifact_repository_class('postgresql').__name__ == 'SqlArtifactRepository'


def test_artifact_repository_postgresql_psycopg():
    assert entry_points.artifact_repository_class('postgresql+psycopg').__name__ == 'SqlArtifactRepository'


def test_artifact_repository_postgresql_psycopg2():
    assert entry_points.artifact_repository_class('postgresql+psycopg2').__name__ == 'SqlArtifactRepository'


def test_artifact_repository_mysql_pymysql():
    assert entry_points.artifact_repository_class('mysql+pymysql').__name__ == 'SqlArtifactRepository'


def test_artifact_repository_mariadb_pymysql():
    assert entry_points.artifact_repository_class('mariadb+pymysql').__name__ == 'SqlArtifactRepository'


def test_artifact_repository_sqlite():
    assert entry_points.artifact_repository_class('sqlite').__name__ == 'SqlArtifactRepository'

