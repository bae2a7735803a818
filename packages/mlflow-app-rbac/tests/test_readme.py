"""The README is what runs: its settings table is the one the code declares, and every code block in it
is run here as written against a real `mlflow server --app-name rbac` started by the README's own
commands (only the example IdP, database, server URL, ids and secrets are swapped for the test
IdP's, a temporary directory's and the objects made here; each server gets a free local port and one
worker, like every test server on this shared 2-core machine)."""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from mlflow_app_rbac import config
from mlflow_app_rbac.app import RbacApp
from mlflow_app_rbac.mlflow_compat import has_skills

from mlflow_plugins_shared.settings import settings_table
from mlflow_plugins_shared.testing import entry_points
from mlflow_plugins_shared.testing.readme import code_blocks, only_block, stop_session, swap
from mlflow_testenv.waiting import wait_until_answers

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()
BLOCKS = code_blocks(README)
BIN = str(Path(sys.executable).parent)


def test_every_code_block_is_run_here():
    assert sorted((kind, text.splitlines()[0]) for kind, text in BLOCKS) == sorted([
        ("bash", "pip install mlflow-app-rbac"),
        ("toml", "# /etc/mlflow/rbac.toml"),
        ("bash", "export MLFLOW_RBAC_CONFIG_FILE=/etc/mlflow/rbac.toml"),
        ("bash", "export MLFLOW_TRACKING_URI=https://mlflow.example.com   # or --url on each call"),
    ])


def test_settings_table_is_current():
    assert settings_table(config.ALL_SETTINGS) in README


def test_install_block():
    """Mirrored (the package is not on an index here): the distribution it names is installed, MLflow's
    registry loads its `rbac` app, and the `mlflow-rbac` command is installed."""
    dist = only_block(BLOCKS, "pip install", "bash").split()[-1]
    assert importlib.metadata.distribution(dist).metadata["Name"] == dist
    assert isinstance(entry_points.server_app("rbac"), RbacApp)
    scripts = {e.name: e.value for e in importlib.metadata.distribution(dist).entry_points
               if e.group == "console_scripts"}
    assert scripts == {"mlflow-rbac": "mlflow_app_rbac.cli:main"}
    assert (Path(BIN) / "mlflow-rbac").exists()


# --- the Configure and Use blocks: the README's own server ----------------------------------------
@dataclass
class ReadmeServer:
    url: str
    bootstrap_key: str  # what the block's `openssl rand -base64 32` made
    log: Path


