"""The README is what runs: every code block in it is run here as written, line by line in a shell the
way a user runs it (`kubectl`, then the `mlflow deployments` CLI with KUBECONFIG and the tracking server
exported), against the real kube-apiserver + controllers of the `k8s` test service, a real `mlflow
server` and real `mlflow models serve` processes. Only the examples' namespace and model URIs are
swapped for the test's, plus the ports noted below.

There is no kubelet in the test cluster: the test plays it (pods of the deployment become Running+Ready
at this machine's address, `FakeKubelet.serve`) and the pods' containers are the session's `mlflow
models serve` processes of the same model versions (conftest.py), so `predict` travels through the API
server's real service proxy to a real model server.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import signal
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from kubernetes import client

from mlflow_plugins_shared.testing import entry_points
from mlflow_plugins_shared.testing.readme import code_blocks, collect_pytest_line, only_block, swap
from mlflow_testenv.kubelet import FakeKubelet

from .conftest import ModelServer, wait_ping

ROOT = Path(__file__).resolve().parents[3]
README = (Path(__file__).resolve().parents[1] / "README.md").read_text()
BLOCKS = code_blocks(README)
NAME = "iris"  # the README's deployment name, kept: each test has its own namespace
IMAGE = "ghcr.io/acme/serve:2.22"  # the README's image, kept: nothing pulls it (the test plays the containers)


def _block(lang: str, first_line: str) -> str:
    return only_block(BLOCKS, first_line, lang)


def test_every_code_block_is_run_here() -> None:
    assert sorted((kind, text.splitlines()[0]) for kind, text in BLOCKS) == sorted([
        ("bash", "pip install mlflow-deploy-k8s"),
        ("json", '[{"sepal length (cm)": 5.1, "sepal width (cm)": 3.5, "petal length (cm)": 1.4, '
                 '"petal width (cm)": 0.2},'),
        ("bash", "kubectl create namespace models     # once: the target namespace must exist"),
        ("bash", ".venv/bin/python -m pytest -n 2 packages/mlflow-deploy-k8s"),
    ])


def test_install_block() -> None:
    """Mirrored (the package is not on an index here): the distribution it names is installed and
    MLflow's deployment plugin manager loads the `k8s` target from its entry point."""
    dist = _block("bash", "pip install").split()[-1]
    assert importlib.metadata.distribution(dist).metadata["Name"] == dist
    assert entry_points.deployment_plugin("k8s").__name__ == "mlflow_deploy_k8s.deployment"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _user_env(cluster: dict[str, str], tracking_uri: str) -> dict[str, str]:
    """A user's shell: this venv's `mlflow` on PATH, KUBECONFIG (the plugin's default) and the tracking
    server exported; none of the plugin's own MLFLOW_DEPLOY_K8S_* settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "KUBECONFIG"))}
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    return {**env, "KUBECONFIG": cluster["MLFLOW_TESTENV_K8S_KUBECONFIG"], "MLFLOW_TRACKING_URI": tracking_uri}


def _shell(line: str, cwd: Path, env: dict[str, str]) -> str:
    done = subprocess.run(["bash", "-euc", line], cwd=cwd, env=env, capture_output=True, text=True, timeout=400)
    assert done.returncode == 0, f"{line}\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    return done.stdout


def _invocations(url: str, rows: list[dict[str, float]]) -> object:
    """The model server's own answer, straight from it (not through the plugin or the API server)."""
    resp = requests.post(f"{url}/invocations", json={"dataframe_records": rows}, timeout=60)
    resp.raise_for_status()
    return resp.json()


@pytest.fixture
def readme_namespace(core: client.CoreV1Api) -> Iterator[str]:
    """The README's `models` namespace, renamed per test; the README's `kubectl` line creates it."""
    name = f"models-{uuid.uuid4().hex[:8]}"
    yield name
    try:
        core.delete_namespace(name)
    except client.exceptions.ApiException as e:
        if e.status != 404:
            raise


def _use_lines(namespace: str, v1: ModelServer, v2: ModelServer, local_port: int) -> dict[str, str]:
    """The Use block's lines by command, with the test's namespace and model versions, and ports: the
    "pods" of each model version are `mlflow models serve` processes on this machine's one address,
    so each version listens on its own free port rather than both on the default 8080 (`-C port=`,
    the README's own option), and run-local takes a free port instead of 5001."""
    block = swap(_block("bash", "kubectl create namespace models"), {
        "kubectl create namespace models": f"kubectl create namespace {namespace}",
        "k8s:/models": f"k8s:/{namespace}",
        f"-C image={IMAGE}": f"-C image={IMAGE} -C port={v1.port}",
        "-m models:/iris/4": f"-m {v2.model_uri} -C port={v2.port}",
        "models:/iris/3": v1.model_uri,
        "-C port=5001": f"-C port={local_port}",
    })
    lines = {}
    for line in block.splitlines():
        words = line.split()
        key = words[0] if words[0] == "kubectl" else words[2]
        assert key not in lines, line
        lines[key] = line
    assert list(lines) == ["kubectl", "create", "get", "update", "predict", "list", "delete", "run-local", "help"]
    return lines


