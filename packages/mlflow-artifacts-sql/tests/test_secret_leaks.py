"""A password planted in an experiment's SQL artifact_location (and wrong, so every operation fails)
appears in no exception message or rendered traceback, no log line (this plugin's or MLflow's) and
nothing printed, whichever documented scheme carries it and whichever MLflow entry the user takes.
The proxied server's side (HTTP responses, the server's log) is in test_proxied_server.py."""

from __future__ import annotations

import logging
import socket
import traceback
import uuid

import mlflow
import pytest
from mlflow.exceptions import MlflowException
from mlflow.utils.uri import append_to_uri_path
from sqlalchemy.engine import make_url

PLANTED = "Pl4nted-ClientSide-9e2b"
SERVED = ["postgresql", "postgresql+psycopg", "postgresql+psycopg2", "mysql+pymysql", "mariadb+pymysql"]
SQL_SERVER = ["mssql+pymssql", "mssql+pyodbc"]  # no server here: refused connection / no ODBC driver


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def location(request, postgres_url, mariadb_url) -> str:
    """`<form>://user:PLANTED@127.0.0.1:port/db/root`: real servers refuse the password; SQL Server
    forms point at a port nobody listens on."""
    form = request.param
    if form in SQL_SERVER:
        query = "?driver=ODBC+Driver+18+for+SQL+Server" if form == "mssql+pyodbc" else ""
        return f"{form}://sa:{PLANTED}@127.0.0.1:{_free_port()}/mlflow/leak{query}"
    base = postgres_url if form.startswith("postgresql") else mariadb_url
    url = make_url(base)._replace(password=PLANTED).set(drivername=form)
    uri = f"{url.render_as_string(hide_password=False)}/leak-{uuid.uuid4().hex[:8]}"
    assert PLANTED in uri
    return uri


@pytest.fixture
def all_logs(caplog) -> logging.LogRecord:
    """Every log record at DEBUG, MLflow's too (its `mlflow` logger does not propagate to the root)."""
    caplog.set_level(logging.DEBUG)
    mlflow_logger = logging.getLogger("mlflow")
    mlflow_logger.addHandler(caplog.handler)
    old = mlflow_logger.level
    mlflow_logger.setLevel(logging.DEBUG)
    try:
        yield caplog
    finally:
        mlflow_logger.removeHandler(caplog.handler)
        mlflow_logger.setLevel(old)


@pytest.mark.parametrize("location", SERVED + SQL_SERVER, indirect=True)
def test_planted_password_is_never_shown(tracking, location, all_logs, capfd, monkeypatch, tmp_path):
    monkeypatch.setenv("MLFLOW_ARTIFACTS_SQL_RETRY_ATTEMPTS", "1")
    monkeypatch.setenv("MLFLOW_ARTIFACTS_SQL_CONNECT_TIMEOUT", "2")
    exp_id = mlflow.create_experiment(f"leak-{uuid.uuid4().hex[:8]}", artifact_location=location)
    note = tmp_path / "note.txt"
    note.write_text("x")
    failures: list[BaseException] = []
    with mlflow.start_run(experiment_id=exp_id) as run:
        run_id, artifact_uri = run.info.run_id, run.info.artifact_uri
        for call in (
            lambda: mlflow.log_text("hello", "hello.txt"),
            lambda: mlflow.log_artifact(str(note), "notes"),
            lambda: tracking.list_artifacts(run_id),
            lambda: mlflow.artifacts.download_artifacts(artifact_uri=append_to_uri_path(artifact_uri, "notes/note.txt"),
                                                        dst_path=str(tmp_path / "dl")),
        ):
            with pytest.raises(MlflowException) as e:
                call()
            failures.append(e.value)
        # Through runs:/, MLflow's RunsArtifactRepository logs our error at DEBUG (traceback included)
        # and raises its own "please ensure that the path is correct" instead: both are scanned below.
        with pytest.raises(MlflowException) as e:
            mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path="notes/note.txt",
                                               dst_path=str(tmp_path / "dl2"))
    assert e.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    assert "artifact database" in all_logs.text.lower()  # our error, in MLflow's DEBUG traceback
    for exc in [*failures, e.value]:
        rendered = "".join(traceback.format_exception(exc))
        assert PLANTED not in rendered and PLANTED not in repr(exc)
    for exc in failures:
        assert exc.error_code in ("INTERNAL_ERROR", "TEMPORARILY_UNAVAILABLE"), exc.message
        assert "artifact database" in exc.message.lower() and "127.0.0.1" in exc.message  # ours, naming the host
    assert all_logs.records  # the scan below read real log lines
    assert PLANTED not in all_logs.text
    out, err = capfd.readouterr()
    assert PLANTED not in out and PLANTED not in err