def _env(**extra: str) -> dict[str, str]:
    """This process's environment without the session servers' MLFLOW_RBAC_* and tracking settings."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("MLFLOW_RBAC_", "MLFLOW_TRACKING_", "MLFLOW_TESTENV_"))}
    env["PATH"] = os.pathsep.join([BIN, env.get("PATH", "")])
    return {**env, **extra}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


SERVER_LINES = {  # how each `mlflow server` line of the Use block starts its comment or options
    "uvicorn": "mlflow server --app-name rbac                        # uvicorn",
    "gunicorn": "mlflow server --app-name rbac --gunicorn-opts",
    "waitress": "mlflow server --app-name rbac --waitress-opts",
}


@contextmanager
def readme_server(which: str, idp: Any, tmp_path: Path) -> Iterator[ReadmeServer]:
    toml = swap(only_block(BLOCKS, "# /etc/mlflow/rbac.toml", "toml"), {
        "https://login.example.com/.well-known/jwks.json": idp.url,
        'jwt_issuer = "https://login.example.com/"': f'jwt_issuer = "{idp.issuer}"',
        'jwt_audience = ["mlflow"]': f'jwt_audience = ["{idp.audience}"]',
        "postgresql://rbac@db/mlflow_rbac": f"sqlite:///{tmp_path / 'rbac.db'}",
    })
    (tmp_path / "rbac.toml").write_text(toml)
    use = swap(only_block(BLOCKS, "export MLFLOW_RBAC_CONFIG_FILE=", "bash"),
               {"/etc/mlflow/rbac.toml": str(tmp_path / "rbac.toml")})
    lines = use.splitlines()
    exports = [line for line in lines if line.startswith("export ")]
    servers = [line for line in lines if line.startswith("mlflow server ")]
    assert len(exports) + len(servers) == len(lines) and len(servers) == len(SERVER_LINES)
    (line,) = [s for s in servers if s.startswith(SERVER_LINES[which])]
    port = _free_port()
    line = swap(line, {"mlflow server ": f"mlflow server --host 127.0.0.1 --port {port} --workers 1 "})
    # the one line added: keep the generated bootstrap key where the test can use it
    script = "\n".join([*exports, 'printf %s "$MLFLOW_RBAC_BOOTSTRAP_ADMIN_KEY" > bootstrap.key', line]) + "\n"
    log_path = tmp_path / "server.log"
    log = log_path.open("w")
    proc = subprocess.Popen(["bash", "-euc", script], cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT,
                            env=_env(MLFLOW_SERVER_ENABLE_JOB_EXECUTION="false"), start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_answers(f"{url}/health", proc, timeout=600, what="the README's mlflow server", log=log_path)
        yield ReadmeServer(url, (tmp_path / "bootstrap.key").read_text(), log_path)
    finally:
        stop_session(proc)  # the session this test started: bash, mlflow server, its workers
        log.close()


def _get(url: str, path: str, token: str, **params: str) -> requests.Response:
    return requests.get(url + path, params=params, headers={"Authorization": f"Bearer {token}"}, timeout=60)


@pytest.mark.parametrize("which", list(SERVER_LINES))
def test_configure_and_use_blocks(which, idp, tmp_path):
    """Each `mlflow server` line of the Use block, with its exports and the Configure block's file: the
    file's IdP, issuer, audience and `admin_groups` are in force, and so is the generated bootstrap key."""
    with readme_server(which, idp, tmp_path) as srv:
        admin = _get(srv.url, "/api/2.0/rbac/whoami", idp.token("ops", ["mlflow-admins"])).json()
        assert admin["is_admin"] and admin["admin_because"] == ["group(s) mlflow-admins in MLFLOW_RBAC_ADMIN_GROUPS"]
        assert len(srv.bootstrap_key) == 44  # 32 random bytes, base64
        boot = _get(srv.url, "/api/2.0/rbac/whoami", srv.bootstrap_key).json()
        assert (boot["principal"], boot["kind"]) == ("bootstrap-admin", "bootstrap")
        # default_permission = "NONE": a signed-in user without grants reads nothing
        me = _get(srv.url, "/api/2.0/rbac/whoami", idp.token("alice")).json()
        assert (me["is_admin"], me["default_permission"], me["grants"]) == (False, "NONE", [])
        assert _get(srv.url, "/api/2.0/mlflow/experiments/get", idp.token("alice"), experiment_id="0").status_code == 403
        assert _get(srv.url, "/api/2.0/mlflow/experiments/get", srv.bootstrap_key, experiment_id="0").status_code == 200
        # the database is the file's, not the default ./mlflow-rbac.db
        assert (tmp_path / "rbac.db").exists() and not (tmp_path / "mlflow-rbac.db").exists()


