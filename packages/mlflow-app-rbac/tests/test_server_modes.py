"""The same guarantees under gunicorn (WSGI) and with --static-prefix (uvicorn), on private servers."""

from __future__ import annotations

import http.client
import json
import os
import secrets
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from mlflow_testenv import start_service
from mlflow_testenv.core import free_port

PREFIX = "/mlf"


class Mode:
    def __init__(self, server, log: Path, base: str, stop) -> None:
        self.server, self.log, self.base, self.stop = server, log, base, stop


def _start_gunicorn(kit, idp, tmp: Path) -> Mode:
    admin_key = secrets.token_urlsafe(32)
    saved = dict(os.environ)
    os.environ.update(kit.rbac_env(idp, tmp, admin_key))
    try:
        r = start_service("mlflow", ["--app-name", "rbac", "--gunicorn-opts", "--timeout 120", "--workers", "1"],
                          parent_pid=os.getpid(), record=False)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    url = r.exports["MLFLOW_TESTENV_MLFLOW_URL"]
    return Mode(kit.Server(url, admin_key, idp), Path(r.workdir) / "server.log", url, r.stop)


def _start_static_prefix(kit, idp, tmp: Path) -> Mode:
    """Own launcher: testenv health-checks /health, which moves under the prefix."""
    admin_key = secrets.token_urlsafe(32)
    port = free_port()
    env = {**os.environ, **kit.rbac_env(idp, tmp, admin_key), "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    log = tmp / "server.log"
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "mlflow", "server", "--app-name", "rbac", "--host", "127.0.0.1", "--port", str(port),
             "--workers", "1", "--static-prefix", PREFIX, "--backend-store-uri", f"sqlite:///{tmp / 'mlflow.db'}",
             "--artifacts-destination", str(tmp / "artifacts")],
            stdout=out, stderr=subprocess.STDOUT, env=env, cwd=tmp, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while True:
        try:
            if requests.get(f"{base}{PREFIX}/health", timeout=2).status_code == 200:
                break
        except requests.RequestException:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"static-prefix server did not start:\n{log.read_text()[-3000:]}")
        time.sleep(0.3)

    def stop() -> None:
        os.killpg(proc.pid, 15)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
    return Mode(kit.Server(base + PREFIX, admin_key, idp), log, base, stop)


@pytest.fixture(scope="module", params=["gunicorn", "static-prefix"])
def mode(request, kit, idp, tmp_path_factory):
    tmp = tmp_path_factory.mktemp(request.param)
    m = (_start_gunicorn if request.param == "gunicorn" else _start_static_prefix)(kit, idp, tmp)
    m.name = request.param
    yield m
    m.stop()


def _raw(base: str, method: str, path: str, token: str | None = None, body=None):
    u = urlsplit(base)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if body is not None:
        headers["Content-Type"] = "application/json"
        body = json.dumps(body)
    conn.request(method, path, body=body, headers=headers)
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    return resp.status, data


def test_401_403_200(mode, idp):
    s = mode.server
    exp_id = s.experiment()
    user = f"user-{uuid.uuid4().hex[:8]}"
    path = f"/api/2.0/mlflow/experiments/get?experiment_id={exp_id}"
    unauth = s.call("GET", path)
    assert unauth.status_code == 401 and "WWW-Authenticate" in unauth.headers
    assert s.call("GET", path, idp.token(user)).status_code == 403
    s.grant("experiment", exp_id, user, "READ")
    ok = s.call("GET", path, idp.token(user))
    assert ok.status_code == 200 and ok.json()["experiment"]["experiment_id"] == exp_id
    # search filtering works in this mode too
    hidden = s.experiment()
    runs = s.call("POST", "/api/2.0/mlflow/runs/search", idp.token(user), json={"experiment_ids": [hidden]})
    assert runs.status_code == 200 and runs.json().get("runs", []) == []


def test_path_bypasses_are_refused(mode, idp):
    s = mode.server
    exp_id = s.experiment()
    token = idp.token(f"user-{uuid.uuid4().hex[:8]}")
    prefix = PREFIX if mode.name == "static-prefix" else ""
    for path, expected in [
        (f"{prefix}//api/2.0/mlflow/experiments/get?experiment_id={exp_id}", 400),
        (f"{prefix}/api/2.0/mlflow%2Fexperiments/get?experiment_id={exp_id}", 400),
        (f"{prefix}/static-files/../api/2.0/mlflow/experiments/get?experiment_id={exp_id}", 400),
        (f"{prefix}/ajax-api/2.0/mlflow/experiments/get?experiment_id={exp_id}", 403),
        (f"{prefix}/api/2.0/mlflow/experiments/get/?experiment_id={exp_id}", 403),
        # with and without the static prefix the gate checks the same route
        (f"/api/2.0/mlflow/experiments/get?experiment_id={exp_id}", 403),
        (f"{PREFIX}/api/2.0/mlflow/experiments/get?experiment_id={exp_id}", 403),
    ]:
        status, body = _raw(mode.base, "GET", path, token)
        assert status == expected, (path, status, body[:200])


def test_artifact_proxy_of_other_experiments(mode, idp):
    s = mode.server
    user = f"user-{uuid.uuid4().hex[:8]}"
    token = idp.token(user)
    own, hidden = s.experiment(token), s.experiment()
    prefix = PREFIX if mode.name == "static-prefix" else ""
    for base_path in {f"{prefix}/api/2.0/mlflow-artifacts/artifacts", "/api/2.0/mlflow-artifacts/artifacts"}:
        assert _raw(mode.base, "PUT", f"{base_path}/{hidden}/a.txt", token, body="x")[0] == 403
        assert _raw(mode.base, "GET", f"{base_path}/{hidden}/a.txt", token)[0] == 403
    assert _raw(mode.base, "PUT", f"{prefix}/api/2.0/mlflow-artifacts/artifacts/{own}/a.txt", token, body="x")[0] == 200


def test_secrets_never_logged_and_audit_lines_are_json(mode, idp):
    s = mode.server
    user = f"user-{uuid.uuid4().hex[:8]}"
    token = idp.token(user)
    expired = idp.token(user, lifetime=-60)
    key_id, key = s.api_key(user)
    s.call("GET", "/api/2.0/mlflow/experiments/search", token)
    s.call("POST", "/api/2.0/mlflow/experiments/create", key, json={"name": f"x-{uuid.uuid4().hex}"})
    s.call("GET", "/api/2.0/mlflow/experiments/search", expired)
    s.call("GET", "/api/2.0/mlflow/experiments/search", key[:-3] + "zzz")
    s.admin("DELETE", f"/api/2.0/rbac/api-keys/{key_id}")
    s.call("GET", "/api/2.0/mlflow/experiments/search", key)
    time.sleep(1)
    log = mode.log.read_text(errors="replace")
    for secret in (token, expired, key, key.rsplit("_", 1)[1], s.admin_key):
        assert secret not in log
    audit = [json.loads(line) for line in log.splitlines() if line.startswith('{"') and "mlflow_rbac_audit" in line]
    assert any(e["principal"] == user and e["path"].endswith("/experiments/create") and e["outcome"] == "allowed"
               for e in audit)
    assert any(e["status"] == 401 and e["outcome"] == "denied" for e in audit)
