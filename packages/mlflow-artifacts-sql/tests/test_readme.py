"""The README is what runs: its settings table is the one the code declares, and every code block in it
is run here as written against the real servers (only the example host `db.example` is swapped for the
test server's address, and the password comes from MLFLOW_ARTIFACTS_SQL_PASSWORD as the README says).
SQL Server cannot run here: its block runs (it only creates the experiment) and the location it makes is
resolved through MLflow's registry to an mssql engine."""

from __future__ import annotations

import importlib.metadata
import os
import re
import uuid
from pathlib import Path

import mlflow
import pytest
import sqlalchemy as sa
from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository
from mlflow.utils.uri import append_to_uri_path
from mlflow_artifacts_sql import settings
from mlflow_artifacts_sql.database import make_engine
from mlflow_artifacts_sql.repository import SqlArtifactRepository
from sqlalchemy.engine import make_url

from mlflow_plugins_shared.settings import settings_table
from mlflow_plugins_shared.testing.readme import code_blocks, only_block
from mlflow_testenv import start_service

PACKAGE = Path(__file__).resolve().parents[1]
README = (PACKAGE / "README.md").read_text()
BLOCKS = code_blocks(README)
EXAMPLE_HOST = "db.example"


def test_readme_lists_every_setting():
    assert settings_table(settings.ALL) in README


def _block(first_line: str) -> str:
    return only_block(BLOCKS, first_line)


INSTALL = 'pip install "mlflow-artifacts-sql[postgres]"'
TOP = "import mlflow\n\nmlflow.create_experiment(\"x\""
SERVER = "# the tracking server proxies artifacts into PostgreSQL"
DIRECT = "# or clients write directly"
SQL_SERVER = 'import mlflow\n\nmlflow.create_experiment("sqlserver"'
DEVELOPMENT = ".venv/bin/python -m pytest -n 2 packages/mlflow-artifacts-sql"


def test_every_code_block_is_run_here():
    covered = [INSTALL, TOP, SERVER, DIRECT, SQL_SERVER, DEVELOPMENT]  # DEVELOPMENT: this very test run
    for _, text in BLOCKS:
        assert any(text.startswith(c) for c in covered), f"README block not run by a test:\n{text}"
    for first_line in covered:
        _block(first_line)


def _server_parts(url: str) -> tuple[str, str]:
    """(host:port, password) of a test server URL whose user and database are both `mlflow`."""
    u = make_url(url)
    assert (u.username, u.database) == ("mlflow", "mlflow")  # what the README's URIs name
    return f"{u.host}:{u.port}", u.password


def _swapped(block: str, host: str) -> str:
    assert EXAMPLE_HOST in block, f"the README no longer says {EXAMPLE_HOST!r}; update this test"
    return block.replace(EXAMPLE_HOST, host)


def _run(block: str) -> dict:
    namespace: dict = {"__name__": "__readme__"}
    exec(compile(block, "README.md", "exec"), namespace)  # noqa: S102 - the README's own code
    return namespace


def _stored(db_url: str, path: str) -> bool:
    engine = sa.create_engine(db_url)
    try:
        with engine.connect() as c:
            rows = c.exec_driver_sql("SELECT path FROM mlflow_artifact_files WHERE path IS NOT NULL")
            return path in {r[0] if isinstance(r[0], str) else bytes(r[0]).decode() for r in rows}
    finally:
        engine.dispose()


def test_install_extras_hold_the_drivers_they_name():
    """pip is not run here (no registry downloads in tests): each extra exists and its drivers import."""
    requires = importlib.metadata.requires("mlflow-artifacts-sql") or []
    extras: dict[str, list[str]] = {}
    for requirement in requires:
        marker = re.search(r"extra == ['\"](\w+)['\"]", requirement)
        if marker:
            extras.setdefault(marker.group(1), []).append(requirement)
    modules = {"psycopg": "psycopg", "psycopg2-binary": "psycopg2", "pymysql": "pymysql", "pyodbc": "pyodbc",
               "pymssql": "pymssql"}
    named = re.findall(r'^pip install "mlflow-artifacts-sql\[(\w+)\]"\s+# (.*)$', _block(INSTALL), flags=re.M)
    assert [e for e, _ in named] == ["postgres", "psycopg", "mysql", "mssql"]
    for extra, comment in named:
        for requirement in extras[extra]:
            dist = re.match(r"[\w-]+", requirement).group(0)
            __import__(modules[dist])
            assert dist.split("-")[0].lower() in comment.lower(), (extra, dist, comment)


