"""The rule for where the database URL ends and the artifact root begins."""

from __future__ import annotations

import pytest
from mlflow.exceptions import MlflowException
from mlflow.utils.uri import append_to_uri_path
from mlflow_artifacts_sql.location import parse_location
from mlflow_artifacts_sql.repository import SqlArtifactRepository


@pytest.mark.parametrize(
    ("uri", "database", "root"),
    [
        ("postgresql://u:p@h:5432/db", "db", ""),
        ("postgresql://u:p@h/db/1/abc/artifacts", "db", "1/abc/artifacts"),
        ("postgresql+psycopg://h/db/x?sslmode=disable", "db", "x"),
        ("mysql+pymysql://u:p@h/mlflow/a%20b/c", "mlflow", "a b/c"),
        ("mssql+pyodbc://u:p@h/db/1/r/artifacts?driver=ODBC+Driver+18+for+SQL+Server", "db", "1/r/artifacts"),
        ("mssql+pyodbc://u:p@mydsn/-/root", None, "root"),
        ("sqlite:///rel/x.db", "rel/x.db", ""),
        ("sqlite:///rel/x.db/1/r/artifacts", "rel/x.db", "1/r/artifacts"),
        ("sqlite:////abs/dir/x.sqlite3/root", "/abs/dir/x.sqlite3", "root"),
        # What MLflow's append_to_uri_path makes of sqlite:////abs/x.db and sqlite:///x.db:
        ("sqlite://abs/x.db/1/r/artifacts", "/abs/x.db", "1/r/artifacts"),
        ("sqlite:/x.db/1/r/artifacts", "x.db", "1/r/artifacts"),
    ],
)
def test_database_and_root(uri, database, root):
    loc = parse_location(uri)
    assert loc.url.database == database
    assert loc.root == root


def test_query_string_stays_with_the_database_url():
    loc = parse_location("mssql+pyodbc://u:p@h/db/1/r/artifacts?driver=ODBC+Driver+18+for+SQL+Server")
    assert loc.url.query == {"driver": "ODBC Driver 18 for SQL Server"}
    assert loc.url.host == "h" and loc.url.username == "u" and loc.url.password == "p"


@pytest.mark.parametrize(
    "base",
    [
        "sqlite:////tmp/x.db",
        "sqlite:///x.db",
        "sqlite:////tmp/x.db/my/root",
        "postgresql://u:p@h:5432/db",
        "postgresql://u:p@h/db/root?sslmode=require",
        "mssql+pyodbc://u:p@h/db?driver=ODBC+Driver+18+for+SQL+Server",
    ],
)
def test_mlflow_appended_run_paths_parse_to_the_same_database(base):
    """MLflow builds run locations with append_to_uri_path; the database must not move."""
    before = parse_location(base)
    after = parse_location(append_to_uri_path(base, "1", "abcdef", "artifacts"))
    assert after.url == before.url
    assert after.root == "/".join(p for p in (before.root, "1/abcdef/artifacts") if p)


@pytest.mark.parametrize(
    ("uri", "problem"),
    [
        ("sqlite:///nofile/here", "must end in"),
        ("sqlite://", "expected sqlite:///"),
        ("sqlite:///:memory:", "must end in"),
        ("sqlite:////tmp/a.db/b.sqlite", "ambiguous"),
        ("postgresql://u:secretpw@h", "no database name"),
        ("postgresql://u:secretpw@h//x", "no database name"),
        ("postgresql:///db", "no host"),
        ("postgresql://u:secretpw@h/db/a/../b", "'..'"),
        ("postgresql://u:secretpw@h/db/a//b", "empty path segment"),
        ("postgresql://u:secretpw@h/db#frag", "fragment"),
        ("oracle://u:secretpw@h/db", "unsupported scheme"),
        ("", "empty"),
        ("postgresql://u:secretpw@h/db/a\x00b", "NUL"),
    ],
)
def test_bad_and_ambiguous_uris_are_rejected_clearly(uri, problem):
    with pytest.raises(MlflowException) as e:
        SqlArtifactRepository(uri)
    assert e.value.error_code == "INVALID_PARAMETER_VALUE"
    assert problem in e.value.message
    assert "secretpw" not in e.value.message


def test_repr_hides_the_password():
    repo = SqlArtifactRepository("postgresql://user:hunter22@127.0.0.1:1/db/root")
    assert "hunter22" not in repr(repo)
    assert "127.0.0.1" in repr(repo)


def test_constructor_accepts_mlflow_keyword_arguments(tmp_path):
    repo = SqlArtifactRepository(
        f"sqlite:///{tmp_path}/a.db", tracking_uri="http://t", registry_uri="http://r", future_arg=1
    )
    assert repo.tracking_uri == "http://t" and repo.registry_uri == "http://r"
    assert not (tmp_path / "a.db").exists()  # no connection until first use
