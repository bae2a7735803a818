"""Benchmark: per-request overhead of the providers with a cached token, and token-endpoint calls.

Starts its own oauth2 service (tools/testenv, authlib). Rows (DEVELOPING.md format):
- overhead: `provider.get_auth()` + applying the auth object to a prepared request, as MLflow does per
  REST call (µs per request, best of 7 rounds); anchor: a static `Authorization: Bearer` header
  (what MLFLOW_TRACKING_TOKEN costs). Target < 50 µs.
- token-endpoint calls for 10,000 requests from 8 threads, counted by the server (target 1 per
  expiry window): in-process calls, real HTTP requests (1,000 quick / 10,000 full) and a 4 s token
  lifetime over 12 s.

    python packages/mlflow-auth-oauth2/bench/run.py [--full] --out bench.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import mlflow
import requests
from mlflow_auth_oauth2.provider import (
    COMMAND_SOURCES,
    FILE_SOURCES,
    OAUTH2_SOURCES,
    BearerCommandAuthProvider,
    BearerFileAuthProvider,
    Oauth2AuthProvider,
)

from mlflow_testenv import start_service

PACKAGE = "mlflow-auth-oauth2"


class StaticBearer(requests.auth.AuthBase):
    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        r.headers["Authorization"] = "Bearer static-token"
        return r


def per_call_us(get_auth: Callable[[], Callable], n: int, rounds: int = 7) -> float:
    req = requests.Request("POST", "http://127.0.0.1:5000/api/2.0/mlflow/runs/log-metric",
                           json={"run_id": "r", "key": "m", "value": 1.0}).prepare()
    results = []
    for _ in range(rounds):
        t = time.perf_counter()
        for _ in range(n):
            req.hooks = {"response": []}
            get_auth()(req)
        results.append((time.perf_counter() - t) / n * 1e6)
    return min(results)  # best round: the machine is shared, the slower rounds measure the neighbours


def token_requests(env: dict[str, str], client_id: str) -> int:
    stats = requests.get(f"{env['MLFLOW_TESTENV_OAUTH2_ADMIN_URL']}/stats", timeout=10,
                         headers={"Authorization": f"Bearer {env['MLFLOW_TESTENV_OAUTH2_ADMIN_TOKEN']}"}).json()
    return stats["by_client"].get(client_id, 0)


def new_client(env: dict[str, str], **body: object) -> tuple[str, str]:
    r = requests.post(f"{env['MLFLOW_TESTENV_OAUTH2_ADMIN_URL']}/clients", json=body, timeout=10,
                      headers={"Authorization": f"Bearer {env['MLFLOW_TESTENV_OAUTH2_ADMIN_TOKEN']}"})
    r.raise_for_status()
    return r.json()["client_id"], r.json()["client_secret"]


def use(env: dict[str, str], client: tuple[str, str]) -> None:
    os.environ.update(MLFLOW_OAUTH2_TOKEN_URL=env["MLFLOW_TESTENV_OAUTH2_TOKEN_URL"],
                      MLFLOW_OAUTH2_CLIENT_ID=client[0], MLFLOW_OAUTH2_CLIENT_SECRET=client[1])
    OAUTH2_SOURCES.clear()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--full", action="store_true")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    n_calls = 100_000 if a.full else 20_000
    n_http = 10_000 if a.full else 1_000
    engine = f"python {platform.python_version()}, mlflow {mlflow.__version__}, requests {requests.__version__}"
    srv = start_service("oauth2", parent_pid=os.getpid(), record=False)
    env = srv.exports
    rows: list[dict] = []
    base = {"package": PACKAGE, "engine": engine}
    try:
        anchor = per_call_us(lambda: StaticBearer(), n_calls)
        oauth = Oauth2AuthProvider()
        use(env, new_client(env))
        ours = per_call_us(oauth.get_auth, n_calls)
        work = Path(tempfile.mkdtemp(prefix="bench-oauth2-"))
        (work / "token").write_text("file-token")
        os.environ["MLFLOW_BEARER_TOKEN_FILE"] = str(work / "token")
        FILE_SOURCES.clear()
        file_us = per_call_us(BearerFileAuthProvider().get_auth, n_calls)
        os.environ["MLFLOW_BEARER_TOKEN_COMMAND"] = f"{shlex.quote(sys.executable)} -c \"print('cmd-token')\""
        COMMAND_SOURCES.clear()
        cmd_us = per_call_us(BearerCommandAuthProvider().get_auth, n_calls)
        over = {**base, "benchmark": "overhead per request, cached token", "anchor": "static Bearer header",
                "unit": "µs", "anchor_value": round(anchor, 2), "target": "< 50 µs"}
        for subject, value, note in (("oauth2", ours, "get_auth() + auth(request); env read + lock-free cache hit"),
                                     ("bearer-file", file_us, "includes one os.stat of the token file"),
                                     ("bearer-command", cmd_us, "cached output of the command")):
            rows.append({**over, "subject": subject, "value": round(value, 2), "ratio": round(value / anchor, 2),
                         "notes": f"best of 7 rounds x {n_calls} calls; {note}"})

        # 10,000 requests from 8 threads, in process
        client = new_client(env)
        use(env, client)
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda _: oauth.get_auth()(requests.Request("GET", "http://x/").prepare()), range(10_000)))
        calls = {**base, "benchmark": "token-endpoint calls", "anchor": "expiry windows in the run", "unit": "calls",
                 "target": "1 per expiry window"}
        rows.append({**calls, "subject": "10,000 requests, 8 threads, in process (lifetime 3600 s)",
                     "value": token_requests(env, client[0]), "anchor_value": 1,
                     "ratio": token_requests(env, client[0]), "notes": "counted by the token endpoint"})

        client = new_client(env)
        use(env, client)
        sessions: dict[int, requests.Session] = {}

        def http_get(_: int) -> int:
            import threading

            s = sessions.setdefault(threading.get_ident(), requests.Session())
            return s.get(f"{env['MLFLOW_TESTENV_OAUTH2_URL']}/health", auth=oauth.get_auth(), timeout=30).status_code

        t = time.perf_counter()
        with ThreadPoolExecutor(8) as pool:
            codes = list(pool.map(http_get, range(n_http)))
        elapsed = time.perf_counter() - t
        assert set(codes) == {200}
        got = token_requests(env, client[0])
        rows.append({**calls, "subject": f"{n_http:,} real HTTP requests, 8 threads (lifetime 3600 s)", "value": got,
                     "anchor_value": 1, "ratio": got, "notes": f"{n_http / elapsed:.0f} requests/s to the server"})

        client = new_client(env, token_lifetime=4)
        use(env, client)
        t = time.perf_counter()
        done = 0
        while time.perf_counter() - t < 12.0:
            oauth.get_auth()(requests.Request("GET", "http://x/").prepare())
            done += 1
        elapsed = time.perf_counter() - t
        got = token_requests(env, client[0])
        windows = elapsed / 4
        rows.append({**calls, "subject": f"{done:,} requests over {elapsed:.1f} s, token lifetime 4 s", "value": got,
                     "anchor_value": round(windows, 2), "ratio": round(got / windows, 2),
                     "notes": "anchor: nominal 4 s windows. The JWT's exp is whole seconds after a truncated iat, "
                              "so a token really lives 3-4 s and is renewed at 80% of that: ~1.4 calls per "
                              "nominal window, never an expired token sent"})
    finally:
        srv.stop()
    Path(a.out).write_text(json.dumps(rows, indent=1, ensure_ascii=False))
    for r in rows:
        print(f"{r['benchmark']:<40} {r['subject']:<55} {r['value']} {r['unit']} (anchor {r['anchor_value']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
