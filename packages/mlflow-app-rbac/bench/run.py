"""Requests/s for runs/get, runs/search and experiments/search: rbac vs plain `mlflow server` vs basic-auth.

Same machine, same SQLite backend store, one uvicorn worker each, started one after the other.
The caller may read 10% of the experiments (and so of the runs); runs/search asks for all
experiments and gets only the readable ones back (rbac and basic-auth filter the ids; plain is
asked for the readable ids directly, so all three return the same runs). experiments/search asks
for one page of 100 among `--search-experiments` experiments (1,000 quick, 10,000 full) of which the
caller reads 10%: rbac puts the readable ids in MLflow's filter, "rbac-scan" (MLFLOW_RBAC_SEARCH_IN_LIMIT=0)
pages through MLflow server-side, plain is asked with the same `experiment_id IN (...)` filter.

    python packages/mlflow-app-rbac/bench/run.py [--full] --out results.json
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import requests

PACKAGE = "mlflow-app-rbac"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def populate(db: str, experiments: int, runs_per: int) -> list[tuple[str, list[str]]]:
    """Experiments through the store API; runs bulk-inserted (10,000 create_run calls take minutes)."""
    import uuid

    from mlflow.entities import RunStatus
    from mlflow.store.tracking.dbmodels.models import SqlRun
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    root = Path(db.split("///", 1)[1]).parent / "artifacts"
    store = SqlAlchemyStore(db, str(root))
    out = []
    now = int(time.time() * 1000)
    for i in range(experiments):
        exp_id = store.create_experiment(f"bench-{i}")
        run_ids = [uuid.uuid4().hex for _ in range(runs_per)]
        with store.ManagedSessionMaker() as session:
            session.add_all([SqlRun(
                run_uuid=r, name=f"r{j}", source_type="LOCAL", source_name="", entry_point_name="",
                user_id="bench", status=RunStatus.to_string(RunStatus.FINISHED), start_time=now + j,
                end_time=now + j, source_version="", lifecycle_stage="active",
                artifact_uri=f"mlflow-artifacts:/{exp_id}/{r}/artifacts", experiment_id=int(exp_id),
            ) for j, r in enumerate(run_ids)])
        out.append((exp_id, run_ids))
    store.engine.dispose()
    return out


def add_experiments(db: str, count: int) -> list[str]:
    """Experiments without runs, bulk-inserted (for experiments/search)."""
    from mlflow.store.tracking.dbmodels.models import SqlExperiment
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    root = Path(db.split("///", 1)[1]).parent / "artifacts"
    store = SqlAlchemyStore(db, str(root))
    now = int(time.time() * 1000)
    with store.ManagedSessionMaker() as session:  # an experiment without artifact_location breaks MLflow's answer
        rows = [SqlExperiment(name=f"search-{i}", lifecycle_stage="active", creation_time=now, last_update_time=now,
                              artifact_location=str(root / f"search-{i}")) for i in range(count)]
        session.add_all(rows)
        session.flush()
        ids = [str(r.experiment_id) for r in rows]
    store.engine.dispose()
    return ids


class ServerProc:
    def __init__(self, work: Path, db: str, app: str | None, env: dict[str, str], label: str | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        cmd = [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(self.port),
               "--workers", "1", "--backend-store-uri", db, "--artifacts-destination", str(work / "artifacts")]
        if app:
            cmd += ["--app-name", app]
        self.log = open(work / f"server-{label or app or 'plain'}.log", "ab")
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT, cwd=work,
                                     env={**os.environ, **env, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"},
                                     start_new_session=True)
        deadline = time.monotonic() + 240
        while True:
            try:
                if requests.get(f"{self.url}/health", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"{app or 'plain'} server did not start; see {work}")
            time.sleep(0.5)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, 15)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, 9)
        self.log.close()


def gate_overhead(work: Path, db: str, run_id: str, all_ids: list[str]) -> dict[str, float]:
    """Microseconds the rbac decision adds per request, measured in-process (load-independent-ish)."""
    os.environ["_MLFLOW_SERVER_FILE_STORE"] = db
    os.environ["_MLFLOW_SERVER_ARTIFACT_ROOT"] = str(work / "artifacts")
    from mlflow_app_rbac import apikeys
    from mlflow_app_rbac.config import load_config
    from mlflow_app_rbac.gate import Denial, Gate, Request

    cfg = load_config({"MLFLOW_RBAC_BOOTSTRAP_ADMIN_KEY": "x" * 32,
                       "MLFLOW_RBAC_DATABASE_URI": f"sqlite:///{work / 'rbac.db'}"})
    from mlflow_app_rbac.store import RbacStore

    gate = Gate(cfg, RbacStore(cfg.database_uri), "")
    key_id, key = apikeys.new_key()
    gate.store.add_api_key(key_id, "bench", apikeys.hash_key(key), False, [], None, None)
    headers = {"authorization": f"Bearer {key}"}
    get = Request("GET", "/api/2.0/mlflow/runs/get", "/api/2.0/mlflow/runs/get", f"run_id={run_id}", headers)
    search = Request("POST", "/api/2.0/mlflow/runs/search", "/api/2.0/mlflow/runs/search", "", headers)
    body = json.dumps({"experiment_ids": all_ids, "max_results": 100}).encode()
    out = {}
    for name, req, b in (("runs_get", get, None), ("runs_search", search, body)):
        gate.decide(req, b)  # warm caches
        timings = []
        for _ in range(5):
            t = time.perf_counter()
            for _ in range(2000):
                d = gate.decide(req, b)
            timings.append((time.perf_counter() - t) / 2000 * 1e6)
            assert not isinstance(d, Denial), d
        out[name] = statistics.median(timings)
    return out


def measure(url: str, auth: Any, headers: dict[str, str], method: str, path: str, body: Any,
            check: Any, threads: int, seconds: float) -> float:
    session = requests.Session()
    resp = session.request(method, url + path, json=body, headers=headers, auth=auth, timeout=60)
    assert resp.status_code == 200, resp.text[:300]
    check(resp.json())
    count = [0] * threads
    stop = time.monotonic() + seconds

    def worker(i: int) -> None:
        s = requests.Session()
        while time.monotonic() < stop:
            r = s.request(method, url + path, json=body, headers=headers, auth=auth, timeout=60)
            if r.status_code != 200:
                raise RuntimeError(f"{path}: HTTP {r.status_code} {r.text[:200]}")
            count[i] += 1
    started = time.monotonic()
    ts = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return sum(count) / (time.monotonic() - started)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--full", action="store_true")
    ap.add_argument("--out", required=True)
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--seconds", type=float, default=None)
    ap.add_argument("--search-experiments", type=int, default=None)
    args = ap.parse_args()
    experiments, runs_per = (100, 100) if args.full else (20, 50)
    search_total = args.search_experiments or (10_000 if args.full else 1_000)
    seconds = args.seconds or (5.0 if args.full else 3.0)
    rounds = 6 if args.full else 3
    readable_n = max(1, experiments // 10)
    work = Path(tempfile.mkdtemp(prefix="rbac-bench-"))
    db = f"sqlite:///{work / 'mlflow.db'}"
    t0 = time.monotonic()
    data = populate(db, experiments, runs_per)
    extra = add_experiments(db, max(0, search_total - experiments - 1))
    print(f"populated {experiments * runs_per} runs, {len(extra) + experiments + 1} experiments in "
          f"{time.monotonic() - t0:.0f}s", file=sys.stderr)
    all_ids = [e for e, _ in data]
    readable = data[:: experiments // readable_n][:readable_n]
    readable_ids = {e for e, _ in readable}
    search_readable = sorted(readable_ids | set(extra[::10]), key=int)  # 10% of all experiments
    in_filter = f"experiment_id IN ({', '.join(repr(e) for e in search_readable)})"

    def check_experiments(body: dict[str, Any]) -> None:
        got = body.get("experiments", [])
        assert len(got) == 100 and all(e["experiment_id"] in search_readable for e in got), "not a full readable page"

    def check_readable_experiments(body: dict[str, Any]) -> None:  # basic-auth: its pages need not be full
        assert all(e["experiment_id"] in search_readable for e in body.get("experiments", [])), "search leaked"
    run_id = readable[0][1][0]

    def check_search(body: dict[str, Any]) -> None:
        got = body.get("runs", [])
        assert got and all(r["info"]["experiment_id"] in readable_ids for r in got), "search leaked or empty"

    def check_get(body: dict[str, Any]) -> None:
        assert body["run"]["info"]["run_id"] == run_id

    results: dict[tuple[str, str], float] = {}
    admin_key = secrets.token_urlsafe(32)
    subjects = ["plain", "basic-auth", "rbac"]
    search_subjects = [*subjects, "rbac-scan"]
    servers: dict[str, ServerProc] = {}
    clients: dict[str, tuple[Any, dict[str, str], list[str]]] = {}
    try:
        for subject in search_subjects:
            env: dict[str, str] = {}
            auth, headers = None, {}
            if subject == "basic-auth":
                # basic-auth at its fastest: its credential cache on (PBKDF2 otherwise runs per request)
                ini = work / "basic_auth.ini"
                ini.write_text(f"[mlflow]\ndefault_permission = NO_PERMISSIONS\ndatabase_uri = sqlite:///{work / 'basic_auth.db'}\n"
                               "admin_username = admin\nauthorization_function = mlflow.server.auth:authenticate_request_basic_auth\n"
                               "auth_cache_ttl_seconds = 60\n")
                env = {"MLFLOW_AUTH_CONFIG_PATH": str(ini), "MLFLOW_AUTH_ADMIN_PASSWORD": "bench-admin-" + secrets.token_hex(8),
                       "MLFLOW_FLASK_SERVER_SECRET_KEY": secrets.token_hex(16)}
            if subject.startswith("rbac"):
                env = {"MLFLOW_RBAC_BOOTSTRAP_ADMIN_KEY": admin_key, "MLFLOW_RBAC_DATABASE_URI": f"sqlite:///{work / 'rbac.db'}",
                       "MLFLOW_RBAC_SEARCH_IN_LIMIT": "0" if subject == "rbac-scan" else "4000"}
            server = servers[subject] = ServerProc(work, db, {"plain": None, "rbac-scan": "rbac"}.get(subject, subject), env,
                                                   label=subject)
            if subject == "basic-auth":
                admin = ("admin", env["MLFLOW_AUTH_ADMIN_PASSWORD"])
                password = "bench-user-" + secrets.token_hex(8)
                r = requests.post(f"{server.url}/api/2.0/mlflow/users/create", auth=admin,
                                  json={"username": "bench", "password": password}, timeout=30)
                assert r.status_code == 200, r.text
                for e in search_readable:
                    r = requests.post(f"{server.url}/api/3.0/mlflow/users/permissions/grant", auth=admin, json={
                        "username": "bench", "resource_type": "experiment", "resource_id": e, "permission": "READ"}, timeout=30)
                    assert r.status_code == 200, r.text
                auth = ("bench", password)
            if subject == "rbac-scan":  # same rbac database as "rbac": same key and grants
                clients[subject] = clients["rbac"]
                continue
            if subject == "rbac":
                h = {"Authorization": f"Bearer {admin_key}"}
                r = requests.post(f"{server.url}/api/2.0/rbac/api-keys", headers=h, json={"principal": "bench"}, timeout=30)
                assert r.status_code == 200, r.text
                key = r.json()["key"]
                for e in search_readable:
                    r = requests.post(f"{server.url}/api/2.0/rbac/grants", headers=h, json={
                        "resource_type": "experiment", "resource_id": e, "principal": "bench", "permission": "READ"}, timeout=30)
                    assert r.status_code == 200, r.text
                headers = {"Authorization": f"Bearer {key}"}
            clients[subject] = (auth, headers, sorted(readable_ids) if subject == "plain" else all_ids)
        # Interleaved rounds, median per subject: the machine's load drifts, so the three are
        # measured side by side many times rather than once each.
        samples: dict[tuple[str, str], list[float]] = {}
        for rnd in range(rounds):
            order = search_subjects[rnd % 4:] + search_subjects[: rnd % 4]
            for subject in order:
                auth, headers, ids = clients[subject]
                url = servers[subject].url
                flt = in_filter if subject == "plain" else ""
                samples.setdefault(("experiments_search", subject), []).append(measure(
                    url, auth, headers, "POST", "/api/2.0/mlflow/experiments/search",
                    {"max_results": 100, "filter": flt},
                    check_readable_experiments if subject == "basic-auth" else check_experiments, args.threads, seconds))
                if subject == "rbac-scan":
                    continue
                samples.setdefault(("runs_get", subject), []).append(measure(
                    url, auth, headers, "GET", f"/api/2.0/mlflow/runs/get?run_id={run_id}", None, check_get,
                    args.threads, seconds))
                samples.setdefault(("runs_search", subject), []).append(measure(
                    url, auth, headers, "POST", "/api/2.0/mlflow/runs/search",
                    {"experiment_ids": ids, "max_results": 100}, check_search, args.threads, seconds))
            print(f"round {rnd + 1}/{rounds}: " + ", ".join(f"{k[1]} {k[0]} {v[-1]:.1f}" for k, v in samples.items()),
                  file=sys.stderr)
        for k, v in samples.items():
            results[k] = statistics.median(v)
    finally:
        for server in servers.values():
            server.stop()

    import mlflow

    overhead = gate_overhead(work, db, run_id, all_ids)
    notes = (f"{experiments * runs_per} runs in {experiments} experiments, caller reads {readable_n} "
             f"({100 * readable_n // experiments}%); {args.threads} client threads; median of {rounds} interleaved {seconds:.0f}s rounds; "
             f"uvicorn, 1 worker each; SQLite store; rbac via API key, basic-auth with its credential cache on; "
             f"2 CPUs shared with other work (clients on the same machine)")
    rows = []
    for bench in ("runs_get", "runs_search"):
        plain, basic, rbac = (results[(bench, s)] for s in subjects)
        for subject, anchor, anchor_value, target in (
            ("rbac", "plain", plain, ">= 0.90 (overhead < 10%)"),
            ("rbac", "basic-auth", basic, ">= 1.00"),
            ("basic-auth", "plain", plain, "(reference)"),
        ):
            value = results[(bench, subject)]
            rows.append({"package": PACKAGE, "benchmark": f"{bench}{'_full' if args.full else '_quick'}",
                         "subject": subject, "anchor": anchor, "value": round(value, 1), "unit": "req/s",
                         "anchor_value": round(anchor_value, 1), "ratio": round(value / anchor_value, 3),
                         "target": target, "engine": f"mlflow {mlflow.__version__}", "notes": notes})
    search_notes = (f"one page of 100 experiments out of {search_total}, caller reads {len(search_readable)} (10%); "
                    f"plain asked with the same `experiment_id IN (...)` filter; rbac-scan = MLFLOW_RBAC_SEARCH_IN_LIMIT=0; "
                    f"{args.threads} client threads; median of {rounds} interleaved {seconds:.0f}s rounds")
    plain_s = results[("experiments_search", "plain")]
    for subject, anchor, anchor_value, target in (
        ("rbac", "plain", plain_s, ">= 0.90 (overhead < 10%)"),
        ("rbac-scan", "plain", plain_s, "(reference)"),
        ("rbac", "basic-auth", results[("experiments_search", "basic-auth")], ">= 1.00"),
    ):
        value = results[("experiments_search", subject)]
        rows.append({"package": PACKAGE, "benchmark": f"experiments_search{'_full' if args.full else '_quick'}",
                     "subject": subject, "anchor": anchor, "value": round(value, 1), "unit": "req/s",
                     "anchor_value": round(anchor_value, 1), "ratio": round(value / anchor_value, 3),
                     "target": target, "engine": f"mlflow {mlflow.__version__}", "notes": search_notes})
    for bench, per_call in overhead.items():
        plain_service = 1e6 / results[(bench, "plain")]  # µs per request at saturation, 1 worker
        rows.append({"package": PACKAGE, "benchmark": f"{bench}_gate_cost{'_full' if args.full else '_quick'}",
                     "subject": "rbac gate (in-process)", "anchor": "plain request service time",
                     "value": round(per_call, 1), "unit": "us/request", "anchor_value": round(plain_service, 1),
                     "ratio": round(per_call / plain_service, 4), "target": "< 0.10",
                     "engine": f"mlflow {mlflow.__version__}",
                     "notes": "Gate.decide() for the same request and caller, caches warm, median of 5 x 2000 calls"})
    Path(args.out).write_text(json.dumps(rows, indent=2))
    for r in rows:
        print(f"| {r['benchmark']} | {r['subject']} | {r['anchor']} | {r['value']} | {r['anchor_value']} | {r['ratio']} | {r['target']} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
