"""`python -m mlflow_testenv.oauth2_server --workdir DIR --port N [--token-lifetime S] ...`"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from werkzeug.serving import run_simple

from mlflow_testenv.oauth2_server.app import create_app
from mlflow_testenv.oauth2_server.clients import ClientStore


def main() -> None:
    p = argparse.ArgumentParser(prog="mlflow_testenv.oauth2_server")
    p.add_argument("--workdir", required=True, type=Path)
    p.add_argument("--port", required=True, type=int)
    p.add_argument("--issuer", required=True)
    p.add_argument("--audience", default="mlflow")
    p.add_argument("--token-lifetime", type=int, default=3600)
    p.add_argument("--admin-token", required=True)
    p.add_argument("--client-id", required=True)
    p.add_argument("--client-secret", required=True)
    p.add_argument("--client-groups", default="mlflow-users")
    a = p.parse_args()
    seed = ClientStore(a.workdir / "clients.json")
    if seed.get(a.client_id) is None:
        seed.register(a.client_id, a.client_secret, groups=[g for g in a.client_groups.split(",") if g])
    app = create_app(a.workdir, issuer=a.issuer, audience=a.audience, lifetime=a.token_lifetime,
                     admin_token=a.admin_token)
    print(json.dumps({"listening": a.port}), flush=True)
    run_simple("127.0.0.1", a.port, app, threaded=True)


if __name__ == "__main__":
    main()
