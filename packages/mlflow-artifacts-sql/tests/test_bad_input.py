"""Bad paths are refused before anything is written; database trouble gives clear, secret-free errors."""

from __future__ import annotations

import io
import logging
import os
import time
import uuid
from pathlib import Path

import pytest
from mlflow.exceptions import MlflowException
from mlflow_artifacts_sql.repository import SqlArtifactRepository
from sqlalchemy.engine import make_url

from mlflow_testenv import start_service

TOO_LONG = "d/" * 400 + "f"


def _file(tmp_path: Path, name: str = "f.txt", data: bytes = b"x") -> Path:
    p = tmp_path / name
    p.write_bytes(data)
    return p


@pytest.mark.parametrize("bad", ["../escape", "a/../../b", "/abs/path", "C:/win", "a\x00b", TOO_LONG])
def test_bad_artifact_path_rejected_before_writing(repo, tmp_path, bad):
    with pytest.raises(MlflowException) as e:
        repo.log_artifact(str(_file(tmp_path)), bad)
    assert e.value.error_code == "INVALID_PARAMETER_VALUE"
    assert "\x00" not in e.value.message
    assert repo.list_artifacts() == []


@pytest.mark.parametrize("name", ["", ".", "..", "x\x00y", "   "])
def test_bad_stream_file_names_rejected(repo, name):
    with pytest.raises(MlflowException) as e:
        repo.log_artifact_from_stream(io.BytesIO(b"data"), name, "dir")
    assert e.value.error_code == "INVALID_PARAMETER_VALUE"
    assert repo.list_artifacts() == []


def test_directory_with_one_bad_name_writes_nothing(repo, tmp_path):
    src = tmp_path / "src"
    (src / "ok").mkdir(parents=True)
    (src / "ok" / "fine.txt").write_bytes(b"fine")
    deep = src / "/".join(["x" * 200] * 4)
    deep.mkdir(parents=True)
    (deep / ("y" * 100)).write_bytes(b"too deep")  # > 768 bytes once joined
    with pytest.raises(MlflowException) as e:
        repo.log_artifacts(str(src), "run")
    assert "768" in e.value.message
    assert repo.list_artifacts() == []


def test_file_and_directory_cannot_share_a_path(repo, tmp_path):
    repo.log_artifact(str(_file(tmp_path, "a")), "")
    with pytest.raises(MlflowException, match="'a'.*is a file|is a file"):
        repo.log_artifact(str(_file(tmp_path, "b")), "a")
    repo.log_artifact(str(_file(tmp_path, "c")), "dir")
    with pytest.raises(MlflowException, match="is a directory"):
        repo.log_artifact(str(_file(tmp_path, "dir")), "")
    assert sorted(f.path for f in repo.list_artifacts()) == ["a", "dir"]


def test_missing_local_file_is_a_clear_error(repo, tmp_path):
    with pytest.raises(MlflowException, match="Not a file"):
        repo.log_artifact(str(tmp_path / "nope.txt"))


def _with_password(url: str, password: str | None) -> str:
    return make_url(url)._replace(password=password).render_as_string(hide_password=False)


@pytest.mark.parametrize("backend", ["postgres", "mariadb"])
def test_wrong_password_is_clear_and_never_shown(request, backend, tmp_path, caplog):
    secret = f"Wr0ng-{uuid.uuid4().hex[:8]}"
    url = _with_password(request.getfixturevalue(f"{backend}_url"), secret)
    caplog.set_level(logging.DEBUG)
    repo = SqlArtifactRepository(f"{url}/root")
    with pytest.raises(MlflowException) as e:
        repo.log_artifact(str(_file(tmp_path)))
    # The database refused this process's credentials: a storage fault (500), never a 401 that would
    # send the caller to fix its own MLflow credentials (test_proxied_server.py: through mlflow server).
    assert e.value.error_code == "INTERNAL_ERROR"
    assert "Cannot log in" in e.value.message and "127.0.0.1" in e.value.message
    for text in (e.value.message, repr(repo), str(e.value), caplog.text):
        assert secret not in text


def test_password_from_environment(postgres_url, tmp_path, monkeypatch):
    real = make_url(postgres_url).password
    bare = _with_password(postgres_url, None)
    monkeypatch.setenv("MLFLOW_ARTIFACTS_SQL_PASSWORD", "not-the-password")
    with pytest.raises(MlflowException) as e:
        SqlArtifactRepository(f"{bare}/root").list_artifacts()
    assert e.value.error_code == "INTERNAL_ERROR" and "not-the-password" not in e.value.message
    monkeypatch.setenv("MLFLOW_ARTIFACTS_SQL_PASSWORD", real)
    # A different URL spelling (port) so the process-wide engine cache builds a new engine.
    other = bare.replace("@127.0.0.1", "@localhost")
    repo = SqlArtifactRepository(f"{other}/{uuid.uuid4().hex[:8]}")
    repo.log_artifact(str(_file(tmp_path)))
    assert [f.path for f in repo.list_artifacts()] == ["f.txt"]


def _stop_cleanly(srv, repo: SqlArtifactRepository) -> None:
    repo._db.engine.dispose()  # PostgreSQL's smart shutdown waits for idle pooled connections
    srv.stop(keep_data=True)
    pid_file = Path(srv.workdir) / "data" / "postmaster.pid"
    if not pid_file.exists():
        return
    pid = int(pid_file.read_text().split()[0])
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # the old postmaster must be gone before a restart
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)


def test_database_down_is_clear_then_recovers(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("MLFLOW_ARTIFACTS_SQL_RETRY_ATTEMPTS", "2")
    monkeypatch.setenv("MLFLOW_ARTIFACTS_SQL_CONNECT_TIMEOUT", "2")
    srv = start_service("postgres", parent_pid=os.getpid(), record=False)
    try:
        url = srv.exports["MLFLOW_TESTENV_POSTGRES_URL"]
        password = make_url(url).password
        repo = SqlArtifactRepository(f"{url}/root")
        repo.log_artifact(str(_file(tmp_path, "one.txt", b"1")))
        _stop_cleanly(srv, repo)
        caplog.set_level(logging.DEBUG)
        with pytest.raises(MlflowException) as e:
            repo.log_artifact(str(_file(tmp_path, "two.txt", b"2")))
        assert e.value.error_code == "TEMPORARILY_UNAVAILABLE"
        assert "unreachable" in e.value.message and "127.0.0.1" in e.value.message
        assert password not in e.value.message and password not in caplog.text
        srv = start_service("postgres", workdir=Path(srv.workdir), port=srv.port, parent_pid=os.getpid(),
                            record=False)
        repo.log_artifact(str(_file(tmp_path, "two.txt", b"2")))
        assert [f.path for f in repo.list_artifacts()] == ["one.txt", "two.txt"]

        # Every pooled connection dropped by the server: the next operations reconnect.
        with repo._db.engine.connect() as c:
            c.exec_driver_sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                              "WHERE pid <> pg_backend_pid() AND datname = current_database()")
        out = repo.download_artifacts("two.txt", str(tmp_path / "dl"))
        assert Path(out).read_bytes() == b"2"
    finally:
        srv.stop()
