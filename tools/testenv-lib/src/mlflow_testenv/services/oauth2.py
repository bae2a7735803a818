"""OAuth2 authorization server (authlib; client-credentials grant, RS256 JWT access tokens).

Options: `--token-lifetime SECONDS` (default 3600), `--audience AUD` (default `mlflow`),
`--client-groups a,b` (groups claim of the default client). Admin API (Bearer
MLFLOW_TESTENV_OAUTH2_ADMIN_TOKEN): POST /admin/clients {client_id?, client_secret?, groups?,
scope?, token_lifetime?, audience?} -> {client_id, client_secret}; DELETE /admin/clients/<id>
revokes; GET /admin/stats -> {"total": n, "by_client": {id: n}} counts POST /token calls;
POST /admin/faults {client_id, status, count, body?} makes that client's next `count` token
requests fail that way (per client, so parallel tests do not disturb each other).
"""

from __future__ import annotations

import json
import secrets
import sys
from pathlib import Path

from mlflow_testenv._install import pip_install
from mlflow_testenv.core import Launch, Service, TestenvError
from mlflow_testenv.services._http import http_ok


class OAuth2Service(Service):
    name = "oauth2"
    description = "OAuth2 token endpoint (authlib, client credentials, RS256 JWTs, JWKS, admin API)"

    def install(self) -> None:
        pip_install("authlib>=1.3", module="authlib", why="the oauth2 service")

    def prepare(self, workdir: Path) -> None:
        # Random per data dir, kept across restarts of it.
        path = workdir / "testenv-secrets.json"
        path.write_text(json.dumps({"admin": secrets.token_urlsafe(24), "client_secret": secrets.token_urlsafe(24)}))
        path.chmod(0o600)

    def launch(self, workdir: Path, port: int, args: list[str]) -> Launch:
        url = f"http://127.0.0.1:{port}"
        opts = {"--token-lifetime": "3600", "--audience": "mlflow", "--client-groups": "mlflow-users"}
        rest = list(args)
        while rest:
            flag = rest.pop(0)
            name, eq, value = flag.partition("=")
            if name not in opts:
                raise TestenvError(f"oauth2 service: unknown option {name!r}; known: {', '.join(opts)}")
            if not eq and not rest:
                raise TestenvError(f"oauth2 service: option {name} needs a value")
            opts[name] = value if eq else rest.pop(0)
        secrets_ = {"client_id": "mlflow-client", **json.loads((workdir / "testenv-secrets.json").read_text())}
        cmd = [
            sys.executable, "-m", "mlflow_testenv.oauth2_server", "--workdir", str(workdir),
            # --name=value: a random secret may start with "-", which argparse would take for an option
            "--port", str(port), "--issuer", url, f"--admin-token={secrets_['admin']}",
            f"--client-id={secrets_['client_id']}", f"--client-secret={secrets_['client_secret']}",
            *[f"{k}={v}" for k, v in opts.items()],
        ]
        exports = {
            "MLFLOW_TESTENV_OAUTH2_URL": url,
            "MLFLOW_TESTENV_OAUTH2_TOKEN_URL": f"{url}/token",
            "MLFLOW_TESTENV_OAUTH2_JWKS_URL": f"{url}/jwks",
            "MLFLOW_TESTENV_OAUTH2_INTROSPECTION_URL": f"{url}/introspect",
            "MLFLOW_TESTENV_OAUTH2_ISSUER": url,
            "MLFLOW_TESTENV_OAUTH2_AUDIENCE": opts["--audience"],
            "MLFLOW_TESTENV_OAUTH2_TOKEN_LIFETIME": opts["--token-lifetime"],
            "MLFLOW_TESTENV_OAUTH2_CLIENT_ID": secrets_["client_id"],
            "MLFLOW_TESTENV_OAUTH2_CLIENT_SECRET": secrets_["client_secret"],
            "MLFLOW_TESTENV_OAUTH2_ADMIN_URL": f"{url}/admin",
            "MLFLOW_TESTENV_OAUTH2_ADMIN_TOKEN": secrets_["admin"],
        }
        return Launch(cmd=cmd, exports=exports, env={"PYTHONUNBUFFERED": "1"},
                      health=lambda: http_ok(f"{url}/health"), timeout=60)


SERVICE = OAuth2Service()
