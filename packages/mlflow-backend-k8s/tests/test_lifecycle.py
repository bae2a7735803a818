"""A Job that succeeds, fails or is cancelled drives the MLflow run to the same end (the test is the kubelet)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import mlflow
import pytest
from kubernetes import client
from mlflow_backend_k8s.backend import K8sBackend
from mlflow_backend_k8s.submitted_run import K8sSubmittedRun

from mlflow_testenv.kubelet import FakeKubelet

from .conftest import PROJECT, write_json


def _submit(cfg: dict[str, Any], tracking_uri: str, experiment_id: str) -> K8sSubmittedRun:
    return K8sBackend().run(str(PROJECT), "main", {"alpha": "0.5"}, None, cfg, tracking_uri, experiment_id)


def _pod(kubelet: FakeKubelet, namespace: str, run: K8sSubmittedRun) -> str:
    return kubelet.wait_for_pods(namespace, f"job-name={run.job_name}")[0]


def _status(tracking_uri: str, run_id: str) -> str:
    return mlflow.MlflowClient(tracking_uri).get_run(run_id).info.status


def _finish_later(kubelet: FakeKubelet, namespace: str, pod: str, phase: str, code: int) -> threading.Thread:
    t = threading.Thread(target=kubelet.set_phase, args=(namespace, pod, phase), kwargs={"exit_code": code})
    t.start()
    return t


def test_success_finishes_the_run(kubelet: FakeKubelet, backend_config: dict[str, Any], tracking_uri: str,
                                  experiment_id: str, namespace: str) -> None:
    run = _submit(backend_config, tracking_uri, experiment_id)
    pod = _pod(kubelet, namespace, run)
    assert run.get_status() == "SCHEDULED"  # created, not yet on a node
    kubelet.run(namespace, pod)
    assert run.get_status() == "RUNNING"
    assert _status(tracking_uri, run.run_id) == "RUNNING"
    _finish_later(kubelet, namespace, pod, "Succeeded", 0).join()
    assert run.wait() is True
    assert run.get_status() == "FINISHED"
    assert _status(tracking_uri, run.run_id) == "FINISHED"


def test_failure_fails_the_run(kubelet: FakeKubelet, backend_config: dict[str, Any], tracking_uri: str,
                               experiment_id: str, namespace: str) -> None:
    run = _submit(backend_config, tracking_uri, experiment_id)
    pod = _pod(kubelet, namespace, run)
    kubelet.run(namespace, pod)
    calls_before = run.watcher.api_calls
    waiter_result: list[bool] = []
    waiter = threading.Thread(target=lambda: waiter_result.append(run.wait()))
    waiter.start()  # wait() is blocked in a watch when the pod fails
    kubelet.set_phase(namespace, pod, "Failed", exit_code=3)
    waiter.join(timeout=60)
    assert waiter_result == [False]
    assert run.watcher.api_calls - calls_before <= 2  # one read, one watch: woken by the event, no polling
    assert run.get_status() == "FAILED"
    assert _status(tracking_uri, run.run_id) == "FAILED"


def test_cancel_deletes_job_and_pods_and_kills_the_run(kubelet: FakeKubelet, api: client.ApiClient,
                                                       backend_config: dict[str, Any], tracking_uri: str,
                                                       experiment_id: str, namespace: str) -> None:
    run = _submit(backend_config, tracking_uri, experiment_id)
    pod = _pod(kubelet, namespace, run)
    kubelet.run(namespace, pod)
    run.cancel()
    batch, core = client.BatchV1Api(api), client.CoreV1Api(api)
    assert [j.metadata.name for j in batch.list_namespaced_job(namespace).items] == []
    # foreground propagation: the Job is only gone once its pods are
    assert core.list_namespaced_pod(namespace, label_selector=f"job-name={run.job_name}").items == []
    assert _status(tracking_uri, run.run_id) == "KILLED"
    assert run.get_status() == "KILLED"
    assert run.wait() is False


def test_pod_logs_come_through_the_api_server(kubelet: FakeKubelet, backend_config: dict[str, Any],
                                              tracking_uri: str, experiment_id: str, namespace: str) -> None:
    run = _submit(backend_config, tracking_uri, experiment_id)
    pod = _pod(kubelet, namespace, run)
    kubelet.logs[(namespace, pod)] = b"epoch 1 loss 0.5\nepoch 2 loss 0.25\ndone"
    kubelet.run(namespace, pod)
    assert list(run.logs()) == ["epoch 1 loss 0.5", "epoch 2 loss 0.25", "done"]
    assert list(run.logs(follow=True))[-1] == "done"
    run.cancel()


def test_mlflow_run_cli_end_to_end(kubelet: FakeKubelet, backend_config: dict[str, Any], tracking_uri: str,
                                   experiment_id: str, namespace: str, tmp_path: Path) -> None:
    """`mlflow run --backend k8s-job` with wait=true returns when the Job completes, exit code to match."""
    cfg = write_json(tmp_path / "cfg.json", {**backend_config, "streamLogs": True, "wait": True})
    env = {**os.environ, "MLFLOW_TRACKING_URI": tracking_uri}
    cmd = [sys.executable, "-m", "mlflow", "run", str(PROJECT), "--backend", "k8s-job", "--backend-config", cfg,
           "--experiment-id", experiment_id, "-P", "alpha=0.9"]
    seen: set[str] = set()
    for phase, code, ok in (("Succeeded", 0, True), ("Failed", 2, False)):
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        pods = kubelet.wait_for_pods(namespace, "app.kubernetes.io/managed-by=mlflow-backend-k8s,"
                                     f"mlflow.org/experiment-id={experiment_id}", count=len(seen) + 1, timeout=90)
        (pod,) = set(pods) - seen
        seen.add(pod)
        kubelet.logs[(namespace, pod)] = f"hello from {phase}\n".encode()
        kubelet.run(namespace, pod)
        kubelet.set_phase(namespace, pod, phase, exit_code=code)
        out, _ = proc.communicate(timeout=120)
        assert (proc.returncode == 0) is ok, out
        assert f"hello from {phase}" in out  # streamLogs copied the pod log
        run_id = client.CoreV1Api(kubelet.api).read_namespaced_pod(pod, namespace).metadata.labels["mlflow.org/run-id"]
        run = mlflow.MlflowClient(tracking_uri).get_run(run_id)
        assert run.info.status == ("FINISHED" if ok else "FAILED")
        assert run.data.tags["mlflow.project.backend"] == "k8s-job"


@pytest.mark.external
def test_against_an_external_cluster(tracking_uri: str, experiment_id: str) -> None:
    kubeconfig = os.environ.get("MLFLOW_K8S_TEST_KUBECONFIG")
    if not kubeconfig:
        pytest.skip("MLFLOW_K8S_TEST_KUBECONFIG is not set: no external Kubernetes cluster to run a real Job on")
    image = os.environ.get("MLFLOW_K8S_TEST_IMAGE", "ghcr.io/mlflow/mlflow:v2.22.0")
    cfg = {"namespace": os.environ.get("MLFLOW_K8S_TEST_NAMESPACE", "default"), "image": image,
           "kubeconfig": kubeconfig, "ttlSecondsAfterFinished": 300,
           "trackingUri": os.environ.get("MLFLOW_K8S_TEST_TRACKING_URI", tracking_uri)}
    run = K8sBackend().run("https://github.com/mlflow/mlflow-example", "main", {"alpha": "0.5"}, None, cfg,
                           tracking_uri, experiment_id)
    assert run.wait(timeout=1800) is True
    assert _status(tracking_uri, run.run_id) == "FINISHED"
