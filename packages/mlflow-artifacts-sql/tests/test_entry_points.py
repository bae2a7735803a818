"""The entry points load through MLflow's own registries (a failed import is only a warning there),
under the names MLflow's registry looks URIs up by (`get_uri_scheme`: postgresql+psycopg -> postgresql,
mysql+pymysql -> mysql, mssql+pyodbc -> mssql; mariadb+pymysql stays whole)."""

import importlib.metadata

import pytest

from mlflow_plugins_shared.testing import entry_points

REGISTERED = ("postgresql", "mysql", "mariadb+pymysql", "mssql", "sqlite")


@pytest.mark.parametrize("name", REGISTERED)
def test_artifact_repository_entry_point_loads(name):
    assert entry_points.artifact_repository_class(name).__name__ == "SqlArtifactRepository"


def test_entry_point_names_are_the_schemes_mlflow_looks_up():
    """A name MLflow never looks up (mysql+pymysql, mssql+pyodbc) is dead weight; a missing one is a
    documented URI that does not work."""
    ours = {
        ep.name for ep in importlib.metadata.entry_points(group="mlflow.artifact_repository")
        if ep.value.startswith("mlflow_artifacts_sql.")
    }
    assert ours == set(REGISTERED)  # test_mlflow_registry.py: the documented URIs map onto these names