def test_top_example(tracking, postgres_url, monkeypatch):
    host, password = _server_parts(postgres_url)
    monkeypatch.setenv("MLFLOW_ARTIFACTS_SQL_PASSWORD", password)
    _run(_swapped(_block(TOP), host))
    exp = mlflow.get_experiment_by_name("x")
    assert exp.artifact_location == f"postgresql://mlflow@{host}/mlflow"
    with mlflow.start_run(experiment_id=exp.experiment_id) as run:
        mlflow.log_text("top", "top.txt")
    assert _stored(postgres_url, f"{run.info.run_id}/artifacts/top.txt")


def test_direct_write_example(tracking, mariadb_url, monkeypatch):
    host, password = _server_parts(mariadb_url)
    monkeypatch.setenv("MLFLOW_ARTIFACTS_SQL_PASSWORD", password)
    namespace = _run(_swapped(_block(DIRECT), host))
    exp_id = namespace["exp"]
    (run,) = mlflow.search_runs(experiment_ids=[exp_id], output_format="list")
    assert mlflow.artifacts.load_text(f"runs:/{run.info.run_id}/hello.txt") == "hello"
    assert _stored(mariadb_url, f"artifacts/{run.info.run_id}/artifacts/hello.txt")


def test_sql_server_example_at_the_dialect_level(tracking):
    _run(_block(SQL_SERVER))
    exp = mlflow.get_experiment_by_name("sqlserver")
    run_location = append_to_uri_path(exp.artifact_location, "run-id", "artifacts")  # how MLflow makes a run's
    repo = get_artifact_repository(run_location)  # what log_artifact would use, without connecting
    assert type(repo) is SqlArtifactRepository
    engine = make_engine(repo._location.url)
    try:
        assert (engine.dialect.name, engine.dialect.driver) == ("mssql", "pyodbc")
        args, _ = engine.dialect.create_connect_args(repo._location.url)
        assert "DRIVER={ODBC Driver 18 for SQL Server}" in args[0] and "Server=sql.example" in args[0]
        assert "Database=mlflow" in args[0]
    finally:
        engine.dispose()
    assert repo._location.root == "run-id/artifacts"


def test_proxied_server_example(postgres_url, monkeypatch):
    block = _block(SERVER)
    host, password = _server_parts(postgres_url)
    lines = [line for line in block.splitlines() if line and not line.startswith("#")]
    assert lines[0] == "export MLFLOW_ARTIFACTS_SQL_PASSWORD=..."
    monkeypatch.setenv("MLFLOW_ARTIFACTS_SQL_PASSWORD", password)  # the server inherits this environment
    command = _swapped(lines[1], host).split()
    assert command[:2] == ["mlflow", "server"]
    srv = start_service("mlflow", command[2:], parent_pid=os.getpid(), record=False)
    previous = mlflow.get_tracking_uri()
    try:
        mlflow.set_tracking_uri(srv.exports["MLFLOW_TESTENV_MLFLOW_URL"])
        exp_id = mlflow.create_experiment(f"readme-{uuid.uuid4().hex[:8]}")
        with mlflow.start_run(experiment_id=exp_id) as run:
            mlflow.log_text("proxied", "p.txt")
        assert mlflow.artifacts.load_text(f"runs:/{run.info.run_id}/p.txt") == "proxied"
    finally:
        mlflow.set_tracking_uri(previous)
        srv.stop()
    assert _stored(postgres_url, f"artifacts/{exp_id}/{run.info.run_id}/artifacts/p.txt")
    assert password not in " ".join(command)  # the README's URI carries no password


@pytest.mark.parametrize("line", [r for r in README.splitlines() if r.startswith("| `") and "://" in r])
def test_uri_table_rows_are_resolved_by_the_registry_test(line):
    """The URI table lists exactly what works: each of its URIs is in test_mlflow_registry.DOCUMENTED."""
    documented = (Path(__file__).parent / "test_mlflow_registry.py").read_text()
    uri = re.match(r"\| `([^`]+)`", line).group(1)
    assert f'("{uri}",' in documented, f"README URI {uri!r} is not resolved by test_mlflow_registry.py"
