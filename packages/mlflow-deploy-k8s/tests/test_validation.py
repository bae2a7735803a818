"""Bad deployment input is a clear MlflowException naming the problem; nothing is created."""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes import client
from mlflow.deployments import get_deploy_client
from mlflow.exceptions import MlflowException

IMAGE = "ghcr.io/mlflow-plugins/serve:1.0"


@pytest.mark.parametrize(("config", "expected"), [
    ({"image": IMAGE, "replica": "2"}, "unknown key(s) 'replica'"),
    ({"image": "UPPER/Case Image"}, "'image': 'UPPER/Case Image' is not a valid image reference"),
    ({}, "'image' is required"),
    ({"image": IMAGE, "replicas": "-1"}, "'replicas': expected an integer at least 0, got '-1'"),
    ({"image": IMAGE, "port": "99999"}, "'port': expected an integer at least 1 and at most 65535"),
    ({"image": IMAGE, "service_type": "Ingress"}, "'service_type': 'Ingress'; allowed: ClusterIP"),
    ({"image": IMAGE, "min_replicas": "3"}, "'max_replicas': is required when min_replicas is set"),
    ({"image": IMAGE, "min_replicas": "5", "max_replicas": "2"}, "'min_replicas': 5 is above max_replicas 2"),
    ({"image": IMAGE, "labels": "{not json"}, "'labels': invalid JSON"),
    ({"image": IMAGE, "max_replicas": "3", "target_memory_percent": "70"},
     "'target_memory_percent': needs memory_request"),
    ({"image": IMAGE, "max_replicas": "3", "target_memory_percent": "0", "memory_request": "1Gi"},
     "'target_memory_percent': expected an integer at least 1 and at most 100, got '0'"),
    ({"image": IMAGE, "target_cpu_percent": "50"}, "'target_cpu_percent': is an autoscaler target: set max_replicas"),
    ({"image": IMAGE, "max_replicas": "2", "target_cpu_percent": "0"},
     "'target_cpu_percent': is 0 and no target_memory_percent is set: the autoscaler needs a target"),
    ({"image": IMAGE, "max_replicas": "2", "target_cpu_percent": "101"},
     "'target_cpu_percent': expected an integer at least 0 and at most 100, got '101'"),
    ({"image": IMAGE, "max_replicas": "3", "target_memory_percent": "70", "memory_request": "lots"},
     "the Kubernetes API server rejected it"),
    ({"image": IMAGE, "config_file": "/no/such/deploy.yaml"}, "file '/no/such/deploy.yaml' does not exist"),
    ({"image": IMAGE, "endpoint_url": "ftp://x"}, "'endpoint_url': expected an http(s) URL"),
    ({"image": IMAGE, "endpoint_url": "https://u:p4ssw0rd-xyz@model.example"}, "must not carry credentials"),
    ({"image": IMAGE, "cpu_request": "a lot"}, "the Kubernetes API server rejected it"),
])
def test_bad_config(deployer: Any, namespace: str, core: client.CoreV1Api, model_uris: list[str],
                    config: dict[str, Any], expected: str) -> None:
    with pytest.raises(MlflowException) as info:
        deployer.create_deployment("bad", model_uris[0], config={**config, "timeout": "0"})
    assert expected in info.value.message
    assert "p4ssw0rd-xyz" not in info.value.message
    assert client.AppsV1Api(core.api_client).list_namespaced_deployment(namespace).items == []
    assert core.list_namespaced_service(namespace).items == []


def test_bad_names_targets_and_flavors(deployer: Any, cluster: dict[str, str], model_uris: list[str]) -> None:
    with pytest.raises(MlflowException, match="deployment name 'Bad_Name' must be a lower-case DNS label"):
        deployer.create_deployment("Bad_Name", model_uris[0], config={"image": IMAGE})
    with pytest.raises(MlflowException, match="flavor 'onnx' is not supported"):
        deployer.create_deployment("ok", model_uris[0], flavor="onnx", config={"image": IMAGE})
    with pytest.raises(MlflowException, match="'Not_A_Namespace' is not a valid namespace name"):
        get_deploy_client("k8s:/Not_A_Namespace")
    with pytest.raises(MlflowException, match="namespaces \"nowhere-ns\" not found"):
        get_deploy_client("k8s:/nowhere-ns").create_deployment("x", model_uris[0], config={"image": IMAGE})
    with pytest.raises(MlflowException, match="predict inputs of type object are not supported"):
        deployer.predict("x", object())


def test_bad_kubeconfig_is_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    bad = tmp_path / "kubeconfig"
    bad.write_text("not: [a kubeconfig")
    monkeypatch.setenv("MLFLOW_DEPLOY_K8S_KUBECONFIG", str(bad))
    with pytest.raises(MlflowException, match="MLFLOW_DEPLOY_K8S_KUBECONFIG"):
        get_deploy_client("k8s").list_deployments()
