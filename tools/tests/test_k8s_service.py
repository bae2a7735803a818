"""The `k8s` test service: a real kube-apiserver (TLS, bearer token) whose controllers act on objects."""

from __future__ import annotations

import hashlib
import os
import subprocess
import uuid
from pathlib import Path

import pytest
import requests

from mlflow_testenv import TestenvError, session_service
from mlflow_testenv.services.k8s import DEFAULT_VERSION, VERSION_ENV, parse_version, version_flags

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def k8s(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return session_service("k8s", tmp_path_factory)


def test_api_server_speaks_tls_with_the_token_only(k8s: dict[str, str]) -> None:
    url, ca, token = k8s["MLFLOW_TESTENV_K8S_URL"], k8s["MLFLOW_TESTENV_K8S_CA"], k8s["MLFLOW_TESTENV_K8S_TOKEN"]
    assert url.startswith("https://127.0.0.1:")
    version = requests.get(f"{url}/version", headers={"Authorization": f"Bearer {token}"}, verify=ca, timeout=5)
    # the release asked for (MLFLOW_TESTENV_K8S_VERSION in the compat job), else the default
    assert version.json()["gitVersion"] == (os.environ.get(VERSION_ENV) or DEFAULT_VERSION)
    assert version.json()["gitVersion"] == k8s["MLFLOW_TESTENV_K8S_VERSION"]
    assert requests.get(f"{url}/api/v1/namespaces", verify=ca, timeout=5).status_code in (401, 403)
    bad = requests.get(f"{url}/api/v1/namespaces", headers={"Authorization": "Bearer wrong"}, verify=ca, timeout=5)
    assert bad.status_code == 401
    with pytest.raises(requests.exceptions.SSLError):  # self-signed: only trusted with the exported CA
        requests.get(f"{url}/version", timeout=5)


def test_kubeconfig_drives_controllers(k8s: dict[str, str]) -> None:
    from kubernetes import client, config, watch

    api = config.new_client_from_config(k8s["MLFLOW_TESTENV_K8S_KUBECONFIG"])
    core, batch, apps = client.CoreV1Api(api), client.BatchV1Api(api), client.AppsV1Api(api)
    ns = f"svc-{uuid.uuid4().hex[:8]}"
    core.create_namespace({"metadata": {"name": ns}})
    pod_spec = {"restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox"}]}
    batch.create_namespaced_job(ns, {"metadata": {"name": "j"}, "spec": {"template": {"spec": pod_spec}}})
    apps.create_namespaced_deployment(ns, {"metadata": {"name": "d"}, "spec": {
        "replicas": 2, "selector": {"matchLabels": {"app": "d"}},
        "template": {"metadata": {"labels": {"app": "d"}},
                     "spec": {"containers": [{"name": "c", "image": "busybox"}]}}}})
    owners: dict[str, str] = {}
    for event in watch.Watch().stream(core.list_namespaced_pod, ns, timeout_seconds=60):
        pod = event["object"]
        owners[pod.metadata.name] = pod.metadata.owner_references[0].kind
        if len(owners) >= 3:
            break
    # the job controller made one pod, the deployment and replicaset controllers two
    assert sorted(owners.values()) == ["Job", "ReplicaSet", "ReplicaSet"]
    assert len(apps.list_namespaced_replica_set(ns).items) == 1
    # the service-account controllers are running too
    sa = next(iter(watch.Watch().stream(core.list_namespaced_service_account, ns, timeout_seconds=30)))["object"]
    assert sa.metadata.name == "default"
    core.delete_namespace(ns)


def test_fake_kubelet_serves_pod_logs_through_the_api_server(k8s: dict[str, str]) -> None:
    from kubernetes import client

    from mlflow_testenv.kubelet import FakeKubelet

    kubelet = FakeKubelet(k8s)
    try:
        core = client.CoreV1Api(kubelet.api)
        ns = f"svc-{uuid.uuid4().hex[:8]}"
        core.create_namespace({"metadata": {"name": ns}})
        core.create_namespaced_pod(ns, {"metadata": {"name": "p"}, "spec": {
            "containers": [{"name": "c", "image": "busybox"}]}})
        kubelet.logs[(ns, "p")] = b"line one\nline two\n"
        kubelet.run(ns, "p")
        pod = core.read_namespaced_pod("p", ns)
        assert pod.status.phase == "Running" and pod.spec.node_name == kubelet.node
        assert core.read_namespaced_pod_log("p", ns, container="c") == "line one\nline two\n"
        core.delete_namespace(ns)
    finally:
        kubelet.stop()


def test_build_script_reports_the_cache(k8s: dict[str, str]) -> None:
    version = k8s["MLFLOW_TESTENV_K8S_VERSION"]
    script = REPO / "tools/k8s/build.sh"
    out = subprocess.run(["bash", str(script), "--print-dir"], capture_output=True, text=True,
                         env={**os.environ, "K8S_VERSION": version})
    assert out.returncode == 0, out.stderr
    cache = Path(out.stdout.strip())
    assert cache.parts[-3:-1] == ("mlflow-plugins", "k8s")
    assert (cache / "kube-apiserver").is_file() and (cache / "kube-controller-manager").is_file()
    info = (cache / "BUILD-INFO").read_text()
    assert f"git_version={version}" in info
    if "source=go-module-proxy" in info:  # keyed on the script: a changed build.sh builds anew
        script_hash = hashlib.sha256(script.read_bytes()).hexdigest()[:12]
        assert cache.name == f"{version}-{script_hash}"
        assert (cache / "etcd").is_file()


@pytest.mark.parametrize("bad", ["1.37", "latest", "v2.0.1", "v1.37.2; rm -rf /"])
def test_a_bad_version_is_refused_by_name(bad: str) -> None:
    with pytest.raises(TestenvError, match="is not a Kubernetes release like v1.37.2") as info:
        parse_version(bad)
    assert repr(bad) in str(info.value)
    out = subprocess.run(["bash", str(REPO / "tools/k8s/build.sh"), "--print-dir"], capture_output=True, text=True,
                         env={**os.environ, "K8S_VERSION": bad})
    assert out.returncode == 2 and "K8S_VERSION must be a Kubernetes release like v1.37.2" in out.stderr


def test_versions_parse_and_flags_follow_the_release() -> None:
    assert parse_version("1.29.15") == ("v1.29.15", 29)
    assert parse_version("v1.37.2") == ("v1.37.2", 37)
    old_apiserver, old_cm = version_flags(20)
    assert "--insecure-port" in old_apiserver and "TTLAfterFinished=true" in old_apiserver and "--port" in old_cm
    assert version_flags(29) == ([], [])  # flags removed in 1.24/1.25 are never passed to newer releases


def test_serves_autoscaling_v2(k8s: dict[str, str]) -> None:
    """mlflow-deploy-k8s's HorizontalPodAutoscalers are autoscaling/v2 (CPU and memory targets)."""
    url, ca, token = k8s["MLFLOW_TESTENV_K8S_URL"], k8s["MLFLOW_TESTENV_K8S_CA"], k8s["MLFLOW_TESTENV_K8S_TOKEN"]
    r = requests.get(f"{url}/apis/autoscaling/v2", headers={"Authorization": f"Bearer {token}"}, verify=ca, timeout=5)
    assert r.status_code == 200, r.text
    assert "horizontalpodautoscalers" in {res["name"] for res in r.json()["resources"]}
