"""Deploy the registered model with `mlflow deployments create -t k8s` and run a project with
`--backend k8s-job`, against the real kube-apiserver of `tools/testenv up k8s` (the test plays the
kubelet, as envtest users do) and the rbac-protected mlflow server of the workflow."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from mlflow_testenv import session_service
from mlflow_testenv.waiting import wait_until_answers

HERE = Path(__file__).resolve().parent
IMAGE = "ghcr.io/mlflow-plugins/serve:integration"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    return session_service("k8s", tmp_path_factory)


@pytest.fixture(scope="module")
def kubelet(cluster):
    from mlflow_testenv.kubelet import FakeKubelet

    k = FakeKubelet(cluster)
    yield k
    k.stop()


def _namespace(cluster):
    """A new namespace for the fixture's lifetime."""
    from kubernetes import client, config

    core = client.CoreV1Api(config.new_client_from_config(cluster["MLFLOW_TESTENV_K8S_KUBECONFIG"]))
    ns = f"it-{uuid.uuid4().hex[:8]}"
    core.create_namespace({"metadata": {"name": ns}})
    yield ns
    core.delete_namespace(ns)


@pytest.fixture(scope="module")
def namespace(cluster):
    yield from _namespace(cluster)


@pytest.fixture(scope="module")
def alice_env(user_env, alice_run, cluster):
    # the venv's bin first on PATH, as in an activated venv (`mlflow models serve` execs uvicorn)
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    return user_env("alice", MLFLOW_DEPLOY_K8S_KUBECONFIG=cluster["MLFLOW_TESTENV_K8S_KUBECONFIG"], PATH=path)


def _mlflow(env, *args, timeout=300, check=True):
    r = subprocess.run([sys.executable, "-m", "mlflow", *args], env=env, capture_output=True, text=True, timeout=timeout)
    if check:
        assert r.returncode == 0, f"mlflow {' '.join(args)} failed:\n{r.stdout[-2000:]}\n{r.stderr[-3000:]}"
    return r