def test_use_block(cluster: dict[str, str], kubelet: FakeKubelet, core: client.CoreV1Api, tracking_uri: str,
                   model_servers: list[ModelServer], readme_namespace: str, tmp_path: Path) -> None:
    v1, v2 = model_servers
    namespace = readme_namespace
    rows = json.loads(_block("json", '[{"sepal length (cm)"'))
    (tmp_path / "rows.json").write_text(_block("json", '[{"sepal length (cm)"'))
    local_port = _free_port()
    lines = _use_lines(namespace, v1, v2, local_port)
    env = _user_env(cluster, tracking_uri)
    apps = client.AppsV1Api(core.api_client)

    _shell(lines["kubectl"], tmp_path, env)
    assert core.read_namespace(namespace).status.phase == "Active"
    kubelet.serve(namespace, {"app.kubernetes.io/instance": NAME}, pod_ip=v1.host)

    _shell(lines["create"], tmp_path, env)  # returns once the rollout is done
    dep = apps.read_namespaced_deployment(NAME, namespace)
    assert dep.status.ready_replicas == 1
    assert dep.metadata.annotations["mlflow.org/model-uri"] == v1.model_uri
    (container,) = dep.spec.template.spec.containers
    assert container.image == IMAGE and container.command[:5] == ["mlflow", "models", "serve", "--model-uri",
                                                                   v1.model_uri]
    assert core.read_namespaced_service(NAME, namespace).spec.ports[0].target_port == "http"

    got = dict(line.split(": ", 1) for line in _shell(lines["get"], tmp_path, env).splitlines() if ": " in line)
    model_name, version = v1.model_uri.split("/")[1:]
    assert (got["ready_replicas"], got["image"], got["model_uri"]) == ("1", IMAGE, v1.model_uri)
    assert (got["model_name"], got["model_version"]) == (model_name, version)
    assert got["endpoint"].endswith(f"/api/v1/namespaces/{namespace}/services/{NAME}:http/proxy")

    _shell(lines["update"], tmp_path, env)  # rolling: returns once the new pod is ready and the old gone
    dep = apps.read_namespaced_deployment(NAME, namespace)
    assert dep.metadata.annotations["mlflow.org/model-uri"] == v2.model_uri
    assert dep.spec.strategy.rolling_update.max_unavailable == 0 and dep.spec.strategy.rolling_update.max_surge == 1
    pods = core.list_namespaced_pod(namespace, label_selector=f"app.kubernetes.io/instance={NAME}").items
    assert [p.metadata.annotations["mlflow.org/model-uri"] for p in pods if not p.metadata.deletion_timestamp] \
        == [v2.model_uri]

    # through the API server's service proxy to the version-2 "pod": the same answer as that server's own
    predicted = json.loads(_shell(lines["predict"], tmp_path, env))
    assert predicted == _invocations(v2.url, rows)
    assert len(predicted["predictions"]) == len(rows)

    listed = _shell(lines["list"], tmp_path, env)
    assert f"'name': '{NAME}'" in listed and v2.model_uri in listed

    _shell(lines["delete"], tmp_path, env)
    assert apps.list_namespaced_deployment(namespace).items == []
    assert core.list_namespaced_service(namespace).items == []

    # run-local serves until interrupted: started, asked, then stopped as Ctrl-C would
    proc = subprocess.Popen(["bash", "-euc", f"exec {lines['run-local']}"], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        wait_ping(f"http://127.0.0.1:{local_port}", proc)
        assert _invocations(f"http://127.0.0.1:{local_port}", rows) == _invocations(v1.url, rows)
    finally:
        os.killpg(proc.pid, signal.SIGINT)  # the session this test started: the CLI and its model server
        try:
            out, _ = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, _ = proc.communicate(timeout=30)
    assert f"Serving {v1.model_uri} as 'iris' on http://127.0.0.1:{local_port}" in out

    from mlflow_deploy_k8s.deployment import target_help
    from mlflow_deploy_k8s.options import HELP

    text = _shell(lines["help"], tmp_path, env)
    assert text.strip() == target_help().strip()
    assert all(key in text for key in HELP)


def test_tests_block_collects() -> None:
    """The Tests section's command, collected rather than run (this test is part of what it runs)."""
    listing = collect_pytest_line(_block("bash", ".venv/bin/python -m pytest").splitlines()[0], ROOT)
    assert "packages/mlflow-deploy-k8s/tests/test_readme.py::test_tests_block_collects" in listing
    assert "packages/mlflow-deploy-k8s/tests/test_lifecycle.py::test_deployment_lifecycle" in listing
