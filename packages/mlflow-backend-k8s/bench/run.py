"""Benchmark: `mlflow run` -> Job created, and Job completion -> `wait()` returning, on loopback.

Starts its own k8s control plane and `mlflow server` (tools/testenv); a FakeKubelet plays the node.
Rows (DEVELOPING.md format):
- submit: seconds from `mlflow.projects.run(..., backend="k8s-job", synchronous=False)` to the Job
  existing (the call returns after creating it), and the Kubernetes API calls that took; anchor: MLflow's
  built-in `local` backend starting the same project (`env_manager=local`).
- wait: seconds from the Job's `Complete` condition (seen by an independent watch) to `wait()` returning
  (target < 1 s), and from the pod's Succeeded status to `wait()` (includes the job controller).

    python packages/mlflow-backend-k8s/bench/run.py [--full] --out bench.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import threading
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parent / "tests" / "project"


def _count_api_calls() -> dict[str, int]:
    """Kubernetes client HTTP requests per thread name (measurement only, behaviour unchanged)."""
    from kubernetes.client import rest

    counter: dict[str, int] = {}
    original = rest.RESTClientObject.request

    def counted(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        name = threading.current_thread().name
        counter[name] = counter.get(name, 0) + 1
        return original(self, *args, **kwargs)

    rest.RESTClientObject.request = counted  # type: ignore[method-assign]
    return counter


def _observe_complete(batch, ns: str, name: str, rv: str, out: list[float]) -> None:  # type: ignore[no-untyped-def]
    from kubernetes import watch

    for ev in watch.Watch().stream(batch.list_namespaced_job, ns, resource_version=rv,
                                   field_selector=f"metadata.name={name}", timeout_seconds=60):
        if any(c.type == "Complete" and c.status == "True" for c in ev["object"].status.conditions or []):
            out.append(time.perf_counter())
            return


def _wait_and_stamp(sub, out: list[float]) -> None:  # type: ignore[no-untyped-def]
    sub.wait()
    out.append(time.perf_counter())


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--full", action="store_true")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    rounds = 20 if args.full else 5
    # the local-backend anchor runs `mlflow`/`python` by name: use this interpreter's environment
    os.environ["PATH"] = f"{os.path.dirname(sys.executable)}{os.pathsep}{os.environ.get('PATH', '')}"

    import mlflow
    from kubernetes import client, config

    from mlflow_testenv import start_service
    from mlflow_testenv.kubelet import FakeKubelet

    k8s_srv = start_service("k8s", parent_pid=os.getpid(), record=False)
    k8s_version = k8s_srv.exports["MLFLOW_TESTENV_K8S_VERSION"]
    mlflow_srv = start_service("mlflow", parent_pid=os.getpid(), record=False)
    kubelet = None
    try:
        env = k8s_srv.exports
        tracking = mlflow_srv.exports["MLFLOW_TESTENV_MLFLOW_URL"]
        mlflow.set_tracking_uri(tracking)
        api = config.new_client_from_config(env["MLFLOW_TESTENV_K8S_KUBECONFIG"])
        core, batch = client.CoreV1Api(api), client.BatchV1Api(api)
        ns = f"bench-{uuid.uuid4().hex[:6]}"
        core.create_namespace({"metadata": {"name": ns}})
        kubelet = FakeKubelet(env)
        exp = mlflow.MlflowClient().create_experiment(f"bench-{uuid.uuid4().hex[:6]}")
        cfg = {"namespace": ns, "image": "ghcr.io/mlflow-plugins/runner:1.0",
               "kubeconfig": env["MLFLOW_TESTENV_K8S_KUBECONFIG"]}
        calls = _count_api_calls()

        # warm-up (imports, connections)
        mlflow.projects.run(str(PROJECT), backend="k8s-job", backend_config=cfg, experiment_id=exp,
                            parameters={"alpha": "0.1"}, synchronous=False).cancel()

        submit_s, submit_calls, complete_to_wait, pod_to_wait, wait_calls = [], [], [], [], []
        for _ in range(rounds):
            calls.clear()
            t0 = time.perf_counter()
            sub = mlflow.projects.run(str(PROJECT), backend="k8s-job", backend_config=cfg, experiment_id=exp,
                                      parameters={"alpha": "0.1"}, synchronous=False)
            submit_s.append(time.perf_counter() - t0)
            submit_calls.append(calls.get("MainThread", 0))
            pod = kubelet.wait_for_pods(ns, f"job-name={sub.job_name}")[0]
            kubelet.run(ns, pod)

            seen_complete: list[float] = []
            rv = batch.read_namespaced_job(sub.job_name, ns).metadata.resource_version

            observer = threading.Thread(target=_observe_complete, args=(batch, ns, sub.job_name, rv, seen_complete))
            observer.start()
            done: list[float] = []
            waiter = threading.Thread(target=_wait_and_stamp, args=(sub, done), name="bench-wait")
            time.sleep(0.3)  # both watches established
            waiter.start()
            time.sleep(0.3)
            t_pod = time.perf_counter()
            kubelet.set_phase(ns, pod, "Succeeded", exit_code=0)
            waiter.join(60)
            observer.join(60)
            wait_calls.append(calls.get("bench-wait", 0))
            assert mlflow.MlflowClient().get_run(sub.run_id).info.status == "FINISHED"
            complete_to_wait.append(max(0.0, done[0] - seen_complete[0]))
            pod_to_wait.append(done[0] - t_pod)

        # anchor: MLflow's local backend starting the same project
        local_s = []
        for _ in range(rounds):
            t0 = time.perf_counter()
            sub = mlflow.projects.run(str(PROJECT), backend="local", env_manager="local", experiment_id=exp,
                                      parameters={"alpha": "0.1"}, synchronous=False)
            local_s.append(time.perf_counter() - t0)
            sub.wait()
    finally:
        if kubelet is not None:
            kubelet.stop()
        k8s_srv.stop()
        mlflow_srv.stop()

    med = statistics.median
    base = {"package": "mlflow-backend-k8s", "engine": f"kube-apiserver {k8s_version} + etcd, mlflow server (loopback)"}
    rows = [
        {**base, "benchmark": "mlflow run -> Job created", "subject": f"k8s-job backend, median of {rounds}",
         "value": round(med(submit_s), 3), "unit": "s", "anchor": "local backend: mlflow run -> process started",
         "anchor_value": round(med(local_s), 3), "ratio": round(med(submit_s) / med(local_s), 2), "target": "",
         "notes": "includes validation, access review, server dry run, run creation, project upload"},
        {**base, "benchmark": "mlflow run -> Job created", "subject": "Kubernetes API calls",
         "value": med(submit_calls), "unit": "calls", "anchor": "", "anchor_value": "", "ratio": "",
         "target": "", "notes": "read namespace, access review, dry-run create, create"},
        {**base, "benchmark": "Job complete -> wait() returns", "subject": f"median of {rounds}",
         "value": round(med(complete_to_wait), 3), "unit": "s", "anchor": "target", "anchor_value": 1.0,
         "ratio": round(med(complete_to_wait) / 1.0, 3), "target": "< 1 s",
         "notes": f"max {max(complete_to_wait):.3f} s; measured against an independent watch of the Job"},
        {**base, "benchmark": "pod Succeeded -> wait() returns", "subject": f"median of {rounds}",
         "value": round(med(pod_to_wait), 3), "unit": "s", "anchor": "", "anchor_value": "", "ratio": "",
         "target": "", "notes": "includes the job controller noticing the pod; wait() includes marking the run FINISHED"},
        {**base, "benchmark": "Job complete -> wait() returns", "subject": "Kubernetes API calls by wait()",
         "value": med(wait_calls), "unit": "calls", "anchor": "", "anchor_value": "", "ratio": "", "target": "",
         "notes": "one read + one watch: no polling"},
    ]
    Path(args.out).write_text(json.dumps(rows, indent=1))
    for r in rows:
        print(f"{r['benchmark']:<36} {r['subject']:<34} {r['value']} {r['unit']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
