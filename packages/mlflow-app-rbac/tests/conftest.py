"""Fixtures: a real JWKS endpoint (keys generated here) and a real `mlflow server --app-name rbac`.

One rbac server (uvicorn) is shared by the whole session (all xdist workers); tests keep out of
each other's way by using their own users, experiments and models.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from filelock import FileLock

from mlflow_testenv import session_service

ISSUER = "https://idp.rbac.test"
AUDIENCE = "mlflow-rbac-test"
HERE = Path(__file__).parent


def shared_root(tmp_path_factory: Any) -> Path:
    root = tmp_path_factory.getbasetemp()
    return root.parent if os.environ.get("PYTEST_XDIST_WORKER") else root


def watcher_pid() -> int:
    return os.getppid() if os.environ.get("PYTEST_XDIST_WORKER") else os.getpid()


def new_rsa_key(kid: str) -> tuple[str, dict[str, Any]]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    public.update({"kid": kid, "use": "sig", "alg": "RS256"})
    return pem, public


@dataclass
class Idp:
    """Signs tokens with keys whose public halves a real JWKS endpoint serves."""

    dir: Path
    url: str
    issuer: str = ISSUER
    audience: str = AUDIENCE

    def _keys(self) -> dict[str, str]:
        return json.loads((self.dir / "private.json").read_text())

    def token(self, sub: str, groups: list[str] | None = None, *, kid: str = "k1", lifetime: int = 300,
              **claims: Any) -> str:
        now = int(time.time())
        payload = {"iss": ISSUER, "aud": AUDIENCE, "sub": sub, "iat": now, "exp": now + lifetime,
                   "jti": uuid.uuid4().hex, "groups": groups or []}
        payload.update(claims)
        payload = {k: v for k, v in payload.items() if v is not None}
        return jwt.encode(payload, self._keys()[kid], algorithm="RS256", headers={"kid": kid})

    def add_key(self, kid: str) -> None:
        """Rotate: publish one more key (the old ones stay)."""
        with FileLock(str(self.dir / "keys.lock")):
            pem, public = new_rsa_key(kid)
            private = self._keys()
            private[kid] = pem
            (self.dir / "private.json").write_text(json.dumps(private))
            jwks = json.loads((self.dir / "jwks.json").read_text())
            jwks["keys"].append(public)
            (self.dir / "jwks.json").write_text(json.dumps(jwks))

    def sign_with_unpublished_key(self, sub: str, kid: str = "k1") -> str:
        pem, _ = new_rsa_key(kid)
        now = int(time.time())
        return jwt.encode({"iss": ISSUER, "aud": AUDIENCE, "sub": sub, "iat": now, "exp": now + 300},
                          pem, algorithm="RS256", headers={"kid": kid})

    def hits(self) -> int:
        return int(requests.get(f"{self.url.rsplit('/', 1)[0]}/hits", timeout=5).text)


def start_idp(root: Path) -> Idp:
    d = root / "idp"
    d.mkdir(exist_ok=True)
    with FileLock(str(d / "start.lock")):
        if not (d / "jwks.json").exists():
            pem, public = new_rsa_key("k1")
            (d / "private.json").write_text(json.dumps({"k1": pem}))
            (d / "jwks.json").write_text(json.dumps({"keys": [public]}))
        port_file = d / "port"
        if not port_file.exists():
            subprocess.Popen([sys.executable, str(HERE / "jwks_server.py"), str(d), str(port_file),
                              "--parent-pid", str(watcher_pid())], start_new_session=True,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            deadline = time.monotonic() + 30
            while not port_file.exists():
                if time.monotonic() > deadline:
                    raise RuntimeError("the test JWKS server did not start")
                time.sleep(0.05)
        return Idp(d, f"http://127.0.0.1:{port_file.read_text()}/jwks.json")


def rbac_env(idp: Idp, root: Path, admin_key: str, **extra: str) -> dict[str, str]:
    env = {
        "MLFLOW_RBAC_JWKS_URL": idp.url,
        "MLFLOW_RBAC_JWT_ISSUER": ISSUER,
        "MLFLOW_RBAC_JWT_AUDIENCE": AUDIENCE,
        "MLFLOW_RBAC_JWT_ALGORITHMS": "RS256,ES256",
        "MLFLOW_RBAC_JWT_LEEWAY_SECONDS": "5",
        "MLFLOW_RBAC_JWKS_MIN_REFRESH_SECONDS": "0",
        "MLFLOW_RBAC_ADMIN_GROUPS": "mlflow-admins",
        "MLFLOW_RBAC_BOOTSTRAP_ADMIN_KEY": admin_key,
        "MLFLOW_RBAC_DATABASE_URI": f"sqlite:///{root / 'rbac.db'}",
        "MLFLOW_RBAC_CACHE_SECONDS": "0",
    }
    env.update(extra)
    return env


@pytest.fixture(scope="session")
def idp(tmp_path_factory: Any) -> Idp:
    return start_idp(shared_root(tmp_path_factory))


class Server:
    def __init__(self, url: str, admin_key: str, idp: Idp) -> None:
        self.url = url.rstrip("/")
        self.admin_key = admin_key
        self.idp = idp

    def call(self, method: str, path: str, token: str | None = None, **kw: Any) -> requests.Response:
        headers = dict(kw.pop("headers", {}) or {})
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        if "json" in kw:
            headers.setdefault("Content-Type", "application/json")
        return requests.request(method, self.url + path, headers=headers, timeout=60, **kw)

    def admin(self, method: str, path: str, **kw: Any) -> requests.Response:
        resp = self.call(method, path, self.admin_key, **kw)
        assert resp.status_code == 200, resp.text
        return resp

    def grant(self, resource_type: str, resource_id: str, principal: str, permission: str,
              principal_type: str = "user") -> None:
        self.admin("POST", "/api/2.0/rbac/grants", json={
            "resource_type": resource_type, "resource_id": resource_id, "principal": principal,
            "principal_type": principal_type, "permission": permission})

    def api_key(self, principal: str, *, groups: list[str] | None = None, is_admin: bool = False) -> tuple[str, str]:
        data = self.admin("POST", "/api/2.0/rbac/api-keys", json={
            "principal": principal, "groups": groups or [], "is_admin": is_admin}).json()
        return data["api_key"]["key_id"], data["key"]

    def experiment(self, token: str | None = None, name: str | None = None) -> str:
        resp = self.call("POST", "/api/2.0/mlflow/experiments/create", token or self.admin_key,
                         json={"name": name or f"exp-{uuid.uuid4().hex}"})
        assert resp.status_code == 200, resp.text
        return resp.json()["experiment_id"]

    def run(self, experiment_id: str, token: str | None = None) -> str:
        resp = self.call("POST", "/api/2.0/mlflow/runs/create", token or self.admin_key,
                         json={"experiment_id": experiment_id})
        assert resp.status_code == 200, resp.text
        return resp.json()["run"]["info"]["run_id"]


def start_rbac(tmp_path_factory: Any, idp: Idp, key: str, args: list[str], **extra_env: str) -> Server:
    root = shared_root(tmp_path_factory) / key
    root.mkdir(exist_ok=True)
    with FileLock(str(root / "admin.lock")):
        key_file = root / "admin.key"
        if not key_file.exists():
            key_file.write_text(secrets.token_urlsafe(32))
    admin_key = key_file.read_text()
    os.environ.update(rbac_env(idp, root, admin_key, **extra_env))
    exports = session_service("mlflow", tmp_path_factory, ["--app-name", "rbac", *args], key=key)
    return Server(exports["MLFLOW_TESTENV_MLFLOW_URL"], admin_key, idp)


@pytest.fixture(scope="session")
def server(tmp_path_factory: Any, idp: Idp) -> Server:
    return start_rbac(tmp_path_factory, idp, "rbac-uvicorn", [])


@pytest.fixture
def user() -> str:
    return f"user-{uuid.uuid4().hex[:12]}"


def raw_request(base: str, method: str, path: str, token: str | None = None,
                headers: dict[str, str] | None = None, body: Any = None) -> tuple[int, bytes]:
    """Send `path` byte-exact (requests/urllib3 would normalise some of the bypass attempts)."""
    import http.client
    from urllib.parse import urlsplit

    u = urlsplit(base)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
    h = dict(headers or {})
    if token:
        h["Authorization"] = f"Bearer {token}"
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        h.setdefault("Content-Type", "application/json")
    conn.request(method, path, body=data, headers=h)
    resp = conn.getresponse()
    out = resp.read()
    conn.close()
    return resp.status, out


def shared_server(tmp_path_factory: Any, idp: Idp, key: str, args: list[str],
                  health_paths: tuple[str, ...] = ("/health",), extra_env: dict[str, str] | None = None) -> dict[str, str]:
    """An rbac server shared by all xdist workers, stopped when the session ends.

    Like `session_service`, but it also hands out the log path and health-checks under a
    static prefix (testenv checks `/health`, which `--static-prefix` moves).
    """
    from mlflow_testenv.core import free_port

    root = shared_root(tmp_path_factory) / key
    root.mkdir(exist_ok=True)
    marker = root / "server.json"
    with FileLock(str(root / "start.lock")):
        if marker.exists():
            return json.loads(marker.read_text())
        admin_key = secrets.token_urlsafe(32)
        port = free_port()
        log = root / "server.log"
        env = {**os.environ, **rbac_env(idp, root, admin_key, **(extra_env or {})),
               "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
        cmd = [sys.executable, "-m", "mlflow_testenv.supervise", "--parent-pid", str(watcher_pid()), "--",
               sys.executable, "-m", "mlflow", "server", "--app-name", "rbac", "--host", "127.0.0.1",
               "--port", str(port), "--backend-store-uri", f"sqlite:///{root / 'mlflow.db'}",
               "--artifacts-destination", str(root / "artifacts"), *args]
        with open(log, "ab") as out:
            proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=root,
                                    start_new_session=True)
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 240
        while True:
            try:
                if any(requests.get(base + p, timeout=2).status_code == 200 for p in health_paths):
                    break
            except requests.RequestException:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                try:
                    os.killpg(proc.pid, 9)  # the supervisor leads its own group
                except ProcessLookupError:
                    pass
                raise RuntimeError(f"rbac server {key} did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.3)
        info = {"base": base, "log": str(log), "admin_key": admin_key}
        marker.write_text(json.dumps(info))
        return info


PREFIX = "/mlf"
# one server per mode per session; searches page through MLflow (scan) under static-prefix and
# waitress (MLFLOW_RBAC_SEARCH_IN_LIMIT=0) and put the readable ids in the filter elsewhere
MODES: dict[str, tuple[list[str], dict[str, str]]] = {
    "gunicorn": (["--gunicorn-opts", "--timeout 120", "--workers", "1"], {}),
    "static-prefix": (["--workers", "1", "--static-prefix", PREFIX], {"MLFLOW_RBAC_SEARCH_IN_LIMIT": "0"}),
    "waitress": (["--waitress-opts", "--threads=4", "--static-prefix", PREFIX], {"MLFLOW_RBAC_SEARCH_IN_LIMIT": "0"}),
}


class Mode:
    def __init__(self, name: str, server: Server, log: Path, base: str, prefix: str) -> None:
        self.name, self.server, self.log, self.base, self.prefix = name, server, log, base, prefix


def mode_server(tmp_path_factory: Any, idp: Idp, name: str) -> Mode:
    args, extra_env = MODES[name]
    prefix = PREFIX if "--static-prefix" in args else ""
    # /health moved under the prefix in later MLflow
    health = (f"{PREFIX}/health", "/health") if prefix else ("/health",)
    try:
        info = shared_server(tmp_path_factory, idp, f"rbac-{name}", args, health, extra_env)
    except RuntimeError as e:
        if name == "waitress" and "cannot specify --waitress-opts" in str(e):
            import mlflow

            pytest.skip(f"MLflow {mlflow.__version__} refuses --waitress-opts on this platform "
                        "(it runs waitress on Windows only)")
        raise
    url = info["base"]
    if prefix:
        # MLflow before 3.x-something prefixed only the UI; the API stayed at the root
        probe = raw_request(info["base"], "GET", f"{PREFIX}/api/2.0/mlflow/experiments/search?max_results=1",
                            info["admin_key"])[0]
        url += PREFIX if probe != 404 else ""
    return Mode(name, Server(url, info["admin_key"], idp), Path(info["log"]), info["base"], prefix)


@pytest.fixture(scope="session")
def kit() -> Any:
    """conftest helpers for test modules (import-mode=importlib cannot import conftest)."""
    from types import SimpleNamespace

    return SimpleNamespace(Server=Server, rbac_env=rbac_env, shared_root=shared_root, start_rbac=start_rbac,
                           raw=raw_request, shared_server=shared_server, mode_server=mode_server, PREFIX=PREFIX)
