"""`make demo`: the plugins working together on a real MLflow server, with an example run.

Starts the embedded defaults (a real Elasticsearch node as tracking and registry
store, SQLite-backed artifacts through mlflow-artifacts-sql, an OAuth2 token endpoint,
`mlflow server --app-name rbac` with a bootstrap admin key, and a login proxy so a browser can
reach the token-protected UI), logs an example run as user `demo` through the client plugins
(oauth2 auth, header and context providers), evaluates it with the fairness evaluator, prints
the UI URL and the login, and keeps everything running until Ctrl-C (DEMO_EXIT=1: exit at once).
DEMO_PORT picks the UI port (default 5000); a taken port is a clear error.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEMO_USER = "demo"


def step(msg: str) -> None:
    print(f"[demo] {msg}", flush=True)


def _stop_like_ctrl_c(*_: object) -> None:
    raise KeyboardInterrupt


def _register_user(oauth2: dict[str, str], name: str) -> str:
    """An OAuth2 client for `name` at the token endpoint; returns its secret."""
    import requests

    r = requests.post(f"{oauth2['MLFLOW_TESTENV_OAUTH2_ADMIN_URL']}/clients",
                      headers={"Authorization": f"Bearer {oauth2['MLFLOW_TESTENV_OAUTH2_ADMIN_TOKEN']}"},
                      json={"client_id": name, "groups": ["mlflow-users"]}, timeout=10)
    r.raise_for_status()
    return str(r.json()["client_secret"])


def main() -> int:
    from mlflow_testenv import TestenvError, start_service
    from mlflow_testenv.core import port_is_free
    from mlflow_testenv.oauth2_server.login_proxy import LoginProxy

    port = int(os.environ.get("DEMO_PORT", "5000"))
    taken = f"[demo] error: port {port} on 127.0.0.1 is taken; free it or run DEMO_PORT=5001 make demo"
    if not port_is_free(port):
        print(taken, file=sys.stderr)
        return 1
    try:
        proxy = LoginProxy(port)  # bound now, so none of the servers started below can take the port
    except OSError:
        print(taken, file=sys.stderr)
        return 1
    started = []
    signal.signal(signal.SIGTERM, _stop_like_ctrl_c)
    signal.signal(signal.SIGINT, _stop_like_ctrl_c)  # also when started from a shell that ignores SIGINT in background jobs
    try:
        step("starting Elasticsearch (tracking + registry store; the real distribution from Maven Central)")
        es = start_service("es", parent_pid=os.getpid())
        started.append(es)
        es_url = es.exports["MLFLOW_TESTENV_ES_URL"].replace("http://", "elasticsearch://")
        data = Path(es.workdir)
        step("starting the OAuth2 token endpoint (client credentials, RS256 JWTs)")
        oauth2_srv = start_service("oauth2", parent_pid=os.getpid())
        started.append(oauth2_srv)
        oauth2 = oauth2_srv.exports
        password = _register_user(oauth2, DEMO_USER)
        admin_key = secrets.token_urlsafe(32)
        os.environ.update({  # read by the rbac app inside the mlflow server started next
            "MLFLOW_RBAC_DATABASE_URI": f"sqlite:///{data}/rbac.db",
            "MLFLOW_RBAC_JWKS_URL": oauth2["MLFLOW_TESTENV_OAUTH2_JWKS_URL"],
            "MLFLOW_RBAC_JWT_ISSUER": oauth2["MLFLOW_TESTENV_OAUTH2_ISSUER"],
            "MLFLOW_RBAC_JWT_AUDIENCE": oauth2["MLFLOW_TESTENV_OAUTH2_AUDIENCE"],
            "MLFLOW_RBAC_BOOTSTRAP_ADMIN_KEY": admin_key,
        })
        artifacts = f"sqlite:///{data}/artifacts.db"
        server_args = ["--backend-store-uri", es_url, "--registry-store-uri", es_url,
                       "--artifacts-destination", artifacts, "--app-name", "rbac"]
        step(f"starting mlflow server --app-name rbac (store {es_url}, artifacts {artifacts})")
        srv = start_service("mlflow", server_args, parent_pid=os.getpid())
        started.append(srv)
        server = srv.exports["MLFLOW_TESTENV_MLFLOW_URL"]
        step(f"starting the login proxy for the browser on 127.0.0.1:{port}")
        proxy.start(server, oauth2["MLFLOW_TESTENV_OAUTH2_TOKEN_URL"])
        step(f"logging an example run as user {DEMO_USER!r} (oauth2 auth, header and context providers)")
        run_id = log_example_as_user(server, oauth2, password)
        step(f"example run {run_id} logged")
        print(f"\nMLflow UI: {proxy.url}\n  login: user {DEMO_USER}  password {password}\n"
              f"  admin API key (Authorization: Bearer ...): {admin_key}\n", flush=True)
        if os.environ.get("DEMO_EXIT") == "1":
            return 0
        step("running; press Ctrl-C to stop everything")
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        step("stopping")
        return 0
    except (TestenvError, RuntimeError) as e:
        print(f"[demo] error: {e}", file=sys.stderr)
        return 1
    finally:
        proxy.stop()
        for r in reversed(started):
            r.stop()
        if started:
            step("stopped")


def log_example_as_user(server: str, oauth2: dict[str, str], password: str) -> str:
    """Runs log_example in a client process configured like a user's machine."""
    env = {
        # nothing MLflow-related is inherited: a parent that called mlflow.set_registry_uri() (MLflow 3
        # exports it as MLFLOW_REGISTRY_URI) would otherwise send the registration to another server
        **{k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")},
        "MLFLOW_TRACKING_URI": server,
        "MLFLOW_TRACKING_AUTH": "oauth2",
        "MLFLOW_OAUTH2_TOKEN_URL": oauth2["MLFLOW_TESTENV_OAUTH2_TOKEN_URL"],
        "MLFLOW_OAUTH2_CLIENT_ID": DEMO_USER,
        "MLFLOW_OAUTH2_CLIENT_SECRET": password,
        "MLFLOW_HEADERS": '{"X-Team": "demo"}',
        "MLFLOW_CONTEXT_TAGS": "team=demo",
    }
    r = subprocess.run([sys.executable, __file__, "--log-example"], env=env, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"logging the example failed:\n{r.stderr[-3000:]}")
    for line in r.stdout.splitlines():
        if line.startswith("[demo] "):
            print(line, flush=True)
    return r.stdout.strip().splitlines()[-1]


def log_example() -> str:
    import mlflow
    import numpy as np
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split

    mlflow.set_experiment("demo")
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    with mlflow.start_run(run_name="logistic-regression") as run:
        model = LogisticRegression(max_iter=5000).fit(X_train, y_train)
        mlflow.log_params({"max_iter": 5000, "model": "LogisticRegression"})
        for step_ in range(10):
            mlflow.log_metric("loss", float(np.exp(-step_ / 3)), step=step_)
        mlflow.log_metric("accuracy", float(model.score(X_test, y_test)))
        mlflow.log_text("An example run logged by make demo.", "README.txt")
        info = mlflow.sklearn.log_model(model, name="model", input_example=X_test.iloc[:3])
        mlflow.register_model(info.model_uri, "demo-classifier")
        step("evaluating group fairness (fairness evaluator, size band of the tumour as the group)")
        data = X_test.assign(label=y_test.values, prediction=model.predict(X_test),
                             size_band=np.where(X_test["mean radius"] > X_test["mean radius"].median(), "large", "small"))
        result = mlflow.models.evaluate(data=data, targets="label", predictions="prediction", model_type="classifier",
                                        evaluators=["fairness"],
                                        evaluator_config={"fairness": {"sensitive_features": ["size_band"], "pos_label": 1}})
        step(f"demographic parity difference: {result.metrics['demographic_parity_difference']:.3f}")
    return run.info.run_id


if __name__ == "__main__":
    if sys.argv[1:] == ["--log-example"]:
        print(log_example(), flush=True)
        sys.exit(0)
    sys.exit(main())