# --- the CLI block ------------------------------------------------------------------------------
def _sh(script: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", "-euc", script], cwd=cwd, env=_env(), capture_output=True, text=True, timeout=120)


def _post(url: str, path: str, token: str, body: dict[str, Any]) -> Any:
    resp = requests.post(url + path, json=body, headers={"Authorization": f"Bearer {token}"}, timeout=60)
    assert resp.status_code == 200, resp.text
    return resp.json()


@pytest.mark.skipif(not has_skills(), reason="the CLI block grants on a skill: this MLflow has no Skills registry (3.18+)")
def test_cli_block(idp, tmp_path):
    """Every line of the CLI block, in order, against the README's server, then what they did."""
    with readme_server("uvicorn", idp, tmp_path) as srv:
        token = idp.token("ops", ["mlflow-admins"], lifetime=1800)
        exp_42 = _post(srv.url, "/api/2.0/mlflow/experiments/create", token, {"name": "forecasting"})["experiment_id"]
        churn_training = _post(srv.url, "/api/2.0/mlflow/experiments/create", token,
                               {"name": "churn-training"})["experiment_id"]
        _post(srv.url, "/api/2.0/mlflow/registered-models/create", token, {"name": "churn"})
        _post(srv.url, "/api/3.0/mlflow/skills", token, {"name": "reviewer", "organization": "acme"})

        block = swap(only_block(BLOCKS, "export MLFLOW_TRACKING_URI=", "bash"), {
            "https://mlflow.example.com": srv.url,
            "MLFLOW_TRACKING_TOKEN=...": f"MLFLOW_TRACKING_TOKEN={token}",
            "grant experiment 42 ": f"grant experiment {exp_42} ",
        })
        lines = block.splitlines()
        exports = "\n".join(line for line in lines if line.startswith("export "))
        outputs: dict[str, str] = {}
        key_id = None
        for line in (line for line in lines if not line.startswith("export ")):
            if key_id is not None:
                line = swap(line, {"3f2a9c0d1e2b4a5c": key_id}) if "revoke-key" in line else line
            done = _sh(f"{exports}\n{line}\n", tmp_path)
            assert done.returncode == 0, (line, done.stderr)
            assert "Traceback" not in done.stderr and token not in done.stdout + done.stderr
            command = line.split("#")[0].split()[1]
            outputs[line] = done.stdout
            if command == "create-key":
                created = json.loads(done.stdout)
                assert created["key"].startswith("mlrbac_")
                key_id = created["api_key"]["key_id"]
        assert key_id is not None

        by_command = {line.split()[1]: out for line, out in outputs.items()}
        assert json.loads(by_command["whoami"])["principal"] == "ops"
        assert json.loads(by_command["audit"])["events"] is not None
        listed = {(g["resource_type"], g["resource_id"], g["permission"])
                  for g in json.loads(by_command["list"])["grants"]}
        assert listed == {("experiment", churn_training, "READ"), ("registered_model", "churn", "READ")}  # then

        grants = {(g["principal"], g["resource_type"], g["resource_id"], g["permission"])
                  for g in _get(srv.url, "/api/2.0/rbac/grants", token).json()["grants"] if g["principal"] != "ops"}
        assert grants == {
            ("data-science", "experiment", exp_42, "EDIT"),
            ("alice", "experiment", churn_training, "READ"),  # the name, resolved to its id
            ("data-science", "registered_model", "churn-v2", "READ"),  # pre-provisioned
            ("alice", "skill", "@acme/reviewer", "EDIT"),
            ("acme-devs", "skill_organization", "acme", "READ"),
        }  # alice's grant on the model `churn` was revoked
        keys = _get(srv.url, "/api/2.0/rbac/api-keys", token, include_revoked="true").json()["api_keys"]
        (ci_bot,) = [k for k in keys if k["principal"] == "ci-bot"]
        assert ci_bot["key_id"] == key_id and ci_bot["groups"] == ["data-science"] and ci_bot["revoked_at"]

        # the example of a refused grant, word for word
        example = re.search(r"`mlflow-rbac (grant experiment alice-exp [^`]*)` when no experiment is named\s+"
                            r"`alice-exp` prints `([^`]*)` and grants nothing", README)
        assert example, "the README no longer shows the refused alice-exp grant; update this test"
        done = _sh(f"{exports}\nmlflow-rbac {example.group(1)}\n", tmp_path)
        assert done.returncode == 1 and done.stdout == ""
        assert done.stderr.strip() == " ".join(example.group(2).split())
        assert not any(g["resource_id"] == "alice-exp" for g in _get(srv.url, "/api/2.0/rbac/grants", token).json()["grants"])
