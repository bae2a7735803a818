"""A real `mlflow server --serve-artifacts --artifacts-destination postgresql://...` whose own database
password is wrong: clients get a 5xx naming the database host, never a 401/403 (which they would read as
"my MLflow credentials are wrong"; an OAuth2 client would refresh its token and retry), and the planted
password appears in no HTTP response and no line of the server's log."""

from __future__ import annotations

import os
import traceback
import uuid
from collections.abc import Iterator
from pathlib import Path

import mlflow
import pytest
import requests
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from sqlalchemy.engine import make_url

from mlflow_testenv import start_service

PLANTED = "Pl4nted-ServerSide-c41d"
STORAGE_FAULTS = {"INTERNAL_ERROR": 500, "TEMPORARILY_UNAVAILABLE": 503}
API = "/api/2.0/mlflow-artifacts/artifacts"


@pytest.fixture(scope="module")
def bad_server(postgres_url) -> Iterator[dict[str, str]]:
    """The real PostgreSQL of the session, reached with a wrong password by the server."""
    wrong = make_url(postgres_url)._replace(password=PLANTED).render_as_string(hide_password=False)
    assert PLANTED in wrong
    srv = start_service("mlflow", ["--serve-artifacts", "--artifacts-destination", f"{wrong}/proxied-bad"],
                        parent_pid=os.getpid(), record=False)
    try:
        yield srv.exports
    finally:
        srv.stop()


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("PUT", f"{API}/x/hello.txt", b"hello"),  # upload
        ("GET", f"{API}?path=x", None),  # list
        ("GET", f"{API}/x/hello.txt", None),  # download
        ("DELETE", f"{API}/x/hello.txt", None),
    ],
    ids=["upload", "list", "download", "delete"],
)
def test_wrong_database_password_is_a_5xx_naming_the_host(bad_server, method, path, body):
    r = requests.request(method, bad_server["MLFLOW_TESTENV_MLFLOW_URL"] + path, data=body, timeout=60)
    assert r.status_code not in (401, 403)
    error = r.json()
    assert STORAGE_FAULTS.get(error["error_code"]) == r.status_code, (r.status_code, r.text)
    assert "Cannot log in to the artifact database" in error["message"]
    assert "127.0.0.1" in error["message"]  # the operator learns which database refused
    assert PLANTED not in r.text and PLANTED not in str(r.headers)


def test_mlflow_client_sees_a_server_fault_not_an_authentication_failure(bad_server, monkeypatch, tmp_path):
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")  # MLflow retries 5xx with backoff
    url = bad_server["MLFLOW_TESTENV_MLFLOW_URL"]
    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(url)
    try:
        exp_id = MlflowClient(url).create_experiment(f"bad-{uuid.uuid4().hex[:8]}")
        with mlflow.start_run(experiment_id=exp_id):
            with pytest.raises(Exception) as e:
                mlflow.log_text("hello", "hello.txt")
    finally:
        mlflow.set_tracking_uri(previous)
    text = "".join(traceback.format_exception(e.value))
    # MLflow's client reports a 5xx as "too many 500 error responses" (it keeps no body); a 401 it would
    # report as "failed with error code 401" with the body, UNAUTHENTICATED included.
    assert "500 error" in str(e.value), text
    assert "401" not in str(e.value) and "UNAUTHENTICATED" not in text
    assert PLANTED not in text
    if isinstance(e.value, MlflowException):
        assert e.value.error_code in STORAGE_FAULTS


def test_server_log_never_shows_the_password(bad_server):
    # Make the server fail once more so its log holds at least one storage failure of its own.
    requests.get(bad_server["MLFLOW_TESTENV_MLFLOW_URL"] + f"{API}?path=", timeout=60)
    log = Path(bad_server["MLFLOW_TESTENV_MLFLOW_LOG"]).read_text(errors="replace")
    assert f"{API}?path=" in log and "500" in log  # the log really covers the failing request
    assert PLANTED not in log
