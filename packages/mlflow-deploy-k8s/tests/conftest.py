"""Real servers for the deployment tests: the k8s control plane (tools/testenv), `mlflow server`, and
`mlflow models serve` processes that stand in for the pods' containers (the test is the kubelet)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from kubernetes import client, config

from mlflow_testenv import session_service
from mlflow_testenv.kubelet import FakeKubelet, host_ip
from mlflow_testenv.waiting import wait_until_answers


@dataclass
class ModelServer:
    model_uri: str
    host: str
    port: int
    proc: subprocess.Popen

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    exports = session_service("k8s", tmp_path_factory)
    os.environ["MLFLOW_DEPLOY_K8S_KUBECONFIG"] = exports["MLFLOW_TESTENV_K8S_KUBECONFIG"]
    return exports


@pytest.fixture(scope="session")
def core(cluster: dict[str, str]) -> client.CoreV1Api:
    return client.CoreV1Api(config.new_client_from_config(cluster["MLFLOW_TESTENV_K8S_KUBECONFIG"]))


@pytest.fixture(scope="session")
def kubelet(cluster: dict[str, str]) -> Iterator[FakeKubelet]:
    fake = FakeKubelet(cluster)
    yield fake
    fake.stop()


@pytest.fixture(scope="session")
def tracking_uri(tmp_path_factory: pytest.TempPathFactory) -> str:
    uri = session_service("mlflow", tmp_path_factory)["MLFLOW_TESTENV_MLFLOW_URL"]
    os.environ["MLFLOW_TRACKING_URI"] = uri
    return uri


@pytest.fixture(scope="session")
def model_uris(tracking_uri: str) -> list[str]:
    """Two registered versions of a scikit-learn iris classifier that answer differently."""
    import mlflow
    from sklearn.datasets import load_iris
    from sklearn.dummy import DummyClassifier
    from sklearn.linear_model import LogisticRegression

    mlflow.set_tracking_uri(tracking_uri)
    x, y = load_iris(return_X_y=True, as_frame=True)
    name = f"iris-{uuid.uuid4().hex[:8]}"
    uris = []
    for model in (LogisticRegression(max_iter=300).fit(x, y), DummyClassifier(strategy="constant", constant=2).fit(x, y)):
        with mlflow.start_run():
            info = mlflow.sklearn.log_model(model, "model", input_example=x.head(2),
                                            registered_model_name=name)
        uris.append(f"models:/{name}/{info.registered_model_version}")
    return uris


def serve_env(tracking_uri: str) -> dict[str, str]:
    """`mlflow models serve` execs `uvicorn`: this venv's bin dir must be on PATH."""
    path = f"{os.path.dirname(sys.executable)}{os.pathsep}{os.environ.get('PATH', '')}"
    return {**os.environ, "MLFLOW_TRACKING_URI": tracking_uri, "PATH": path}


def _free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def _serve(model_uri: str, tracking_uri: str) -> ModelServer:
    """`mlflow models serve` on this machine's non-loopback address: Endpoints may not point at loopback."""
    host = host_ip()
    port = _free_port(host)
    proc = subprocess.Popen(
        [sys.executable, "-m", "mlflow", "models", "serve", "-m", model_uri, "-h", host, "-p", str(port),
         "--env-manager", "local", "--workers", "1"],
        env=serve_env(tracking_uri), stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
        start_new_session=True)
    return ModelServer(model_uri, host, port, proc)


def wait_ping(url: str, proc: subprocess.Popen, timeout: float = 120) -> None:
    wait_until_answers(f"{url}/ping", proc, timeout=timeout, what=f"model server for {url}", interval=0.3)


@pytest.fixture(scope="session")
def model_servers(model_uris: list[str], tracking_uri: str) -> Iterator[list[ModelServer]]:
    servers = [_serve(uri, tracking_uri) for uri in model_uris]
    try:
        for s in servers:
            wait_ping(s.url, s.proc)
        yield servers
    finally:
        for s in servers:
            s.proc.terminate()
            s.proc.wait(20)


@pytest.fixture
def namespace(core: client.CoreV1Api) -> Iterator[str]:
    ns = f"d-{uuid.uuid4().hex[:10]}"
    core.create_namespace({"metadata": {"name": ns}})
    yield ns
    core.delete_namespace(ns)


@pytest.fixture
def deployer(cluster: dict[str, str], namespace: str, tracking_uri: str):  # type: ignore[no-untyped-def]
    from mlflow.deployments import get_deploy_client

    return get_deploy_client(f"k8s:/{namespace}")