def test_deploy_registered_model_and_predict(kubelet, namespace, alice_env, alice_run, tmp_path):
    from mlflow_testenv.kubelet import host_ip

    host = host_ip()
    with socket.socket() as s:
        s.bind((host, 0))
        port = s.getsockname()[1]
    model_uri = "models:/integration-model@champion"
    # The pod's container: a real `mlflow models serve` of the registered model, on this machine.
    serve_log = tmp_path / "serve.log"
    server = subprocess.Popen([sys.executable, "-m", "mlflow", "models", "serve", "-m", model_uri, "-h", host,
                               "-p", str(port), "--env-manager", "local"], env=alice_env,
                              stdout=serve_log.open("w"), stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_until_answers(f"http://{host}:{port}/ping", server, timeout=180, what="mlflow models serve", log=serve_log)
        kubelet.serve(namespace, {"app.kubernetes.io/instance": "integration"}, pod_ip=host)
        target = f"k8s:/{namespace}"
        _mlflow(alice_env, "deployments", "create", "-t", target, "--name", "integration", "-m", model_uri,
                "-C", f"image={IMAGE}", "-C", f"port={port}", "-C", "timeout=120")
        got = _mlflow(alice_env, "deployments", "get", "-t", target, "--name", "integration").stdout
        assert model_uri in got and IMAGE in got
        rows = tmp_path / "rows.json"
        import pandas as pd
        from sklearn.datasets import load_breast_cancer

        X = load_breast_cancer(as_frame=True).data[["mean radius", "mean texture", "mean smoothness", "worst area"]]
        from sklearn.model_selection import train_test_split

        _, X_test = train_test_split(X, random_state=0, test_size=0.4)
        rows.write_text(pd.DataFrame(X_test.iloc[:5]).to_json())  # the CLI reads it with pd.read_json
        out = _mlflow(alice_env, "deployments", "predict", "-t", target, "--name", "integration",
                      "--input-path", str(rows)).stdout
        assert json.loads(out.strip().splitlines()[-1])["predictions"] == alice_run["expected_predictions"]
        _mlflow(alice_env, "deployments", "delete", "-t", target, "--name", "integration")
        listed = _mlflow(alice_env, "deployments", "list", "-t", target).stdout
        assert "integration" not in listed
    finally:
        server.terminate()
        server.wait(30)


# `mlflow run --backend <plugin>` submits asynchronously (MLflow's CLI waits only for local/kubernetes),
# so the job's own container ends the run; mlflow.projects.run(synchronous=True) waits and ends it.
_SYNCHRONOUS = """import json, sys, mlflow
sub = mlflow.projects.run(sys.argv[1], backend="k8s-job", backend_config=sys.argv[2], experiment_id=sys.argv[3],
                          parameters={"alpha": "0.25"}, synchronous=True)
print(json.dumps({"run_id": sub.run_id, "status": sub.get_status()}))
"""


@pytest.fixture
def fresh_namespace(cluster):
    yield from _namespace(cluster)


@pytest.mark.parametrize("how", ["cli", "python-api-synchronous"])
def test_project_runs_as_a_kubernetes_job(how, kubelet, fresh_namespace, alice_env, alice_run, cluster, rest, tmp_path):
    namespace = fresh_namespace
    cfg = tmp_path / "backend.json"
    cfg.write_text(json.dumps({"namespace": namespace, "image": "ghcr.io/mlflow-plugins/runner:1.0",
                               "kubeconfig": cluster["MLFLOW_TESTENV_K8S_KUBECONFIG"]}))
    if how == "cli":
        cmd = [sys.executable, "-m", "mlflow", "run", str(HERE / "project"), "--backend", "k8s-job",
               "--backend-config", str(cfg), "--experiment-id", alice_run["experiment_id"], "-P", "alpha=0.25"]
    else:
        cmd = [sys.executable, "-c", _SYNCHRONOUS, str(HERE / "project"), str(cfg), alice_run["experiment_id"]]
    proc = subprocess.Popen(cmd, env=alice_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    (pod,) = kubelet.wait_for_pods(namespace, "app.kubernetes.io/managed-by=mlflow-backend-k8s", count=1, timeout=120)
    kubelet.run(namespace, pod)
    kubelet.set_phase(namespace, pod, "Succeeded", exit_code=0)
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0, out
    from kubernetes import client, config

    api = config.new_client_from_config(cluster["MLFLOW_TESTENV_K8S_KUBECONFIG"])
    pod_obj = client.CoreV1Api(api).read_namespaced_pod(pod, namespace)
    run_id = pod_obj.metadata.labels["mlflow.org/run-id"]
    env_names = {e.name for e in pod_obj.spec.containers[0].env or []}
    assert {"MLFLOW_TRACKING_URI", "MLFLOW_RUN_ID", "MLFLOW_EXPERIMENT_ID"} <= env_names
    r = rest(alice_run["token"], "GET", "runs/get", params={"run_id": run_id})
    assert r.status_code == 200, r.text
    run = r.json()["run"]
    assert {p["key"]: p["value"] for p in run["data"].get("params", [])}.get("alpha") == "0.25"
    if how == "cli":
        # submitted and left to the job: the Job completes, the run is the job's to end
        deadline = time.monotonic() + 60
        while not (client.BatchV1Api(api).list_namespaced_job(namespace).items[0].status.succeeded or 0):
            assert time.monotonic() < deadline, "the Job did not complete after its pod succeeded"
            time.sleep(0.5)
        assert run["info"]["status"] == "RUNNING"
    else:
        assert json.loads(out.strip().splitlines()[-1]) == {"run_id": run_id, "status": "FINISHED"}
        assert run["info"]["status"] == "FINISHED", out
    assert {t["key"]: t["value"] for t in run["data"]["tags"]}["mlflow.project.backend"] == "k8s-job"
