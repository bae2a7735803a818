"""Fixtures: the real kube-apiserver of `tools/testenv up k8s`, a real `mlflow server`, a fake kubelet."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client, config

from mlflow_testenv import session_service
from mlflow_testenv.kubelet import FakeKubelet

PROJECT = Path(__file__).parent / "project"


@pytest.fixture(scope="session")
def k8s_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return session_service("k8s", tmp_path_factory)


@pytest.fixture(scope="session")
def kubeconfig(k8s_env: dict[str, str]) -> str:
    return k8s_env["MLFLOW_TESTENV_K8S_KUBECONFIG"]


@pytest.fixture(scope="session")
def api(kubeconfig: str) -> client.ApiClient:
    return config.new_client_from_config(kubeconfig)


@pytest.fixture(scope="session")
def tracking_uri(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = session_service("mlflow", tmp_path_factory)["MLFLOW_TESTENV_MLFLOW_URL"]
    old = os.environ.get("MLFLOW_TRACKING_URI")
    os.environ["MLFLOW_TRACKING_URI"] = url
    yield url
    if old is None:
        os.environ.pop("MLFLOW_TRACKING_URI", None)
    else:
        os.environ["MLFLOW_TRACKING_URI"] = old


@pytest.fixture(scope="session")
def kubelet(k8s_env: dict[str, str]) -> Iterator[FakeKubelet]:
    k = FakeKubelet(k8s_env)
    yield k
    k.stop()


@pytest.fixture
def namespace(api: client.ApiClient) -> Iterator[str]:
    name = f"t-{uuid.uuid4().hex[:10]}"
    client.CoreV1Api(api).create_namespace({"metadata": {"name": name}})
    yield name
    client.CoreV1Api(api).delete_namespace(name)


@pytest.fixture
def experiment_id(tracking_uri: str) -> str:
    import mlflow

    return mlflow.MlflowClient(tracking_uri).create_experiment(f"k8s-{uuid.uuid4().hex[:10]}")


@pytest.fixture
def backend_config(kubeconfig: str, namespace: str) -> dict[str, Any]:
    return {"namespace": namespace, "image": "ghcr.io/mlflow-plugins/runner:1.0", "kubeconfig": kubeconfig}


def write_json(path: Path, data: dict[str, Any]) -> str:
    path.write_text(json.dumps(data))
    return str(path)
