"""tools/testenv itself: up/status/down through the CLI, restart on the same data, clean errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from mlflow_testenv import TestenvError, start_service
from mlflow_testenv.core import _alive

ROOT = Path(__file__).resolve().parents[2]
TESTENV = str(ROOT / "tools" / "testenv")


@pytest.fixture
def isolated_state(tmp_path, monkeypatch):
    env = {**os.environ, "MLFLOW_TESTENV_HOME": str(tmp_path / "state"), "TESTENV_PYTHON": sys.executable}
    return env


def _run(env, *args, check=True):
    r = subprocess.run([TESTENV, *args], env=env, capture_output=True, text=True, timeout=300)
    if check and r.returncode != 0:
        raise AssertionError(f"testenv {args} failed: {r.stderr}")
    return r


def _exports(stdout: str) -> dict[str, str]:
    out = {}
    for line in stdout.splitlines():
        if line.startswith("export "):
            k, _, v = line[len("export "):].partition("=")
            out[k] = v.strip("'")
    return out


def test_up_status_down_leaves_nothing_running(isolated_state):
    r = _run(isolated_state, "up", "es", "postgres", "s3")
    env = _exports(r.stdout)
    nodes = requests.get(env["MLFLOW_TESTENV_ES_URL"] + "/_nodes/_local", timeout=5).json()["nodes"]
    assert [n["version"] for n in nodes.values()] == [env["MLFLOW_TESTENV_ES_VERSION"]]
    assert requests.get(env["MLFLOW_TESTENV_S3_URL"] + "/moto-api/", timeout=5).status_code == 200
    import sqlalchemy

    engine = sqlalchemy.create_engine(env["MLFLOW_TESTENV_POSTGRES_URL"].replace("postgresql://", "postgresql+psycopg2://"))
    with engine.connect() as c:
        assert c.execute(sqlalchemy.text("select 1")).scalar() == 1
    engine.dispose()

    status = _run(isolated_state, "status").stdout
    for name in ("es", "postgres", "s3"):
        assert name in status
    pids = [int(line.split()[2]) for line in status.splitlines() if " pid " in line]
    assert len(pids) == 3

    _run(isolated_state, "down")
    assert "nothing running" in _run(isolated_state, "status").stdout
    assert not any(_alive(p) for p in pids)
    port = env["MLFLOW_TESTENV_POSTGRES_PORT"]
    leftovers = subprocess.run(["pgrep", "-f", f"-p {port}"], capture_output=True, text=True).stdout.strip()
    assert leftovers == "", f"postgres still running: {leftovers}"
    with pytest.raises(requests.ConnectionError):
        requests.get(env["MLFLOW_TESTENV_ES_URL"] + "/_cluster/health", timeout=2)
    java = subprocess.run(["pgrep", "-f", f"http.port={env['MLFLOW_TESTENV_ES_URL'].rsplit(':', 1)[1]}"],
                          capture_output=True, text=True).stdout.strip()
    assert java == "", f"the Elasticsearch JVM outlived `down`: {java}"


def test_unknown_service_is_a_clear_error(isolated_state):
    r = _run(isolated_state, "up", "nosuchdb", check=False)
    assert r.returncode == 1
    assert "unknown service 'nosuchdb'" in r.stderr and "Traceback" not in r.stderr


def test_restart_keeps_data_on_same_port():
    srv = start_service("es", parent_pid=os.getpid(), record=False)
    try:
        url = srv.exports["MLFLOW_TESTENV_ES_URL"]
        assert requests.put(f"{url}/keep/_doc/1?refresh=true", json={"v": 1}, timeout=5).status_code in (200, 201)
        srv = srv.restart()
        assert srv.exports["MLFLOW_TESTENV_ES_URL"] == url
        assert requests.get(f"{url}/keep/_doc/1", timeout=5).json()["_source"] == {"v": 1}
    finally:
        srv.stop()
    assert not _alive(srv.pid)


def test_taken_port_is_reported():
    srv = start_service("s3", parent_pid=os.getpid(), record=False)
    try:
        with pytest.raises(TestenvError, match="already in use"):
            start_service("s3", port=srv.port, record=False)
    finally:
        srv.stop()


def test_opensearch_is_the_real_distribution_and_runs_unprivileged():
    """OpenSearch from Maven Central (3.x on Java 21+), run as an unprivileged user: it refuses root."""
    srv = start_service("opensearch", parent_pid=os.getpid(), record=False)
    try:
        url = srv.exports["MLFLOW_TESTENV_OPENSEARCH_URL"]
        root = requests.get(url, timeout=5).json()
        assert root["version"]["distribution"] == "opensearch"
        assert root["version"]["number"] == srv.exports["MLFLOW_TESTENV_OPENSEARCH_VERSION"]
        modules = {m["name"] for n in requests.get(f"{url}/_nodes/_local/plugins", timeout=5).json()["nodes"].values()
                   for m in n["modules"]}
        assert {"lang-painless", "reindex", "analysis-common"} <= modules
        pid = int(Path(srv.exports["MLFLOW_TESTENV_OPENSEARCH_PIDFILE"]).read_text())
        assert os.stat(f"/proc/{pid}").st_uid != 0
    finally:
        srv.stop()
    assert not _alive(srv.pid)
    assert not Path(f"/proc/{pid}").exists(), "the OpenSearch JVM outlived stop()"


def test_postgres_restarts_with_pooled_clients_connected():
    """A fast shutdown: a client holding a connection must not block stop/restart."""
    import sqlalchemy

    srv = start_service("postgres", parent_pid=os.getpid())
    try:
        url = srv.exports["MLFLOW_TESTENV_POSTGRES_URL"].replace("postgresql://", "postgresql+psycopg2://")
        engine = sqlalchemy.create_engine(url)
        with engine.begin() as c:
            c.execute(sqlalchemy.text("create table kept (v int)"))
            c.execute(sqlalchemy.text("insert into kept values (7)"))
        idle = engine.connect()  # stays open across the restart
        srv = srv.restart()
        fresh = sqlalchemy.create_engine(url)
        with fresh.connect() as c:
            assert c.execute(sqlalchemy.text("select v from kept")).scalar() == 7
        fresh.dispose()
        idle.invalidate()
        engine.dispose()
    finally:
        srv.stop()


def test_down_stops_only_this_checkouts_servers(isolated_state):
    """Two checkouts share the per-user state file: `down` in one leaves the other's servers running."""
    mine = {**isolated_state, "MLFLOW_TESTENV_OWNER": "/checkouts/a"}
    theirs = {**isolated_state, "MLFLOW_TESTENV_OWNER": "/checkouts/b"}
    _run(mine, "up", "oauth2")
    _run(theirs, "up", "oauth2")

    def pids(env, *flags):
        return [int(line.split()[2]) for line in _run(env, "status", *flags).stdout.splitlines() if " pid " in line]

    my_pid, their_pid = pids(mine), pids(theirs)
    assert len(my_pid) == 1 and len(their_pid) == 1 and my_pid != their_pid
    assert sorted(pids(mine, "--all")) == sorted(my_pid + their_pid)

    r = _run(mine, "down")
    assert f"pid {my_pid[0]}" in r.stderr
    assert not _alive(my_pid[0]) and _alive(their_pid[0])
    assert "nothing running" in _run(mine, "status").stdout
    assert "1 server(s) of other checkouts" in _run(mine, "down").stderr

    _run(mine, "down", "--all")
    assert not _alive(their_pid[0])
    assert "nothing running" in _run(theirs, "status", "--all").stdout
